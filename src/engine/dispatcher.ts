import { DataType, FrameType, RejectText } from '../protocol/constants';
import type { MessageFrame, RequestFrame, StreamRequestFrame } from '../protocol/decoder';
import type { Connection } from '../transport/connection';
import { StreamReader } from '../streams/reader';
import { StreamWriter } from '../streams/writer';
import type { FrameEncoder } from '../protocol/encoder';
import { copyFrame } from '../protocol/payload';
import { OverloadedError } from '../errors';
import { Context } from './context';
import type { RemotePeer } from './remote-peer';
import { channels, traceStream } from './tracing';
import type { Kind, PeerMiddleware, RoleRoutes } from './routes';
import { readerLink, writerLink } from './stream-links';
import { isThenable, runChain, type Handler } from './middleware';

/** The roles and peer-wide middleware that incoming frames are routed to. */
export interface Routes {
  readonly encoder: FrameEncoder;
  readonly roles: ReadonlyMap<string, RoleRoutes>;
  readonly middleware: PeerMiddleware;
  /** maxStreams: stream requests beyond it are refused. */
  readonly limits: { readonly maxStreams: number; readonly streamWindow: number };
  /** A message handler failed: nobody is waiting for an answer, so it is reported here. */
  handlerError(err: unknown, ctx: Context): void;
}

/** The text a rejection carries: an Error's message, a string as is, anything else as String(x). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : String(err);
}

/**
 * Routes incoming MESSAGE and REQUEST frames (docs/protocol.md §4) to the role's handler behind
 * the middleware, and sends the reply. Stream requests use the same routing (`route`).
 */
export class Dispatcher {
  /** Incoming requests and stream requests whose handlers have not answered yet (for drain). */
  running = 0;

  constructor(private readonly routes: Routes) {}

  message(unit: RemotePeer, frame: MessageFrame): void {
    unit.counters.messagesIn++;
    const role = this.routes.roles.get(frame.role);
    // Unknown or disabled role, or unhandled event: dropped silently (§4).
    if (role === undefined || !role.active) return;
    if (channels.message.hasSubscribers) channels.message.publish({ role: frame.role, event: frame.event, unitId: unit.id });
    const handler = role.message.byEvent.get(frame.event);
    const layers = this.layers('message', role);
    // An unhandled event still passes the role's middleware, as in 1.1.x (so `onMessage(fn)`
    // without an event sees every message of the role); with no middleware it is dropped.
    if (handler === undefined && layers.length === 0) return;
    const ctx = new Context(unit.face, frame.role, frame.event, frame.payload);
    if (handler === undefined) {
      runChain(ctx, layers, noReply, (c) => {
        if (c.error !== undefined) this.routes.handlerError(c.error, c);
      });
      return;
    }
    if (layers.length === 0) {
      // The common case, without the middleware machinery: no Promise unless the handler makes one.
      try {
        const result = handler(ctx, noReply);
        if (isThenable(result)) result.then(undefined, (err: unknown) => this.routes.handlerError(err, ctx));
      } catch (err) {
        this.routes.handlerError(err, ctx);
      }
      return;
    }
    runChain(ctx, layers, (c) => handler(c, noReply), (c) => {
      if (c.error !== undefined) this.routes.handlerError(c.error, c);
    });
  }

  request(unit: RemotePeer, frame: RequestFrame, conn: Connection): void {
    const corr = frame.corr;
    const encoder = this.routes.encoder;
    const ctx = new Context(unit.face, frame.role, frame.event, frame.payload);
    const incoming = unit.incoming;
    if (incoming !== null) {
      // A peer with extensions: a repeat of a request (sent again after a connection dropped,
      // §9 `resend`) is answered once, never run twice, on the connection the repeat came on.
      const seen = incoming.begin(corr, ctx, conn);
      if (seen === undefined && frame.deadlineMs !== undefined) ctx.deadline = Date.now() + frame.deadlineMs;
      if (seen !== undefined) {
        if (seen !== 'running') sendOn(unit, conn, seen !== null ? copyFrame(seen) : encoder.reject(corr, ANSWER_FORGOTTEN));
        return;
      }
    }
    const refusal = this.refusal('request', frame.role, frame.event);
    if (typeof refusal === 'string') {
      this.answer(unit, corr, encoder.reject(corr, refusal));
      return;
    }
    const datatype = frame.payload.length > 0 ? frame.payload[0]! : -1;
    if (datatype < 0 || datatype > DataType.OBJECT) {
      // §4: a request whose payload datatype is unknown or missing is rejected.
      this.answer(unit, corr, encoder.reject(corr, datatype < 0 ? 'The request has no payload datatype' : `Unknown payload datatype ${datatype}`));
      return;
    }
    this.running++;
    runChain(ctx, this.layers('request', refusal.role), refusal.handler, (c) => {
      this.running--;
      if (channels.handled.hasSubscribers) {
        channels.handled.publish({ role: c.role, event: c.event, unitId: unit.id, ok: c.error === undefined, error: c.error });
      }
      let reply: Buffer;
      try {
        const frame = c.error !== undefined ? encoder.reject(corr, errorText(c.error)) : encoder.response(corr, c.response);
        reply = encoder.within(frame, unit.maxFrame);
      } catch (err) {
        // The response could not be encoded (a BigInt inside an object, say): reject instead.
        reply = encoder.reject(corr, errorText(err));
      }
      this.answer(unit, corr, reply);
    });
    incoming?.started(corr);
  }

