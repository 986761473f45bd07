import fs from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import { Peer } from '../../src';
import { selfSignedCertificate } from '../../test/helpers/certificate';
import { parseFlags } from '../args';
import { environment } from '../env';
import { exitWithParent, forkChild, nextMessage } from '../harness/children';
import { Histogram } from '../harness/stats';
import { saveResult, writeReport } from '../report';
import { writeNotes } from './cpu-report';

/**
 * What I/O threads cost in CPU, and where: a serving peer in its own process with ioThreads 0,
 * 1 and 2, over ws:// and wss://, a client peer in this process. For each case:
 *  - main-thread µs/request: the serving main thread's event-loop active time
 *    (performance.eventLoopUtilization) over requests answered, 64 requests in flight;
 *  - main-thread CPU µs/request: the same thread's CPU time (Linux schedstat), which unlike ELU
 *    does not count time preempted;
 *  - process CPU µs/request: process.cpuUsage() of the serving process (all its threads) over
 *    the same requests;
 *  - RTT p50, one request in flight.
 * Rounds interleave the settings (the order alternates), and the figures are medians over the
 * rounds, so that load from elsewhere on the machine falls on every setting alike.
 *
 *   node build/bench/threads/cpu.js [--rounds 5] [--seconds 1] [--rtt-count 2000] [--io-threads 0,1,2]
 */

export type Scheme = 'ws' | 'wss';

export interface CpuRow {
  scheme: Scheme;
  ioThreads: number;
  /** Payload bytes of the pipelined case; RTT rows use 64 B. */
  payload: number;
  kind: 'cpu' | 'rtt';
  /** One value per round. */
  mainUs?: number[];
  /** The main thread's CPU time per request (schedstat; not inflated by preemption). */
  mainCpuUs?: number[];
  processUs?: number[];
  requestsPerSec?: number[];
  p50Us?: number[];
}

export interface CpuResult {
  environment: ReturnType<typeof environment>;
  rounds: number;
  rows: CpuRow[];
}

interface Mark {
  kind: 'mark';
  elu: EventLoopUtilization;
  cpu: NodeJS.CpuUsage;
  /** The main thread's own CPU time in ns (Linux schedstat), -1 elsewhere. */
  mainCpuNs: number;
}

/**
 * The main thread's CPU time: ELU active time is wall time, and counts the time the thread is
 * runnable but preempted, which on a 2-core machine shared with the client is not small.
 */
function mainThreadCpuNs(): number {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return -1;
  }
}

const WINDOW = 64;

/** The serving process: echoes, and answers `mark` with its ELU and CPU usage so far. */
async function serve(options: { ioThreads: number; key?: string; cert?: string }): Promise<void> {
  exitWithParent();
  const peer = new Peer({ name: 'cpu-server', ioThreads: options.ioThreads });
  peer.role('bench').onRequest('echo', (ctx) => ctx.data);
  const ssl = options.key !== undefined ? { ssl: { key: options.key, cert: options.cert! } } : {};
  await peer.listen({ port: 0, host: '127.0.0.1', ...ssl });
  process.on('message', () => {
    const mark: Mark = { kind: 'mark', elu: performance.eventLoopUtilization(), cpu: process.cpuUsage(), mainCpuNs: mainThreadCpuNs() };
    process.send!(mark);
  });
  process.send!({ kind: 'ready', address: `${options.key ? 'wss' : 'ws'}://127.0.0.1:${peer.port}` });
}

interface Server {
  scheme: Scheme;
  ioThreads: number;
  child: ChildProcess;
  client: Peer;
}

async function mark(server: Server): Promise<Mark> {
  const reply = nextMessage<Mark>(server.child, (m) => m?.kind === 'mark', 10_000, 'mark');
  server.child.send('mark');
  return reply;
}

async function startServer(scheme: Scheme, ioThreads: number, tls: { key: string; cert: string }): Promise<Server> {
  const options = { ioThreads, ...(scheme === 'wss' ? tls : {}) };
  const child = forkChild(__filename, ['serve', JSON.stringify(options)]);
  const { address } = await nextMessage<{ address: string }>(child, (m) => m?.kind === 'ready', 20_000, 'cpu server');
  const client = new Peer({ name: 'cpu-client', ioThreads: 0 });
  await client.connect(address, scheme === 'wss' ? { ca: tls.cert } : {});
  while (client.destination('bench').units.length === 0) await new Promise((r) => setTimeout(r, 10));
  return { scheme, ioThreads, child, client };
}

