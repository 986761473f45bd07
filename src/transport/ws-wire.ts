import type { Socket } from 'node:net';
import type { BufferPool } from '../protocol/buffer-pool';
import type { WriteBatch } from './connection';
import type { MessageSocket, MessageSocketEvents } from './message-socket';
import { WsFrameReader, type FrameSink } from './ws-frame-reader';
import { WsFrameWriter } from './ws-frame-writer';

/** How long a close handshake may take before the socket is dropped (ws's default too). */
const CLOSE_TIMEOUT = 30_000;
const ABNORMAL = 1006;

/** The listeners `ws` puts on a socket it runs (ws 8, `WebSocket#setSocket`). */
const WS_LISTENERS = [
  ['data', 'socketOnData'],
  ['end', 'socketOnEnd'],
  ['error', 'socketOnError'],
  ['close', 'socketOnClose'],
] as const;

/**
 * A WebSocket run by this project once `ws` has done the opening handshake: `ws` is detached
 * from the socket and WsFrameReader/WsFrameWriter carry every frame (RFC 6455 §5), with the
 * close handshake of §7. Why: `ws` makes several Buffer views, an event and a callback per
 * message, which cost more than the rest of a small request's path; here a message costs one
 * view in and a share of one copy per batch out.
 */
export class WsWire implements MessageSocket, FrameSink {
  private readonly writer: WsFrameWriter;
  private readonly reader: WsFrameReader;
  private closeSent = false;
  private closeReceived = false;
  private gone = false;
  /** What the remote's close frame said; 1006 when none came. */
  private code = ABNORMAL;
  private reason = '';
  private closeTimer: NodeJS.Timeout | null = null;

  /**
   * Detaches `ws` from `socket` and runs it here. Returns null, leaving `ws` in charge, when ws
   * is not attached as this code expects (another major version of ws).
   */
  static takeOver(socket: Socket, outbound: boolean, pool: BufferPool, batch: WriteBatch, maxPayload: number, events: MessageSocketEvents): WsWire | null {
    const attached = WS_LISTENERS.map(([event, name]) => socket.listeners(event).find((l) => l.name === name));
    if (attached.some((l) => l === undefined)) return null;
    WS_LISTENERS.forEach(([event], i) => socket.removeListener(event, attached[i] as (...args: unknown[]) => void));
    return new WsWire(socket, outbound, pool, batch, maxPayload, events);
  }

  private constructor(
    private readonly socket: Socket,
    outbound: boolean,
    pool: BufferPool,
    batch: WriteBatch,
    maxPayload: number,
    private readonly events: MessageSocketEvents,
  ) {
    this.writer = new WsFrameWriter(socket, outbound, pool, batch);
    this.reader = new WsFrameReader(!outbound, maxPayload, this);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    // 'close' follows every error; without a listener the error would be thrown.
    socket.on('error', ignore);
    socket.on('close', this.onSocketClose);
  }

  get bufferedAmount(): number {
    return this.socket.writableLength + this.writer.queued;
  }

  get open(): boolean {
    return !this.closeSent && !this.closeReceived && !this.gone;
  }

  send(frame: Buffer, body?: Buffer): void {
    this.writer.send(frame, body);
  }

  ping(): void {
    if (this.open) this.writer.control(OPCODE_PING);
  }

  close(code: number, reason: string): void {
    if (this.closeSent || this.gone) return;
    if (this.open) this.events.closeStarted();
    this.closeSent = true;
    const payload = Buffer.allocUnsafe(125);
    payload.writeUInt16BE(code, 0);
    // A close frame's payload is at most 125 bytes (§5.5): the reason is cut to fit.
    const length = 2 + payload.write(reason, 2, 123, 'utf8');
    this.writer.control(OPCODE_CLOSE, payload.subarray(0, length));
    if (this.closeReceived) this.socket.end();
    else {
      this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT);
      this.closeTimer.unref();
    }
  }

  terminate(): void {
    this.writer.discard();
    this.socket.destroy();
  }

  // ---- FrameSink: what the reader finds --------------------------------------------------

  onMessage(data: Buffer): void {
    this.events.messageReceived(data);
  }

  onText(): void {
    this.events.textReceived();
  }

  onPing(data: Buffer): void {
    if (this.open) this.writer.control(OPCODE_PONG, data);
  }

  onPong(): void {
    this.events.pongReceived();
  }

  onClose(code: number, reason: string): void {
    if (this.open) this.events.closeStarted();
    this.closeReceived = true;
    this.code = code;
    this.reason = reason;
    // §5.5.1: answer with a close frame (the same code, as ws does), then end the TCP side.
    if (this.closeSent) this.socket.end();
    else this.close(code === 1005 ? 1000 : code, reason);
  }

  onError(code: number, reason: string): void {
    this.events.protocolFailed(code, reason);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.reader.push(chunk);
  };

  /** The remote ended its side without a close handshake. */
  private readonly onEnd = (): void => {
    this.socket.end();
  };

  private readonly onSocketClose = (): void => {
    if (this.gone) return;
    this.gone = true;
    this.writer.discard();
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.events.socketClosed(this.code, this.reason);
  };
}

const ignore = (): void => {};
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;
