import { ProtocolError, InvalidArgumentError } from '../errors';
import { DataType, DATA_TYPE_NAMES, type DataTypeName } from './constants';

/**
 * Typed payloads (docs/protocol.md §3): `[u8 datatype][bytes]`.
 *
 * Encoding is split in two so that the encoder can size a frame before writing it without an
 * object per frame: `preparePayload(value)` classifies the value into module-level scratch and
 * returns the most bytes it can take; `writePayload(buf, offset)` writes it and returns the end.
 * Both run back to back inside one synchronous encode call.
 */

let scratchType: number = DataType.NULL;
let scratchText = '';
let scratchBytes: Uint8Array | null = null;
let scratchBool = false;
/** A binary payload left out of its frame (see DETACH_FROM), waiting for the encoder to attach it. */
let scratchDetached: Buffer | null = null;

/**
 * Binary payloads from this size on are not copied into their frame: the frame ends at the
 * datatype byte and the bytes follow it in the same WebSocket message (`bodyOf`). A copy of
 * 64 KiB costs more than the rest of the request's path; a Buffer handed to a socket is not
 * copied either (as with `socket.write`, the caller must not change it while it is sent).
 */
export const DETACH_FROM = 8 * 1024;

/** Strings shorter than this reserve 3 bytes per UTF-16 unit instead of measuring exactly. */
const MEASURE_STRINGS_FROM = 4096;

function textBound(text: string): number {
  return text.length < MEASURE_STRINGS_FROM ? text.length * 3 : Buffer.byteLength(text, 'utf8');
}

/** Classifies `value` as the original does; returns the most bytes the payload can take. */
export function preparePayload(value: unknown): number {
  scratchBytes = null;
  scratchDetached = null;
  switch (typeof value) {
    case 'string':
      scratchType = DataType.STRING;
      scratchText = value;
      return 1 + textBound(value);
    case 'number':
      scratchType = DataType.NUMBER;
      // String(n) is the original's number text: -0 → "0", 1e21 → "1e+21", NaN → "NaN".
      scratchText = String(value);
      return 1 + scratchText.length;
    case 'boolean':
      scratchType = DataType.BOOLEAN;
      scratchBool = value;
      return 2;
    case 'object':
      if (value === null) break;
      if (value instanceof Uint8Array) {
        scratchType = DataType.BINARY;
        if (value.byteLength >= DETACH_FROM) {
          scratchDetached = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
          return 1;
        }
        scratchBytes = value;
        return 1 + value.byteLength;
      }
      if (value instanceof ArrayBuffer) {
        scratchType = DataType.BINARY;
        scratchBytes = new Uint8Array(value);
        return 1 + value.byteLength;
      }
      return prepareJson(value);
    default:
      // undefined, functions, symbols and BigInts travel as null, as in the original.
      break;
  }
  scratchType = DataType.NULL;
  return 1;
}

function prepareJson(value: object): number {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidArgumentError('data', 'serializable to JSON', `${(err as Error).message}`);
  }
  if (text === undefined) {
    scratchType = DataType.NULL;
    return 1;
  }
  scratchType = DataType.OBJECT;
  scratchText = text;
  return 1 + textBound(text);
}

/** Writes the payload classified by the last `preparePayload`; returns the offset after it. */
export function writePayload(buf: Buffer, offset: number): number {
  buf[offset++] = scratchType;
  switch (scratchType) {
    case DataType.STRING:
    case DataType.OBJECT:
      return offset + buf.write(scratchText, offset, 'utf8');
    case DataType.NUMBER:
      return offset + buf.write(scratchText, offset, 'latin1');
    case DataType.BOOLEAN:
      buf[offset] = scratchBool ? 1 : 0;
      return offset + 1;
    case DataType.BINARY: {
      const bytes = scratchBytes;
      // A detached payload is attached by the encoder once the frame is committed.
      if (bytes === null) return offset;
      scratchBytes = null;
      // The one copy of a small binary payload on the send path.
      buf.set(bytes, offset);
      return offset + bytes.byteLength;
    }
    default:
      return offset;
  }
}

