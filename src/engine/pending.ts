import type { Context } from './context';

/** A request waiting for its RESPONSE or REJECT (docs/protocol.md §4). One table per unit. */
export interface PendingRequest {
  resolve: (ctx: Context) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
  role: string;
  event: string;
  /** performance.now() at send, for `ctx.rtt`. */
  sentAt: number;
}
