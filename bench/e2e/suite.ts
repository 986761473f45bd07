import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaseSpec, ClientTask, Row, ServerOptions, ServerReady, Transport } from './messages';
import { streamCases } from './streams';

/**
 * The groups of cases, each with its own table in BENCHMARKS.md (`--groups` picks some):
 * requests (against the baselines), threads (I/O threads), batch (write batching), auth (the
 * handshake storm), fanout (broadcast and survey), tracing (diagnostics_channel subscribers off
 * and on), balance (balancing strategies with one slow unit), transport (a Unix socket against
 * TCP loopback; saved in its own results file), streams (uploads, downloads and a paused reader,
 * in interleaved rounds against raw ws).
 */
export const E2E_GROUPS = ['requests', 'threads', 'batch', 'auth', 'fanout', 'tracing', 'balance', 'transport', 'streams'] as const;
export type E2eGroup = (typeof E2E_GROUPS)[number];

/** The balancing strategies compared, in the order of the table. */
export const BALANCE_CASES = ['round-robin', 'least-pending', 'p2c', 'latency'] as const;

/** The fast units answer `delayed` after 1 ms, the slow one (the last of three) 30 times later. */
export const BALANCE_DELAY_MS = 1;
export const BALANCE_SLOW = { index: 2, factor: 30 };

/**
 * The end-to-end suite: bench servers in their own processes, the client in another, so the
 * two cores of the machine are used as in production. Every case runs for roletalk and for
 * the raw `ws` baseline in the same run; request cases also for Moleculer.
 */

export interface E2eOptions {
  quick: boolean;
  /** Existing roletalk bench peers to measure instead of local ones (`--mesh`). */
  mesh: string[] | null;
  connections: number[];
  windows: number[];
  payloads: number[];
  ioThreads: number[];
  /** authThreads settings of the handshake storm. */
  authThreads: number[];
  /** Units serving the role in the broadcast and survey cases. */
  units: number;
  /** writeBatch.frames settings to compare with the default (1: every frame on its own). */
  writeBatches: number[];
  /** Transports compared side by side (Unix socket against TCP loopback); empty: none. */
  transports: Transport[];
  /** Interleaved rounds of the transport comparison. */
  transportRounds: number;
  /** Interleaved rounds of the streams group. */
  streamRounds: number;
  baselines: boolean;
  /** The groups to run (all when undefined); a mesh run is the requests group only. */
  groups?: readonly E2eGroup[];
  log: (line: string) => void;
}

const here = __dirname;

/** Whether a package resolves from the bench (baselines that are dev dependencies may not). */
function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

function startServer(options: ServerOptions): Promise<{ child: ChildProcess; addresses: string[] }> {
  const child = fork(path.join(here, 'server.js'), [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (msg: ServerReady) => resolve({ child, addresses: msg.addresses }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

function runClient(task: ClientTask, log: (line: string) => void): Promise<Row[]> {
  const child = fork(path.join(here, 'client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (msg: { kind: string; rows?: Row[]; row?: Row; message?: string }) => {
      if (msg.kind === 'progress' && msg.row) log(describe(msg.row));
      else if (msg.kind === 'done') resolve(msg.rows!);
      else if (msg.kind === 'error') reject(new Error(msg.message));
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`bench client exited with ${code}`));
    });
    child.send(task);
  });
}

