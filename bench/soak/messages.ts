/** What the soak processes tell each other over IPC. */

/** How one connection of the unit is dropped: abruptly (no close handshake) or closed with 1000. */
export type DropMode = 'terminate' | 'close';

/** Harness → serving process. */
export type ToServer =
  | { type: 'start'; port: number; countsFile: string }
  /** Drop one of the caller's connections from this side. */
  | { type: 'drop'; mode: DropMode }
  /** Write the execution counts and die at once (SIGKILL: no close handshake, no cleanup). */
  | { type: 'die' }
  /** Write the execution counts and report the heap. */
  | { type: 'report' };

/** Serving process → harness. */
export type FromServer =
  | { type: 'listening'; port: number; heap: number }
  | { type: 'dropped'; done: boolean; connections: number }
  | { type: 'report'; heap: number; executions: number };

/** Harness → calling process. */
export type ToCaller =
  | { type: 'start'; url: string; inFlight: number; timeoutMs: number }
  | { type: 'drop'; mode: DropMode }
  /** The serving process is about to be killed. */
  | { type: 'restart' }
  | { type: 'progress' }
  /** Stop sending, wait up to `graceMs` for what is in flight, write the outcome of every id. */
  | { type: 'stop'; graceMs: number; statesFile: string };

export interface CallerProgress {
  sent: number;
  answered: number;
  lost: number;
  inFlight: number;
  connections: number;
}

/** Calling process → harness. */
export type FromCaller =
  | { type: 'ready'; heap: number }
  | { type: 'restarting' }
  | { type: 'dropped'; done: boolean; connections: number }
  | ({ type: 'progress' } & CallerProgress)
  | { type: 'report'; report: CallerReport };

export interface CallerReport {
  sent: number;
  answered: number;
  /** Settled with an error, by error code. */
  lostByCode: Record<string, number>;
  /** Of those, failed by RT_ERR_REQUEST_TIMEOUT. */
  lostByTimeout: number;
  /** Failed with any other error (the unit closed, no unit, ...): they failed at once. */
  lostAtOnce: number;
  /** Lost requests whose life overlapped the restart of the serving process (killed on purpose). */
  lostAtRestart: number;
  /** Answered with another request's id: an answer routed to the wrong request. */
  mismatched: number;
  /** Neither resolved nor rejected after the grace period. */
  unsettled: number;
  unsettledSample: number[];
  latency: { p50: number; p99: number; max: number };
  heapStart: number;
  heapEnd: number;
  /** Milliseconds from the kill of the serving process to a unit serving the role again. */
  restartGapMs: number | undefined;
  /** The unit closed (lost all its connections) this many times. */
  unitCloses: number;
}

/** Outcome of each request id in the states file the caller writes: one byte per id. */
export const State = { PENDING: 0, ANSWERED: 1, FAILED: 2 } as const;

/**
 * Drops one of a unit's connections, only while it has two or more (the unit keeps one, as in
 * the scenario soaked); returns whether it did.
 */
export function dropOneOfTwo(conns: ReadonlyArray<{ terminate(): void; close(code?: number): void }>, mode: DropMode): boolean {
  if (conns.length < 2) return false;
  const conn = conns[Math.floor(Math.random() * conns.length)]!;
  if (mode === 'terminate') conn.terminate();
  else conn.close(1000);
  return true;
}
