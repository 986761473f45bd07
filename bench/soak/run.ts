import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { num, parseFlags, runCommand } from '../args';
import { forkChild, nextMessage } from '../harness/children';
import { mb } from '../harness/stats';
import { State, type CallerReport, type DropMode, type FromCaller, type FromServer, type ToCaller, type ToServer } from './messages';

/**
 * `npm run soak -- [flags]`: the request lifecycle over redundant connections, for minutes.
 *
 * A serving process and a calling process; the caller dials the server twice (one unit, two
 * connections) and keeps `--in-flight` requests in flight. Every `--drop-every` seconds one of
 * the two connections is dropped without a close handshake (`terminate()`), from the caller and
 * the server in turn; every `--close-every` seconds one is closed with 1000, also in turn; the
 * caller redials both. Once, at `--restart-at` seconds, the serving process is killed (SIGKILL)
 * and started again on the same port. The server counts how many times it executed each request
 * id; the caller records how each id settled. At the end:
 *
 *   sent, answered, lost (settled with an error: by code, by timeout or at once, and how many
 *   overlapped the restart), executed twice, unsettled (neither resolved nor rejected after a
 *   grace period), p50/p99 latency, heap after GC at start and end of both processes.
 *
 * Exits 1 when a request is unsettled, executed twice, answered with another request's data or
 * answered without being executed, or when a process died unexpectedly.
 *
 *   --minutes N, --seconds N   duration (added; default 3 minutes)
 *   --in-flight N              requests in flight (64)
 *   --drop-every S             abrupt drop of one connection every S seconds (2; 0: none)
 *   --close-every S            graceful close (1000) of one connection every S seconds (30; 0: none)
 *   --restart-at S             kill and restart the serving process at S seconds (half the run; 0: never)
 *   --timeout S                request timeout (10)
 *   --grace S                  how long in-flight requests may take to settle at the end (timeout + 2)
 *   --json                     a machine-readable summary on the last line
 */

const FLAGS = ['minutes', 'seconds', 'in-flight', 'drop-every', 'close-every', 'restart-at', 'timeout', 'grace', 'json'] as const;

export interface SoakSummary {
  kind: 'soak';
  ok: boolean;
  problems: string[];
  seconds: number;
  inFlight: number;
  dropEvery: number;
  closeEvery: number;
  restartAt: number;
  timeoutMs: number;
  sent: number;
  answered: number;
  lost: number;
  lostByCode: Record<string, number>;
  lostByTimeout: number;
  lostAtOnce: number;
  /** Lost requests whose life overlapped the kill of the serving process. */
  lostAtRestart: number;
  /** Lost requests that did not overlap it: those the connection drops cost. */
  lostOutsideRestart: number;
  /** Lost requests that the server did execute (the work was done, the answer did not arrive). */
  lostButExecuted: number;
  executedTwice: number;
  executedTwiceSample: number[];
  unsettled: number;
  unsettledSample: number[];
  mismatched: number;
  answeredNotExecuted: number;
  executions: number;
  latencyMs: { p50: number; p99: number; max: number };
  heapMB: { caller: { start: number; end: number }; server: { start: number; restartedStart: number | null; end: number } };
  drops: Record<'caller' | 'server', { done: number; skipped: number }>;
  closes: Record<'caller' | 'server', { done: number; skipped: number }>;
  restarts: number;
  restartGapMs: number | null;
  unitCloses: number;
}

interface ServerProcess {
  child: ChildProcess;
  countsFile: string;
  heapStart: number;
  port: number;
  /** Marks the coming exit as ordered by the harness. */
  expectExit: () => void;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseFlags(argv, FLAGS);
  const seconds = args.minutes === undefined && args.seconds === undefined ? 180 : num(args, 'minutes', 0) * 60 + num(args, 'seconds', 0);
  if (!(seconds > 0)) throw new TypeError('The run needs a duration: --minutes or --seconds');
  const inFlight = Math.max(1, Math.floor(num(args, 'in-flight', 64)));
  const dropEvery = num(args, 'drop-every', 2);
  const closeEvery = num(args, 'close-every', 30);
  const restartAt = num(args, 'restart-at', seconds / 2);
  const timeoutMs = num(args, 'timeout', 10) * 1000;
  const graceMs = num(args, 'grace', timeoutMs / 1000 + 2) * 1000;
  const json = args.json === true;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-soak-'));
  const problems: string[] = [];
  let finished = false;
  const log = (line: string): void => console.log(`[${elapsed().toFixed(0).padStart(4)} s] ${line}`);
  let t0 = Date.now();
  const elapsed = (): number => (Date.now() - t0) / 1000;

