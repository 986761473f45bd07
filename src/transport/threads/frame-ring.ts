import { FrameBatch, forEachFrame } from './frame-batch';

/**
 * Frames between the main thread and an I/O thread, through a SharedArrayBuffer ring: one writer
 * thread, one reader thread. It replaces a postMessage per tick, whose cloning and bookkeeping
 * cost more than the frames themselves, with a copy in and a copy out, and a doorbell
 * (Atomics.notify / Atomics.waitAsync) rung only when the reader has gone to sleep: under load
 * the reader finds the next batch before it sleeps, and nobody is woken.
 *
 * Records are [slot, length, overflow batches before it, pad, bytes padded to 8]. A frame that
 * does not fit (the ring is full, or the frame is larger than the ring) goes through the
 * MessagePort as before, in a transferred batch. Batches are numbered, and every record says how
 * many were posted before it: the reader holds a record back until it has delivered those, so
 * the order of frames on each connection is kept.
 */

/** Int32 words before the data: the reader's offset, the writer's published offset, the doorbell. */
const HEAD = 0;
const TAIL = 1;
/** 1 while the reader is awake (or has been rung), 0 once it sleeps. */
const BELL = 2;
const HEADER_BYTES = 16;
const RECORD_HEADER = 16;
/** Bytes kept free between tail and head, so that a full ring is not mistaken for an empty one. */
const GAP = 8;
/** A record that says: continue at offset 0. */
const WRAP = -1;

/** The default data bytes of a ring, per direction and I/O thread. */
export const DEFAULT_RING_BYTES = 1 << 20;

// In lib.es2024, which this project's TypeScript target does not include.
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

const align8 = (n: number): number => (n + 7) & ~7;

export function createRing(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + Math.max(64, align8(bytes)));
}

class RingView {
  protected readonly ctl: Int32Array;
  protected readonly words: Int32Array;
  protected readonly bytes: Uint8Array;
  protected readonly capacity: number;

  constructor(sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.capacity = sab.byteLength - HEADER_BYTES;
    this.words = new Int32Array(sab, HEADER_BYTES, this.capacity / 4);
    this.bytes = new Uint8Array(sab, HEADER_BYTES, this.capacity);
  }
}

export class RingWriter extends RingView {
  /** Where the next record goes; published to the reader by `flush`. */
  private tail: number;
  private unpublished = 0;
  private scheduled = false;
  /** Frames that did not fit, in order; while it holds any, every frame goes there. */
  private readonly overflow: FrameBatch;
  /** Overflow batches posted so far. */
  private posted = 0;

  constructor(sab: SharedArrayBuffer, postOverflow: (buf: ArrayBuffer, index: Int32Array) => void) {
    super(sab);
    this.tail = Atomics.load(this.ctl, TAIL);
    this.overflow = new FrameBatch((buf, index) => {
      // Records written before the batch are published before it is posted: the reader, which
      // reads the ring before a message, delivers them first.
      this.publish();
      this.posted++;
      postOverflow(buf, index);
    });
  }

  /** Bytes handed to the writer and not yet published or posted. */
  get pendingBytes(): number {
    return this.unpublished + this.overflow.pendingBytes;
  }

  /** Adds one message: `frame`, followed by `body` when given (a payload left out of its frame). */
  add(slot: number, frame: Uint8Array, body?: Uint8Array): void {
    if (this.overflow.pendingBytes > 0 || !this.put(slot, frame, body)) {
      this.overflow.add(slot, frame, body);
      return;
    }
    this.unpublished += frame.byteLength + (body === undefined ? 0 : body.byteLength);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  /** Publishes what was written (and posts what overflowed), and rings the reader if it sleeps. */
  readonly flush = (): void => {
    this.scheduled = false;
    this.overflow.flush();
    this.publish();
  };

  private publish(): void {
    if (Atomics.load(this.ctl, TAIL) === this.tail) return;
    this.unpublished = 0;
    Atomics.store(this.ctl, TAIL, this.tail);
    if (Atomics.compareExchange(this.ctl, BELL, 0, 1) === 0) Atomics.notify(this.ctl, BELL);
  }

  /** Writes one record if it fits. */
  private put(slot: number, frame: Uint8Array, body?: Uint8Array): boolean {
    const length = frame.byteLength + (body === undefined ? 0 : body.byteLength);
    const size = RECORD_HEADER + align8(length);
    const head = Atomics.load(this.ctl, HEAD);
    const used = (this.tail - head + this.capacity) % this.capacity;
    const toEnd = this.capacity - this.tail;
    const needed = size <= toEnd ? size : toEnd + size;
    if (used + needed + GAP > this.capacity) return false;
    if (size > toEnd) {
      this.words[this.tail >> 2] = WRAP;
      this.tail = 0;
    }
    const at = this.tail >> 2;
    this.words[at] = slot;
    this.words[at + 1] = length;
    this.words[at + 2] = this.posted;
    this.bytes.set(frame, this.tail + RECORD_HEADER);
    if (body !== undefined) this.bytes.set(body, this.tail + RECORD_HEADER + frame.byteLength);
    this.tail = (this.tail + size) % this.capacity;
    return true;
  }
}

export class RingReader extends RingView {
  private head: number;
  /** Overflow batches received and not delivered yet, and how many were delivered. */
  private readonly overflows: Array<{ buf: ArrayBuffer; index: Int32Array }> = [];
  private delivered = 0;
  /** The record at head waits for an overflow batch that has not arrived. */
  private blocked = false;
  private stopped = false;
  private pumping = false;

