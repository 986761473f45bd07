import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Connection } from '../transport/connection';
import type { PeerInfo } from '../protocol/decoder';
import { decodeFrame, type Frame } from '../protocol/decoder';
import { DataType, FrameType } from '../protocol/constants';
import { rejectText } from '../protocol/payload';
import { CloseCode, InvalidArgumentError, ProtocolError, RejectedError, RequestTimeoutError, RoletalkError, StreamError, UnitClosedError } from '../errors';
import { StreamRegistry, type StreamEndpoint } from '../engine/stream-registry';
import { readerLink, streamRejectReason, writerLink } from '../engine/stream-links';
import type { StreamReader } from '../streams/reader';
import type { StreamWriter } from '../streams/writer';
import type { PendingRequest } from '../engine/pending';
import type { PeerEngine } from '../engine/peer-engine';
import { Context } from './context';

/** How one connection of a unit is closed. */
export interface ConnectionCloseOptions {
  /**
   * Whether a connection this side dialed is dialed again, as after any other close (§8).
   * Default true, as closing a socket in 1.1.x; `false` also forgets the address, for an
   * application that wants fewer redundant connections.
   */
  redial?: boolean;
}

/** One open connection of a unit, as users see it. */
export interface UnitConnection {
  readonly id: number;
  readonly outbound: boolean;
  readonly bufferedAmount: number;
  readonly remoteAddress: string;
  /**
   * Closes this connection with a WebSocket close handshake. Like closing a socket in 1.1.x it
   * is not closing the unit on purpose: a connection this side dialed is redialed unless
   * `options.redial` is false.
   */
  close(code?: number, reason?: string, options?: ConnectionCloseOptions): void;
  /** Drops this connection without a close handshake; redialed as `close` is. */
  terminate(options?: ConnectionCloseOptions): void;
}

/**
 * A remote peer connected to this one, over one or more redundant connections. It exists while
 * at least one connection is open; when the last closes it fails its pending requests and
 * leaves every destination.
 */
export class Unit extends EventEmitter {
  readonly id: string;
  readonly name: string;
  readonly friendly: boolean;
  readonly meta: Record<string, unknown>;
  /** Extensions the remote offers (PROTOCOL.md §9). */
  readonly ext: Record<string, unknown>;
  private readonly tags: Record<string, string>;

  /** @internal */ readonly conns: Connection[] = [];
  /** @internal active role names of the remote */ roles: Set<string>;
  /** @internal last applied ROLES counter */ rolesIndex = -1;
  /** @internal the address this side dialed to reach it, for acquaintance */ address: string | undefined;
  /** @internal */ readonly pending = new Map<number, PendingRequest>();
  /** @internal open streams and stream requests */ readonly streams = new StreamRegistry();
  /** @internal */ closed = false;

  /** What users see of each connection (`connections`), made once per connection. */
  private readonly facades = new Map<Connection, UnitConnection>();
  private nextCorr = 0;
  private rr = 0;

  /** @internal */
  constructor(
    /** @internal */ readonly engine: PeerEngine,
    info: PeerInfo,
  ) {
    super();
    this.id = info.id;
    this.name = info.name;
    this.friendly = info.friendly;
    this.meta = info.meta;
    this.tags = info.tags;
    this.ext = info.ext;
    this.roles = new Set(info.roles);
  }

  /** The remote's active roles. */
  getRoles(): string[] {
    return [...this.roles];
  }

  getTags(): Record<string, string> {
    return { ...this.tags };
  }

  /**
   * The open connections to this unit. Closing or terminating one of them is not closing the
   * unit on purpose (§8): a connection this side dialed is redialed, unless closed with
   * `{ redial: false }`. Only `unit.close()` and `peer.close()` stop the redial.
   */
  get connections(): UnitConnection[] {
    // A connection that is closing is not listed: it takes no more frames.
    return this.conns.filter((conn) => conn.open).map((conn) => this.facade(conn));
  }

  private facade(conn: Connection): UnitConnection {
    let facade = this.facades.get(conn);
    if (facade === undefined) {
      const engine = this.engine;
      facade = {
        id: conn.id,
        outbound: conn.outbound,
        remoteAddress: conn.remoteAddress,
        get bufferedAmount() {
          return conn.bufferedAmount;
        },
        close(code?: number, reason?: string, options?: ConnectionCloseOptions) {
          if (redialRefused(options)) engine.stopRedial(conn);
          conn.close(code, reason);
        },
        terminate(options?: ConnectionCloseOptions) {
          if (redialRefused(options)) engine.stopRedial(conn);
          conn.terminate();
        },
      };
      this.facades.set(conn, facade);
    }
    return facade;
  }

