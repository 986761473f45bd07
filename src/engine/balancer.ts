/**
 * How a destination picks the unit for the next request, stream request or message among the
 * units that serve its role. The pick of a connection inside a unit (least buffered) is separate.
 *
 * - `round-robin`: in turn, as 1.1.x does. The default.
 * - `least-pending`: the unit with the fewest requests waiting for an answer; ties in turn.
 * - `p2c`: power of two choices: two units at random, the one with fewer pending requests.
 * - `latency`: peak-EWMA of response time times (pending + 1), as Finagle and Linkerd do: a
 *   slow unit is avoided at once (a slow answer raises its estimate to it) and probed again as
 *   the estimate decays.
 */
export type BalanceStrategy = 'round-robin' | 'least-pending' | 'p2c' | 'latency';

export const BALANCE_STRATEGIES: readonly BalanceStrategy[] = ['round-robin', 'least-pending', 'p2c', 'latency'];

/** What a balancer needs to know of a unit. */
export interface Balanced {
  /** Requests waiting for an answer from it. */
  readonly load: number;
  readonly latency: PeakEwma;
  /** How long its oldest unanswered request has waited, in ms (0 when none): a floor on its latency. */
  readonly waiting: number;
}

/** A peak-sensitive moving average of response times, decaying toward recent ones. */
export class PeakEwma {
  /** The estimate in milliseconds; 0 before any answer, so that a new unit is tried. */
  private value = 0;
  private at = 0;

  constructor(private readonly decayMs = 1000) {}

  /** An answer took `ms`. A slower one than the estimate takes over at once. */
  observe(ms: number, now = performance.now()): void {
    if (ms > this.value) this.value = ms;
    else this.value += (ms - this.value) * (1 - Math.exp(-(now - this.at) / this.decayMs));
    this.at = now;
  }

  /** The estimate now, decayed toward 0 (so a unit avoided for a while is probed again). */
  estimate(now = performance.now()): number {
    return this.value * Math.exp(-(now - this.at) / (this.decayMs * 10));
  }
}

export interface Balancer {
  pick<T extends Balanced>(units: readonly T[]): T | undefined;
}

export function balancer(strategy: BalanceStrategy): Balancer {
  switch (strategy) {
    case 'least-pending':
      return new LeastPending();
    case 'p2c':
      return { pick: pickOfTwo };
    case 'latency':
      return { pick: leastCost };
    default:
      return new RoundRobin();
  }
}

class RoundRobin implements Balancer {
  private next = 0;
  pick<T extends Balanced>(units: readonly T[]): T | undefined {
    const n = units.length;
    if (n === 0) return undefined;
    if (this.next >= n) this.next = 0;
    return units[this.next++];
  }
}

class LeastPending implements Balancer {
  private start = 0;
  pick<T extends Balanced>(units: readonly T[]): T | undefined {
    const n = units.length;
    if (n === 0) return undefined;
    const from = this.start++ % n;
    let best = units[from]!;
    for (let k = 1; k < n && best.load > 0; k++) {
      const unit = units[(from + k) % n]!;
      if (unit.load < best.load) best = unit;
    }
    return best;
  }
}

function pickOfTwo<T extends Balanced>(units: readonly T[]): T | undefined {
  const n = units.length;
  if (n <= 1) return units[0];
  const a = Math.floor(Math.random() * n);
  let b = Math.floor(Math.random() * (n - 1));
  if (b >= a) b++;
  return units[a]!.load <= units[b]!.load ? units[a] : units[b];
}

function leastCost<T extends Balanced>(units: readonly T[]): T | undefined {
  const now = performance.now();
  let best: T | undefined;
  let bestCost = Infinity;
  for (const unit of units) {
    // A unit that has not answered yet is at least as slow as its oldest request has waited.
    const cost = Math.max(unit.latency.estimate(now), unit.waiting) * (unit.load + 1);
    // Ties (new units, idle ones) go to the least loaded.
    if (cost < bestCost || (cost === bestCost && best !== undefined && unit.load < best.load)) {
      best = unit;
      bestCost = cost;
    }
  }
  return best;
}
