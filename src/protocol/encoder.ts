import { BufferPool, defaultPool } from './buffer-pool';
import { FrameType, StreamFlag } from './constants';
import { attachDetached, messageLength, payloadBound, preparePayload, writePayload } from './payload';
import { varnumLength, writeVarnum } from './varnum';
import { InvalidArgumentError, PayloadTooLargeError } from '../errors';

/**
 * Builds frames (docs/protocol.md §2, §3) in place in pooled memory. Every method returns a view
 * that holds one reference on its slab: see the ownership rule in buffer-pool.ts.
 *
 * Role and event names are written straight into the slab and their u16 lengths filled in
 * after, so no string is measured or copied twice.
 */
export class FrameEncoder {
  /**
   * @param maxFrame the largest frame that carries user data (MESSAGE, REQUEST, RESPONSE, REJECT,
   *   stream requests and replies) this encoder makes; a larger one throws PayloadTooLargeError
   *   and nothing is sent. The peer's `maxPayload`.
   */
  constructor(
    readonly pool: BufferPool = defaultPool,
    readonly maxFrame = Infinity,
  ) {}

  /** MESSAGE (100): `u16 roleLen, u16 eventLen, role, event, payload`. */
  message(role: string, event: string, data: unknown): Buffer {
    const max = 5 + (role.length + event.length) * 3 + this.preparePayload(data);
    const buf = this.pool.reserve(max);
    const start = this.pool.offset;
    buf[start] = FrameType.MESSAGE;
    const o = writeNames(buf, start, start + 5, role, event);
    return this.checked(this.pool.commit(writePayload(buf, o)));
  }

