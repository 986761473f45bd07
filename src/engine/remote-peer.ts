import { performance } from 'node:perf_hooks';
import type { Connection } from '../transport/connection';
import { decodeFrame, type AcquaintFrame, type Frame, type PeerInfo } from '../protocol/decoder';
import { DataType, Extension, FrameType } from '../protocol/constants';
import type { FrameEncoder } from '../protocol/encoder';
import { rejectText } from '../protocol/payload';
import {
  AbortError,
  CloseCode,
  ConnectionLostError,
  OverloadedError,
  ProtocolError,
  RejectedError,
  RequestTimeoutError,
  RoletalkError,
  StreamError,
  UnitClosedError,
} from '../errors';
import { StreamReader } from '../streams/reader';
import type { StreamWriter } from '../streams/writer';
import { Context, type UnitFace } from './context';
import type { Dispatcher } from './dispatcher';
import { IncomingRequests } from './incoming';
import type { Limits } from './limits';
import type { PendingRequest, RequestOptions } from './pending';
import { StreamRegistry } from './stream-registry';
import { RequestTimers } from './request-timers';
import { PeakEwma } from './balancer';
import { Counters, recordRtt, unitStats, type UnitStats } from './stats';
import { requestChannel, requestTraced, traceStream, type RequestTrace } from './tracing';
import { readerLink, streamRejectReason, writerLink } from './stream-links';

/** What a remote peer needs from the local peer's engine. */
export interface RemoteHost {
  readonly encoder: FrameEncoder;
  readonly dispatcher: Dispatcher;
  readonly acquaintance: { receive(frame: AcquaintFrame): void };
  /** maxInFlight and maxStreams, checked when a request or a stream starts. */
  readonly limits: Readonly<Limits>;
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
  conns: Connection[] = [];
  /** Active role names of the remote, from CONFIRMED and then ROLES rounds (§5); replaced, never changed. */
  roles: ReadonlySet<string>;
  /** The last applied ROLES counter. */
  rolesIndex = -1;
  /** The address this side dialed to reach it (or the one it advertised), for acquaintance. */
  address: string | undefined;
  readonly pending = new Map<number, PendingRequest>();
  /** The timeouts of the pending requests, on one timer. */
  /** The timeouts of its requests; made at the first request that has one (idle units are many). */
  private timers: RequestTimers<PendingRequest> | null = null;
  /** Open streams and stream requests. */
  readonly streams = new StreamRegistry();
  /** The last connection is gone. */
  closed = false;
  /**
   * It has had more than one connection at once: from then on a request may come again after a
   * drop, even while only one connection is left (another may join before an answer sent on
   * that one is lost with it), so its answers are kept (§9).
   */
  redundant = false;
  /** The public Unit, set by whoever created this remote; contexts carry it. */
  face: UnitFace;
  /** The largest frame sent to it: our maxPayload or the smaller one it offered (§9). Set by the engine. */
  maxFrame = Infinity;
  /** The extensions of §9 the remote offers that this side uses toward it. */
  readonly offers: { readonly resend: boolean; readonly cancel: boolean; readonly deadline: boolean };
  /** Its response times, for the `latency` balancing strategy. */
  readonly latency = new PeakEwma();
  /** What it sent and was sent, for `stats()`. */
  readonly counters = new Counters();
  /** Whether it offers an extension that needs its requests to us tracked. */
  private readonly tracksIncoming: boolean;
  private incomingTable: IncomingRequests | null = null;

  private nextCorr = 0;
  private rr = 0;
  /** Connections closed for a bad frame. */
  private broken: WeakSet<Connection> | undefined;
  private closeWaiters: Array<() => void> | null = null;

  constructor(
    private readonly host: RemoteHost,
    info: PeerInfo,
  ) {
    this.id = info.id;
    this.info = info;
    this.roles = roleSet(info.roles);
    this.face = { id: info.id, name: info.name };
    this.offers = offersOf(info.ext);
    this.tracksIncoming = this.offers.resend || this.offers.cancel || this.offers.deadline;
  }

