import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaseSpec, ClientTask, Impl, Row, ServerOptions, Transport } from './messages';
import { CLIENT_CPU, runClient, SERVER_CPU, startServer } from './processes';
import * as nats from './baselines/nats';
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
 * The request cases every implementation runs in interleaved rounds (one connection), the rows of
 * the baselines table: RTT, and pipelined throughput with small, mid-size and large payloads.
 */
export const ROUND_CASES: ReadonlyArray<Pick<CaseSpec, 'name' | 'window' | 'payload'>> = [
  { name: 'rtt', window: 1, payload: 64 },
  { name: 'throughput', window: 64, payload: 64 },
  { name: 'throughput', window: 16, payload: 4096 },
  { name: 'throughput', window: 8, payload: 65536 },
];

/** The implementations as the report names them, in the order of its columns. */
export const IMPL_NAMES: Record<Impl, string> = {
  roletalk: 'roletalk',
  net: 'raw net',
  ws: 'raw ws',
  grpc: 'gRPC-js',
  nats: 'NATS',
  moleculer: 'Moleculer',
};

/** The baselines, and what each needs beyond this package (a dev dependency, a program). */
const BASELINES: ReadonlyArray<{ impl: Exclude<Impl, 'roletalk'>; pkg?: string; missing?: () => string | undefined }> = [
  { impl: 'net' },
  { impl: 'ws' },
  { impl: 'grpc', pkg: '@grpc/grpc-js' },
  { impl: 'nats', pkg: 'nats', missing: nats.missing },
  { impl: 'moleculer', pkg: 'moleculer' },
];

export const BASELINE_IMPLS = BASELINES.map((b) => b.impl);

/**
 * The end-to-end suite: bench servers in their own processes, the client in another, so the
 * two cores of the machine are used as in production. Every case runs for roletalk and for
 * the raw `ws` baseline in the same run; request cases also for the other baselines, in
 * interleaved rounds.
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
  /** Interleaved rounds of the request cases against the baselines (ROUND_CASES). */
  rounds: number;
  /** Interleaved rounds of the streams group. */
  streamRounds: number;
  /** Servers on CPU SERVER_CPU, the client on CLIENT_CPU (taskset must exist). */
  pin: boolean;
  /** The baselines to measure where they can run (`--baselines`); empty: none. */
  baselines: readonly Impl[];
  /** The groups to run (all when undefined); a mesh run is the requests group only. */
  groups?: readonly E2eGroup[];
  log: (line: string) => void;
}

/** Whether a package resolves from the bench (baselines that are dev dependencies may not). */
function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The baselines that can run here; each that cannot is skipped with a one-line note. */
function availableBaselines(options: E2eOptions): Impl[] {
  return BASELINES.filter(({ impl, pkg, missing }) => {
    if (!options.baselines.includes(impl)) return false;
    // Dev dependencies of the bench: an installed roletalk-bench runs without these baselines.
    const why = pkg !== undefined && !installed(pkg) ? `the ${pkg} package is not installed (npm install ${pkg} to include it)` : missing?.();
    if (why !== undefined) options.log(`${IMPL_NAMES[impl]} baseline skipped: ${why}`);
    return why === undefined;
  }).map((b) => b.impl);
}

/** What a bench client process runs against one server: all of a ClientTask but where. */
type Job = Omit<ClientTask, 'kind' | 'addresses'>;

/** Starts the servers, gives `use` their addresses, and stops them however it ends. */
async function withServers<T>(options: E2eOptions, servers: ServerOptions[], use: (addresses: string[][]) => Promise<T>): Promise<T> {
  const started: Array<Awaited<ReturnType<typeof startServer>>> = [];
  try {
    for (const server of servers) started.push(await startServer(server, options.pin ? SERVER_CPU : null));
    return await use(started.map((s) => s.addresses));
  } finally {
    for (const server of started) server.child.kill();
  }
}

function client(options: E2eOptions, addresses: string[], job: Job): Promise<Row[]> {
  return runClient({ kind: 'run', addresses, ...job }, options.pin ? CLIENT_CPU : null, (row) => options.log(describe(row)));
}

/** One server, one client run against it. */
function measure(options: E2eOptions, server: ServerOptions, job: Job): Promise<Row[]> {
  return withServers(options, [server], ([addresses]) => client(options, addresses!, job));
}

/**
 * Contenders side by side: one server each, then `rounds` rounds of their jobs that alternate
 * which goes first, so that load from elsewhere on the machine falls on all alike. The rows
 * carry their round; the report takes medians over the rounds.
 */
async function interleave(options: E2eOptions, contenders: Array<{ server: ServerOptions; job: Job }>, rounds: number): Promise<Row[]> {
  return withServers(options, contenders.map((c) => c.server), async (addresses) => {
    const rows: Row[] = [];
    const indices = contenders.map((_, i) => i);
    for (let round = 1; round <= rounds; round++) {
      for (const i of round % 2 === 1 ? indices : [...indices].reverse()) {
        rows.push(...(await client(options, addresses[i]!, { ...contenders[i]!.job, round })));
      }
    }
    return rows;
  });
}

