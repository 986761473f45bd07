import { Context as EngineContext } from '../engine/context';
import type { Unit } from './unit';

/**
 * What a handler or a requester gets: the data with its type, the unit it came from, and for a
 * request under way, the reply being decided (`response`, `error`) and `next()` for middleware.
 * The class lives in the engine, which makes every context; here it gets its public `unit` type.
 */
export interface Context extends EngineContext {
  readonly unit: Unit;
}

export const Context = EngineContext as unknown as new (unit: Unit, role: string, event: string, payload: Buffer) => Context;
