import { performance } from 'node:perf_hooks';
import type { Connection } from '../transport/connection';
import { decodeFrame, type AcquaintFrame, type Frame, type PeerInfo } from '../protocol/decoder';
import { DataType, FrameType } from '../protocol/constants';
import type { FrameEncoder } from '../protocol/encoder';
import { rejectText } from '../protocol/payload';
import { CloseCode, ProtocolError, RejectedError, RequestTimeoutError, RoletalkError, StreamError, UnitClosedError } from '../errors';
import { StreamReader } from '../streams/reader';
import type { StreamWriter } from '../streams/writer';
import { Context, type UnitFace } from './context';
import type { Dispatcher } from './dispatcher';
import type { PendingRequest } from './pending';
import { StreamRegistry } from './stream-registry';
import { readerLink, streamRejectReason, writerLink } from './stream-links';

/** What a remote peer needs from the local peer's engine. */
export interface RemoteHost {
  readonly encoder: FrameEncoder;
  readonly dispatcher: Dispatcher;
  readonly acquaintance: { receive(frame: AcquaintFrame): void };
  /** A frame we cannot handle: close that one connection with the reason. */
  protocolError(remote: RemotePeer, conn: Connection, error: RoletalkError): void;
  /** The remote's active roles changed (a ROLES round). */
  rolesChanged(remote: RemotePeer): void;
}

/**
 * The engine's side of one remote peer (a unit): its connections and which one a frame takes,
 * its pending requests with their correlation ids and timers, its streams, and the routing of
 * every frame it sends us. `api/Unit` is its public face.
 */
export class RemotePeer {
  readonly id: string;
  readonly info: PeerInfo;
  /** Open and closing connections, in the order they joined. */
  readonly conns: Connection[] = [];
  /** Active role names of the remote, from CONFIRMED and then ROLES rounds (§5). */
  roles: Set<string>;
  /** The last applied ROLES counter. */
  rolesIndex = -1;
  /** The address this side dialed to reach it (or the one it advertised), for acquaintance. */
  address: string | undefined;
  readonly pending = new Map<number, PendingRequest>();
  /** Open streams and stream requests. */
  readonly streams = new StreamRegistry();
  /** The last connection is gone. */
  closed = false;
  /** The public Unit, set by whoever created this remote; contexts carry it. */
  face: UnitFace;

  private nextCorr = 0;
  private rr = 0;
  private closeWaiters: Array<() => void> | null = null;

  constructor(
    private readonly host: RemoteHost,
    info: PeerInfo,
  ) {
    this.id = info.id;
    this.info = info;
    this.roles = new Set(info.roles);
    this.face = { id: info.id, name: info.name };
  }

  get friendly(): boolean {
    return this.info.friendly;
  }

  // ---- sending ------------------------------------------------------------------------

  /** Sends a MESSAGE to one of the remote's roles. Returns false when no connection is open. */
  send(role: string, event: string, data?: unknown): boolean {
    return this.sendFrame(this.host.encoder.message(role, event, data));
  }

  /**
   * Sends a REQUEST; resolves with the response's Context, rejects on REJECT, timeout or loss
   * with an error whose `ctx` is the request's context (unit, role, event, rtt, reason as data).
   */
  request(role: string, event: string, data: unknown, timeout: number): Promise<Context> {
    const conn = this.pick();
    if (conn === undefined) return Promise.reject(this.failure(new UnitClosedError(this.id), role, event, performance.now()));
    const corr = this.takeCorrelation();
    const frame = this.host.encoder.request(role, event, corr, data);
    return new Promise<Context>((resolve, reject) => {
      const pending: PendingRequest = { resolve, reject, timer: null, role, event, sentAt: performance.now() };
      if (timeout > 0 && Number.isFinite(timeout)) {
        pending.timer = setTimeout(expireRequest, timeout, this, corr, timeout);
      }
      this.pending.set(corr, pending);
      conn.send(frame);
    });
  }

