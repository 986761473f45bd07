/**
 * A WebSocket after its handshake, as WsConnection uses it: binary messages both ways, pings,
 * the close handshake. Two kinds: WsWire (this project's framing on the socket, the usual case)
 * and WsLibSocket (`ws` itself, kept for connections with a negotiated extension).
 */
export interface MessageSocket {
  /** Bytes accepted and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  /** Until a close starts, from either side. */
  readonly open: boolean;
  /** One binary message: `frame` (pooled, its reference passes on) and then `body` when given. */
  send(frame: Buffer, body?: Buffer): void;
  ping(): void;
  /** Starts the close handshake; what was sent before leaves first. */
  close(code: number, reason: string): void;
  /** Drops the socket at once. */
  terminate(): void;
}

/**
 * What a MessageSocket reports to its connection. Methods, not closures: the connection itself
 * implements them, so a connection costs no object per event (idle connections are many).
 */
export interface MessageSocketEvents {
  messageReceived(data: Buffer): void;
  /** A text message: not part of the protocol. */
  textReceived(): void;
  pongReceived(): void;
  /** The remote broke the WebSocket protocol or a limit; the socket closes with `code`. */
  protocolFailed(code: number, reason: string): void;
  /** The close handshake began, from either side (once): nothing more may be sent on it. */
  closeStarted(): void;
  /** The socket is gone (once): the remote's close code and reason, or 1006. */
  socketClosed(code: number, reason: string): void;
}
