import path from 'node:path';
import Piscina from 'piscina';
import type { HmacFn } from './keyring';

/**
 * Handshake HMACs in a piscina worker pool (the `authThreads` option). One HMAC-SHA256 costs a
 * few microseconds inline and a pool task tens (a thread hop each way), so this pays only when
 * the main thread is too busy to spare even that during a storm of handshakes: see
 * native-notes/auth-pool.md for the measured crossover.
 */
export class HmacPool {
  private readonly pool: Piscina;

  constructor(threads: number) {
    this.pool = new Piscina({
      filename: path.join(__dirname, 'hmac-task.js'),
      minThreads: 1,
      maxThreads: threads,
      // Idle threads must not keep the process alive.
      idleTimeout: 1000,
    });
  }

  readonly hmac: HmacFn = (key, message) => this.pool.run({ key, message }) as Promise<string>;

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
