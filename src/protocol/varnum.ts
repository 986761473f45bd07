import { ProtocolError } from '../errors';
import { MAX_VARNUM_BYTES } from './constants';

/**
 * Varnums (docs/protocol.md, Notation): an unsigned integer in the fewest big-endian bytes that hold
 * it, at least one; its length travels separately in a u8.
 */

/** Bytes needed for `n` (a non-negative safe integer). */
export function varnumLength(n: number): number {
  if (n < 0x100) return 1;
  if (n < 0x10000) return 2;
  if (n < 0x1000000) return 3;
  if (n < 0x100000000) return 4;
  if (n < 0x10000000000) return 5;
  if (n < 0x1000000000000) return 6;
  return 7;
}

/** Writes `n` in exactly `len` bytes at `offset`; returns the offset after it. */
export function writeVarnum(buf: Buffer, offset: number, n: number, len: number): number {
  // Division instead of shifts: JavaScript bit operators stop at 32 bits.
  for (let i = len - 1; i >= 0; i--) {
    buf[offset + i] = n % 256;
    n = Math.floor(n / 256);
  }
  return offset + len;
}

/** Reads a varnum of `len` bytes; leading zero bytes are accepted (§4 correlation ids). */
export function readVarnum(buf: Buffer, offset: number, len: number): number {
  if (len === 0 || len > MAX_VARNUM_BYTES) {
    throw new ProtocolError('RT_ERR_VARNUM', `Varnum length ${len} is outside 1..${MAX_VARNUM_BYTES}`);
  }
  let n = 0;
  for (let i = 0; i < len; i++) n = n * 256 + buf[offset + i]!;
  return n;
}

/**
 * Reads a stream id, which §6 matches by its exact minimal bytes: a zero-padded id matches no
 * stream, so it reads as -1.
 */
export function readStreamId(buf: Buffer, offset: number, len: number): number {
  const n = readVarnum(buf, offset, len);
  return len > 1 && buf[offset] === 0 ? -1 : n;
}