export function describe(row: Row): string {
  const what = `${row.impl.padEnd(9)} ${row.case.padEnd(10)} conn=${row.connections} win=${String(row.window).padEnd(3)} ${String(row.payload).padStart(5)} B`;
  const io =
    (row.ioThreads ? ` io=${row.ioThreads}` : '') +
    (row.writeBatch ? ` batch=${row.writeBatch}` : '') +
    (row.group === 'auth' ? ` authThreads=${row.authThreads} busy=${row.busyPercent}%` : '') +
    (row.group === 'tracing' ? ` tracing=${row.tracing ? 'on' : 'off'}` : '') +
    (row.group === 'transport' ? ` ${row.transport} round=${row.round}` : '') +
    (row.group === 'streams' ? ` round=${row.round}` : '');
  if (row.group === 'balance') {
    const ms = (us: number | undefined): string => `${((us ?? 0) / 1000).toFixed(2)} ms`;
    return `${row.impl.padEnd(9)} balance ${String(row.balance).padEnd(13)} win=${row.window} units=${row.units}  p50 ${ms(row.p50)}  p99 ${ms(row.p99)}  ${row.opsPerSec?.toLocaleString('en-US')} req/s  slow unit ${((row.slowShare ?? 0) * 100).toFixed(1)} %`;
  }
  if (row.p50 !== undefined) return `${what}${io}  p50 ${row.p50} µs  p99 ${row.p99} µs  p99.9 ${row.p999} µs`;
  if (row.mbPerSec !== undefined) return `${what}${io}  ${row.mbPerSec} MB/s`;
  if (row.heldBytes !== undefined) return `${what}${io}  ${(row.heldBytes / 1024).toFixed(0)} KiB held when paused`;
  return `${what}${io}  ${row.opsPerSec?.toLocaleString('en-US')} ops/s${row.units && row.units > 1 ? ` (${row.units} units)` : ''}`;
}

/** The request-path cases for one implementation. */
function requestCases(options: E2eOptions, impl: Row['impl']): CaseSpec[] {
  const seconds = options.quick ? 0.4 : 1.5;
  const cases: CaseSpec[] = [];
  const connections = impl === 'moleculer' ? [1] : options.connections;
  for (const c of connections) {
    cases.push({ name: 'rtt', connections: c, window: 1, payload: 64, count: options.quick ? 400 : 3000 });
    for (const w of options.windows) cases.push({ name: 'throughput', connections: c, window: w, payload: 64, seconds });
  }
  if (impl !== 'moleculer') {
    for (const p of options.payloads.filter((p) => p !== 64)) {
      cases.push({ name: 'throughput', connections: 1, window: 64, payload: p, seconds });
    }
    for (const c of options.connections) {
      cases.push({ name: 'messages', connections: c, window: 1, payload: 64, count: options.quick ? 20000 : 200000 });
    }
  }
  cases.push(...streamCases(options.quick, impl));
  return cases;
}

/** The cases that show what I/O threads do: latency, throughput, and handlers that burn CPU. */
function threadCases(options: E2eOptions): CaseSpec[] {
  const seconds = options.quick ? 0.4 : 1.5;
  const cases: CaseSpec[] = [
    { name: 'rtt', connections: 1, window: 1, payload: 64, count: options.quick ? 400 : 3000 },
    { name: 'throughput', connections: 1, window: 64, payload: 64, seconds },
  ];
  for (const c of options.connections) cases.push({ name: 'burn', connections: c, window: 64, payload: 64, seconds, burnMicros: 50 });
  return cases;
}

/** The cases measured with tracing subscribers off and on: RTT and pipelined 64 B, 1 connection. */
function tracingCases(options: E2eOptions): CaseSpec[] {
  return [
    { name: 'rtt', connections: 1, window: 1, payload: 64, count: options.quick ? 1000 : 5000, alternateTracing: true },
    { name: 'throughput', connections: 1, window: 64, payload: 64, seconds: options.quick ? 0.8 : 3, alternateTracing: true },
  ];
}

/** One case per balancing strategy: 32 `delayed` requests in flight over three units, one slow. */
function balanceCases(options: E2eOptions): CaseSpec[] {
  return BALANCE_CASES.map((balance) => ({
    name: 'balance' as const,
    connections: 1,
    window: 32,
    payload: 0,
    seconds: options.quick ? 1 : 3,
    balance,
    delayMs: BALANCE_DELAY_MS,
    slowUnit: `bench-${BALANCE_SLOW.index}`,
  }));
}

