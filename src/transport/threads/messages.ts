import type { HeartbeatOptions, WriteBatch } from '../connection';

/**
 * What the main thread and an I/O thread say to each other over the worker's MessagePort.
 * Frames travel through a ring each way (frame-ring.ts); those that do not fit come here in
 * batches: one transferred ArrayBuffer holding many frames back to back, and an Int32Array of
 * (connection slot, length) pairs saying where each starts.
 */

export interface IoThreadData {
  heartbeat: HeartbeatOptions;
  batch: WriteBatch;
  /** The largest message ws accepts, on both sides (0: ws's default). */
  maxPayload: number;
  /** Per connection slot: [2 * slot] bytes buffered, [2 * slot + 1] 1 while open. */
  shared: SharedArrayBuffer;
  /** The frame rings (frame-ring.ts), main thread to I/O thread and back. */
  toIo: SharedArrayBuffer;
  toMain: SharedArrayBuffer;
}

/** Connection slots per I/O thread (the size of the shared table). */
export const MAX_SLOTS = 32768;

export type ToIo =
  | { t: 'dial'; req: number; address: string; options: Record<string, unknown> }
  | { t: 'listen'; req: number; port: number; host?: string; socketPath?: string; path?: string; ssl?: Record<string, unknown>; reusePort: boolean }
  | { t: 'unlisten'; req: number }
  /** Frames that did not fit in the ring (see frame-ring.ts). */
  | { t: 'frames'; buf: ArrayBuffer; index: Int32Array }
  | { t: 'close'; slot: number; code: number; reason: string }
  | { t: 'terminate'; slot: number }
  /** The main thread saw the slot's close: nothing more will be sent to it, it may be reused. */
  | { t: 'release'; slot: number };

export type FromIo =
  | { t: 'opened'; req: number; slot: number; outbound: boolean; remoteAddress: string; url: string }
  | { t: 'dialFailed'; req: number; message: string; code?: string }
  /** `port` is undefined for a Unix socket. */
  | { t: 'listening'; req: number; port: number | undefined }
  | { t: 'listenFailed'; req: number; message: string; code?: string }
  | { t: 'unlistened'; req: number }
  /** Frames that did not fit in the ring (see frame-ring.ts). */
  | { t: 'frames'; buf: ArrayBuffer; index: Int32Array }
  /** Frames sent to a connection that was already closing: never written, handed back. */
  | { t: 'bounced'; buf: ArrayBuffer; index: Int32Array }
  | { t: 'closed'; slot: number; code: number; reason: string };
