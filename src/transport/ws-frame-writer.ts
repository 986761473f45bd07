import type { BufferPool } from '../protocol/buffer-pool';
import type { WriteBatch } from './connection';

/**
 * Writes roletalk frames to a socket as binary WebSocket messages (RFC 6455 §5.2), in place of
 * `ws`'s Sender for data frames. `ws` still owns the handshake, the reading side and the control
 * frames (ping, pong, close); those interleave with ours at message boundaries, which RFC 6455
 * allows.
 *
 * Why not `ws.send`: it costs a header allocation, a write call and a send callback per message,
 * and on the client side a masked copy of every payload. Here:
 *
 *  - Small frames written in one tick are gathered and copied, each behind its WebSocket header,
 *    into one Buffer: one socket write per batch, and the pooled frame goes back to its pool at
 *    once. The copy of a small frame costs less than a write call or a writev entry.
 *  - A large frame goes out as it is, behind a header of its own, in one corked writev; its body
 *    may come in two parts (`send(head, body)`), so a user's Buffer is never copied into a frame.
 *  - Outgoing messages from a client must be masked (§5.3). The mask key is four zero bytes,
 *    which makes masking the identity: no copy, no XOR. The mask protects browsers' HTTP
 *    intermediaries from a hostile script; between two services it has no role, and every
 *    server reads such a message as any other (ws itself skips the XOR for a zero key).
 *
 * The first frame of a tick leaves at once, so the remote can start on it while the rest of the
 * tick is gathered; a batch that reaches `batch.frames` frames or `batch.bytes` bytes leaves at
 * once too (two busy peers fall into lockstep without a cap, see BENCHMARKS.md). What is left
 * leaves on process.nextTick.
 */
export class WsFrameWriter {
  /** Frames (and their second parts) waiting for the batch to leave. */
  private readonly heads: Buffer[] = [];
  private readonly bodies: Array<Buffer | undefined> = [];
  private queuedBytes = 0;
  /** A flush is scheduled on nextTick (also: a frame already left in this tick). */
  private scheduled = false;
  private readonly maskBytes: number;

  constructor(
    private readonly socket: WritableSocket,
    /** Client side: messages carry a (zero) mask key. */
    masked: boolean,
    private readonly pool: BufferPool,
    private readonly batch: WriteBatch,
  ) {
    this.maskBytes = masked ? 4 : 0;
  }

  /** Bytes accepted and not yet handed to the socket. */
  get queued(): number {
    return this.queuedBytes;
  }

  /**
   * Queues one message made of `head` and, when given, `body` after it. `head` is a pooled frame
   * whose reference passes to the writer (buffer-pool.ts); `body` is only read, never released.
   */
  send(head: Buffer, body?: Buffer): void {
    const length = head.length + (body === undefined ? 0 : body.length);
    if (length > LARGE) {
      // Large: its own write, in order after what is queued.
      this.flush();
      this.writeLarge(head, body, length);
      return;
    }
    this.heads.push(head);
    this.bodies.push(body);
    this.queuedBytes += length + 14;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushTick);
      this.flush();
    } else if (this.heads.length >= this.batch.frames || this.queuedBytes >= this.batch.bytes) {
      this.flush();
    }
  }

  /** Writes what is queued now (before a close, or when a batch is full). */
  flush(): void {
    const heads = this.heads;
    const n = heads.length;
    if (n === 0) return;
    const bodies = this.bodies;
    const out = reserveOutput(this.queuedBytes);
    let o = 0;
    for (let i = 0; i < n; i++) {
      const head = heads[i]!;
      const body = bodies[i];
      o = this.writeHeader(out, o, head.length + (body === undefined ? 0 : body.length));
      out.set(head, o);
      o += head.length;
      if (body !== undefined) {
        out.set(body, o);
        o += body.length;
      }
      this.pool.release(head);
    }
    heads.length = 0;
    bodies.length = 0;
    this.queuedBytes = 0;
    this.socket.write(commitOutput(out, o));
  }

  /**
   * Writes a control frame (close 0x8, ping 0x9, pong 0xa; RFC 6455 §5.5) after what is queued.
   * `payload` is at most 125 bytes.
   */
  control(opcode: number, payload: Uint8Array = EMPTY): void {
    this.flush();
    const out = Buffer.allocUnsafe(6 + payload.length);
    let o = this.writeHeader(out, 0, payload.length);
    out[0] = 0x80 | opcode;
    out.set(payload, o);
    o += payload.length;
    this.socket.write(out.subarray(0, o));
  }

  /** Drops what is queued (the connection is gone) and frees its pooled frames. */
  discard(): void {
    for (const head of this.heads) this.pool.release(head);
    this.heads.length = 0;
    this.bodies.length = 0;
    this.queuedBytes = 0;
  }

  private readonly flushTick = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private writeLarge(head: Buffer, body: Buffer | undefined, length: number): void {
    const header = Buffer.allocUnsafe(10 + this.maskBytes);
    const end = this.writeHeader(header, 0, length);
    const socket = this.socket;
    const release = this.pool.releaserOf(head);
    socket.cork();
    socket.write(header.subarray(0, end));
    if (body === undefined) socket.write(head, release);
    else {
      socket.write(head, release);
      socket.write(body);
    }
    socket.uncork();
  }

  /** The header of an unfragmented binary message of `length` bytes, at `o`; returns its end. */
  private writeHeader(out: Buffer, o: number, length: number): number {
    out[o] = 0x82; // FIN, opcode 2 (binary)
    const mask = this.maskBytes === 0 ? 0 : 0x80;
    if (length < 126) {
      out[o + 1] = mask | length;
      o += 2;
    } else if (length < 0x10000) {
      out[o + 1] = mask | 126;
      out.writeUInt16BE(length, o + 2);
      o += 4;
    } else {
      out[o + 1] = mask | 127;
      out.writeUInt32BE(Math.floor(length / 0x100000000), o + 2);
      out.writeUInt32BE(length >>> 0, o + 6);
      o += 10;
    }
    if (this.maskBytes !== 0) {
      // A zero key: masking leaves the payload as it is.
      out.writeUInt32BE(0, o);
      o += 4;
    }
    return o;
  }
}

/** What the writer needs of a socket. */
export interface WritableSocket {
  write(data: Uint8Array, callback?: (err?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
}

const EMPTY = new Uint8Array(0);

/** Above this a message is written as it is rather than copied into a batch. */
const LARGE = 8 * 1024;

/**
 * Memory for batches: bump allocation in shared 256 KiB slabs. A batch handed to the socket may
 * stay queued there, so its bytes are never reused: a full slab is left to the GC and a new one
 * taken. A batch reserves its worst case and gives back what it did not use.
 */
const OUTPUT_SLAB = 256 * 1024;
let output = Buffer.allocUnsafeSlow(OUTPUT_SLAB);
let outputUsed = 0;

function reserveOutput(bytes: number): Buffer {
  if (bytes > OUTPUT_SLAB >>> 2) return Buffer.allocUnsafeSlow(bytes);
  if (outputUsed + bytes > OUTPUT_SLAB) {
    output = Buffer.allocUnsafeSlow(OUTPUT_SLAB);
    outputUsed = 0;
  }
  return output.subarray(outputUsed, outputUsed + bytes);
}

/** The first `used` bytes of a reserved batch; the rest goes back to the slab. */
function commitOutput(reserved: Buffer, used: number): Buffer {
  if (reserved.buffer === output.buffer) outputUsed = (reserved.byteOffset - output.byteOffset + used + 7) & ~7;
  return reserved.subarray(0, used);
}