  const here = __dirname;
  const servers: ServerProcess[] = [];
  /** A process that dies when it was not told to is a failure of the run. */
  const watch = (child: ChildProcess, name: string, expected: () => boolean): void => {
    child.once('exit', (code, signal) => {
      if (!expected() && !finished) problems.push(`the ${name} process exited unexpectedly (${signal ?? code})`);
    });
  };

  async function startServer(port: number): Promise<ServerProcess> {
    const countsFile = path.join(dir, `counts-${servers.length + 1}.bin`);
    const child = forkChild(path.join(here, 'server.js'));
    let dying = false;
    watch(child, `serving (#${servers.length + 1})`, () => dying);
    const listening = nextMessage<Extract<FromServer, { type: 'listening' }>>(child, (m) => m.type === 'listening', 10_000, 'server start');
    child.send({ type: 'start', port, countsFile } satisfies ToServer);
    const msg = await listening;
    const server: ServerProcess = { child, countsFile, heapStart: msg.heap, port: msg.port, expectExit: () => (dying = true) };
    servers.push(server);
    return server;
  }

  const caller = forkChild(path.join(here, 'caller.js'));
  watch(caller, 'calling', () => false);
  const ask = <T extends FromCaller['type']>(msg: ToCaller, type: T, ms = 10_000): Promise<Extract<FromCaller, { type: T }>> => {
    const answer = nextMessage<Extract<FromCaller, { type: T }>>(caller, (m) => m.type === type, ms, `caller ${msg.type}`);
    caller.send(msg);
    return answer;
  };

