import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { CloseCode } from '../errors';
import type { BufferPool } from '../protocol/buffer-pool';
import { ConnectionBase } from './connection-base';
import { DEFAULT_WRITE_BATCH, type Connection, type HeartbeatOptions, type WriteBatch } from './connection';
import { heartbeatScheduler, type HeartbeatMember, type HeartbeatScheduler } from './heartbeat';

const SEND_OPTIONS = { binary: true, compress: false } as const;

/**
 * A `Connection` over a `ws` WebSocket on the main thread.
 *
 * Writes made in one tick are batched: the tick's first frame is written at once, the next ones
 * cork the socket until a nextTick uncorks it (ws corks around each frame too; corks nest), and
 * a batch that reaches `batch.frames` frames or `batch.bytes` bytes is flushed at once. Without the cap two busy
 * peers fall into lockstep, each idle while the other works through a whole window; with it
 * they overlap (see BENCHMARKS.md: 16 frames doubled pipelined throughput over no cap).
 *
 * Heartbeats follow docs/protocol.md §1: ping every interval, drop the connection at once (terminate, not close: a gone peer never answers a close handshake) when
 * no pong comes within the timeout. The timing is the shared scheduler's (./heartbeat.ts).
 */
export class WsConnection extends ConnectionBase implements Connection, HeartbeatMember {
  readonly remoteAddress: string;

  private readonly socket: Socket | null;
  /** Frames and bytes written since the socket was corked (0: not corked). */
  private corked = 0;
  private corkedBytes = 0;
  /** The tick's first frame went out uncorked; later ones are batched until nextTick. */
  private sentThisTick = false;
  private closed = false;
  /** Set when this side ends the connection, so the close reports why, not ws's 1006. */
  private localCloseCode = 0;
  private localCloseReason = '';
  private readonly heartbeat: HeartbeatScheduler | null;
  heartbeatSlot = -1;
  pingTick = -1;

  constructor(
    readonly ws: WebSocket,
    readonly outbound: boolean,
    private readonly pool: BufferPool,
    heartbeatOptions: HeartbeatOptions,
    private readonly batch: WriteBatch = DEFAULT_WRITE_BATCH,
  ) {
    super();
    // ws keeps the net.Socket private; corking it is the one reach inside ws we rely on.
    this.socket = (ws as unknown as { _socket: Socket | null })._socket;
    this.remoteAddress = remoteAddressOf(ws, this.socket);
    ws.binaryType = 'nodebuffer';
    ws.on('message', this.handleMessage);
    ws.on('close', this.handleClose);
    // Errors are followed by 'close'; without a listener ws would throw them.
    ws.on('error', this.handleError);
    this.heartbeat = heartbeatOptions.interval > 0 ? heartbeatScheduler(heartbeatOptions) : null;
    if (this.heartbeat !== null) {
      ws.on('pong', this.handlePong);
      this.heartbeat.add(this);
    }
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get open(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: Buffer): void {
    if (!this.open) {
      this.pool.release(frame);
      return;
    }
    this.countOut(frame);
    const socket = this.socket;
    const batch = this.batch;
    if (socket === null || batch.frames <= 1) {
      this.ws.send(frame, SEND_OPTIONS, this.pool.releaserOf(frame));
      return;
    }
    if (this.corked === 0) {
      if (!this.sentThisTick) {
        // The first frame of a tick leaves at once, so the remote can start on it while the
        // rest of the tick's frames are gathered behind it.
        this.sentThisTick = true;
        process.nextTick(this.uncork);
        this.ws.send(frame, SEND_OPTIONS, this.pool.releaserOf(frame));
        return;
      }
      socket.cork();
    }
    this.ws.send(frame, SEND_OPTIONS, this.pool.releaserOf(frame));
    this.corkedBytes += frame.length;
    if (++this.corked >= batch.frames || this.corkedBytes >= batch.bytes) {
      // A full batch leaves now, so the remote can start on it while we write the next one.
      this.corked = 1;
      this.corkedBytes = 0;
      socket.uncork();
      socket.cork();
    }
  }

  close(code: number = CloseCode.INTENTIONAL, reason = ''): void {
    if (this.closed) return;
    this.localCloseCode = code;
    this.localCloseReason = reason;
    this.stopHeartbeat();
    // A close reason is limited to 123 bytes by RFC 6455.
    const shortReason = Buffer.byteLength(reason) > 123 ? Buffer.from(reason).subarray(0, 120).toString() : reason;
    try {
      this.ws.close(code, shortReason);
    } catch {
      this.ws.terminate();
    }
  }

  terminate(code = 1006, reason = ''): void {
    if (this.localCloseCode === 0) {
      this.localCloseCode = code;
      this.localCloseReason = reason;
    }
    this.stopHeartbeat();
    this.ws.terminate();
  }

  private readonly uncork = (): void => {
    this.sentThisTick = false;
    if (this.corked === 0) return;
    this.corked = 0;
    this.corkedBytes = 0;
    this.socket?.uncork();
  };

  private readonly handleMessage = (data: Buffer, isBinary: boolean): void => {
    if (!isBinary) {
      this.close(CloseCode.PROTOCOL_ERROR, 'Text messages are not part of the protocol');
      return;
    }
    this.deliver(data);
  };

  private readonly handleError = (err: Error & { code?: string }): void => {
    // A message above maxPayload: ws has already closed with 1009 and no reason. Report why
    // here, whatever the remote echoes (or 1006 if it never does).
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && this.localCloseCode === 0) {
      this.localCloseCode = CloseCode.MESSAGE_TOO_BIG;
      this.localCloseReason = 'A message was larger than maxPayload';
    }
  };

  private readonly handleClose = (code: number, reason: Buffer): void => {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    if (this.localCloseCode !== 0) this.reportClose(this.localCloseCode, this.localCloseReason);
    else this.reportClose(code, reason.toString());
  };

  /** For the heartbeat scheduler. A connection that is closing is not pinged any more. */
  ping(): void {
    if (this.open) this.ws.ping();
    else this.stopHeartbeat();
  }

  /** For the heartbeat scheduler. */
  pongMissed(): void {
    this.terminate(CloseCode.HEARTBEAT_TIMEOUT, 'Heartbeat timeout');
  }

  private readonly handlePong = (): void => {
    this.heartbeat?.pong(this);
  };

  private stopHeartbeat(): void {
    this.heartbeat?.remove(this);
  }
}

/** `host:port` over TCP; over a Unix socket (no remote address) the URL dialed, or `unix`. */
function remoteAddressOf(ws: WebSocket, socket: Socket | null): string {
  if (socket === null) return '';
  if (socket.remoteAddress !== undefined) return `${socket.remoteAddress}:${socket.remotePort}`;
  return typeof ws.url === 'string' && ws.url.startsWith('ws+unix:') ? ws.url : 'unix';
}
