import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Peer, type Unit } from '../../src';
import { exitWithParent } from '../harness/children';
import { ByteTable, Histogram, heapAfterGc, tally } from '../harness/stats';
import { dropOneOfTwo, State, type CallerReport, type FromCaller, type ToCaller } from './messages';

/**
 * The calling process of the soak: one peer dialing the serving process twice (two connections,
 * one unit), keeping `inFlight` requests in flight until told to stop. Every request carries a
 * unique id (0, 1, 2, ...) as its data and its outcome is recorded per id: answered, failed (with
 * its error code) or still pending. A request counts as lost only when its promise rejected.
 */

exitWithParent();
const send = (msg: FromCaller): void => void process.send!(msg);

const peer = new Peer({ name: 'soak-caller' });
const dest = peer.destination('soak');
const states = new ByteTable();
const latency = new Histogram();
const lostByCode: Record<string, number> = {};
let sent = 0;
let answered = 0;
let lost = 0;
let lostByTimeout = 0;
let lostAtRestart = 0;
let mismatched = 0;
let running = false;
let timeoutMs = 10_000;
let heapStart = 0;
let unitCloses = 0;
/** When the serving process was killed, and when a unit served the role again after that. */
let restartAt: number | undefined;
let backAt: number | undefined;

peer.on('unit', (unit: Unit) => unit.once('close', () => unitCloses++));
dest.on('open', () => {
  if (restartAt !== undefined && backAt === undefined) backAt = performance.now();
});

function inFlight(): number {
  return sent - answered - lost;
}

/** Resolves once a unit serves the role; one promise and one listener shared by every slot. */
let waiting: Promise<void> | undefined;
function ready(): Promise<void> {
  if (dest.ready) return Promise.resolve();
  waiting ??= new Promise<void>((resolve) =>
    dest.once('open', () => {
      waiting = undefined;
      resolve();
    }),
  );
  return waiting;
}

/** One slot: sends a request, waits for its outcome, sends the next. */
async function slot(): Promise<void> {
  while (running) {
    if (!dest.ready) {
      await ready();
      continue;
    }
    const id = sent++;
    const sentAt = performance.now();
    try {
      const ctx = await dest.request({ event: 'exec', timeout: timeoutMs }, id);
      answered++;
      states.set(id, State.ANSWERED);
      latency.add(performance.now() - sentAt);
      const data = ctx.data as { id?: unknown } | null;
      if (data === null || typeof data !== 'object' || data.id !== id) mismatched++;
    } catch (err) {
      lost++;
      states.set(id, State.FAILED);
      const code = (err as { code?: string }).code ?? `uncoded: ${(err as Error).message}`;
      tally(lostByCode, code);
      if (code === 'RT_ERR_REQUEST_TIMEOUT') lostByTimeout++;
      // Its life overlapped the kill of the serving process (on purpose, once per run).
      const failedAt = performance.now();
      if (restartAt !== undefined && failedAt >= restartAt && (backAt === undefined || sentAt < backAt)) lostAtRestart++;
    }
  }
}

async function start(msg: Extract<ToCaller, { type: 'start' }>): Promise<void> {
  timeoutMs = msg.timeoutMs;
  const { unit } = await peer.connect(msg.url);
  await peer.connect(msg.url);
  if (unit.connections.length !== 2) throw new Error(`expected one unit over 2 connections, got ${unit.connections.length}`);
  heapStart = heapAfterGc();
  running = true;
  for (let i = 0; i < msg.inFlight; i++) void slot();
  send({ type: 'ready', heap: heapStart });
}

async function stop(msg: Extract<ToCaller, { type: 'stop' }>): Promise<void> {
  running = false;
  const deadline = Date.now() + msg.graceMs;
  while (inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const unsettledSample: number[] = [];
  let unsettled = 0;
  for (let id = 0; id < sent; id++) {
    if (states.get(id) === State.PENDING) {
      unsettled++;
      if (unsettledSample.length < 20) unsettledSample.push(id);
    }
  }
  // One byte for every id sent; ids never settled were never written, and stay PENDING (0).
  const out = new Uint8Array(sent);
  out.set(states.view().subarray(0, sent));
  fs.writeFileSync(msg.statesFile, out);
  const report: CallerReport = {
    sent,
    answered,
    lostByCode,
    lostByTimeout,
    lostAtOnce: lost - lostByTimeout,
    lostAtRestart,
    mismatched,
    unsettled,
    unsettledSample,
    latency: { p50: latency.quantile(0.5), p99: latency.quantile(0.99), max: latency.max },
    heapStart,
    heapEnd: heapAfterGc(),
    restartGapMs: restartAt !== undefined && backAt !== undefined ? backAt - restartAt : undefined,
    unitCloses,
  };
  send({ type: 'report', report });
}

function drop(msg: Extract<ToCaller, { type: 'drop' }>): void {
  const conns = dest.units[0]?.connections ?? [];
  send({ type: 'dropped', done: dropOneOfTwo(conns, msg.mode), connections: conns.length });
}

function fail(err: Error): void {
  console.error(`soak caller: ${err.stack ?? err.message}`);
  process.exit(2);
}

process.on('message', (msg: ToCaller) => {
  switch (msg.type) {
    case 'start':
      start(msg).catch(fail);
      break;
    case 'drop':
      drop(msg);
      break;
    case 'restart':
      restartAt = performance.now();
      send({ type: 'restarting' });
      break;
    case 'progress':
      send({ type: 'progress', sent, answered, lost, inFlight: inFlight(), connections: dest.units[0]?.connections.length ?? 0 });
      break;
    case 'stop':
      stop(msg).catch(fail);
      break;
  }
});