  /** Its requests to us, while it offers any extension that needs them tracked; the table is made at its first request. */
  get incoming(): IncomingRequests | null {
    return this.tracksIncoming ? (this.incomingTable ??= new IncomingRequests()) : null;
  }

  get friendly(): boolean {
    return this.info.friendly;
  }

  /** How long its oldest unanswered request has waited, in ms, for balancing. */
  get waiting(): number {
    if (this.pending.size === 0) return 0;
    const oldest = this.pending.values().next().value as PendingRequest;
    return performance.now() - oldest.sentAt;
  }

  /** Requests and stream requests waiting for its answer, for balancing. */
  get load(): number {
    return this.pending.size + this.streams.awaiting;
  }

  // ---- sending ------------------------------------------------------------------------

  /** Sends a MESSAGE to one of the remote's roles. Returns false when no connection is open. */
  send(role: string, event: string, data?: unknown): boolean {
    const sent = this.sendFrame(this.host.encoder.within(this.host.encoder.message(role, event, data), this.maxFrame));
    if (sent) this.counters.messagesOut++;
    return sent;
  }

  /**
   * Sends a REQUEST; resolves with the response's Context, rejects on REJECT, timeout, abort or
   * loss with an error whose `ctx` is the request's context (unit, role, event, rtt, reason as
   * data). A bad value to send throws at the call.
   */
  request(role: string, event: string, data: unknown, options: RequestOptions): Promise<Context> {
    if (!requestTraced()) return this.sendRequest(role, event, data, options, undefined);
    const trace: RequestTrace = { role, event, unitId: this.id, connectionId: undefined };
    return requestChannel.tracePromise(() => this.sendRequest(role, event, data, options, trace), trace);
  }

  private sendRequest(role: string, event: string, data: unknown, options: RequestOptions, trace: RequestTrace | undefined): Promise<Context> {
    const { timeout, signal, idempotent = false } = options;
    const sentAt = performance.now();
    if (signal?.aborted) return Promise.reject(this.failure(new AbortError(signal.reason), role, event, sentAt));
    const { maxInFlight } = this.host.limits;
    if (this.pending.size >= maxInFlight) {
      return Promise.reject(this.failure(new OverloadedError('maxInFlight', maxInFlight), role, event, sentAt));
    }
    const conn = this.pick();
    if (conn === undefined) return Promise.reject(this.failure(new UnitClosedError(this.id), role, event, sentAt));
    const corr = this.takeCorrelation();
    const limited = timeout > 0 && Number.isFinite(timeout);
    const deadlineMs = limited && this.offers.deadline ? timeout : undefined;
    const frame = this.host.encoder.within(this.host.encoder.request(role, event, corr, data, deadlineMs), this.maxFrame);
    if (trace !== undefined) trace.connectionId = conn.id;
    const pending: PendingRequest = {
      resolve: unset,
      reject: unset,
      corr,
      role,
      event,
      data,
      sentAt,
      timeout: limited ? timeout : 0,
      deadline: limited ? sentAt + timeout : Infinity,
      done: false,
      conn,
      idempotent,
      signal,
      onAbort: undefined,
    };
    const promise = promiseOf(pending);
    if (signal !== undefined) {
      pending.onAbort = () => this.abortRequest(corr, signal.reason);
      signal.addEventListener('abort', pending.onAbort, { once: true });
    }
    this.pending.set(corr, pending);
    if (limited) (this.timers ??= new RequestTimers((p) => this.expire(p.corr))).add(pending);
    conn.send(frame);
    return promise;
  }

  /** Takes a pending request out of the table, its timer queue and its signal. */
  private takePending(corr: number): PendingRequest | undefined {
    const pending = this.pending.get(corr);
    if (pending === undefined) return undefined;
    this.pending.delete(corr);
    pending.done = true;
    if (pending.onAbort !== undefined) pending.signal!.removeEventListener('abort', pending.onAbort);
    return pending;
  }

  /** The caller's signal aborted: reject at once; a remote that offers `cancel` stops the work. */
  private abortRequest(corr: number, reason: unknown): void {
    const pending = this.takePending(corr);
    if (pending === undefined) return;
    this.sendCancel(corr);
    pending.reject(this.failure(new AbortError(reason), pending.role, pending.event, pending.sentAt));
  }

