/** What an original writer assumes it may send before any QUOTA: Node's default hwm (§6). */
export const INITIAL_ALLOWANCE = 16384;

/** A reader's first window: small, so a stream nobody reads fast costs little. */
export const INITIAL_WINDOW = 64 * 1024;

/**
 * The default cap of a reader's window (the peer option `streamWindow`): a reader that stops
 * reading then holds at most 448 KiB, and 512 KiB with a writer that overshoots by a 64 KiB chunk.
 */
export const DEFAULT_STREAM_WINDOW = 448 * 1024;

/**
 * The flow-control arithmetic of one stream reader (docs/protocol.md §6), apart from the stream.
 *
 * A QUOTA *replaces* the writer's allowance, and the writer applies it some time after we send
 * it, having perhaps sent more under the allowance it had. So `outstanding` counts, as an upper
 * bound, every byte that may still arrive: what we granted, plus what may still come under the
 * grants before. Each QUOTA grants the room left in the window after that bound, so the bytes
 * buffered plus those that may still arrive never exceed the window, however many QUOTAs are in
 * flight. A writer that had not used all of its allowance forfeits the rest when it applies a
 * QUOTA; the bound keeps counting it, which only makes our next grants smaller, until
 * `forgetStale` drops it (the reader calls it when the writer has gone quiet while we wait).
 *
 * The window starts at INITIAL_WINDOW and doubles, up to `max`, whenever the consumer has
 * taken everything when we grant: a consumer that keeps up gets a window that covers the round
 * trip, one that lags keeps a small one.
 */
export class ReadWindow {
  size: number;
  /** Bytes that may still arrive (an upper bound). */
  private outstanding = INITIAL_ALLOWANCE;
  /** Our last grant minus what arrived since: what the writer has left if it applied it. */
  private lastGrantLeft = INITIAL_ALLOWANCE;

  constructor(readonly max: number) {
    this.size = Math.min(INITIAL_WINDOW, max);
  }

  /** A CHUNK of `bytes` arrived. An original writer may overshoot its allowance by a chunk. */
  arrived(bytes: number): void {
    this.outstanding = Math.max(0, this.outstanding - bytes);
    this.lastGrantLeft -= bytes;
  }

  /**
   * The allowance to send now that the consumer has `buffered` bytes left to take, or 0 when a
   * QUOTA would not be worth it: we grant once at least half the window is free, so the writer
   * still has up to half a window to send while the QUOTA travels.
   */
  grant(buffered: number): number {
    if (this.size - buffered - this.outstanding < this.size / 2) return 0;
    if (buffered === 0) this.size = Math.min(this.size * 2, this.max);
    const room = this.size - buffered - this.outstanding;
    this.outstanding += room;
    this.lastGrantLeft = room;
    return room;
  }

  /** Whether only the upper bound stands between the writer and a grant (see forgetStale). */
  get heldByBound(): boolean {
    return this.outstanding > Math.max(0, this.lastGrantLeft);
  }

  /**
   * Nothing arrived for a while though the bound says more may: the writer applied our last
   * QUOTA and forfeited what it had left under earlier ones. Keep only what it may have left
   * under the last one.
   */
  forgetStale(): void {
    this.outstanding = Math.max(0, this.lastGrantLeft);
  }
}
