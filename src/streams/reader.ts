import { Readable, type ReadableOptions } from 'node:stream';
import { StreamError } from '../errors';
import { StreamFlag } from '../protocol/constants';
import { failStream, type StreamEndpoint } from './endpoint';
import { ReadWindow } from './window';

/** How the reader talks back to the remote writer. Set once the stream is resolved. */
export interface ReaderLink {
  sendQuota(allowance: number): void;
  sendError(reason: string): void;
  /** The stream is over on this end: free its id. */
  release(): void;
}

/**
 * How long the writer must stay silent, while our consumer waits and only the upper bound of
 * ReadWindow holds back a grant, before we take it that the writer forfeited that allowance.
 */
const STALE_MS = 20;

/**
 * The local end of a stream the remote writes to (docs/protocol.md §6), as a Node Readable.
 *
 * Flow control is driven by the consumer: allowance is granted when the consumer takes data
 * (ReadWindow says how much), never on receipt, so a paused consumer stops the writer and the
 * reader holds at most its window (`streamWindow`), what was in flight included.
 */
export class StreamReader extends Readable implements StreamEndpoint {
  private link: ReaderLink | null = null;
  private readonly window: ReadWindow;
  private finished = false;
  private remoteFailed = false;
  private wantsData = false;
  /** Chunks received so far; the stale check compares it across its wait. */
  private arrivals = 0;
  private staleTimer: NodeJS.Timeout | null = null;
  /** @internal The end an onReadable handler got: network failures close it quietly if unheard. */
  handlerEnd = false;

  /** `window`: the cap of the flow-control window in bytes (the peer's `streamWindow`). */
  constructor(window: number, options?: ReadableOptions) {
    // The window, not the high-water mark, bounds what we buffer; a high-water mark as large
    // keeps Node asking for data (_read) while the window has room.
    super({ highWaterMark: window, ...options });
    this.window = new ReadWindow(window);
  }

  /** @internal The stream is resolved: flow-control frames can go out now. */
  attach(link: ReaderLink): void {
    this.link = link;
    if (this.wantsData) this.grant();
  }

  /** @internal */
  receive(flag: number, body: Buffer): void {
    if (this.finished || this.destroyed) return;
    switch (flag) {
      case StreamFlag.CHUNK:
        this.window.arrived(body.length);
        this.arrivals++;
        // The frame is a view of the received message, which nothing else references: no copy.
        this.push(body);
        return;
      case StreamFlag.FINISH:
        this.finished = true;
        this.push(null);
        this.link?.release();
        return;
      case StreamFlag.ERROR:
        this.remoteFailed = true;
        failStream(this, new StreamError(`The remote writer failed: ${body.toString('utf8')}`), this.handlerEnd);
        return;
      default:
      // QUOTA is for writers; a reader ignores it.
    }
  }

  /** @internal */
  abort(reason: string): void {
    if (this.finished || this.destroyed) return;
    this.remoteFailed = true;
    failStream(this, new StreamError(reason), this.handlerEnd);
  }

  override _read(): void {
    this.wantsData = true;
    if (this.link !== null) this.grant();
  }

  /**
   * Every consumer (for-await, pipe, 'data' listeners, read()) takes data through read(), so
   * this is where room opens. Node calls _read before it takes from the buffer, and not again
   * until something is pushed, so granting only there could wait forever on a full buffer.
   */
  override read(size?: number): any {
    const chunk: unknown = super.read(size);
    if (this.link !== null && !this.finished) this.grant();
    return chunk;
  }

  private grant(): void {
    const allowance = this.window.grant(this.readableLength);
    if (allowance > 0) {
      this.wantsData = false;
      this.link!.sendQuota(allowance);
    } else if (this.wantsData && this.readableLength === 0 && this.window.heldByBound) {
      this.watchStale();
    }
  }

  /**
   * The consumer waits, and only allowance the writer may have forfeited keeps us from granting:
   * if nothing arrives for STALE_MS, and then for one more turn of the event loop (so that data
   * already in our socket is read first), drop that allowance from the bound and grant.
   */
  private watchStale(): void {
    if (this.staleTimer !== null) return;
    const before = this.arrivals;
    this.staleTimer = setTimeout(() => {
      setImmediate(() => {
        this.staleTimer = null;
        if (this.finished || this.destroyed || this.arrivals !== before) return;
        this.window.forgetStale();
        this.grant();
      });
    }, STALE_MS);
    this.staleTimer.unref();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.staleTimer !== null) clearTimeout(this.staleTimer);
    // Tell the writer to stop, unless it is the one that failed or the stream already ended.
    if (!this.finished && !this.remoteFailed && this.link !== null) {
      this.link.sendError(err ? err.message : 'The reader closed the stream');
    }
    this.finished = true;
    this.link?.release();
    callback(err);
  }
}