  try {
    let server = await startServer(0);
    const url = `ws://127.0.0.1:${server.port}`;
    const ready = await ask({ type: 'start', url, inFlight, timeoutMs }, 'ready');
    const callerHeapStart = ready.heap;
    t0 = Date.now();
    log(
      `soak: ${seconds} s, ${inFlight} in flight over 2 connections to ${url}; abrupt drop every ${dropEvery || '-'} s, ` +
        `close(1000) every ${closeEvery || '-'} s, serving process restarted at ${restartAt || '-'} s`,
    );

    // The schedule: [time in s, what]. A close sits halfway between two drops, when the
    // connection dropped before it has been redialed.
    const events: Array<[number, 'drop' | 'close' | 'restart']> = [];
    if (dropEvery > 0) for (let t = dropEvery; t < seconds; t += dropEvery) events.push([t, 'drop']);
    if (closeEvery > 0) {
      for (let t = closeEvery; t < seconds; t += closeEvery) {
        events.push([dropEvery > 0 ? Math.floor(t / dropEvery) * dropEvery + dropEvery / 2 : t, 'close']);
      }
    }
    if (restartAt > 0 && restartAt < seconds) events.push([restartAt, 'restart']);
    events.sort((a, b) => a[0] - b[0]);

    const drops = { caller: { done: 0, skipped: 0 }, server: { done: 0, skipped: 0 } };
    const closes = { caller: { done: 0, skipped: 0 }, server: { done: 0, skipped: 0 } };
    let dropCount = 0;
    let closeCount = 0;
    let restarts = 0;

    async function drop(mode: DropMode, nth: number): Promise<void> {
      const side = nth % 2 === 0 ? 'caller' : 'server';
      const tally = mode === 'terminate' ? drops : closes;
      const msg = { type: 'drop', mode } as const;
      const answer = side === 'caller' ? await ask(msg, 'dropped') : await askServer(msg, 'dropped');
      tally[side][answer.done ? 'done' : 'skipped']++;
    }

    function askServer<T extends FromServer['type']>(msg: ToServer, type: T, ms = 10_000): Promise<Extract<FromServer, { type: T }>> {
      const answer = nextMessage<Extract<FromServer, { type: T }>>(server.child, (m) => m.type === type, ms, `server ${msg.type}`);
      server.child.send(msg);
      return answer;
    }

    async function restart(): Promise<void> {
      log('killing the serving process (SIGKILL)');
      await ask({ type: 'restart' }, 'restarting');
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.expectExit();
      server.child.send({ type: 'die' } satisfies ToServer);
      await exited;
      server = await startServer(server.port);
      restarts++;
      log(`serving process started again on port ${server.port}`);
    }

    const progress = setInterval(() => {
      ask({ type: 'progress' }, 'progress').then(
        (p) => log(`sent ${p.sent}  answered ${p.answered}  lost ${p.lost}  in flight ${p.inFlight}  connections ${p.connections}`),
        () => {},
      );
    }, 10_000);

    for (const [at, what] of events) {
      const wait = at * 1000 - (Date.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (problems.length > 0) break;
      if (what === 'drop') await drop('terminate', dropCount++);
      else if (what === 'close') await drop('close', closeCount++);
      else await restart();
    }
    const rest = seconds * 1000 - (Date.now() - t0);
    if (rest > 0 && problems.length === 0) await new Promise((r) => setTimeout(r, rest));
    clearInterval(progress);

    log(`stopping; waiting up to ${graceMs / 1000} s for the requests in flight`);
    const statesFile = path.join(dir, 'states.bin');
    const { report } = await ask({ type: 'stop', graceMs, statesFile }, 'report', graceMs + 30_000);
    const serverReport = await askServer({ type: 'report' }, 'report', 30_000);
    finished = true;

    const summary = summarize({
      report,
      serverReport,
      statesFile,
      servers,
      callerHeapStart,
      problems,
      config: { seconds, inFlight, dropEvery, closeEvery, restartAt: restartAt < seconds ? restartAt : 0, timeoutMs },
      drops,
      closes,
      restarts,
    });
    print(summary, json);
    return summary.ok ? 0 : 1;
  } finally {
    finished = true;
    caller.kill('SIGKILL');
    for (const s of servers) s.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(input: {
  report: CallerReport;
  serverReport: { heap: number; executions: number };
  statesFile: string;
  servers: ServerProcess[];
  callerHeapStart: number;
  problems: string[];
  config: { seconds: number; inFlight: number; dropEvery: number; closeEvery: number; restartAt: number; timeoutMs: number };
  drops: SoakSummary['drops'];
  closes: SoakSummary['closes'];
  restarts: number;
}): SoakSummary {
  const { report } = input;
  const states = fs.readFileSync(input.statesFile);
  const counts = input.servers.map((s) => (fs.existsSync(s.countsFile) ? fs.readFileSync(s.countsFile) : Buffer.alloc(0)));
  const problems = [...input.problems];
  if (counts.length !== input.servers.length) problems.push('a serving process left no counts');
  let executedTwice = 0;
  const executedTwiceSample: number[] = [];
  let answeredNotExecuted = 0;
  let lostButExecuted = 0;
  let executions = 0;
  let executedUnsent = 0;
  const longest = Math.max(states.length, ...counts.map((c) => c.length));
  for (let id = 0; id < longest; id++) {
    let n = 0;
    for (const c of counts) n += id < c.length ? c[id]! : 0;
    executions += n;
    if (id >= states.length) {
      if (n > 0) executedUnsent++;
      continue;
    }
    if (n >= 2) {
      executedTwice++;
      if (executedTwiceSample.length < 20) executedTwiceSample.push(id);
    }
    const state = states[id]!;
    if (state === State.ANSWERED && n === 0) answeredNotExecuted++;
    if (state === State.FAILED && n > 0) lostButExecuted++;
  }
  const lost = report.sent - report.answered - report.unsettled;
  if (states.length !== report.sent) problems.push(`the states file holds ${states.length} ids, ${report.sent} were sent`);
  if (executedTwice > 0) problems.push(`${executedTwice} requests executed twice`);
  if (report.unsettled > 0) problems.push(`${report.unsettled} requests unsettled`);
  if (report.mismatched > 0) problems.push(`${report.mismatched} answers carried another request's id`);
  if (answeredNotExecuted > 0) problems.push(`${answeredNotExecuted} requests answered without being executed`);
  if (executedUnsent > 0) problems.push(`${executedUnsent} ids executed that were never sent`);
  const serverStart = input.servers[0]!.heapStart;
  return {
    kind: 'soak',
    ok: problems.length === 0,
    problems,
    ...input.config,
    sent: report.sent,
    answered: report.answered,
    lost,
    lostByCode: report.lostByCode,
    lostByTimeout: report.lostByTimeout,
    lostAtOnce: report.lostAtOnce,
    lostAtRestart: report.lostAtRestart,
    lostOutsideRestart: lost - report.lostAtRestart,
    lostButExecuted,
    executedTwice,
    executedTwiceSample,
    unsettled: report.unsettled,
    unsettledSample: report.unsettledSample,
    mismatched: report.mismatched,
    answeredNotExecuted,
    executions,
    latencyMs: { p50: round(report.latency.p50), p99: round(report.latency.p99), max: round(report.latency.max) },
    heapMB: {
      caller: { start: mb(input.callerHeapStart), end: mb(report.heapEnd) },
      server: {
        start: mb(serverStart),
        restartedStart: input.servers.length > 1 ? mb(input.servers[input.servers.length - 1]!.heapStart) : null,
        end: mb(input.serverReport.heap),
      },
    },
    drops: input.drops,
    closes: input.closes,
    restarts: input.restarts,
    restartGapMs: report.restartGapMs === undefined ? null : Math.round(report.restartGapMs),
    unitCloses: report.unitCloses,
  };
}

const round = (ms: number): number => (Number.isFinite(ms) ? Math.round(ms * 1000) / 1000 : ms);
const n = (x: number): string => x.toLocaleString('en-US');

function print(s: SoakSummary, json: boolean): void {
  const codes = Object.entries(s.lostByCode)
    .sort((a, b) => b[1] - a[1])
    .map(([code, count]) => `${code} ${n(count)}`)
    .join(', ');
  const side = (t: { done: number; skipped: number }): string => `${t.done}${t.skipped ? ` (+${t.skipped} skipped: the unit had one connection)` : ''}`;
  const lines = [
    '',
    `soak summary (${s.seconds} s, ${s.inFlight} in flight, request timeout ${s.timeoutMs / 1000} s)`,
    `  requests sent         ${n(s.sent)}`,
    `  answered              ${n(s.answered)}`,
    `  lost                  ${n(s.lost)}${s.lost ? `  (timeout ${n(s.lostByTimeout)}, at once ${n(s.lostAtOnce)}; ${codes})` : ''}`,
    `    at the restart      ${n(s.lostAtRestart)}`,
    `    outside it          ${n(s.lostOutsideRestart)}`,
    `    executed anyway     ${n(s.lostButExecuted)}  (lost, but the server ran them)`,
    `  executed twice        ${n(s.executedTwice)}${s.executedTwiceSample.length ? `  ids ${s.executedTwiceSample.join(' ')}` : ''}`,
    `  unsettled             ${n(s.unsettled)}${s.unsettledSample.length ? `  ids ${s.unsettledSample.join(' ')}` : ''}`,
    `  wrong answers         ${n(s.mismatched + s.answeredNotExecuted)}  (another request's id: ${s.mismatched}; answered, never executed: ${s.answeredNotExecuted})`,
    `  latency               p50 ${s.latencyMs.p50} ms  p99 ${s.latencyMs.p99} ms  max ${s.latencyMs.max} ms`,
    `  heap after GC         caller ${s.heapMB.caller.start} -> ${s.heapMB.caller.end} MB; server ${s.heapMB.server.start} -> ${s.heapMB.server.end} MB` +
      (s.heapMB.server.restartedStart !== null ? ` (restarted process: ${s.heapMB.server.restartedStart} MB at its start)` : ''),
    `  abrupt drops          by the caller ${side(s.drops.caller)}, by the server ${side(s.drops.server)}`,
    `  graceful closes       by the caller ${side(s.closes.caller)}, by the server ${side(s.closes.server)}`,
    `  server restarts       ${s.restarts}${s.restartGapMs !== null ? `  (role served again after ${s.restartGapMs} ms)` : ''}; the unit closed ${s.unitCloses} time(s)`,
    `  result                ${s.ok ? 'OK' : `FAILED: ${s.problems.join('; ')}`}`,
  ];
  console.log(lines.join('\n'));
  if (json) console.log(JSON.stringify(s));
}

runCommand(module, main);
