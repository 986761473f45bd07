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
    if (allowance === 0) return;
    this.wantsData = false;
    this.link!.sendQuota(allowance);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Tell the writer to stop, unless it is the one that failed or the stream already ended.
    if (!this.finished && !this.remoteFailed && this.link !== null) {
      this.link.sendError(err ? err.message : 'The reader closed the stream');
    }
    this.finished = true;
    this.link?.release();
    callback(err);
  }
}
