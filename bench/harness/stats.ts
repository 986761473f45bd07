/**
 * Small measuring tools of the soak and fuzz harnesses, sized to stay constant in memory so that
 * the heap figures they report are not their own growth.
 */

/** Heap used after a full GC, in bytes (needs `--expose-gc`; without it, without the GC). */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

export const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

/**
 * A latency histogram with logarithmic buckets 1% wide, from 1 µs to about 20 min: percentiles
 * are exact to 1%, and memory is one fixed Uint32Array whatever the number of samples.
 */
export class Histogram {
  private static readonly GROWTH = Math.log(1.01);
  private readonly buckets = new Uint32Array(2200);
  count = 0;
  max = 0;

  /** Records one sample in milliseconds. */
  add(ms: number): void {
    const us = Math.max(1, ms * 1000);
    const i = Math.min(this.buckets.length - 1, Math.ceil(Math.log(us) / Histogram.GROWTH));
    this.buckets[i]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The q-quantile (0..1) in milliseconds, the upper edge of its bucket; NaN without samples. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return Math.min(this.max, Math.exp(i * Histogram.GROWTH) / 1000);
    }
    return this.max;
  }
}

/**
 * One byte per id (0 to 255, saturating), growing by doubling. It lives outside the V8 heap
 * (an ArrayBuffer), so millions of ids do not show in heapUsed.
 */
export class ByteTable {
  private bytes = new Uint8Array(1 << 16);
  /** One past the highest id written. */
  length = 0;

  get(id: number): number {
    return id < this.bytes.length ? this.bytes[id]! : 0;
  }

  set(id: number, value: number): void {
    this.ensure(id);
    this.bytes[id] = Math.min(255, value);
  }

  /** Adds one (saturating at 255) and returns the new value. */
  increment(id: number): number {
    this.ensure(id);
    const v = this.bytes[id]!;
    if (v < 255) this.bytes[id] = v + 1;
    return this.bytes[id]!;
  }

  /** The table up to its length (a view, no copy). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private ensure(id: number): void {
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`ByteTable: bad id ${id}`);
    if (id >= this.bytes.length) {
      let size = this.bytes.length;
      while (size <= id) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    if (id >= this.length) this.length = id + 1;
  }
}

/** Adds one to `counts[key]`. */
export function tally(counts: Record<string, number>, key: string | number, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}