  /** `each` gets a copy of every frame (the ring's bytes are reused), in the writer's order. */
  constructor(
    sab: SharedArrayBuffer,
    private readonly each: (slot: number, frame: Buffer) => void,
    /** Called after a pump that delivered frames. */
    private readonly after: () => void = () => {},
  ) {
    super(sab);
    this.head = Atomics.load(this.ctl, HEAD);
  }

  /** Starts listening to the doorbell. */
  start(): void {
    Atomics.store(this.ctl, BELL, 1);
    this.wake();
  }

  /** Stops listening (the doorbell's pending wait resolves harmlessly). */
  stop(): void {
    this.stopped = true;
  }

  /** An overflow batch from the MessagePort: it goes before the records numbered after it. */
  overflowed(buf: ArrayBuffer, index: Int32Array): void {
    this.overflows.push({ buf, index });
    this.pump();
  }

  /**
   * Delivers everything published so far, overflow batches in their place. Control messages call
   * it first: what the writer published before posting them is then delivered before them.
   */
  pump(): void {
    // A frame's handler that leads back here finds the frames after it delivered by this pump.
    if (this.pumping) return;
    this.pumping = true;
    let delivered = false;
    try {
      delivered = this.pumpAll();
    } finally {
      this.pumping = false;
    }
    if (delivered) this.after();
  }

  /** Reads records up to the published tail, and overflow batches in their places. */
  private pumpAll(): boolean {
    const tail = Atomics.load(this.ctl, TAIL);
    let any = false;
    this.blocked = false;
    while (this.head !== tail) {
      const at = this.head >> 2;
      const slot = this.words[at]!;
      if (slot === WRAP) {
        this.head = 0;
        continue;
      }
      // Batches posted before this record go first; one not received yet holds it back.
      const before = this.words[at + 2]!;
      while (this.delivered < before) {
        if (!this.deliverOverflow()) {
          this.blocked = true;
          return any;
        }
        any = true;
      }
      const length = this.words[at + 1]!;
      const start = this.head + RECORD_HEADER;
      const frame = Buffer.allocUnsafe(length);
      frame.set(this.bytes.subarray(start, start + length));
      // The space is free for the writer before the frame is handled: it is a copy.
      this.head = (start + align8(length)) % this.capacity;
      Atomics.store(this.ctl, HEAD, this.head);
      this.each(slot, frame);
      any = true;
    }
    // Batches received now follow every record published before them, and precede the rest.
    while (this.deliverOverflow()) any = true;
    return any;
  }

  private deliverOverflow(): boolean {
    const batch = this.overflows.shift();
    if (batch === undefined) return false;
    this.delivered++;
    forEachFrame(batch.buf, batch.index, this.each);
    return true;
  }

  /** Drains, then sleeps on the doorbell; the writer rings it when it publishes to a sleeper. */
  private readonly wake = (): void => {
    if (this.stopped) return;
    for (;;) {
      this.pump();
      Atomics.store(this.ctl, BELL, 0);
      // Published between the drain and the sleep: the writer may have seen the bell at 1.
      if (this.blocked || Atomics.load(this.ctl, TAIL) === this.head) break;
      Atomics.store(this.ctl, BELL, 1);
    }
    const wait = waitAsync(this.ctl, BELL, 0);
    if (wait.async) void (wait.value as Promise<string>).then(this.wake);
    else queueMicrotask(this.wake);
  };
}
