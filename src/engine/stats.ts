import type { Connection, ConnectionCounters } from '../transport/connection';

/** Frames and bytes carried. */
export interface TrafficStats {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
}

/** Requests this side made. */
export interface RequestStats {
  /** Waiting for their answer now. */
  inFlight: number;
  /** Answered with a RESPONSE. */
  completed: number;
  /** Failed, by error code (`RT_ERR_REJECTED`, `RT_ERR_REQUEST_TIMEOUT`, ...). */
  failed: Record<string, number>;
}

export interface ConnectionStats extends TrafficStats {
  id: number;
  outbound: boolean;
  remoteAddress: string;
  bufferedAmount: number;
  /** Round-trip time of requests on it, a moving average in ms (undefined before the first). */
  rtt: number | undefined;
}

/** A snapshot of one unit. Counters only grow. */
export interface UnitStats {
  id: string;
  name: string;
  requests: RequestStats;
  /** Requests from the unit that this side answered. */
  handled: number;
  messages: { in: number; out: number };
  traffic: TrafficStats;
  /** The open connections. */
  connections: ConnectionStats[];
}

/** A snapshot of the peer: totals over every unit it ever had, and each unit now. */
export interface PeerStats {
  requests: RequestStats;
  handled: number;
  messages: { in: number; out: number };
  traffic: TrafficStats;
  units: UnitStats[];
}

/** The counters of one remote peer (or of the ones gone), moved as work happens. */
export class Counters {
  completed = 0;
  /** Made at the first failure: most units have none. */
  failed: Record<string, number> | undefined = undefined;
  handled = 0;
  messagesIn = 0;
  messagesOut = 0;
  /** Traffic of connections that have closed; made when the first closes. */
  traffic: TrafficStats | undefined = undefined;

  /** Adds a closed connection's (or a gone remote's) traffic. */
  addClosed(from: TrafficStats): void {
    addTraffic((this.traffic ??= noTraffic()), from);
  }

  fail(code: string, n = 1): void {
    const failed = (this.failed ??= {});
    failed[code] = (failed[code] ?? 0) + n;
  }

  /** Adds what `other` counted (a remote that is gone, a connection that closed). */
  absorb(other: Counters): void {
    this.completed += other.completed;
    for (const [code, n] of Object.entries(other.failed ?? {})) this.fail(code, n);
    this.handled += other.handled;
    this.messagesIn += other.messagesIn;
    this.messagesOut += other.messagesOut;
    if (other.traffic !== undefined) this.addClosed(other.traffic);
  }
}

/** A request's round trip on `conn`: a moving average, recent trips weighing a fifth. */
export function recordRtt(counters: ConnectionCounters, ms: number): void {
  counters.rtt = counters.rtt === undefined ? ms : counters.rtt + (ms - counters.rtt) * 0.2;
}

function noTraffic(): TrafficStats {
  return { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0 };
}

export function addTraffic(into: TrafficStats, from: TrafficStats): void {
  into.framesIn += from.framesIn;
  into.bytesIn += from.bytesIn;
  into.framesOut += from.framesOut;
  into.bytesOut += from.bytesOut;
}

export function connectionStats(conn: Connection): ConnectionStats {
  const c = conn.counters;
  return {
    id: conn.id,
    outbound: conn.outbound,
    remoteAddress: conn.remoteAddress,
    bufferedAmount: conn.bufferedAmount,
    rtt: c.rtt,
    framesIn: c.framesIn,
    bytesIn: c.bytesIn,
    framesOut: c.framesOut,
    bytesOut: c.bytesOut,
  };
}

/** A snapshot of counters plus live connections. */
export function unitStats(id: string, name: string, counters: Counters, inFlight: number, conns: readonly Connection[]): UnitStats {
  const traffic = { ...noTraffic(), ...counters.traffic };
  for (const conn of conns) addTraffic(traffic, conn.counters);
  return {
    id,
    name,
    requests: { inFlight, completed: counters.completed, failed: { ...counters.failed } },
    handled: counters.handled,
    messages: { in: counters.messagesIn, out: counters.messagesOut },
    traffic,
    connections: conns.filter((conn) => conn.open).map(connectionStats),
  };
}

/** The peer's totals: what the gone remotes counted plus each live unit's snapshot. */
export function peerStats(gone: Counters, units: UnitStats[]): PeerStats {
  const stats: PeerStats = {
    requests: { inFlight: 0, completed: gone.completed, failed: { ...gone.failed } },
    handled: gone.handled,
    messages: { in: gone.messagesIn, out: gone.messagesOut },
    traffic: { ...noTraffic(), ...gone.traffic },
    units,
  };
  for (const unit of units) {
    stats.requests.inFlight += unit.requests.inFlight;
    stats.requests.completed += unit.requests.completed;
    for (const [code, n] of Object.entries(unit.requests.failed)) stats.requests.failed[code] = (stats.requests.failed[code] ?? 0) + n;
    stats.handled += unit.handled;
    stats.messages.in += unit.messages.in;
    stats.messages.out += unit.messages.out;
    addTraffic(stats.traffic, unit.traffic);
  }
  return stats;
}