  /**
   * Opens a stream: REQUEST_READABLE for a reader (we read what the remote writes) or
   * REQUEST_WRITABLE for a writer. The stream emits 'ready' with the response's Context, or is
   * destroyed with a StreamError when refused, timed out or lost.
   */
  openStream(stream: StreamReader | StreamWriter, role: string, event: string, data: unknown, timeout: number): void {
    const type = stream instanceof StreamReader ? FrameType.REQUEST_READABLE : FrameType.REQUEST_WRITABLE;
    const conn = this.pick();
    if (conn === undefined) {
      process.nextTick(() => stream.destroy(new UnitClosedError(this.id)));
      return;
    }
    const encoder = this.host.encoder;
    const localId = this.streams.add(stream);
    const corr = this.takeCorrelation();
    const timer =
      timeout > 0 && Number.isFinite(timeout)
        ? setTimeout(() => {
            if (this.streams.takeReply(corr) === undefined) return;
            this.streams.remove(localId);
            stream.destroy(new RequestTimeoutError(timeout));
          }, timeout)
        : null;
    const sentAt = performance.now();
    this.streams.awaitReply(corr, {
      timer,
      resolve: (remoteId, payload, replyConn) => {
        if (stream.destroyed) {
          // Given up on before the answer came: tell the remote end to stop.
          this.streams.remove(localId);
          replyConn.send(encoder.streamError(remoteId, 'The stream was closed before it started'));
          return;
        }
        this.streams.bind(localId, replyConn);
        const ctx = new Context(this.face, role, event, payload);
        ctx.rtt = performance.now() - sentAt;
        if (stream instanceof StreamReader) {
          ctx.readable = stream;
          stream.attach(readerLink(this, encoder, replyConn, localId, remoteId));
        } else {
          ctx.writable = stream;
          stream.attach(writerLink(this, encoder, replyConn, localId, remoteId));
        }
        stream.emit('ready', ctx);
      },
      reject: (reason) => {
        this.streams.remove(localId);
        stream.destroy(new StreamError(reason));
      },
    });
    conn.send(encoder.streamRequest(type, role, event, corr, localId, data));
  }

  /** Sends a frame on the least busy connection; releases it when none is open. */
  sendFrame(frame: Buffer): boolean {
    const conn = this.pick();
    if (conn === undefined) {
      this.host.encoder.pool.release(frame);
      return false;
    }
    conn.send(frame);
    return true;
  }

  /**
   * The least busy open connection: smallest bufferedAmount, ties broken round-robin so that
   * idle connections share the load. A connection that is closing stays in `conns` until its
   * close completes but takes no frames (they would be dropped).
   */
  pick(): Connection | undefined {
    const conns = this.conns;
    const n = conns.length;
    if (n === 1) return conns[0]!.open ? conns[0] : undefined;
    if (n === 0) return undefined;
    const start = this.rr++ % n;
    let best: Connection | undefined;
    let bestLoad = Infinity;
    for (let k = 0; k < n && bestLoad > 0; k++) {
      const c = conns[(start + k) % n]!;
      if (!c.open) continue;
      const load = c.bufferedAmount;
      if (load < bestLoad) {
        best = c;
        bestLoad = load;
      }
    }
    return best;
  }

  /** The next correlation id (§4: a counter from 0, shared by stream requests). */
  takeCorrelation(): number {
    const corr = this.nextCorr;
    // Stay below 2^53 (§4); wrapping after 9e15 requests is not a practical concern.
    this.nextCorr = corr >= Number.MAX_SAFE_INTEGER ? 0 : corr + 1;
    return corr;
  }

  // ---- receiving ----------------------------------------------------------------------

  /** A frame received on one of this remote's connections, after the handshake. */
  handleFrame(buf: Buffer, conn: Connection): void {
    try {
      this.route(decodeFrame(buf), conn);
    } catch (err) {
      // A frame we cannot handle ends its connection, never the process (the socket's 'data'
      // handler is up the stack: an exception here would be uncaught).
      const e = err instanceof RoletalkError ? err : new ProtocolError('RT_ERR_PROTOCOL', (err as Error)?.message ?? String(err));
      this.host.protocolError(this, conn, e);
    }
  }

