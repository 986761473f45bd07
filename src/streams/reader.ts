import { Readable, type ReadableOptions } from 'node:stream';
import { StreamError } from '../errors';
import { StreamFlag } from '../protocol/constants';
import { failStream, type StreamEndpoint } from './endpoint';

/** How the reader talks back to the remote writer. Set once the stream is resolved. */
export interface ReaderLink {
  sendQuota(allowance: number): void;
  sendError(reason: string): void;
  /** The stream is over on this end: free its id. */
  release(): void;
}

/** What an original writer assumes it may send before any QUOTA: Node's default hwm (§6). */
export const INITIAL_ALLOWANCE = 16384;

/** Our readers' default high-water mark, and so their flow-control window. */
export const DEFAULT_WINDOW = Number(process.env.ROLETALK_STREAM_WINDOW) || 1024 * 1024;

/**
 * The local end of a stream the remote writes to (docs/protocol.md §6), as a Node Readable.
 *
 * Flow control is driven by the consumer: allowance is granted in `_read`, that is when the
 * consumer wants more, never on receipt. `credit` is our view of what the writer may still send;
 * when it falls to half the high-water mark or below, a QUOTA sets the writer's allowance to the
 * free room in our buffer. A paused consumer therefore stops the writer, and what we buffer stays
 * within about two high-water marks (the room granted plus what was in flight under the previous
 * grant), even against an original writer, which may overshoot by one chunk.
 */
export class StreamReader extends Readable implements StreamEndpoint {
  private link: ReaderLink | null = null;
  private credit = INITIAL_ALLOWANCE;
  private finished = false;
  private remoteFailed = false;
  private wantsData = false;
  /** @internal The end an onReadable handler got: network failures close it quietly if unheard. */
  handlerEnd = false;

  constructor(options?: ReadableOptions) {
    // The high-water mark is also the flow-control window: 16 KiB, Node's default, would cap a
    // stream at one window per round trip (about 150 MB/s on loopback).
    super({ highWaterMark: DEFAULT_WINDOW, ...options });
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
        this.credit -= body.length;
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
    const hwm = this.readableHighWaterMark;
    if (this.credit > hwm >>> 1) return;
    const room = hwm - this.readableLength;
    if (room <= this.credit || room <= 0) return;
    this.credit = room;
    this.wantsData = false;
    this.link!.sendQuota(room);
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