/** `WINDOW` requests in flight for `seconds`; returns requests answered and the server's deltas. */
async function pipelined(server: Server, payload: Buffer, seconds: number): Promise<{ requests: number; mainMs: number; mainCpuUs: number; cpuUs: number; wallMs: number }> {
  const dest = server.client.destination('bench');
  // Warm up: JIT and buffers, outside the measured window.
  await Promise.all(Array.from({ length: WINDOW }, () => dest.request('echo', payload)));
  const before = await mark(server);
  const start = performance.now();
  const end = start + seconds * 1000;
  let requests = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      await dest.request('echo', payload);
      requests++;
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  const wallMs = performance.now() - start;
  const after = await mark(server);
  const elu = performance.eventLoopUtilization(after.elu, before.elu);
  const cpuUs = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
  const mainCpuUs = before.mainCpuNs < 0 ? NaN : (after.mainCpuNs - before.mainCpuNs) / 1000;
  return { requests, mainMs: elu.active, mainCpuUs, cpuUs, wallMs };
}

async function rtt(server: Server, count: number): Promise<number> {
  const dest = server.client.destination('bench');
  const payload = Buffer.alloc(64, 1);
  const histogram = new Histogram();
  for (let i = 0; i < 50; i++) await dest.request('echo', payload);
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await dest.request('echo', payload);
    histogram.add(performance.now() - t);
  }
  return histogram.quantile(0.5) * 1000;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

async function main(argv: string[]): Promise<void> {
  const args = parseFlags(argv);
  const rounds = Number(args.rounds ?? 5);
  const seconds = Number(args.seconds ?? 1);
  const rttCount = Number(args['rtt-count'] ?? 2000);
  const settings = String(args['io-threads'] ?? '0,1,2').split(',').map(Number);
  const schemes = String(args.schemes ?? 'ws,wss').split(',') as Scheme[];
  const payloads = [64, 4096];
  const { key, cert } = selfSignedCertificate('localhost', 'IP:127.0.0.1,DNS:localhost');
  const tls = { key: key.toString(), cert: cert.toString() };
  const rows: CpuRow[] = [];
  const row = (scheme: Scheme, ioThreads: number, kind: CpuRow['kind'], payload: number): CpuRow => {
    let r = rows.find((x) => x.scheme === scheme && x.ioThreads === ioThreads && x.kind === kind && x.payload === payload);
    if (r === undefined) rows.push((r = { scheme, ioThreads, kind, payload }));
    return r;
  };
  const push = (list: number[] | undefined, value: number): number[] => [...(list ?? []), round2(value)];
  for (const scheme of schemes) {
    const servers: Server[] = [];
    for (const ioThreads of settings) servers.push(await startServer(scheme, ioThreads, tls));
    try {
      for (let round = 1; round <= rounds; round++) {
        const order = round % 2 === 1 ? servers : [...servers].reverse();
        for (const server of order) {
          for (const payload of payloads) {
            if (scheme === 'wss' && payload === 64) continue;
            const m = await pipelined(server, Buffer.alloc(payload, 7), seconds);
            const r = row(scheme, server.ioThreads, 'cpu', payload);
            r.mainUs = push(r.mainUs, (m.mainMs * 1000) / m.requests);
            r.mainCpuUs = push(r.mainCpuUs, m.mainCpuUs / m.requests);
            r.processUs = push(r.processUs, m.cpuUs / m.requests);
            r.requestsPerSec = push(r.requestsPerSec, (m.requests * 1000) / m.wallMs);
            console.log(`round ${round} ${scheme} io=${server.ioThreads} ${payload} B: main ${r.mainUs.at(-1)} µs/req (CPU ${r.mainCpuUs.at(-1)}), process ${r.processUs.at(-1)} µs/req, ${Math.round(r.requestsPerSec.at(-1)!)} req/s`);
          }
          if (scheme === 'ws') {
            const r = row(scheme, server.ioThreads, 'rtt', 64);
            r.p50Us = push(r.p50Us, await rtt(server, rttCount));
            console.log(`round ${round} ${scheme} io=${server.ioThreads} rtt p50 ${r.p50Us.at(-1)} µs`);
          }
        }
      }
    } finally {
      for (const server of servers) {
        await server.client.close();
        server.child.kill();
      }
    }
  }
  const result: CpuResult = { environment: environment(`node build/bench/threads/cpu.js ${argv.join(' ')}`.trim()), rounds, rows };
  saveResult('threads-cpu', result);
  console.log(`wrote ${writeReport()} and ${writeNotes(result)}`);
}

if (require.main === module) {
  const [mode, options] = process.argv.slice(2);
  const run = mode === 'serve' ? serve(JSON.parse(options!)) : main(process.argv.slice(2));
  run.catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