  /** A request's time is up. */
  private expire(corr: number): void {
    const pending = this.takePending(corr);
    if (pending === undefined) return;
    // No answer within the timeout is as slow as the timeout, for balancing.
    this.latency.observe(pending.timeout);
    this.sendCancel(corr);
    pending.reject(this.failure(new RequestTimeoutError(pending.timeout), pending.role, pending.event, pending.sentAt));
  }

  private sendCancel(corr: number): void {
    if (this.offers.cancel) this.sendFrame(this.host.encoder.cancel(corr));
  }

  /**
   * `conn` dropped with requests in flight on it. Toward a remote that offers `resend`, or for
   * an idempotent request, each goes again on another open connection under the same id (the
   * remote answers a repeat once, docs/protocol.md §9); any other fails at once.
   */
  private recoverRequests(conn: Connection): void {
    const encoder = this.host.encoder;
    for (const [corr, pending] of this.pending) {
      if (pending.conn !== conn) continue;
      const next = this.offers.resend || pending.idempotent ? this.pick() : undefined;
      if (next === undefined) {
        this.takePending(corr);
        pending.reject(this.failure(new ConnectionLostError(this.id), pending.role, pending.event, pending.sentAt));
        continue;
      }
      pending.conn = next;
      const left = pending.timeout > 0 && this.offers.deadline ? pending.sentAt + pending.timeout - performance.now() : undefined;
      next.send(encoder.request(pending.role, pending.event, corr, pending.data, left));
    }
  }

