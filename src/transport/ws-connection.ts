import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { CloseCode } from '../errors';
import type { BufferPool } from '../protocol/buffer-pool';
import { bodyOf } from '../protocol/payload';
import { ConnectionBase } from './connection-base';
import { DEFAULT_WRITE_BATCH, type Connection, type HeartbeatOptions, type WriteBatch } from './connection';
import type { MessageSocket, MessageSocketEvents } from './message-socket';
import { WsLibSocket } from './ws-lib-socket';
import { WsWire } from './ws-wire';
import { heartbeatScheduler, type HeartbeatMember, type HeartbeatScheduler } from './heartbeat';

/** ws's own limit when none is set, kept for connections without maxPayload. */
const WS_DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;

/**
 * A `Connection` over a WebSocket on the main thread. `ws` does the opening handshake; then, as
 * a rule, WsWire carries the frames (batched per tick, see WsFrameWriter); a connection with a
 * negotiated extension stays with `ws` (WsLibSocket).
 *
 * Heartbeats follow docs/protocol.md §1: ping every interval, drop the connection at once
 * (terminate, not close: a gone peer never answers a close handshake) when no pong comes
 * within the timeout. The timing is the shared scheduler's (./heartbeat.ts).
 */
export class WsConnection extends ConnectionBase implements Connection, HeartbeatMember, MessageSocketEvents {
  readonly remoteAddress: string;
  /** The `ws` object of the opening handshake, while anyone may use it: 1.1.x's `connect()` hands it out. */
  readonly ws: WebSocket | undefined;

  private readonly socket: MessageSocket;
  private closed = false;
  /** Set when this side ends the connection, so the close reports why, not the echo or 1006. */
  private localCloseCode = 0;
  private localCloseReason = '';
  private readonly heartbeat: HeartbeatScheduler | null;
  heartbeatSlot = -1;
  pingTick = -1;

  constructor(
    ws: WebSocket,
    readonly outbound: boolean,
    private readonly pool: BufferPool,
    heartbeatOptions: HeartbeatOptions,
    batch: WriteBatch = DEFAULT_WRITE_BATCH,
    maxPayload = 0,
  ) {
    super();
    // ws keeps the net.Socket private: taking it over is the one reach inside ws we rely on.
    const raw = (ws as unknown as { _socket: Socket | null })._socket;
    this.remoteAddress = remoteAddressOf(ws, raw);
    const wire =
      raw !== null && ws.extensions === ''
        ? WsWire.takeOver(raw, outbound, pool, batch, maxPayload || WS_DEFAULT_MAX_PAYLOAD, this)
        : null;
    if (wire !== null && outbound) keepWsFacade(ws, this);
    // An accepted connection's ws object is not seen by anyone once WsWire runs the socket: let
    // it go, with its receiver and sender (a kilobyte per idle connection).
    else if (wire !== null) forgetWs(raw!);
    this.ws = wire === null || outbound ? ws : undefined;
    this.socket = wire ?? new WsLibSocket(ws, pool, this);
    this.heartbeat = heartbeatOptions.interval > 0 ? heartbeatScheduler(heartbeatOptions) : null;
    this.heartbeat?.add(this);
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  get open(): boolean {
    return !this.closed && this.socket.open;
  }

  send(frame: Buffer): void {
    if (!this.open) {
      this.pool.release(frame);
      return;
    }
    const body = bodyOf(frame);
    this.countOut(frame, body);
    this.socket.send(frame, body);
  }

  close(code: number = CloseCode.INTENTIONAL, reason = ''): void {
    if (this.closed) return;
    this.localCloseCode = code;
    this.localCloseReason = reason;
    this.stopHeartbeat();
    this.socket.close(code, reason);
  }

  terminate(code = 1006, reason = ''): void {
    if (this.localCloseCode === 0) {
      this.localCloseCode = code;
      this.localCloseReason = reason;
    }
    this.stopHeartbeat();
    this.socket.terminate();
  }

  // ---- MessageSocketEvents: what the socket reports ----------------------------------------

  /** @internal */
  messageReceived(data: Buffer): void {
    this.deliver(data);
  }

  /** @internal */
  textReceived(): void {
    this.close(CloseCode.PROTOCOL_ERROR, 'Text messages are not part of the protocol');
  }

  /** @internal */
  pongReceived(): void {
    this.heartbeat?.pong(this);
  }

  /** @internal */
  protocolFailed(code: number, reason: string): void {
    // Report why, whatever the remote echoes (or 1006 if it never does).
    if (this.localCloseCode === 0) this.close(code, reason);
  }

  /** @internal */
  closeStarted(): void {
    this.onClosing?.();
  }

  /** @internal */
  socketClosed(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    if (this.localCloseCode !== 0) this.reportClose(this.localCloseCode, this.localCloseReason);
    else this.reportClose(code, reason);
    this.onGone?.(code, reason);
  }

  /** @internal Set by an I/O thread: the close handshake began, from either side. */
  onClosing: (() => void) | undefined;

  /** @internal Set by keepWsFacade: the handshake's ws object hears the close too. */
  onGone: ((code: number, reason: string) => void) | undefined;

  /** For the heartbeat scheduler. A connection that is closing is not pinged any more. */
  ping(): void {
    if (this.open) this.socket.ping();
    else this.stopHeartbeat();
  }

  /** For the heartbeat scheduler. */
  pongMissed(): void {
    this.terminate(CloseCode.HEARTBEAT_TIMEOUT, 'Heartbeat timeout');
  }

  private stopHeartbeat(): void {
    this.heartbeat?.remove(this);
  }
}

/**
 * The `ws` object of a connection WsWire took over no longer hears its socket, but `connect()`
 * hands it out (as 1.1.x did) and users close it and wait for its 'close'. Its close and
 * terminate now go through the connection, and it reports the connection's close.
 */
function keepWsFacade(ws: WebSocket, conn: WsConnection): void {
  const facade = ws as WebSocket & { _readyState: number };
  facade.close = (code?: number, reason?: string | Buffer) => conn.close(code ?? 1000, reason === undefined ? '' : reason.toString());
  facade.terminate = () => conn.terminate();
  conn.onGone = (code, reason) => {
    facade._readyState = WebSocket.CLOSED;
    ws.emit('close', code, Buffer.from(reason));
  };
}

/** Drops the socket's reference to its ws object (ws 8 keeps it under Symbol('websocket')). */
function forgetWs(socket: Socket): void {
  const holder = socket as unknown as Record<symbol, unknown>;
  // Set, not deleted: deleting a property turns the socket's properties into a dictionary (1.6 KiB).
  for (const key of Object.getOwnPropertySymbols(socket)) if (key.description === 'websocket') holder[key] = undefined;
}

/** `host:port` over TCP; over a Unix socket (no remote address) the URL dialed, or `unix`. */
function remoteAddressOf(ws: WebSocket, socket: Socket | null): string {
  if (socket === null) return '';
  if (socket.remoteAddress !== undefined) return `${socket.remoteAddress}:${socket.remotePort}`;
  return typeof ws.url === 'string' && ws.url.startsWith('ws+unix:') ? ws.url : 'unix';
}