  /**
   * Closes every connection to this unit on purpose (code 4000). Connections this side dialed
   * are not redialed.
   */
  close(): void {
    this.engine.closeUnit(this);
  }

  /** Sends a MESSAGE to one of the remote's roles. Returns false when no connection is open. */
  send(role: string, event: string, data?: unknown): boolean {
    return this.sendFrame(this.engine.encoder.message(role, event, data));
  }

  /**
   * Sends a REQUEST; resolves with the response's Context, rejects on REJECT, timeout or loss
   * with an error whose `ctx` is the request's context (unit, role, event, rtt, reason as data).
   */
  request(role: string, event: string, data?: unknown, timeout: number = this.engine.requestTimeout): Promise<Context> {
    const conn = this.pick();
    if (conn === undefined) return Promise.reject(this.failure(new UnitClosedError(this.id), role, event, performance.now()));
    const corr = this.takeCorrelation();
    const frame = this.engine.encoder.request(role, event, corr, data);
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
   * @internal Opens a stream: REQUEST_READABLE with a reader (we read what the remote writes)
   * or REQUEST_WRITABLE with a writer. The stream emits 'ready' with the response's Context,
   * or is destroyed with a StreamError when refused, timed out or lost.
   */
  openStream(
    type: typeof FrameType.REQUEST_READABLE | typeof FrameType.REQUEST_WRITABLE,
    role: string,
    event: string,
    data: unknown,
    stream: StreamReader | StreamWriter,
    timeout: number,
  ): void {
    const conn = this.pick();
    if (conn === undefined) {
      process.nextTick(() => stream.destroy(new UnitClosedError(this.id)));
      return;
    }
    const localId = this.streams.add(stream as StreamEndpoint);
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
          replyConn.send(this.engine.encoder.streamError(remoteId, 'The stream was closed before it started'));
          return;
        }
        this.streams.bind(localId, replyConn);
        const ctx = new Context(this, role, event, payload);
        ctx.rtt = performance.now() - sentAt;
        if (type === FrameType.REQUEST_READABLE) {
          ctx.readable = stream as StreamReader;
          (stream as StreamReader).attach(readerLink(this, replyConn, localId, remoteId));
        } else {
          ctx.writable = stream as StreamWriter;
          (stream as StreamWriter).attach(writerLink(this, replyConn, localId, remoteId));
        }
        stream.emit('ready', ctx);
      },
      reject: (reason) => {
        this.streams.remove(localId);
        stream.destroy(new StreamError(reason));
      },
    });
    conn.send(this.engine.encoder.streamRequest(type, role, event, corr, localId, data));
  }

  /** @internal STREAM_RESOLVE or STREAM_REJECT for one of our stream requests. */
  settleStream(type: number, corr: number, chan: number, payload: Buffer, conn: Connection): void {
    const pending = this.streams.takeReply(corr);
    if (pending === undefined) return;
    if (type === FrameType.STREAM_RESOLVE && chan > 0) pending.resolve(chan, payload, conn);
    else if (type === FrameType.STREAM_RESOLVE) pending.reject('The remote resolved the stream with an invalid id');
    else pending.reject(streamRejectReason(rejectText(payload)));
  }

  /** @internal the next correlation id (§4: a counter from 0, shared by stream requests). */
  takeCorrelation(): number {
    const corr = this.nextCorr;
    // Stay below 2^53 (§4); wrapping after 9e15 requests is not a practical concern.
    this.nextCorr = corr >= Number.MAX_SAFE_INTEGER ? 0 : corr + 1;
    return corr;
  }

  /**
   * @internal The least busy open connection: smallest bufferedAmount, ties broken
   * round-robin so that idle connections share the load. A connection that is closing stays
   * in `conns` until its close completes but takes no frames (they would be dropped).
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

  /** @internal Sends a frame on the least busy connection; releases it when none is open. */
  sendFrame(frame: Buffer): boolean {
    const conn = this.pick();
    if (conn === undefined) {
      this.engine.encoder.pool.release(frame);
      return false;
    }
    conn.send(frame);
    return true;
  }

  /** @internal A frame received on one of this unit's connections, after the handshake. */
  handleFrame(buf: Buffer, conn: Connection): void {
    try {
      this.route(decodeFrame(buf), conn);
    } catch (err) {
      // A frame we cannot handle ends its connection, never the process (the socket's 'data'
      // handler is up the stack: an exception here would be uncaught).
      const e = err instanceof RoletalkError ? err : new ProtocolError('RT_ERR_PROTOCOL', (err as Error)?.message ?? String(err));
      this.engine.protocolError(this, conn, e);
    }
  }

  private route(frame: Frame, conn: Connection): void {
    switch (frame.type) {
      case FrameType.RESPONSE:
      case FrameType.REJECT:
        this.settle(frame.type, frame.corr, frame.payload);
        return;
      case FrameType.REQUEST:
        this.engine.dispatcher.request(this, frame);
        return;
      case FrameType.MESSAGE:
        this.engine.dispatcher.message(this, frame);
        return;
      case FrameType.ROLES:
        if (frame.i > this.rolesIndex) {
          this.rolesIndex = frame.i;
          this.roles = new Set(frame.roles);
          this.engine.unitRolesChanged(this);
        }
        return;
      case FrameType.ACQUAINT:
        this.engine.acquaintance.receive(frame);
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
        this.engine.dispatcher.streamRequest(this, frame, conn);
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
      const ctx = new Context(this, pending.role, pending.event, payload);
      ctx.rtt = performance.now() - pending.sentAt;
      pending.resolve(ctx);
    } else {
      pending.reject(this.failure(new RejectedError(rejectText(payload)), pending.role, pending.event, pending.sentAt, payload));
    }
  }

  /** @internal Gives a request's failure its context, as 1.1.x passes it to the callback. */
  failure<E extends RoletalkError>(error: E, role: string, event: string, sentAt: number, payload: Buffer = NULL_PAYLOAD): E {
    const ctx = new Context(this, role, event, payload);
    ctx.rtt = performance.now() - sentAt;
    error.ctx = ctx;
    return error;
  }

  /** @internal Adds a connection that completed its handshake with this unit's peer. */
  addConnection(conn: Connection): void {
    this.conns.push(conn);
    conn.onUndelivered = (frame) => {
      // Stream data belongs to its connection (§6) and dies with it; anything else may take
      // another connection of this unit.
      if (frame[0] !== FrameType.STREAM_DATA) this.sendFrame(frame);
    };
  }

  /** @internal Removes a closed connection; returns true when it was the last. */
  removeConnection(conn: Connection): boolean {
    const i = this.conns.indexOf(conn);
    if (i !== -1) this.conns.splice(i, 1);
    this.facades.delete(conn);
    this.streams.connectionClosed(conn);
    return this.conns.length === 0;
  }

  /** @internal The last connection is gone: fail what waits on this unit. */
  failPending(): void {
    this.closed = true;
    this.streams.unitClosed();
    if (this.pending.size === 0) return;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.reject(this.failure(new UnitClosedError(this.id), p.role, p.event, p.sentAt));
    }
  }

  /** @internal Closes every connection with `code`. */
  closeConnections(code: number = CloseCode.INTENTIONAL, reason = 'intentionally closed'): void {
    for (const conn of this.conns.slice()) conn.close(code, reason);
  }
}

function expireRequest(unit: Unit, corr: number, timeout: number): void {
  const pending = unit.pending.get(corr);
  if (pending === undefined) return;
  unit.pending.delete(corr);
  pending.reject(unit.failure(new RequestTimeoutError(timeout), pending.role, pending.event, pending.sentAt));
}

/** Checks the options of `UnitConnection.close` and `terminate`; true for `{ redial: false }`. */
function redialRefused(options: ConnectionCloseOptions | undefined): boolean {
  if (options === undefined) return false;
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object { redial?: boolean }', options);
  if (options.redial !== undefined && typeof options.redial !== 'boolean') throw new InvalidArgumentError('options.redial', 'a boolean', options.redial);
  return options.redial === false;
}

/** The payload of a failure's context: a typed null, as 1.1.x gives `data: null`. */
const NULL_PAYLOAD = Buffer.from([DataType.NULL]);