  private route(frame: Frame, conn: Connection): void {
    switch (frame.type) {
      case FrameType.RESPONSE:
      case FrameType.REJECT:
        this.settle(frame.type, frame.corr, frame.payload);
        return;
      case FrameType.REQUEST:
        this.host.dispatcher.request(this, frame);
        return;
      case FrameType.MESSAGE:
        this.host.dispatcher.message(this, frame);
        return;
      case FrameType.ROLES:
        if (frame.i > this.rolesIndex) {
          this.rolesIndex = frame.i;
          this.roles = new Set(frame.roles);
          this.host.rolesChanged(this);
        }
        return;
      case FrameType.ACQUAINT:
        this.host.acquaintance.receive(frame);
        return;
      case FrameType.STREAM_DATA:
        this.streams.route(frame, conn);
        return;
      case FrameType.STREAM_RESOLVE:
      case FrameType.STREAM_REJECT:
        this.settleStream(frame.type, frame.corr, frame.chan, frame.payload, conn);
        return;
      case FrameType.REQUEST_READABLE:
      case FrameType.REQUEST_WRITABLE:
        this.host.dispatcher.streamRequest(this, frame, conn);
        return;
    }
  }

  private settle(type: number, corr: number, payload: Buffer): void {
    const pending = this.pending.get(corr);
    // A response to an unknown or finished request is ignored (§4).
    if (pending === undefined) return;
    this.pending.delete(corr);
    if (pending.timer !== null) clearTimeout(pending.timer);
    if (type === FrameType.RESPONSE) {
      const ctx = new Context(this.face, pending.role, pending.event, payload);
      ctx.rtt = performance.now() - pending.sentAt;
      pending.resolve(ctx);
    } else {
      pending.reject(this.failure(new RejectedError(rejectText(payload)), pending.role, pending.event, pending.sentAt, payload));
    }
  }

  /** STREAM_RESOLVE or STREAM_REJECT for one of our stream requests. */
  private settleStream(type: number, corr: number, chan: number, payload: Buffer, conn: Connection): void {
    const pending = this.streams.takeReply(corr);
    if (pending === undefined) return;
    if (type === FrameType.STREAM_RESOLVE && chan > 0) pending.resolve(chan, payload, conn);
    else if (type === FrameType.STREAM_RESOLVE) pending.reject('The remote resolved the stream with an invalid id');
    else pending.reject(streamRejectReason(rejectText(payload)));
  }

  /** Gives a request's failure its context, as 1.1.x passes it to the callback. */
  failure<E extends RoletalkError>(error: E, role: string, event: string, sentAt: number, payload: Buffer = NULL_PAYLOAD): E {
    const ctx = new Context(this.face, role, event, payload);
    ctx.rtt = performance.now() - sentAt;
    error.ctx = ctx;
    return error;
  }

  // ---- connections --------------------------------------------------------------------

  /** Adds a connection that completed its handshake with this remote. */
  addConnection(conn: Connection): void {
    this.conns.push(conn);
    conn.onFrame = (frame) => this.handleFrame(frame, conn);
    conn.onUndelivered = (frame) => {
      // Stream data belongs to its connection (§6) and dies with it; anything else may take
      // another connection of this remote.
      if (frame[0] !== FrameType.STREAM_DATA) this.sendFrame(frame);
    };
  }

  /** Removes a closed connection; returns true when it was the last. */
  removeConnection(conn: Connection): boolean {
    const i = this.conns.indexOf(conn);
    if (i !== -1) this.conns.splice(i, 1);
    this.streams.connectionClosed(conn);
    return this.conns.length === 0;
  }

  /** The last connection is gone: fail what waits on this remote. */
  lost(): void {
    this.closed = true;
    this.streams.unitClosed();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.reject(this.failure(new UnitClosedError(this.id), p.role, p.event, p.sentAt));
    }
    const waiters = this.closeWaiters ?? [];
    this.closeWaiters = null;
    for (const resolve of waiters) resolve();
  }

  /** Resolves once the last connection is gone. */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.closeWaiters ??= []).push(resolve));
  }

  /** Closes every connection with `code`. */
  closeConnections(code: number = CloseCode.INTENTIONAL, reason = 'intentionally closed'): void {
    for (const conn of this.conns.slice()) conn.close(code, reason);
  }
}

function expireRequest(remote: RemotePeer, corr: number, timeout: number): void {
  const pending = remote.pending.get(corr);
  if (pending === undefined) return;
  remote.pending.delete(corr);
  pending.reject(remote.failure(new RequestTimeoutError(timeout), pending.role, pending.event, pending.sentAt));
}

/** The payload of a failure's context: a typed null, as 1.1.x gives `data: null`. */
const NULL_PAYLOAD = Buffer.from([DataType.NULL]);
