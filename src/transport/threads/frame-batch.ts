/**
 * Frames bound for the other thread, gathered in one buffer per tick and sent with one
 * postMessage, its memory transferred rather than copied. The copy into the batch is the one
 * copy a thread hop costs: a pooled frame's slab cannot be transferred (it holds other frames).
 */
const INITIAL_CAPACITY = 64 * 1024;

export class FrameBatch {
  private buf = new Uint8Array(INITIAL_CAPACITY);
  private used = 0;
  private index: number[] = [];
  private scheduled = false;

  constructor(private readonly post: (buf: ArrayBuffer, index: Int32Array) => void) {}

  get pendingBytes(): number {
    return this.used;
  }

  /** Adds one message: `frame`, followed by `body` when given. */
  add(slot: number, frame: Uint8Array, body?: Uint8Array): void {
    const length = frame.byteLength + (body === undefined ? 0 : body.byteLength);
    const need = this.used + length;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.used));
      this.buf = grown;
    }
    this.buf.set(frame, this.used);
    if (body !== undefined) this.buf.set(body, this.used + frame.byteLength);
    this.used = need;
    this.index.push(slot, length);
    if (this.used >= 1 << 20) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.index.length === 0) return;
    // The batch's own ArrayBuffer is transferred whole (the index says where frames end), and
    // a fresh one takes the next batch.
    const out = this.buf.buffer as ArrayBuffer;
    const index = Int32Array.from(this.index);
    this.buf = new Uint8Array(INITIAL_CAPACITY);
    this.used = 0;
    this.index = [];
    this.post(out, index);
  };
}

/** Calls `each(slot, frame)` for every frame of a received batch; frames are views, not copies. */
export function forEachFrame(buf: ArrayBuffer, index: Int32Array, each: (slot: number, frame: Buffer) => void): void {
  let offset = 0;
  for (let i = 0; i < index.length; i += 2) {
    const length = index[i + 1]!;
    each(index[i]!, Buffer.from(buf, offset, length));
    offset += length;
  }
}