  /**
   * Sends a request's answer. Toward a peer with extensions it is remembered first (it may ask
   * again, §9) and goes on the connection the request's latest copy came on.
   */
  private answer(unit: RemotePeer, corr: number, reply: Buffer): void {
    unit.counters.handled++;
    const incoming = unit.incoming;
    if (incoming === null) {
      unit.sendFrame(reply);
      return;
    }
    // Answer bytes are kept only where a repeat can come: a remote that runs redundant connections.
    const conn = incoming.finish(corr, reply, unit.offers.resend && unit.redundant);
    // Cancelled by the caller: nobody waits for it.
    if (conn === null) this.routes.encoder.pool.release(reply);
    else if (conn === undefined) unit.sendFrame(reply);
    else sendOn(unit, conn, reply);
  }

  /**
   * A stream request (§6). REQUEST_WRITABLE: the remote wants to write, our onReadable handler
   * gets `ctx.readable`. REQUEST_READABLE: the remote wants to read, our onWritable handler gets
   * `ctx.writable`. Accepting answers STREAM_RESOLVE with our end's id on the connection the
   * request came on, which then carries the stream; refusing answers STREAM_REJECT.
   */
  streamRequest(unit: RemotePeer, frame: StreamRequestFrame, conn: Connection): void {
    const encoder = this.routes.encoder;
    const corr = frame.corr;
    const reject = (reason: string): void =>
      conn.send(encoder.streamReply(FrameType.STREAM_REJECT, corr, 0, JSON.stringify({ data: reason })));
    const { maxStreams } = this.routes.limits;
    if (unit.streams.openCount >= maxStreams) return reject(new OverloadedError('maxStreams', maxStreams).message);
    const kind: Kind = frame.type === FrameType.REQUEST_WRITABLE ? 'readable' : 'writable';
    const refusal = this.refusal(kind, frame.role, frame.event);
    if (typeof refusal === 'string') return reject(refusal);
    if (frame.chan <= 0) return reject('Invalid stream id');
    const remoteId = frame.chan;
    const ctx = new Context(unit.face, frame.role, frame.event, frame.payload);
    const stream = kind === 'readable' ? new StreamReader(this.routes.limits.streamWindow) : new StreamWriter();
    stream.handlerEnd = true;
    if (stream instanceof StreamReader) ctx.readable = stream;
    else ctx.writable = stream;
    const localId = unit.streams.add(stream);
    this.running++;
    runChain(ctx, this.layers(kind, refusal.role), refusal.handler, (c) => {
      this.running--;
      if (c.error !== undefined || !conn.open) {
        unit.streams.remove(localId);
        // Nobody may be listening for 'error' on a stream that never started: end it quietly.
        stream.destroy();
        if (conn.open) reject(errorText(c.error));
        return;
      }
      let resolve: Buffer;
      try {
        resolve = encoder.within(encoder.streamReply(FrameType.STREAM_RESOLVE, corr, localId, c.response), unit.maxFrame);
      } catch (err) {
        unit.streams.remove(localId);
        stream.destroy();
        return reject(errorText(err));
      }
      conn.send(resolve);
      unit.streams.bind(localId, conn);
      if (stream instanceof StreamReader) stream.attach(readerLink(unit, encoder, conn, localId, remoteId));
      else stream.attach(writerLink(unit, encoder, conn, localId, remoteId));
      traceStream(unit.id, frame.role, frame.event, conn.id, 'handler', stream);
      // As 1.1.x: the handler's end emits 'ready' with { unit } once the response has been
      // written, and handlers commonly wait for it before writing. Later than the reply, so that
      // a handler that replies first and listens after still hears it.
      setImmediate(() => {
        if (!stream.destroyed) stream.emit('ready', { unit: unit.face });
      });
    });
  }

  /**
   * The §4 automatic rejection text for `role`/`event` of `kind`, or the role and handler
   * that will serve it.
   */
  refusal(kind: Kind, roleName: string, event: string): string | { role: RoleRoutes; handler: Handler } {
    const role = this.routes.roles.get(roleName);
    if (role === undefined) return RejectText.roleNotRegistered(roleName);
    if (!role.active) return RejectText.roleDisabled(roleName);
    const handler = role.of(kind).byEvent.get(event);
    if (handler === undefined) return RejectText.eventNotHandled(event);
    return { role, handler };
  }

  /** Middleware order: peer onData, peer on<Kind>, role onData, role on<Kind>. */
  layers(kind: Kind, role: RoleRoutes): readonly Handler[] {
    const peer = this.routes.middleware;
    const peerKind = peer[kind];
    const roleKind = role.of(kind).middleware;
    const total = peer.data.length + peerKind.length + role.data.length + roleKind.length;
    if (total === 0) return EMPTY;
    return [...peer.data, ...peerKind, ...role.data, ...roleKind];
  }
}

/** Sends on `conn` while it is open, else on whichever connection of the unit is. */
function sendOn(unit: RemotePeer, conn: Connection, frame: Buffer): void {
  if (conn.open) conn.send(frame);
  else unit.sendFrame(frame);
}

const EMPTY: readonly Handler[] = [];
/** The answer to a repeat whose first answer is no longer kept (docs/protocol.md §9). */
const ANSWER_FORGOTTEN = 'The answer to this request was lost with its connection and is no longer kept';
const noReply = (): void => {};