export function describe(row: Row): string {
  const what = `${row.impl.padEnd(9)} ${row.case.padEnd(10)} conn=${row.connections} win=${String(row.window).padEnd(3)} ${String(row.payload).padStart(5)} B`;
  const io =
    (row.ioThreads ? ` io=${row.ioThreads}` : '') +
    (row.writeBatch ? ` batch=${row.writeBatch}` : '') +
    (row.group === 'auth' ? ` authThreads=${row.authThreads} busy=${row.busyPercent}%` : '') +
    (row.group === 'tracing' ? ` tracing=${row.tracing ? 'on' : 'off'}` : '') +
    (row.transport !== undefined ? ` ${row.transport}` : '') +
    (row.round !== undefined ? ` round=${row.round}` : '');
  if (row.group === 'balance') {
    const ms = (us: number | undefined): string => `${((us ?? 0) / 1000).toFixed(2)} ms`;
    return `${row.impl.padEnd(9)} balance ${String(row.balance).padEnd(13)} win=${row.window} units=${row.units}  p50 ${ms(row.p50)}  p99 ${ms(row.p99)}  ${row.opsPerSec?.toLocaleString('en-US')} req/s  slow unit ${((row.slowShare ?? 0) * 100).toFixed(1)} %`;
  }
  if (row.p50 !== undefined) return `${what}${io}  p50 ${row.p50} µs  p99 ${row.p99} µs  p99.9 ${row.p999} µs`;
  if (row.mbPerSec !== undefined) return `${what}${io}  ${row.mbPerSec} MB/s`;
  if (row.heldBytes !== undefined) return `${what}${io}  ${(row.heldBytes / 1024).toFixed(0)} KiB held when paused`;
  return `${what}${io}  ${row.opsPerSec?.toLocaleString('en-US')} ops/s${row.units && row.units > 1 ? ` (${row.units} units)` : ''}`;
}

/** Whether a case is one of ROUND_CASES. */
function inRounds(spec: CaseSpec): boolean {
  return spec.connections === 1 && ROUND_CASES.some((r) => r.name === spec.name && r.window === spec.window && r.payload === spec.payload);
}

/** The request-path cases for one implementation: ROUND_CASES first, then the flags' others. */
function requestCases(options: E2eOptions, impl: Impl): CaseSpec[] {
  const seconds = options.quick ? 0.4 : 1.5;
  const rttCount = options.quick ? 400 : 3000;
  // Moleculer's requests carry strings: it is measured with 64 B payloads only.
  const cases: CaseSpec[] = ROUND_CASES.filter((r) => impl !== 'moleculer' || r.payload === 64).map((r) =>
    r.name === 'rtt' ? { ...r, connections: 1, count: rttCount } : { ...r, connections: 1, seconds },
  );
  // The request-only baselines (raw net, gRPC-js, NATS) are measured on ROUND_CASES alone.
  if (impl !== 'roletalk' && impl !== 'ws' && impl !== 'moleculer') return cases;
  const add = (spec: CaseSpec): void => {
    if (!inRounds(spec)) cases.push(spec);
  };
  const connections = impl === 'moleculer' ? [1] : options.connections;
  for (const c of connections) {
    add({ name: 'rtt', connections: c, window: 1, payload: 64, count: rttCount });
    for (const w of options.windows) add({ name: 'throughput', connections: c, window: w, payload: 64, seconds });
  }
  if (impl !== 'moleculer') {
    for (const p of options.payloads.filter((p) => p !== 64)) add({ name: 'throughput', connections: 1, window: 64, payload: p, seconds });
    for (const c of options.connections) {
      cases.push({ name: 'messages', connections: c, window: 1, payload: 64, count: options.quick ? 20000 : 200000 });
    }
  }
  cases.push(...streamCases(options.quick, impl));
  return cases;
}

/**
 * The requests group: ROUND_CASES for roletalk and every baseline in interleaved rounds, then
 * each implementation's other cases once. NATS answers through a nats-server started here.
 */
