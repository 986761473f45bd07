import type { Connection } from '../transport/connection';
import type { FrameEncoder } from '../protocol/encoder';
import type { StreamRegistry } from './stream-registry';
import type { ReaderLink } from '../streams/reader';
import type { WriterLink } from '../streams/writer';

/**
 * The frames a stream end sends, bound to the connection that carries the stream
 * (docs/protocol.md §6: after the stream response, STREAM_DATA stays on that connection) and
 * addressed to the remote end's id.
 */
export function readerLink(owner: { streams: StreamRegistry }, encoder: FrameEncoder, conn: Connection, localId: number, remoteId: number): ReaderLink {
  return {
    sendQuota: (allowance) => conn.send(encoder.streamQuota(remoteId, allowance)),
    sendError: (reason) => conn.send(encoder.streamError(remoteId, reason)),
    release: () => owner.streams.remove(localId),
  };
}

export function writerLink(owner: { streams: StreamRegistry }, encoder: FrameEncoder, conn: Connection, localId: number, remoteId: number): WriterLink {
  return {
    sendChunk: (chunks, length) => conn.send(encoder.streamChunks(remoteId, chunks, length)),
    sendFinish: () => conn.send(encoder.streamFinish(remoteId)),
    sendError: (reason) => conn.send(encoder.streamError(remoteId, reason)),
    release: () => owner.streams.remove(localId),
  };
}

/** The reason in a STREAM_REJECT: the original sends `{"data": "<reason>"}` as a string. */
export function streamRejectReason(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'data' in parsed) {
      const data = (parsed as { data: unknown }).data;
      return typeof data === 'string' ? data : JSON.stringify(data);
    }
  } catch {
    // Not the original's JSON form: the text is the reason.
  }
  return text;
}