/** The most bytes `value` takes in a message, a detached payload included (nothing is encoded). */
export function payloadBound(value: unknown): number {
  const bound = preparePayload(value);
  const detached = scratchDetached;
  scratchDetached = null;
  return detached === null ? bound : bound + detached.length;
}

const bodies = new WeakMap<Buffer, Buffer>();

/** Attaches the payload the last `writePayload` left out, if any, to the frame just made. */
export function attachDetached(frame: Buffer): Buffer {
  const body = scratchDetached;
  if (body !== null) {
    scratchDetached = null;
    bodies.set(frame, body);
  }
  return frame;
}

/**
 * The payload bytes that follow `frame` in its message, when they were left out of it
 * (DETACH_FROM). Such a frame ends with the binary datatype byte, which keeps the look-up off
 * every other frame.
 */
export function bodyOf(frame: Buffer): Buffer | undefined {
  return frame.length > 0 && frame[frame.length - 1] === DataType.BINARY ? bodies.get(frame) : undefined;
}

/** The length of the whole message `frame` stands for, its detached payload included. */
export function messageLength(frame: Buffer): number {
  const body = bodyOf(frame);
  return body === undefined ? frame.length : frame.length + body.length;
}

/** A copy of `frame` outside the pool, for keeping; a detached payload stays attached, uncopied. */
export function copyFrame(frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  const body = bodyOf(frame);
  if (body !== undefined) bodies.set(copy, body);
  return copy;
}

/** A payload read back: the value and the name of its type, as `ctx.type` reports it. */
export interface DecodedValue {
  type: DataTypeName;
  value: unknown;
}

/**
 * Decodes a payload view (datatype byte first). Binary values are views of the frame, not
 * copies. Throws `ProtocolError` when the datatype is missing or unknown or the JSON is bad.
 */
export function decodePayload(payload: Buffer): DecodedValue {
  if (payload.length === 0) throw new ProtocolError('RT_ERR_FRAME_TRUNCATED', 'The payload has no datatype byte');
  const type = payload[0]!;
  switch (type) {
    case DataType.BINARY:
      return { type: 'binary', value: payload.subarray(1) };
    case DataType.NULL:
      return { type: 'null', value: null };
    case DataType.BOOLEAN:
      // The original reads a missing value byte as true.
      return { type: 'boolean', value: payload.length < 2 || payload[1] !== 0 };
    case DataType.STRING:
      return { type: 'string', value: payload.toString('utf8', 1) };
    case DataType.NUMBER:
      return { type: 'number', value: Number(payload.toString('latin1', 1)) };
    case DataType.OBJECT:
      return { type: 'object', value: parseJson(payload, 1, 'object payload') };
    default:
      throw new ProtocolError('RT_ERR_DATATYPE', `Unknown payload datatype ${type}`);
  }
}

/** The name `ctx.type` reports for a datatype byte, or '?' for an unknown one. */
export function dataTypeName(type: number): DataTypeName | '?' {
  return DATA_TYPE_NAMES[type] ?? '?';
}

/** JSON.parse of `buf` from `start`, with a ProtocolError on bad text. */
export function parseJson(buf: Buffer, start: number, what: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8', start));
  } catch (err) {
    throw new ProtocolError('RT_ERR_JSON', `Invalid JSON in ${what}: ${(err as Error).message}`);
  }
}

/** The text of a reject payload: a string as is, anything else as its JSON (roletalk-go). */
export function rejectText(payload: Buffer): string {
  try {
    const { value } = decodePayload(payload);
    if (typeof value === 'string') return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
    return JSON.stringify(value) ?? String(value);
  } catch {
    return payload.length > 1 ? payload.toString('utf8', 1) : 'Rejected';
  }
}