  /**
   * Opens a stream: REQUEST_READABLE for a reader (we read what the remote writes) or
   * REQUEST_WRITABLE for a writer. The stream emits 'ready' with the response's Context, or is
   * destroyed with a StreamError when refused, timed out or lost.
   */
  openStream(stream: StreamReader | StreamWriter, role: string, event: string, data: unknown, timeout: number): void {
    const type = stream instanceof StreamReader ? FrameType.REQUEST_READABLE : FrameType.REQUEST_WRITABLE;
    const { maxStreams } = this.host.limits;
    const refused =
      this.streams.openCount >= maxStreams ? new OverloadedError('maxStreams', maxStreams) : this.host.encoder.fits(role, event, data, this.maxFrame);
    if (refused !== undefined) {
      process.nextTick(() => stream.destroy(refused));
      return;
    }
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
      conn,
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
        traceStream(this.id, role, event, replyConn.id, 'requester', stream);
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
    // After a bad frame the connection is closing: what follows it is not read (one error, one close).
    if (this.broken?.has(conn)) return;
    try {
      this.route(decodeFrame(buf), conn);
    } catch (err) {
      // A frame we cannot handle ends its connection, never the process (the socket's 'data'
      // handler is up the stack: an exception here would be uncaught).
      const e = err instanceof RoletalkError ? err : new ProtocolError('RT_ERR_PROTOCOL', (err as Error)?.message ?? String(err));
      (this.broken ??= new WeakSet()).add(conn);
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
      case FrameType.REQUEST_DEADLINE:
        this.host.dispatcher.request(this, frame, conn);
        return;
      case FrameType.MESSAGE:
        this.host.dispatcher.message(this, frame);
        return;
      case FrameType.ROLES:
        if (frame.i > this.rolesIndex) {
          this.rolesIndex = frame.i;
          this.roles = roleSet(frame.roles);
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
      case FrameType.CANCEL:
        this.incoming?.cancel(frame.corr, new AbortError('cancelled by the caller'));
        return;
    }
  }

  private settle(type: number, corr: number, payload: Buffer): void {
    const pending = this.takePending(corr);
    // A response to an unknown or finished request is ignored (§4).
    if (pending === undefined) return;
    const rtt = performance.now() - pending.sentAt;
    this.latency.observe(rtt);
    if (type === FrameType.RESPONSE) {
      const ctx = new Context(this.face, pending.role, pending.event, payload);
      ctx.rtt = rtt;
      recordRtt(pending.conn.counters, rtt);
      this.counters.completed++;
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
    this.counters.fail(error.code);
    return error;
  }

  /** A snapshot of what went on with this remote. */
  stats(): UnitStats {
    return unitStats(this.id, this.info.name, this.counters, this.pending.size, this.conns);
  }

  // ---- connections --------------------------------------------------------------------

  /** Adds a connection that completed its handshake with this remote. */
  addConnection(conn: Connection): void {
    // A one-element array, not a push onto an empty one (which reserves 16 slots): most units have one connection.
    if (this.conns.length === 0) this.conns = [conn];
    else {
      this.conns.push(conn);
      this.redundant = true;
    }
    conn.onFrame = (frame) => this.handleFrame(frame, conn);
    conn.onUndelivered = (frame) => this.redeliver(frame);
  }

  /**
   * A frame `conn` took but never wrote (an I/O thread met the close first): it goes on another
   * connection, and a request then waits on that one. Stream data belongs to its connection (§6)
   * and dies with it.
   */
  private redeliver(frame: Buffer): void {
    if (frame[0] === FrameType.STREAM_DATA) return;
    const conn = this.pick();
    if (conn === undefined) {
      this.host.encoder.pool.release(frame);
      return;
    }
    if (frame[0] === FrameType.REQUEST || frame[0] === FrameType.REQUEST_DEADLINE) {
      const pending = this.pending.get((decodeFrame(frame) as { corr: number }).corr);
      if (pending !== undefined) pending.conn = conn;
    }
    conn.send(frame);
  }

  /** Removes a closed connection; returns true when it was the last. */
  removeConnection(conn: Connection): boolean {
    const i = this.conns.indexOf(conn);
    if (i !== -1) this.conns.splice(i, 1);
    this.counters.addClosed(conn.counters);
    this.streams.connectionClosed(conn);
    if (this.conns.length === 0) return true;
    if (this.pending.size > 0) this.recoverRequests(conn);
    return false;
  }

  /** The last connection is gone: fail what waits on this remote, call off what it asked. */
  lost(): void {
    this.closed = true;
    this.streams.unitClosed();
    this.incomingTable?.abortAll(new UnitClosedError(this.id));
    this.timers?.clear();
    for (const corr of [...this.pending.keys()]) {
      const p = this.takePending(corr)!;
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

/** Stands for `resolve` and `reject` until the Promise's executor hands over the real ones. */
function unset(): void {}

/** The request whose Promise is being made (the executor runs synchronously, within `promiseOf`). */
let making: PendingRequest | undefined;

/** One executor for every request's Promise: no closure made per request. */
function takeSettlers(resolve: PendingRequest['resolve'], reject: PendingRequest['reject']): void {
  making!.resolve = resolve;
  making!.reject = reject;
}

/** The Promise of a request, settled through `pending.resolve` and `pending.reject`. */
function promiseOf(pending: PendingRequest): Promise<Context> {
  making = pending;
  const promise = new Promise<Context>(takeSettlers);
  making = undefined;
  return promise;
}

/** Units that serve no role (callers) share one empty set. */
const NO_ROLES: ReadonlySet<string> = new Set();

function roleSet(roles: readonly string[]): ReadonlySet<string> {
  return roles.length === 0 ? NO_ROLES : new Set(roles);
}

type Offers = RemotePeer['offers'];
/** The 8 possible offers, shared: one object per remote would be some 50 bytes each. */
const OFFERS = new Map<number, Offers>();

function offersOf(ext: PeerInfo['ext']): Offers {
  const offered = (name: string): boolean => ext[name] === 1 || ext[name] === true;
  const offers = { resend: offered(Extension.RESEND), cancel: offered(Extension.CANCEL), deadline: offered(Extension.DEADLINE) };
  const key = (offers.resend ? 1 : 0) | (offers.cancel ? 2 : 0) | (offers.deadline ? 4 : 0);
  let shared = OFFERS.get(key);
  if (shared === undefined) OFFERS.set(key, (shared = Object.freeze(offers)));
  return shared;
}

/** The payload of a failure's context: a typed null, as 1.1.x gives `data: null`. */
const NULL_PAYLOAD = Buffer.from([DataType.NULL]);
