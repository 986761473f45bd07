import type { Connection } from '../transport/connection';
import type { StreamDataFrame } from '../protocol/decoder';
import type { StreamEndpoint } from '../streams/endpoint';

/** An outgoing stream request waiting for STREAM_RESOLVE or STREAM_REJECT. */
export interface PendingStream {
  resolve(chan: number, payload: Buffer, conn: Connection): void;
  reject(reason: string): void;
  timer: NodeJS.Timeout | null;
  /** The connection the request went on: the stream would live there, so it fails with it. */
  conn: Connection;
}

interface Entry {
  endpoint: StreamEndpoint;
  /** The connection that carries the stream once it is resolved; null before. */
  conn: Connection | null;
}

const MAX_ID = 0xffff;

/**
 * The streams of one unit: local endpoint ids (non-zero 16-bit values, unique among the unit's
 * open streams, as the original picks them) and outgoing stream requests by correlation id.
 */
export class StreamRegistry {
  // Made at the first stream: most units never open one, and a Map is some 180 bytes even empty.
  private entries: Map<number, Entry> | null = null;
  private requests: Map<number, PendingStream> | null = null;

  get openCount(): number {
    return this.entries?.size ?? 0;
  }

  /** Stream requests waiting for their answer. */
  get awaiting(): number {
    return this.requests?.size ?? 0;
  }

  /** Registers an endpoint under a fresh id and returns the id. */
  add(endpoint: StreamEndpoint): number {
    const entries = (this.entries ??= new Map());
    if (entries.size >= MAX_ID) throw new RangeError('Too many open streams on one unit');
    let id = 1 + Math.floor(Math.random() * MAX_ID);
    while (entries.has(id)) id = id === MAX_ID ? 1 : id + 1;
    entries.set(id, { endpoint, conn: null });
    return id;
  }

  /** Binds a stream to the connection that carries its data from now on. */
  bind(id: number, conn: Connection): void {
    const entry = this.entries?.get(id);
    if (entry !== undefined) entry.conn = conn;
  }

  remove(id: number): void {
    this.entries?.delete(id);
  }

  /** Routes STREAM_DATA; frames for unknown ids, or from another connection, are ignored (§6). */
  route(frame: StreamDataFrame, conn: Connection): void {
    const entry = this.entries?.get(frame.id);
    if (entry === undefined || (entry.conn !== null && entry.conn !== conn)) return;
    entry.endpoint.receive(frame.flag, frame.body);
  }

  awaitReply(corr: number, pending: PendingStream): void {
    (this.requests ??= new Map()).set(corr, pending);
  }

  /** Takes the pending request for `corr` (STREAM_RESOLVE/REJECT or its timeout). */
  takeReply(corr: number): PendingStream | undefined {
    const pending = this.requests?.get(corr);
    if (pending === undefined) return undefined;
    this.requests!.delete(corr);
    if (pending.timer !== null) clearTimeout(pending.timer);
    return pending;
  }

  /**
   * A connection closed: the streams it carried are destroyed on this end, and stream requests
   * that went on it fail at once (their stream would have lived on it, §6).
   */
  connectionClosed(conn: Connection): void {
    for (const [id, entry] of this.entries ?? []) {
      if (entry.conn === conn) {
        this.entries!.delete(id);
        entry.endpoint.abort('The connection carrying the stream closed');
      }
    }
    for (const [corr, pending] of this.requests ?? []) {
      if (pending.conn !== conn) continue;
      this.takeReply(corr);
      pending.reject('The connection carrying the stream request closed before the answer');
    }
  }

  /** The unit is gone: every stream and stream request fails. */
  unitClosed(): void {
    const entries = [...(this.entries?.values() ?? [])];
    const requests = [...(this.requests?.values() ?? [])];
    this.entries = null;
    this.requests = null;
    for (const entry of entries) entry.endpoint.abort('The unit closed');
    for (const pending of requests) {
      if (pending.timer !== null) clearTimeout(pending.timer);
      pending.reject('The unit closed before answering the stream request');
    }
  }
}
