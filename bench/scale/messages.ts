/** What the processes of the scale group tell each other over IPC, and what they measure. */

export type ScaleImpl = 'roletalk' | 'ws';

/** Harness → serving process. */
export type ToServer = { kind: 'sample' } | { kind: 'cpu'; ms: number };

/** Serving process → harness. */
export type FromServer =
  | { kind: 'ready'; address: string }
  | ({ kind: 'sample' } & MemorySample)
  | { kind: 'cpu'; percent: number };

/** Harness → client process. */
export type ToClient =
  | { kind: 'open'; impl: ScaleImpl; address: string; count: number }
  /** Pipelined 64 B requests, pausing after `warmup` and then at every checkpoint (counts of requests). */
  | { kind: 'requests'; address: string; warmup: number; checkpoints: number[]; window: number }
  | { kind: 'resume' };

/** Client process → harness. */
export type FromClient =
  | { kind: 'opened'; count: number }
  | { kind: 'checkpoint'; done: number; heapUsed: number }
  | { kind: 'finished'; seconds: number }
  | { kind: 'error'; message: string };

/** Memory of a process after a full GC, and the connections it holds. */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  /** Open connections (roletalk: units) the serving process holds. */
  connections: number;
}

/**
 * Memory after full collections, in bytes. Several rounds with a turn of the event loop
 * between them: finalizers and weak callbacks freed by one round run before the next.
 */
export async function memoryAfterGc(): Promise<{ rss: number; heapUsed: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('The scale group needs node --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** The figures for one number of idle connections, ours and the baseline's side by side. */
export interface IdleRow {
  impl: ScaleImpl;
  connections: number;
  rssPerConn: number;
  heapPerConn: number;
  /** CPU of the serving process over the idle window, % of one core. */
  cpuPercent: number;
  /** The idle window in ms. */
  windowMs: number;
}

/** One heap sample of the long request run: both processes, after GC. */
export interface RequestSample {
  done: number;
  clientHeap: number;
  serverHeap: number;
}

export interface ScaleResult {
  environment: import('../env').Environment;
  quick: boolean;
  heartbeat: { interval: number; timeout: number };
  idle: IdleRow[];
  requests: { total: number; warmup: number; window: number; seconds: number; samples: RequestSample[] } | null;
}