async function runRequests(options: E2eOptions): Promise<Row[]> {
  const impls: Impl[] = ['roletalk', ...availableBaselines(options)];
  const broker = impls.includes('nats') ? await nats.startBroker(options.pin ? SERVER_CPU : null) : undefined;
  try {
    const server = (impl: Impl): ServerOptions => ({ impl, peers: 1, ioThreads: 0, port: 0, ...(broker ? { broker: broker.url } : {}) });
    const job = (impl: Impl, cases: CaseSpec[]): Job => ({ impl, cases, ioThreads: 0 });
    const contenders = impls.map((impl) => ({ server: server(impl), job: job(impl, requestCases(options, impl).filter(inRounds)) }));
    const rows = await interleave(options, contenders, options.rounds);
    for (const impl of impls) {
      const once = requestCases(options, impl).filter((c) => !inRounds(c));
      if (once.length > 0) rows.push(...(await measure(options, server(impl), job(impl, once))));
    }
    return rows;
  } finally {
    broker?.stop();
  }
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
 * roletalk over a Unix socket against TCP loopback, side by side in interleaved rounds, so that
 * load from elsewhere on the machine falls on both alike. The report takes medians over the rounds.
 */
async function runTransports(options: E2eOptions): Promise<Row[]> {
  const transports = options.transports.filter((t) => t === 'tcp' || process.platform !== 'win32');
  if (transports.length < options.transports.length) options.log('Unix socket transport skipped: not on Windows');
  if (transports.length === 0) return [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-bench-'));
  try {
    const contenders = transports.map((transport) => ({
      server: { impl: 'roletalk' as const, peers: 1, ioThreads: 0, port: 0, ...(transport === 'unix' ? { socketPath: path.join(dir, 'bench.sock') } : {}) },
      job: { impl: 'roletalk' as const, cases: transportCases(options), ioThreads: 0, transport },
    }));
    return await interleave(options, contenders, options.transportRounds);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The stream cases for roletalk and raw ws, one server of each, in rounds that alternate which
 * goes first (so load from elsewhere on the machine falls on both alike); the report takes medians.
 */
async function runStreamRounds(options: E2eOptions): Promise<Row[]> {
  const impls = (['roletalk', 'ws'] as const).filter((i) => i === 'roletalk' || options.baselines.includes(i));
  const contenders = impls.map((impl) => ({
    server: { impl, peers: 1, ioThreads: 0, port: 0 },
    job: { impl, cases: streamCases(options.quick, impl), ioThreads: 0, group: 'streams' as const },
  }));
  return interleave(options, contenders, options.streamRounds);
}

function fanoutCases(options: E2eOptions): CaseSpec[] {
  return [
    { name: 'broadcast', connections: 1, window: 1, payload: 64, count: options.quick ? 10000 : 100000 },
    { name: 'survey', connections: 1, window: 16, payload: 64, seconds: options.quick ? 0.4 : 1.5 },
  ];
}

export async function runE2e(options: E2eOptions): Promise<Row[]> {
  const wanted = (group: E2eGroup): boolean => options.groups === undefined || options.groups.includes(group);
  if (options.mesh !== null) {
    // Against bench peers started elsewhere: roletalk only, one row set per run.
    return client(options, options.mesh, { impl: 'roletalk', cases: requestCases(options, 'roletalk'), ioThreads: 0 });
  }
  const rows: Row[] = [];
  const roletalk = (more: Partial<ServerOptions> = {}): ServerOptions => ({ impl: 'roletalk', peers: 1, ioThreads: 0, port: 0, ...more });
  if (wanted('requests')) rows.push(...(await runRequests(options)));
  // I/O threads on the serving side, whose handlers may keep its main thread busy.
  for (const ioThreads of wanted('threads') ? options.ioThreads : []) {
    rows.push(...(await measure(options, roletalk({ ioThreads }), { impl: 'roletalk', cases: threadCases(options), ioThreads: 0, serverIoThreads: ioThreads })));
  }
  if (wanted('streams')) rows.push(...(await runStreamRounds(options)));
  // The same-host fast path: a Unix socket against TCP loopback, in interleaved rounds.
  if (wanted('transport')) rows.push(...(await runTransports(options)));
  // The effect of write batching: the same cases with other batch sizes (1: no batching).
  for (const writeBatch of wanted('batch') ? options.writeBatches : []) {
    const cases = requestCases(options, 'roletalk').filter((c) => c.name === 'throughput' && c.payload === 64 && c.connections === 1);
    rows.push(...(await measure(options, roletalk({ writeBatch }), { impl: 'roletalk', cases, ioThreads: 0, writeBatch })));
  }
  // A storm of keyed handshakes, with the HMACs inline or in a pool, on an idle or busy server.
  for (const authThreads of wanted('auth') ? options.authThreads : []) {
    for (const busyPercent of [0, 80]) {
      const key = 'bench-secret';
      const cases: CaseSpec[] = [{ name: 'handshakes', connections: 1, window: 1, payload: 0, count: options.quick ? 200 : 2000 }];
      const job: Job = { impl: 'roletalk', cases, ioThreads: 0, key, serverAuthThreads: authThreads, serverBusyPercent: busyPercent };
      rows.push(...(await measure(options, roletalk({ key, authThreads, busyPercent }), job)));
    }
  }
  for (const impl of !wanted('fanout') ? [] : (['roletalk', 'ws'] as const).filter((i) => i === 'roletalk' || options.baselines.includes(i))) {
    rows.push(...(await measure(options, { impl, peers: options.units, ioThreads: 0, port: 0 }, { impl, cases: fanoutCases(options), ioThreads: 0 })));
  }
  if (wanted('tracing')) {
    // Both settings in one pair of processes: the client turns subscribers on and off in itself
    // and in the server (the `tracing` request) between slices of each case.
    rows.push(...(await measure(options, roletalk(), { impl: 'roletalk', cases: tracingCases(options), ioThreads: 0 })));
  }
  if (wanted('balance')) {
    rows.push(...(await measure(options, roletalk({ peers: 3, slowPeer: BALANCE_SLOW }), { impl: 'roletalk', cases: balanceCases(options), ioThreads: 0 })));
  }
  return rows;
}
