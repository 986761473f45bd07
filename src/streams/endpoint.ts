import type { Readable, Writable } from 'node:stream';

/** What the engine needs from the local end of a stream (reader.ts and writer.ts implement it). */
export interface StreamEndpoint {
  /** A STREAM_DATA frame addressed to this end (docs/protocol.md §6). */
  receive(flag: number, body: Buffer): void;
  /** The connection that carries the stream, or the whole unit, is gone. */
  abort(reason: string): void;
}

/**
 * Ends a stream that the network failed (the remote's error, or the connection gone). The end a
 * handler got (`ctx.readable`, `ctx.writable`) with nobody listening for 'error' just closes, as
 * 1.1.x's handler ends do: an unheard 'error' would crash the serving process.
 */
export function failStream(stream: Readable | Writable, error: Error, handlerEnd: boolean): void {
  if (handlerEnd && stream.listenerCount('error') === 0) stream.destroy();
  else stream.destroy(error);
}
