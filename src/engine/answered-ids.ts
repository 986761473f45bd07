/** Ids the bitmap covers: well beyond the capacity, so that late answers still fall inside. */
const WINDOW = 16 * 1024;
const WORDS = WINDOW / 32;

/**
 * The last `capacity` correlation ids answered to one remote, with an O(1) `has` that costs no
 * Map entry per request (a Map of them was a tenth of the serving side's per-request cost).
 * A caller's ids come from a counter, so recent ones fall in a narrow range: they are marked in
 * a bitmap over a window of ids that slides up as ids grow. The rare id below the window (one
 * answered long after those sent after it, or ids out of order) goes in a Set instead.
 */
export class AnsweredIds {
  /** The remembered ids in the order they were answered, a ring once full. */
  private readonly ring: number[] = [];
  private oldest = 0;
  /** Bit `id - base` is set for a remembered id in the window. */
  private readonly bits = new Uint32Array(WORDS);
  /** The first id of the window, a multiple of 32. */
  private base = 0;
  /** Remembered ids below the window. */
  private readonly below = new Set<number>();

  constructor(private readonly capacity: number) {}

  has(id: number): boolean {
    const offset = id - this.base;
    if (offset >= 0) return offset < WINDOW && (this.bits[offset >>> 5]! & (1 << (offset & 31))) !== 0;
    return this.below.size > 0 && this.below.has(id);
  }

  /** Remembers `id`; returns the id forgotten to make room, if one was. */
  add(id: number): number | undefined {
    let forgotten: number | undefined;
    if (this.ring.length < this.capacity) this.ring.push(id);
    else {
      forgotten = this.ring[this.oldest]!;
      this.ring[this.oldest] = id;
      this.oldest = (this.oldest + 1) % this.capacity;
      this.forget(forgotten);
    }
    if (id - this.base >= WINDOW) this.slide(id);
    const offset = id - this.base;
    if (offset >= 0) this.bits[offset >>> 5]! |= 1 << (offset & 31);
    else this.below.add(id);
    return forgotten;
  }

  private forget(id: number): void {
    const offset = id - this.base;
    if (offset >= 0) this.bits[offset >>> 5]! &= ~(1 << (offset & 31));
    else this.below.delete(id);
  }

  /** Moves the window up so that `id` falls in its last quarter; ids it leaves go to `below`. */
  private slide(id: number): void {
    const base = Math.floor((id - (WINDOW * 3) / 4) / 32) * 32;
    const words = Math.min(WORDS, (base - this.base) / 32);
    for (let w = 0; w < words; w++) {
      for (let word = this.bits[w]!; word !== 0; word &= word - 1) {
        this.below.add(this.base + w * 32 + (31 - Math.clz32(word & -word)));
      }
    }
    this.bits.copyWithin(0, words);
    this.bits.fill(0, WORDS - words);
    this.base = base;
  }
}
