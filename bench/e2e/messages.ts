/** What the bench processes tell each other over IPC (child_process.fork). */

/** Sent by a server process once it listens. */
export interface ServerReady {
  kind: 'ready';
  /** One address per listening peer (several peers in one process for fan-out cases). */
  addresses: string[];
}

/** Options a bench server runs with. */
export interface ServerOptions {
  /** 'roletalk' | 'ws' | 'moleculer' */
  impl: 'roletalk' | 'ws' | 'moleculer';
  /** How many peers this process runs (each on its own port). */
  peers: number;
  ioThreads: number;
  port: number;
  /** Frames per socket write (the peer's writeBatch.frames); undefined: the default. */
  writeBatch?: number;
  /** A preshared key (id "bench"): handshakes are keyed. */
  key?: string;
  authThreads?: number;
  /** Percent of the main thread kept busy by a background loop (the auth storm). */
  busyPercent?: number;
}

/** One measured row. */
export interface Row {
  suite: 'e2e';
  case: string;
  impl: 'roletalk' | 'ws' | 'moleculer';
  /** Connections per peer pair. */
  connections: number;
  /** Requests in flight. */
  window: number;
  payload: number;
  /** Units involved (fan-out cases). */
  units?: number;
  ioThreads?: number;
  writeBatch?: number;
  /** 'threads': the I/O-thread comparison; 'auth': the handshake storm. Each has its own table. */
  group?: 'threads' | 'auth';
  authThreads?: number;
  busyPercent?: number;
  /** Completed operations per second (throughput cases). */
  opsPerSec?: number;
  /** Megabytes (10^6 bytes) per second (stream cases). */
  mbPerSec?: number;
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
  impl: 'roletalk' | 'ws' | 'moleculer';
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
}

export interface CaseSpec {
  name: 'rtt' | 'throughput' | 'messages' | 'broadcast' | 'survey' | 'stream' | 'burn' | 'handshakes';
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
}
