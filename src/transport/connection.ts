/**
 * The transport seen by the engine: one WebSocket connection that carries roletalk frames.
 * The engine talks only to this interface, so a connection owned by an I/O thread can stand in
 * for one on the main thread without the engine or the API noticing.
 */
/** What a connection carried, counted as it goes (for `peer.stats()`). */
export interface ConnectionCounters {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  /** Round-trip time of requests on it, a moving average in ms, kept by the engine. */
  rtt: number | undefined;
}

export interface Connection {
  /** Unique per process, for logs and tests. */
  readonly id: number;
  /** Frames and bytes in and out so far. */
  readonly counters: ConnectionCounters;
  /** True when this side dialed. */
  readonly outbound: boolean;
  /** Bytes queued for the socket and not yet handed to the kernel. Used for balancing. */
  readonly bufferedAmount: number;
  /** True until the connection starts closing. */
  readonly open: boolean;
  /** The remote address as `host:port`, when known. */
  readonly remoteAddress: string;

  /**
   * Sends one frame as one binary WebSocket message. A pooled frame's reference passes to
   * the connection, which releases it once the socket is done with the bytes
   * (see src/protocol/buffer-pool.ts). A large binary payload the encoder left out of the frame
   * (`bodyOf(frame)`, src/protocol/payload.ts) follows it in the same message.
   */
  send(frame: Buffer): void;
  /** Closes with a close handshake; the code and reason are diagnostics for the remote. */
  close(code?: number, reason?: string): void;
  /** Drops the connection at once, without a close handshake. */
  terminate(): void;

  /**
   * Set by the engine: called for every binary message, in arrival order. Frames that arrive
   * before it is set are kept and delivered when it is.
   */
  onFrame: (frame: Buffer) => void;
  /** Set by the engine: called once when the connection is gone (at once if it already is). */
  onClose: (code: number, reason: string) => void;
  /**
   * Set by the engine: frames this connection accepted but could not write because it was
   * already closing (an I/O thread learns of a close after the main thread sent). They never
   * reached the socket, so sending them on another connection cannot duplicate them.
   */
  onUndelivered?: (frame: Buffer) => void;
}

export interface HeartbeatOptions {
  /** Milliseconds between pings (docs/protocol.md §1: 5000). 0 turns heartbeats off. */
  interval: number;
  /** Milliseconds to wait for a pong before dropping the connection (§1: 2000). */
  timeout: number;
}

/** How frames written in one tick are batched into socket writes. */
export interface WriteBatch {
  /** Frames per socket write at most; 1 turns batching off. */
  frames: number;
  /** Bytes after which a batch is flushed at once. */
  bytes: number;
}

export const DEFAULT_WRITE_BATCH: WriteBatch = { frames: 16, bytes: 64 * 1024 };
