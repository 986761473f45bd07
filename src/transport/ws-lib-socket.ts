import { WebSocket } from 'ws';
import type { BufferPool } from '../protocol/buffer-pool';
import type { MessageSocket, MessageSocketEvents } from './message-socket';

const SEND_OPTIONS = { binary: true, compress: false } as const;

/**
 * A MessageSocket run by `ws` itself: for a connection with a negotiated extension
 * (permessage-deflate, given in a dial's options), which only ws can frame, or a ws that
 * WsWire does not recognise.
 */
export class WsLibSocket implements MessageSocket {
  constructor(
    private readonly ws: WebSocket,
    private readonly pool: BufferPool,
    events: MessageSocketEvents,
  ) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary: boolean) => (isBinary ? events.messageReceived(data) : events.textReceived()));
    ws.on('pong', () => events.pongReceived());
    ws.on('error', (err: Error & { code?: string }) => {
      // ws has already closed with 1009: say why.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') events.protocolFailed(1009, 'A message was larger than maxPayload');
    });
    ws.on('close', (code: number, reason: Buffer) => events.socketClosed(code, reason.toString()));
    // ws starts every close handshake through close(), also when the remote's close frame
    // arrives: the one place to hear that it began.
    const close = ws.close.bind(ws);
    let started = false;
    ws.close = (...args: Parameters<WebSocket['close']>) => {
      if (!started) {
        started = true;
        events.closeStarted();
      }
      close(...args);
    };
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: Buffer, body?: Buffer): void {
    const message = body === undefined ? frame : Buffer.concat([frame, body]);
    this.ws.send(message, SEND_OPTIONS, this.pool.releaserOf(frame));
  }

  ping(): void {
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    // A close reason is limited to 123 bytes by RFC 6455.
    const short = Buffer.byteLength(reason) > 123 ? Buffer.from(reason).subarray(0, 120).toString() : reason;
    try {
      this.ws.close(code, short);
    } catch {
      this.ws.terminate();
    }
  }

  terminate(): void {
    this.ws.terminate();
  }
}
