import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../errors';

/**
 * Preshared ID:KEY pairs (docs/protocol.md §2) and the HMAC they sign challenges with.
 * The inline computation lives here; a worker-pool variant can stand in through `HmacFn`.
 */

/** Computes hex(HMAC-SHA256(key, message)), inline or elsewhere. */
export type HmacFn = (key: string, message: string) => string | Promise<string>;

export const hmacInline: HmacFn = (key, message) => createHmac('sha256', key).update(message).digest('hex');

/** Constant-time comparison of two hex strings (the lengths are checked by the caller). */
export function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'latin1');
  const y = Buffer.from(b, 'latin1');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** 32 random bytes as 64 hex chars: a fresh challenge. */
export function newChallenge(): string {
  return randomBytes(32).toString('hex');
}

export class Keyring {
  readonly keys = new Map<string, string>();

  addPresharedKey(id: string, key: string): this {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('id', 'a non-empty string', id);
    if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('key', 'a non-empty string', key);
    this.keys.set(id, key);
    return this;
  }
}