  /**
   * REQUEST (101): `u16 roleLen, u16 eventLen, u8 corrLen, role, event, corr, payload`. With
   * `deadlineMs` (extension `deadline`, only toward peers that offer it) REQUEST_DEADLINE (121):
   * the same with `u32 milliseconds left` after `corrLen`.
   */
  request(role: string, event: string, corr: number, data: unknown, deadlineMs?: number): Buffer {
    const corrLen = varnumLength(corr);
    const header = deadlineMs === undefined ? 6 : 10;
    const max = header + (role.length + event.length) * 3 + corrLen + this.preparePayload(data);
    const buf = this.pool.reserve(max);
    const start = this.pool.offset;
    buf[start + 5] = corrLen;
    if (deadlineMs === undefined) buf[start] = FrameType.REQUEST;
    else {
      buf[start] = FrameType.REQUEST_DEADLINE;
      buf.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.ceil(deadlineMs))), start + 6);
    }
    let o = writeNames(buf, start, start + header, role, event);
    o = writeVarnum(buf, o, corr, corrLen);
    return this.checked(this.pool.commit(writePayload(buf, o)));
  }

  /**
   * Whether a frame with these names and data would stay within `maxFrame`, without making it:
   * the most bytes a stream request (the largest header) of them can take, against the limit.
   * For callers that must not register anything for a frame that cannot be sent.
   */
  fits(role: string, event: string, data: unknown, limit = this.maxFrame): PayloadTooLargeError | undefined {
    if (limit === Infinity) return undefined;
    // Exact but for payloads below SMALL_BOUND, counted at 3 bytes a character: far below any
    // maxPayload a peer accepts (128 KiB at least).
    const size = 21 + Buffer.byteLength(role) + Buffer.byteLength(event) + payloadBound(data);
    return size > limit ? new PayloadTooLargeError(size, limit) : undefined;
  }

  /** preparePayload, refusing at once a payload that alone is above the limit (before any memory is reserved). */
  private preparePayload(data: unknown): number {
    const size = preparePayload(data);
    // Above SMALL_BOUND the bound is exact, so this refuses only what is too large for sure.
    if (size > this.maxFrame && size > SMALL_BOUND) throw new PayloadTooLargeError(size, this.maxFrame);
    return size;
  }

  /** Returns `frame` if it is within `limit`; else releases it and throws PayloadTooLargeError. */
  within(frame: Buffer, limit: number): Buffer {
    const length = messageLength(frame);
    if (length <= limit) return frame;
    this.pool.release(frame);
    throw new PayloadTooLargeError(length, limit);
  }

  /** A frame with a user payload, just committed: its detached payload attached, its size checked. */
  private checked(frame: Buffer): Buffer {
    return this.within(attachDetached(frame), this.maxFrame);
  }

  /** RESPONSE (102) or REJECT (105): `u8 corrLen, corr, payload`. */
  response(corr: number, data: unknown): Buffer {
    return this.reply(FrameType.RESPONSE, corr, data);
  }

  /** REJECT (105) with the reason as a string payload, as every peer expects. */
  reject(corr: number, reason: string): Buffer {
    return this.reply(FrameType.REJECT, corr, reason);
  }

  /** CANCEL (120, extension `cancel`): `u8 corrLen, corr`. */
  cancel(corr: number): Buffer {
    const corrLen = varnumLength(corr);
    const buf = this.pool.reserve(2 + corrLen);
    const start = this.pool.offset;
    buf[start] = FrameType.CANCEL;
    buf[start + 1] = corrLen;
    return this.pool.commit(writeVarnum(buf, start + 2, corr, corrLen));
  }

  private reply(type: number, corr: number, data: unknown): Buffer {
    const corrLen = varnumLength(corr);
    const buf = this.pool.reserve(2 + corrLen + this.preparePayload(data));
    const start = this.pool.offset;
    buf[start] = type;
    buf[start + 1] = corrLen;
    const o = writeVarnum(buf, start + 2, corr, corrLen);
    return this.checked(this.pool.commit(writePayload(buf, o)));
  }

  /**
   * REQUEST_READABLE (103) or REQUEST_WRITABLE (104):
   * `u16 roleLen, u16 eventLen, u8 corrLen, u8 chanLen, role, event, corr, chan, payload`.
   */
  streamRequest(
    type: typeof FrameType.REQUEST_READABLE | typeof FrameType.REQUEST_WRITABLE,
    role: string,
    event: string,
    corr: number,
    chan: number,
    data: unknown,
  ): Buffer {
    const corrLen = varnumLength(corr);
    const chanLen = varnumLength(chan);
    const max = 7 + (role.length + event.length) * 3 + corrLen + chanLen + this.preparePayload(data);
    const buf = this.pool.reserve(max);
    const start = this.pool.offset;
    buf[start] = type;
    buf[start + 5] = corrLen;
    buf[start + 6] = chanLen;
    let o = writeNames(buf, start, start + 7, role, event);
    o = writeVarnum(buf, o, corr, corrLen);
    o = writeVarnum(buf, o, chan, chanLen);
    return this.checked(this.pool.commit(writePayload(buf, o)));
  }

  /** STREAM_RESOLVE (107) or STREAM_REJECT (108): `u8 corrLen, u8 chanLen, corr, chan, payload`. */
  streamReply(
    type: typeof FrameType.STREAM_RESOLVE | typeof FrameType.STREAM_REJECT,
    corr: number,
    chan: number,
    data: unknown,
  ): Buffer {
    const corrLen = varnumLength(corr);
    const chanLen = varnumLength(chan);
    const buf = this.pool.reserve(3 + corrLen + chanLen + this.preparePayload(data));
    const start = this.pool.offset;
    buf[start] = type;
    buf[start + 1] = corrLen;
    buf[start + 2] = chanLen;
    let o = writeVarnum(buf, start + 3, corr, corrLen);
    o = writeVarnum(buf, o, chan, chanLen);
    return this.checked(this.pool.commit(writePayload(buf, o)));
  }

  /** STREAM_DATA CHUNK: `u8 idLen, id, 0, bytes`. */
  streamChunk(id: number, chunk: Uint8Array): Buffer {
    return this.streamChunks(id, [chunk], chunk.byteLength);
  }

  /** STREAM_DATA CHUNK from several buffers (`length` bytes in all): merged small writes. */
  streamChunks(id: number, chunks: readonly Uint8Array[], length: number): Buffer {
    const idLen = varnumLength(id);
    const buf = this.pool.reserve(3 + idLen + length);
    let o = this.streamHeader(buf, this.pool.offset, id, idLen, StreamFlag.CHUNK);
    // The copy the WebSocket API forces: one message, one buffer.
    for (const chunk of chunks) {
      buf.set(chunk, o);
      o += chunk.byteLength;
    }
    return this.pool.commit(o);
  }

  /** STREAM_DATA FINISH: `u8 idLen, id, 1`. */
  streamFinish(id: number): Buffer {
    const idLen = varnumLength(id);
    const buf = this.pool.reserve(3 + idLen);
    return this.pool.commit(this.streamHeader(buf, this.pool.offset, id, idLen, StreamFlag.FINISH));
  }

  /** STREAM_DATA ERROR: `u8 idLen, id, 2, utf8 reason`. */
  streamError(id: number, reason: string): Buffer {
    const idLen = varnumLength(id);
    const buf = this.pool.reserve(3 + idLen + reason.length * 3);
    let o = this.streamHeader(buf, this.pool.offset, id, idLen, StreamFlag.ERROR);
    o += buf.write(reason, o, 'utf8');
    return this.pool.commit(o);
  }

  /** STREAM_DATA QUOTA: `u8 idLen, id, 3, varnum allowance` (no length byte: it runs to the end). */
  streamQuota(id: number, allowance: number): Buffer {
    const idLen = varnumLength(id);
    const quotaLen = varnumLength(allowance);
    const buf = this.pool.reserve(3 + idLen + quotaLen);
    const o = this.streamHeader(buf, this.pool.offset, id, idLen, StreamFlag.QUOTA);
    return this.pool.commit(writeVarnum(buf, o, allowance, quotaLen));
  }

  private streamHeader(buf: Buffer, start: number, id: number, idLen: number, flag: number): number {
    buf[start] = FrameType.STREAM_DATA;
    buf[start + 1] = idLen;
    const o = writeVarnum(buf, start + 2, id, idLen);
    buf[o] = flag;
    return o + 1;
  }

  /**
   * A `[u8 type][json]` frame: the handshake kinds (0 to 3), ACQUAINT (200) and ROLES (201).
   * Rare, so plain memory: release is a no-op for it.
   */
  json(type: number, value: unknown): Buffer {
    const text = JSON.stringify(value);
    const buf = Buffer.allocUnsafe(1 + Buffer.byteLength(text));
    buf[0] = type;
    buf.write(text, 1, 'utf8');
    return buf;
  }
}

/** preparePayload measures strings below 4096 characters at 3 bytes each: its bound is exact above this. */
const SMALL_BOUND = 1 + 3 * 4096;

/**
 * Writes role and event at `at` and their u16 lengths at `start + 1` and `start + 3`, the
 * header shape of frames 100, 101, 103 and 104. Returns the offset after the event.
 */
function writeNames(buf: Buffer, start: number, at: number, role: string, event: string): number {
  const roleLen = buf.write(role, at, 'utf8');
  const eventLen = buf.write(event, at + roleLen, 'utf8');
  if (roleLen > 0xffff) throw new InvalidArgumentError('role', 'at most 65535 bytes of UTF-8');
  if (eventLen > 0xffff) throw new InvalidArgumentError('event', 'at most 65535 bytes of UTF-8');
  buf.writeUInt16BE(roleLen, start + 1);
  buf.writeUInt16BE(eventLen, start + 3);
  return at + roleLen + eventLen;
}
