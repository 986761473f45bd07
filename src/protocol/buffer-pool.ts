/**
 * Pooled memory for outgoing frames.
 *
 * The encoder carves each frame out of a slab (a large Buffer) and hands out a view of it, so a
 * frame costs no allocation of its own. The ownership rule:
 *
 *   1. A view returned by `commit()` holds one reference on its slab.
 *   2. `Connection.send(view)` consumes that reference: the connection calls `release(view)`
 *      when the socket no longer needs the bytes, which for `ws` is its send callback. A server
 *      side `ws` keeps our bytes referenced in the socket's write queue until that callback; a
 *      client side `ws` masks into a copy, but we still release only at the callback so the
 *      rule does not depend on the side.
 *   3. To send one view on several connections (broadcast, survey), `retain(view)` once for
 *      every extra send. A view that is never sent must be `release`d by whoever holds it.
 *   4. A slab is written again only when the encoder has moved past it (it is retired) and its
 *      references are back to zero.
 *
 * Slabs are found from a view through a WeakMap keyed by the view's ArrayBuffer, so a view
 * whose release was forgotten costs reuse of its slab, never a leak: the slab is collected.
 * Frames larger than `maxPooledFrame` get memory of their own and release is a no-op for them.
 */

interface Slab {
  readonly buf: Buffer;
  used: number;
  refs: number;
  retired: boolean;
  /** Bound once per slab, so a send callback allocates no closure per frame. */
  readonly release: (err?: unknown) => void;
}

export interface BufferPoolOptions {
  /** Bytes per slab. Default 1 MiB. */
  slabSize?: number;
  /** Frames above this size get their own Buffer. Default: a quarter of the slab (256 KiB). */
  maxPooledFrame?: number;
  /** Slabs kept for reuse once free. Default 8. */
  maxFreeSlabs?: number;
}

const noop = (): void => {};

export class BufferPool {
  readonly slabSize: number;
  readonly maxPooledFrame: number;
  private readonly maxFreeSlabs: number;
  private readonly slabs = new WeakMap<ArrayBufferLike, Slab>();
  private readonly free: Slab[] = [];
  private current: Slab;
  /** Where the frame being written starts in the current slab (or -1: a dedicated buffer). */
  private start = 0;
  private dedicated: Buffer | null = null;

  /** Counters for tests and benchmarks. */
  readonly stats = { slabsCreated: 0, slabsReused: 0, dedicated: 0 };

  constructor(options: BufferPoolOptions = {}) {
    this.slabSize = options.slabSize ?? 1024 * 1024;
    this.maxPooledFrame = options.maxPooledFrame ?? this.slabSize >>> 2;
    this.maxFreeSlabs = options.maxFreeSlabs ?? 8;
    this.current = this.createSlab();
  }

  /**
   * Reserves room for a frame of at most `maxBytes` and returns the Buffer to write it into,
   * starting at `pool.offset`. Finish with `commit(end)`.
   */
  reserve(maxBytes: number): Buffer {
    if (maxBytes > this.maxPooledFrame) {
      this.stats.dedicated++;
      // Own memory (not from Node's shared pool) so a retained view never pins other data.
      this.dedicated = Buffer.allocUnsafeSlow(maxBytes);
      this.start = 0;
      return this.dedicated;
    }
    this.dedicated = null;
    let slab = this.current;
    if (slab.used + maxBytes > this.slabSize) {
      slab.retired = true;
      if (slab.refs === 0) this.recycle(slab);
      slab = this.current = this.takeSlab();
    }
    this.start = slab.used;
    return slab.buf;
  }

  /** Where the reserved region starts in the Buffer that `reserve` returned. */
  get offset(): number {
    return this.start;
  }

  /** Ends the frame at `end` (an offset in the reserved Buffer) and returns its view. */
  commit(end: number): Buffer {
    const dedicated = this.dedicated;
    if (dedicated !== null) {
      this.dedicated = null;
      return end === dedicated.length ? dedicated : dedicated.subarray(0, end);
    }
    const slab = this.current;
    const view = slab.buf.subarray(this.start, end);
    // Keep the next frame 8-byte aligned: cheap, and keeps DataView reads of it fast.
    slab.used = (end + 7) & ~7;
    slab.refs++;
    return view;
  }

  /** Adds a reference to the view's slab, for one more send of the same view. */
  retain(view: Buffer): void {
    const slab = this.slabs.get(view.buffer);
    if (slab !== undefined) slab.refs++;
  }

  /** Drops one reference of the view's slab. */
  release(view: Buffer): void {
    const slab = this.slabs.get(view.buffer);
    if (slab !== undefined) slab.release();
  }

  /** The function that drops one reference of the view's slab, for a socket's send callback. */
  releaserOf(view: Buffer): (err?: unknown) => void {
    const slab = this.slabs.get(view.buffer);
    return slab === undefined ? noop : slab.release;
  }

  /** References held on the slab of this view (for tests). */
  refsOf(view: Buffer): number {
    return this.slabs.get(view.buffer)?.refs ?? 0;
  }

  private takeSlab(): Slab {
    const slab = this.free.pop();
    if (slab === undefined) return this.createSlab();
    this.stats.slabsReused++;
    slab.used = 0;
    slab.retired = false;
    return slab;
  }

  private createSlab(): Slab {
    this.stats.slabsCreated++;
    const buf = Buffer.allocUnsafeSlow(this.slabSize);
    const slab: Slab = {
      buf,
      used: 0,
      refs: 0,
      retired: false,
      release: () => {
        // A release after the slab was recycled (a double release) must not unbalance it.
        if (slab.refs > 0 && --slab.refs === 0 && slab.retired) this.recycle(slab);
      },
    };
    this.slabs.set(buf.buffer, slab);
    return slab;
  }

  private recycle(slab: Slab): void {
    if (this.free.length < this.maxFreeSlabs && !this.free.includes(slab)) this.free.push(slab);
  }
}

/** The pool that peers share unless given their own. */
export const defaultPool = new BufferPool();
