import { InvalidArgumentError } from '../errors';
import type { RequestOptions } from '../engine/pending';
import { BALANCE_STRATEGIES, type BalanceStrategy } from '../engine/balancer';
import type { Unit } from './unit';

/** What a call on a destination takes as its first argument: the event, or the event with options. */
export type EventOptions =
  | string
  | {
      event: string;
      /** Ask this unit rather than the next one in turn. */
      unit?: Unit;
      /** Milliseconds to wait for the answer (default: the peer's `requestTimeout`). */
      timeout?: number;
      /**
       * When the caller stops waiting, in epoch milliseconds; the timeout is cut to it. In a
       * handler, pass `ctx.deadline` on so that a request of its own ends with the one it serves.
       */
      deadline?: number;
      /** Aborting it rejects the request at once and, on peers of this library, cancels it there. */
      signal?: AbortSignal;
      /** Safe to run twice: sent again on another connection if its own drops, whatever the remote. */
      idempotent?: boolean;
    };

/** Options of `peer.destination(name, options)`: defaults for every call on it. */
export interface DestinationOptions {
  /** Every request through this destination is idempotent (see EventOptions). Default false. */
  idempotent?: boolean;
  /**
   * How the next unit is picked: 'round-robin' (1.1.x's way, the default), 'least-pending',
   * 'p2c' (power of two choices) or 'latency' (peak-EWMA of response time; avoids slow units).
   */
  balance?: BalanceStrategy;
}

export interface ParsedEvent {
  name: string;
  unit: Unit | undefined;
  request: RequestOptions;
}

/** Checks the first argument of a destination call, naming what is wrong, and fills in defaults. */
export function parseEvent(event: EventOptions, defaultTimeout: number, defaults: DestinationOptions): ParsedEvent {
  if (typeof event === 'string') return { name: event, unit: undefined, request: { timeout: defaultTimeout, idempotent: defaults.idempotent } };
  if (typeof event !== 'object' || event === null || typeof event.event !== 'string') {
    throw new InvalidArgumentError('event', 'a string or { event: string, unit?, timeout?, deadline?, signal?, idempotent? }', event);
  }
  const { timeout, deadline, signal, idempotent } = event;
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0))) {
    throw new InvalidArgumentError('timeout', 'a number of milliseconds >= 0', timeout);
  }
  if (deadline !== undefined && (typeof deadline !== 'number' || Number.isNaN(deadline))) {
    throw new InvalidArgumentError('deadline', 'a time in epoch milliseconds', deadline);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  if (idempotent !== undefined && typeof idempotent !== 'boolean') throw new InvalidArgumentError('idempotent', 'a boolean', idempotent);
  let ms = timeout ?? defaultTimeout;
  if (deadline !== undefined) {
    // A deadline already past still sends the request, with the least time there is.
    const left = Math.max(1, deadline - Date.now());
    ms = ms > 0 && Number.isFinite(ms) ? Math.min(ms, left) : left;
  }
  return { name: event.event, unit: event.unit, request: { timeout: ms, signal, idempotent: idempotent ?? defaults.idempotent } };
}

/** Checks the options of `peer.destination(name, options)`, naming what is wrong. */
export function checkDestinationOptions(options: DestinationOptions | undefined): DestinationOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  if (options.idempotent !== undefined && typeof options.idempotent !== 'boolean') {
    throw new InvalidArgumentError('options.idempotent', 'a boolean', options.idempotent);
  }
  if (options.balance !== undefined && !BALANCE_STRATEGIES.includes(options.balance)) {
    throw new InvalidArgumentError('options.balance', `one of ${BALANCE_STRATEGIES.join(', ')}`, options.balance);
  }
  return options;
}
