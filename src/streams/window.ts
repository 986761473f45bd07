/** What an original writer assumes it may send before any QUOTA: Node's default hwm (§6). */
export const INITIAL_ALLOWANCE = 16384;

/** A reader's first window: small, so a stream nobody reads fast costs little. */
export const INITIAL_WINDOW = 64 * 1024;

/**
 * The default cap of a reader's window (the peer option `streamWindow`): a reader that stops
 * reading then holds at most 448 KiB, and 512 KiB with a writer that overshoots its allowance
 * by a 64 KiB chunk.
 */
export const DEFAULT_STREAM_WINDOW = 448 * 1024;

/**
 * The flow-control arithmetic of one stream reader (docs/protocol.md §6), apart from the stream.
 *
 * A QUOTA *replaces* the writer's allowance, and the writer applies it some time after we send
 * it, having perhaps sent more under the allowance it had. So `outstanding` counts, as an upper
 * bound, every byte that may still arrive: what we granted plus what may still come under the
 * grants before. Each QUOTA grants the room left in the window after that bound, so the bytes
 * buffered plus those that may still arrive never exceed the window: a consumer that stops
 * reading leaves the reader holding at most the window (plus the one chunk by which an original
 * writer may overshoot its allowance).
 *
 * The window starts at INITIAL_WINDOW and doubles, up to `max`, whenever the consumer has
 * taken everything when we grant: a consumer that keeps up gets a window that covers the round
 * trip, one that lags keeps a small one.
 */
export class ReadWindow {
  size: number;
  /** Bytes that may still arrive (an upper bound). */
  private outstanding = INITIAL_ALLOWANCE;

  constructor(readonly max: number) {
    this.size = Math.min(INITIAL_WINDOW, max);
  }

  /** A CHUNK of `bytes` arrived (an original writer may send a chunk beyond its allowance). */
  arrived(bytes: number): void {
    this.outstanding = Math.max(0, this.outstanding - bytes);
  }

  /**
   * The allowance to send now that the consumer has `buffered` bytes left to take, or 0: we
   * grant once at most half the window may still arrive (so the writer has that much to send
   * while the QUOTA travels) and at least half the window is free.
   */
  grant(buffered: number): number {
    // Not while more may still come: a QUOTA replaces the writer's allowance, so one sent
    // earlier would take away what the writer has not sent yet, and our bound would keep
    // counting that forfeited allowance. As it is, what a writer forfeits is at most half the
    // window, so the consumer always gets its room back.
    const half = this.size / 2;
    if (this.outstanding > half || this.size - buffered - this.outstanding < half) return 0;
    if (buffered === 0) this.size = Math.min(this.size * 2, this.max);
    const room = this.size - buffered - this.outstanding;
    this.outstanding += room;
    return room;
  }
}
