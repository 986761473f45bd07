/** What the engine needs from the local end of a stream (reader.ts and writer.ts implement it). */
export interface StreamEndpoint {
  /** A STREAM_DATA frame addressed to this end (docs/protocol.md §6). */
  receive(flag: number, body: Buffer): void;
  /** The connection that carries the stream, or the whole unit, is gone. */
  abort(reason: string): void;
}