/** The transport comparison: latency and pipelined throughput, as the issue states them. */
function transportCases(options: E2eOptions): CaseSpec[] {
  return [
    { name: 'rtt', connections: 1, window: 1, payload: 64, count: options.quick ? 1000 : 3000 },
    { name: 'throughput', connections: 1, window: 64, payload: 64, seconds: options.quick ? 0.4 : 1.5 },
  ];
}

/**
 * roletalk over a Unix socket against TCP loopback, side by side: one server of each, then
 * rounds of the same cases that alternate which goes first, so that load from elsewhere on the
 * machine falls on both alike. The report takes medians over the rounds.
 */
async function runTransports(options: E2eOptions): Promise<Row[]> {
  const transports = options.transports.filter((t) => t === 'tcp' || process.platform !== 'win32');
  if (transports.length < options.transports.length) options.log('Unix socket transport skipped: not on Windows');
  if (transports.length === 0) return [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-bench-'));
  const servers = new Map<Transport, { child: ChildProcess; addresses: string[] }>();
  const rows: Row[] = [];
  try {
    for (const transport of transports) {
      const socketPath = transport === 'unix' ? path.join(dir, 'bench.sock') : undefined;
      servers.set(transport, await startServer({ impl: 'roletalk', peers: 1, ioThreads: 0, port: 0, ...(socketPath ? { socketPath } : {}) }));
    }
    for (let round = 1; round <= options.transportRounds; round++) {
      const order = round % 2 === 1 ? transports : [...transports].reverse();
      for (const transport of order) {
        const task: ClientTask = { kind: 'run', impl: 'roletalk', addresses: servers.get(transport)!.addresses, cases: transportCases(options), ioThreads: 0, transport, round };
        rows.push(...(await runClient(task, options.log)));
      }
    }
  } finally {
    for (const server of servers.values()) server.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/**
 * The stream cases for roletalk and raw ws, one server of each, in rounds that alternate which
 * goes first (so load from elsewhere on the machine falls on both alike); the report takes medians.
 */
async function runStreamRounds(options: E2eOptions): Promise<Row[]> {
  const impls = ['roletalk', 'ws'] as const;
  const servers = new Map<Row['impl'], { child: ChildProcess; addresses: string[] }>();
  const rows: Row[] = [];
  try {
    for (const impl of impls) servers.set(impl, await startServer({ impl, peers: 1, ioThreads: 0, port: 0 }));
    for (let round = 1; round <= options.streamRounds; round++) {
      for (const impl of round % 2 === 1 ? impls : [...impls].reverse()) {
        const task: ClientTask = { kind: 'run', impl, addresses: servers.get(impl)!.addresses, cases: streamCases(options.quick, impl), ioThreads: 0, group: 'streams', round };
        rows.push(...(await runClient(task, options.log)));
      }
    }
  } finally {
    for (const server of servers.values()) server.child.kill();
  }
  return rows;
}

function fanoutCases(options: E2eOptions): CaseSpec[] {
  return [
    { name: 'broadcast', connections: 1, window: 1, payload: 64, count: options.quick ? 10000 : 100000 },
    { name: 'survey', connections: 1, window: 16, payload: 64, seconds: options.quick ? 0.4 : 1.5 },
  ];
}

export async function runE2e(options: E2eOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const wanted = (group: E2eGroup): boolean => options.groups === undefined || options.groups.includes(group);
  if (options.mesh !== null) {
    // Against bench peers started elsewhere: roletalk only, one row set per run.
    rows.push(...(await runClient({ kind: 'run', impl: 'roletalk', addresses: options.mesh, cases: requestCases(options, 'roletalk'), ioThreads: 0 }, options.log)));
    return rows;
  }
  const impls: Row['impl'][] = options.baselines ? ['roletalk', 'ws', 'moleculer'] : ['roletalk'];
  if (impls.includes('moleculer') && !installed('moleculer')) {
    // Moleculer is a dev dependency: an installed roletalk-bench runs without that baseline.
    options.log('Moleculer baseline skipped: the moleculer package is not installed (npm install moleculer to include it)');
    impls.splice(impls.indexOf('moleculer'), 1);
  }
  for (const impl of wanted('requests') ? impls : []) {
    const server = await startServer({ impl, peers: 1, ioThreads: 0, port: 0 });
    try {
      const cases = requestCases(options, impl);
      rows.push(...(await runClient({ kind: 'run', impl, addresses: server.addresses, cases, ioThreads: 0 }, options.log)));
    } finally {
      server.child.kill();
    }
  }
  // I/O threads on the serving side, whose handlers may keep its main thread busy.
  for (const ioThreads of wanted('threads') ? options.ioThreads : []) {
    const server = await startServer({ impl: 'roletalk', peers: 1, ioThreads, port: 0 });
    try {
      const task = { kind: 'run', impl: 'roletalk', addresses: server.addresses, cases: threadCases(options), ioThreads: 0, serverIoThreads: ioThreads } as const;
      rows.push(...(await runClient(task, options.log)));
    } finally {
      server.child.kill();
    }
  }
  if (wanted('streams')) rows.push(...(await runStreamRounds(options)));
  // The same-host fast path: a Unix socket against TCP loopback, in interleaved rounds.
  if (wanted('transport')) rows.push(...(await runTransports(options)));
  // The effect of write batching: the same cases with other batch sizes (1: no batching).
  for (const writeBatch of wanted('batch') ? options.writeBatches : []) {
    const server = await startServer({ impl: 'roletalk', peers: 1, ioThreads: 0, port: 0, writeBatch });
    try {
      const cases = requestCases(options, 'roletalk').filter((c) => c.name === 'throughput' && c.payload === 64 && c.connections === 1);
      rows.push(...(await runClient({ kind: 'run', impl: 'roletalk', addresses: server.addresses, cases, ioThreads: 0, writeBatch }, options.log)));
    } finally {
      server.child.kill();
    }
  }
  // A storm of keyed handshakes, with the HMACs inline or in a pool, on an idle or busy server.
  for (const authThreads of wanted('auth') ? options.authThreads : []) {
    for (const busyPercent of [0, 80]) {
      const key = 'bench-secret';
      const server = await startServer({ impl: 'roletalk', peers: 1, ioThreads: 0, port: 0, key, authThreads, busyPercent });
      try {
        const cases: CaseSpec[] = [{ name: 'handshakes', connections: 1, window: 1, payload: 0, count: options.quick ? 200 : 2000 }];
        const task = { kind: 'run', impl: 'roletalk', addresses: server.addresses, cases, ioThreads: 0, key, serverAuthThreads: authThreads, serverBusyPercent: busyPercent } as const;
        rows.push(...(await runClient(task, options.log)));
      } finally {
        server.child.kill();
      }
    }
  }
  for (const impl of !wanted('fanout') ? [] : options.baselines ? (['roletalk', 'ws'] as const) : (['roletalk'] as const)) {
    const server = await startServer({ impl, peers: options.units, ioThreads: 0, port: 0 });
    try {
      rows.push(...(await runClient({ kind: 'run', impl, addresses: server.addresses, cases: fanoutCases(options), ioThreads: 0 }, options.log)));
    } finally {
      server.child.kill();
    }
  }
  if (wanted('tracing')) {
    // Both settings in one pair of processes: the client turns subscribers on and off in itself
    // and in the server (the `tracing` request) between slices of each case.
    const server = await startServer({ impl: 'roletalk', peers: 1, ioThreads: 0, port: 0 });
    try {
      rows.push(...(await runClient({ kind: 'run', impl: 'roletalk', addresses: server.addresses, cases: tracingCases(options), ioThreads: 0 }, options.log)));
    } finally {
      server.child.kill();
    }
  }
  if (wanted('balance')) {
    const server = await startServer({ impl: 'roletalk', peers: 3, ioThreads: 0, port: 0, slowPeer: BALANCE_SLOW });
    try {
      rows.push(...(await runClient({ kind: 'run', impl: 'roletalk', addresses: server.addresses, cases: balanceCases(options), ioThreads: 0 }, options.log)));
    } finally {
      server.child.kill();
    }
  }
  return rows;
}
