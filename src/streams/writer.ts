import { Writable, type WritableOptions } from 'node:stream';
import { StreamError } from '../errors';
import { StreamFlag } from '../protocol/constants';
import { readVarnum } from '../protocol/varnum';
import { failStream, type StreamEndpoint } from './endpoint';
import { DEFAULT_STREAM_WINDOW, INITIAL_ALLOWANCE } from './window';

/** How the writer sends to the remote reader. Set once the stream is resolved. */
export interface WriterLink {
  /** Sends the bytes of `chunks` (at most `length` in all) as one CHUNK frame. */
  sendChunk(chunks: readonly Buffer[], length: number): void;
  sendFinish(): void;
  sendError(reason: string): void;
  release(): void;
}

/** Largest CHUNK frame body: big enough to amortize framing, small enough to interleave. */
export const MAX_CHUNK = 64 * 1024;

/**
 * The local end of a stream we write to the remote (docs/protocol.md §6), as a Node Writable.
 *
 * The writer may send while its allowance is above zero; a QUOTA from the reader *sets* the
 * allowance. It starts at 16 KiB, what every reader grants implicitly. Frames never exceed the
 * allowance or MAX_CHUNK: big writes are split, small writes are merged into one frame. A
 * write's callback is held until its bytes are handed to the connection, so Node's own
 * backpressure (write() returning false, 'drain') follows the remote reader; only a small write
 * that the allowance already covers completes at once, to be sent with the tick's others.
 */
export class StreamWriter extends Writable implements StreamEndpoint {
  private link: WriterLink | null = null;
  private allowance = INITIAL_ALLOWANCE;
  private queue: Buffer[] = [];
  private queued = 0;
  private callback: ((error?: Error | null) => void) | null = null;
  private finishCallback: ((error?: Error | null) => void) | null = null;
  private done = false;
  private remoteFailed = false;
  private flushScheduled = false;
  /** @internal The end an onWritable handler got: network failures close it quietly if unheard. */
  handlerEnd = false;

  constructor(options?: WritableOptions) {
    // As large as a reader's default window, so a fast producer is not stopped at every chunk.
    super({ highWaterMark: DEFAULT_STREAM_WINDOW, ...options });
  }

  /** @internal The stream is resolved: data can flow. */
  attach(link: WriterLink): void {
    this.link = link;
    this.flush();
  }

  /** @internal */
  receive(flag: number, body: Buffer): void {
    if (this.done || this.destroyed) return;
    if (flag === StreamFlag.QUOTA) {
      if (body.length === 0 || body.length > 7) return;
      this.allowance = readVarnum(body, 0, body.length);
      this.flush();
    } else if (flag === StreamFlag.ERROR) {
      this.remoteFailed = true;
      failStream(this, new StreamError(`The remote reader failed: ${body.toString('utf8')}`), this.handlerEnd);
    }
    // CHUNK and FINISH are for readers; a writer ignores them.
  }

  /** @internal */
  abort(reason: string): void {
    if (this.done || this.destroyed) return;
    this.remoteFailed = true;
    failStream(this, new StreamError(reason), this.handlerEnd);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued < MAX_CHUNK && this.link !== null && this.allowance >= this.queued) {
      // Small and allowed: later writes of this tick join it in one CHUNK (a frame per write
      // would cost more than its bytes).
      this.scheduleFlush();
      callback();
      return;
    }
    this.callback = callback;
    this.flush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) {
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    this.callback = callback;
    this.flush();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finishCallback = callback;
    this.flush();
  }

  /** Sends what the allowance permits; completes the pending write or the finish when all is out. */
  private flush(): void {
    const link = this.link;
    if (link === null || this.destroyed) return;
    while (this.queued > 0 && this.allowance > 0) {
      const size = Math.min(this.queued, this.allowance, MAX_CHUNK);
      link.sendChunk(this.take(size), size);
      this.allowance -= size;
    }
    if (this.queued === 0 && this.callback !== null) {
      const cb = this.callback;
      this.callback = null;
      cb();
    }
    if (this.queued === 0 && this.finishCallback !== null) {
      const cb = this.finishCallback;
      this.finishCallback = null;
      this.done = true;
      link.sendFinish();
      link.release();
      cb();
    }
  }

  /** Removes `size` bytes from the head of the queue, as views (no copy). */
  private take(size: number): Buffer[] {
    const out: Buffer[] = [];
    let left = size;
    while (left > 0) {
      const head = this.queue[0]!;
      if (head.length <= left) {
        out.push(head);
        this.queue.shift();
        left -= head.length;
      } else {
        out.push(head.subarray(0, left));
        this.queue[0] = head.subarray(left);
        left = 0;
      }
    }
    this.queued -= size;
    return out;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.done && !this.remoteFailed && this.link !== null) {
      this.link.sendError(err ? err.message : 'The writer closed the stream');
    }
    this.done = true;
    this.queue = [];
    this.queued = 0;
    this.link?.release();
    callback(err);
  }
}
