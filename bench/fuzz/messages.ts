/** What the fuzz harness and its target process tell each other over IPC. */

export type ToTarget = { type: 'stats' };

export interface TargetStats {
  /** Units the target holds (the witness, and raw clients still connected). */
  units: number;
  /** Open connections over all units. */
  connections: number;
  protocolErrors: number;
  handlerErrors: number;
  heap: number;
}

export type FromTarget =
  | { type: 'listening'; port: number; heap: number }
  | ({ type: 'stats' } & TargetStats)
  /** An exception nothing caught, or a rejection nothing handled: a crash the handler kept from ending the process. */
  | { type: 'crash'; kind: string; message: string };
