/** What the bench processes tell each other over IPC (child_process.fork). */

/** Sent by a server process once it listens. */
export interface ServerReady {
  kind: 'ready';
  /** One address per listening peer (several peers in one process for fan-out cases). */
  addresses: string[];
}

/**
 * roletalk and the baselines it is measured against: raw `ws`, raw `net` (length-prefixed TCP,
 * the ceiling of any framing over TCP in Node), Moleculer, gRPC-js (unary) and NATS
 * (request/reply through a nats-server).
 */
export type Impl = 'roletalk' | 'ws' | 'net' | 'moleculer' | 'grpc' | 'nats';

/** Options a bench server runs with. */
export interface ServerOptions {
  impl: Impl;
  /** How many peers this process runs (each on its own port). */
  peers: number;
  ioThreads: number;
  port: number;
  /** The first peer listens on this Unix socket instead of a TCP port (address `ws+unix:<path>`). */
  socketPath?: string;
  /** Frames per socket write (the peer's writeBatch.frames); undefined: the default. */
  writeBatch?: number;
  /** A preshared key (id "bench"): handshakes are keyed. */
  key?: string;
  authThreads?: number;
  /** Percent of the main thread kept busy by a background loop (the auth storm). */
  busyPercent?: number;
  /**
   * The unit at `index` answers `delayed` requests `factor` times slower than the others (the
   * balancing rows). Undefined: every unit answers after the delay it is asked for.
   */
  slowPeer?: { index: number; factor: number };
  /** The broker the server answers through (NATS: the nats-server's URL). */
  broker?: string;
}

/** One measured row. */
export interface Row {
  suite: 'e2e';
  case: string;
  impl: Impl;
  /** Connections per peer pair. */
  connections: number;
  /** Requests in flight. */
  window: number;
  payload: number;
  /** Units involved (fan-out cases). */
  units?: number;
  ioThreads?: number;
  writeBatch?: number;
  /**
   * 'threads': the I/O-thread comparison; 'auth': the handshake storm; 'tracing': the same cases
   * with and without diagnostics_channel subscribers; 'balance': the balancing strategies over
   * units of which one is slow; 'transport': a Unix socket against TCP loopback. Each has its
   * own table. 'streams': the stream cases in interleaved rounds against raw ws.
   */
  group?: 'threads' | 'auth' | 'tracing' | 'balance' | 'transport' | 'streams';
  /** What the server listened on (group 'transport'). */
  transport?: Transport;
  /** Which interleaved round (group 'transport', and the request cases run in rounds). */
  round?: number;
  authThreads?: number;
  busyPercent?: number;
  /** Whether both processes had subscribers to every roletalk diagnostics channel (group 'tracing'). */
  tracing?: boolean;
  /** The destination's balancing strategy (group 'balance'). */
  balance?: string;
  /** Alternating slices of the run the row adds up, per setting (group 'tracing'). */
  slices?: number;
  /** Share (0..1) of the requests the slow unit answered (group 'balance'). */
  slowShare?: number;
  /** Completed operations per second (throughput cases). */
  opsPerSec?: number;
  /** Megabytes (10^6 bytes) per second (stream cases). */
  mbPerSec?: number;
  /** Bytes a reader held once it stopped reading, in flight included (stream-paused). */
  heldBytes?: number;
  /** Latency percentiles in microseconds (RTT cases). */
  p50?: number;
  p99?: number;
  p999?: number;
  mean?: number;
  samples: number;
  seconds: number;
}

export interface ClientTask {
  kind: 'run';
  impl: Impl;
  addresses: string[];
  cases: CaseSpec[];
  /** The client peer's ioThreads. */
  ioThreads: number;
  /** The server peer's ioThreads, recorded in the rows (the I/O-thread cases). */
  serverIoThreads?: number;
  writeBatch?: number;
  /** The handshake storm: the key to use, and the server's settings to record. */
  key?: string;
  serverAuthThreads?: number;
  serverBusyPercent?: number;
  /** The transport group: recorded in the rows. */
  transport?: Transport;
  /** Interleaved rounds: recorded in the rows. */
  round?: number;
  /** Rows of the streams group (rounds against raw ws). */
  group?: 'streams';
}

/** What a bench server listens on in the transport group. */
export type Transport = 'unix' | 'tcp';

export interface CaseSpec {
  name: 'rtt' | 'throughput' | 'messages' | 'broadcast' | 'survey' | 'stream' | 'stream-down' | 'stream-paused' | 'burn' | 'handshakes' | 'balance';
  connections: number;
  window: number;
  payload: number;
  /** Operations (rtt) or seconds to run (throughput-like cases). */
  count?: number;
  seconds?: number;
  /** Bytes to move (stream). */
  bytes?: number;
  /** Microseconds of CPU each handler burns (burn). */
  burnMicros?: number;
  /**
   * Measure the case (rtt or throughput) twice, without and with no-op subscribers to every
   * roletalk diagnostics channel in both processes, in alternating slices: two rows.
   */
  alternateTracing?: boolean;
  /** The destination's balancing strategy, and the `delayed` requests' delay in ms (balance). */
  balance?: 'round-robin' | 'least-pending' | 'p2c' | 'latency';
  delayMs?: number;
  /** The name of the slow unit, whose share of the requests is reported (balance). */
  slowUnit?: string;
}
