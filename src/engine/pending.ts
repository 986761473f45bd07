import type { Connection } from '../transport/connection';
import type { Context } from './context';

/** How a request is made, beyond its role, event and data. */
export interface RequestOptions {
  /** Milliseconds to wait for the answer; 0 or Infinity: no limit. */
  timeout: number;
  /** Aborting it rejects the request at once (and cancels it on peers that offer `cancel`). */
  signal?: AbortSignal | undefined;
  /** Safe to run twice: sent again on another connection if its own drops, whatever the remote. */
  idempotent?: boolean | undefined;
}

/** A request waiting for its RESPONSE or REJECT (docs/protocol.md §4). One table per unit. */
export interface PendingRequest {
  resolve: (ctx: Context) => void;
  reject: (err: Error) => void;
  readonly corr: number;
  role: string;
  event: string;
  /** The value sent, to encode the request again on another connection. */
  data: unknown;
  /** performance.now() at send, for `ctx.rtt` and the deadline. */
  sentAt: number;
  /** The timeout in milliseconds (0: none). */
  timeout: number;
  /** performance.now() at which it times out (Infinity: never). */
  deadline: number;
  /** Settled: out of the table, its place in the timer queue is skipped. */
  done: boolean;
  /** The connection it was last sent on. */
  conn: Connection;
  idempotent: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}
