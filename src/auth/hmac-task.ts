import { createHmac } from 'node:crypto';

/** The piscina task: one handshake HMAC, computed off the main thread. */
export default function hmacTask({ key, message }: { key: string; message: string }): string {
  return createHmac('sha256', key).update(message).digest('hex');
}
