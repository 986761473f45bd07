import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import WebSocket from 'ws';
import { Peer } from '../../src';
import { num, parseFlags, runCommand } from '../args';
import { forkChild, nextMessage } from '../harness/children';
import { mb, tally } from '../harness/stats';
import { confirmed, fuzzFrame, fuzzHandshake, loadBases, Rng, T } from './frames';
import type { FromTarget, TargetStats, ToTarget } from './messages';

/**
 * `npm run fuzz -- [flags]`: mutated and random frames at a live peer.
 *
 * The target is a listening peer in a child process, with roles that serve requests, messages
 * and streams. Many raw WebSocket clients at once each complete a handshake (a few fuzz the
 * handshake itself), then send bursts of frames: valid ones, and bit flips, truncations,
 * extensions, random bytes, a valid type byte with garbage, wrong header lengths, huge varnum
 * lengths, JSON garbage in ROLES and ACQUAINT, text messages. After each burst a probe request
 * must be answered correctly, or the target must have closed the connection. Between batches a
 * witness (a real Peer connected to the target throughout) must get correct answers to
 * requests and a stream.
 *
 * Counts: frames sent (by mutation), connections, closes by the target by code and whether a
 * reason came with them, connections the target left open, probe answers, crashes (an uncaught
 * exception or rejection in the target, or its exit), witness checks. Exits 1 on a crash or a
 * witness failure.
 *
 *   --frames N          frames to send (1,000,000)
 *   --connections N     raw clients at once (128)
 *   --batch N           frames between witness checks (frames / 50, at least 2,000)
 *   --burst N           frames between probes (4)
 *   --per-connection N  at most this many frames on one connection (200)
 *   --seed N            the generator's seed (random); the same seed gives every connection the same frames
 *   --json              a machine-readable summary on the last line
 */

const FLAGS = ['frames', 'connections', 'batch', 'burst', 'per-connection', 'seed', 'json'] as const;

export interface FuzzSummary {
  kind: 'fuzz';
  ok: boolean;
  problems: string[];
  notes: string[];
  seed: number;
  seconds: number;
  framesSent: number;
  framesPerSecond: number;
  /** Of framesSent: frames sent before the handshake completed. */
  handshakeFrames: number;
  framesByMutation: Record<string, number>;
  connections: number;
  connectFailures: number;
  closedByTarget: {
    total: number;
    byCode: Record<string, number>;
    withReason: number;
    /** Closed with a code but an empty reason. */
    withoutReason: number;
    /** Closed without a close code at all (1005 none given, 1006 dropped without a close frame). */
    withoutCode: number;
    sample: Array<{ connection: number; code: number; reason: string; lastFrames: string[] }>;
  };
  /** Connections the target kept open to their last frame (closed by the fuzzer). */
  leftOpen: number;
  probes: { answered: number; wrong: number; timeouts: number; timeoutsSharedUnit: number };
  crashes: number;
  crashSample: string[];
  witness: { checks: number; failures: string[]; worstMs: number };
  target: { heapStartMB: number; heapEndMB: number; protocolErrors: number; handlerErrors: number; unitsAtEnd: number; stderrLines: number };
}

/** Peer ids a quarter of the connections share, so that units have several connections. */
const SHARED_IDS = ['5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a01', '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a02', '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a03', '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a04'];
const PROBE_TIMEOUT = 5000;

export async function main(argv: string[]): Promise<number> {
  const args = parseFlags(argv, FLAGS);
  const totalFrames = Math.floor(num(args, 'frames', 1_000_000));
  const parallel = Math.max(1, Math.floor(num(args, 'connections', 128)));
  const batchSize = Math.max(1, Math.floor(num(args, 'batch', Math.max(2000, Math.ceil(totalFrames / 50)))));
  const burst = Math.max(1, Math.floor(num(args, 'burst', 4)));
  const perConnection = Math.max(1, Math.floor(num(args, 'per-connection', 200)));
  const seed = args.seed === undefined ? randomBytes(4).readUInt32BE() : Math.floor(num(args, 'seed', 0));
  const json = args.json === true;
  const bases = loadBases();
  const started = Date.now();
  const log = (line: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

  const summary: FuzzSummary = {
    kind: 'fuzz',
    ok: false,
    problems: [],
    notes: [],
    seed,
    seconds: 0,
    framesSent: 0,
    framesPerSecond: 0,
    handshakeFrames: 0,
    framesByMutation: {},
    connections: 0,
    connectFailures: 0,
    closedByTarget: { total: 0, byCode: {}, withReason: 0, withoutReason: 0, withoutCode: 0, sample: [] },
    leftOpen: 0,
    probes: { answered: 0, wrong: 0, timeouts: 0, timeoutsSharedUnit: 0 },
    crashes: 0,
    crashSample: [],
    witness: { checks: 0, failures: [], worstMs: 0 },
    target: { heapStartMB: 0, heapEndMB: 0, protocolErrors: 0, handlerErrors: 0, unitsAtEnd: 0, stderrLines: 0 },
  };

  // ---- the target ----
  let targetExited = false;
  let finished = false;
  const target = forkChild(path.join(__dirname, 'target.js'), [], {
    onStderr: (line) => {
      summary.target.stderrLines++;
      process.stderr.write(`target: ${line}\n`);
    },
  });
  target.on('message', (msg: FromTarget) => {
    if (msg.type !== 'crash') return;
    summary.crashes++;
    if (summary.crashSample.length < 5) summary.crashSample.push(`${msg.kind}: ${msg.message.split('\n').slice(0, 4).join(' | ')}`);
  });
  target.once('exit', (code, signal) => {
    if (finished) return;
    targetExited = true;
    summary.crashes++;
    summary.crashSample.push(`the target process exited (${signal ?? code})`);
  });
  const askTarget = (): Promise<TargetStats> => {
    const answer = nextMessage<TargetStats>(target, (m) => m.type === 'stats', 15_000, 'target stats');
    target.send({ type: 'stats' } satisfies ToTarget);
    return answer;
  };

  const sockets = new Set<WebSocket>();
  const witnessPeer = new Peer({ name: 'fuzz-witness' });
  try {
    const listening = await nextMessage<Extract<FromTarget, { type: 'listening' }>>(target, (m) => m.type === 'listening', 10_000, 'target start');
    summary.target.heapStartMB = mb(listening.heap);
    const url = `ws://127.0.0.1:${listening.port}`;

    // ---- the witness ----
    const dest = witnessPeer.destination('svc');
    const { unit: witnessUnit } = await witnessPeer.connect(url, { permanent: false });
    let witnessClosed: string | undefined;
    witnessUnit.on('close', () => (witnessClosed ??= 'the witness unit closed'));
    witnessUnit.connections[0]!.on('close', (code: number, reason: string) => (witnessClosed = `the witness connection closed (${code} ${reason})`));

    // ---- the raw clients ----
    /** Probes waiting for their answer, by the hex of their correlation id (answers may come on any connection of a unit). */
    const probes = new Map<string, { nonce: Buffer; settle: (ok: boolean) => void }>();
    let remaining = 0;
    let connectionNumber = 0;

    const onFrame = (f: Buffer): void => {
      if ((f[0] !== T.RESPONSE && f[0] !== T.REJECT) || f.length < 2 || f[1] !== 6) return;
      const key = f.toString('hex', 2, 8);
      const probe = probes.get(key);
      if (probe === undefined) return;
      probes.delete(key);
      const expected = Buffer.concat([Buffer.from([3]), probe.nonce]);
      probe.settle(f[0] === T.RESPONSE && f.subarray(8).equals(expected));
    };

    async function fuzzConnection(n: number): Promise<void> {
      const rng = new Rng(seed, n);
      const shared = rng.chance(0.25);
      const id = shared ? rng.pick(SHARED_IDS) : rng.bytes(16).toString('hex');
      const quota = 1 + rng.int(perConnection);
      const lastFrames: string[] = [];
      const remember = (frame: Buffer | string): void => {
        lastFrames.push(typeof frame === 'string' ? `text:${JSON.stringify(frame.slice(0, 40))}` : frame.toString('hex', 0, 48) + (frame.length > 48 ? `…(${frame.length} B)` : ''));
        if (lastFrames.length > 6) lastFrames.shift();
      };

      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000 });
      sockets.add(ws);
      let close: { code: number; reason: string } | undefined;
      const closed = new Promise<void>((resolve) =>
        ws.on('close', (code: number, reason: Buffer) => {
          sockets.delete(ws);
          close = { code, reason: reason.toString() };
          resolve();
        }),
      );
      ws.on('error', () => {});
      ws.on('message', onFrame);
      const opened = await new Promise<boolean>((resolve) => {
        ws.once('open', () => resolve(true));
        ws.once('close', () => resolve(false));
      });
      if (!opened) {
        summary.connections++;
        summary.connectFailures++;
        return;
      }
      if (remaining === 0) {
        // The batch's frames went to other connections meanwhile: this one does not count.
        ws.terminate();
        return;
      }
      summary.connections++;

      let sentHere = 0;
      /** Sends one frame of the budget; false when the budget is spent or the socket closing. */
      const sendFrame = (frame: Buffer | string, kind: string, handshake: boolean): boolean => {
        if (ws.readyState !== WebSocket.OPEN || remaining === 0) return false;
        remaining--;
        ws.send(frame, { binary: typeof frame !== 'string' });
        remember(frame);
        sentHere++;
        summary.framesSent++;
        if (handshake) summary.handshakeFrames++;
        tally(summary.framesByMutation, kind);
        return true;
      };

      // The handshake: valid, or (one connection in twelve) fuzzed, then valid or not.
      if (rng.chance(1 / 12)) {
        const count = 1 + rng.int(3);
        for (let i = 0; i < count; i++) sendFrame(fuzzHandshake(rng, bases, id), 'handshake', true);
        if (rng.chance(0.5)) ws.send(confirmed(id));
      } else {
        ws.send(confirmed(id));
      }

      while (close === undefined && remaining > 0 && sentHere < quota) {
        const count = Math.min(burst, quota - sentHere);
        for (let i = 0; i < count; i++) {
          const { kind, frame } = fuzzFrame(rng, bases);
          if (!sendFrame(frame, kind, false)) break;
        }
        if (close !== undefined || ws.readyState !== WebSocket.OPEN) break;
        // The probe: svc/echo with a 6-byte correlation id and a nonce; answered right, or the
        // connection closes.
        const corr = Buffer.concat([Buffer.from([1 + rng.int(255)]), rng.bytes(5)]);
        const nonce = Buffer.from(rng.bytes(8).toString('hex'));
        const key = corr.toString('hex');
        const head = Buffer.from([T.REQUEST, 0, 3, 0, 4, 6]);
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          new Promise<'ok' | 'wrong'>((resolve) => {
            probes.set(key, { nonce, settle: (ok) => resolve(ok ? 'ok' : 'wrong') });
            ws.send(Buffer.concat([head, Buffer.from('svcecho'), corr, Buffer.from([3]), nonce]));
          }),
          closed.then(() => 'closed' as const),
          new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, PROBE_TIMEOUT, 'timeout'))),
        ]);
        clearTimeout(timer);
        probes.delete(key);
        if (outcome === 'ok') summary.probes.answered++;
        else if (outcome === 'wrong') summary.probes.wrong++;
        else if (outcome === 'timeout') {
          if (shared) summary.probes.timeoutsSharedUnit++;
          else summary.probes.timeouts++;
        }
        if (outcome === 'timeout' && !shared) break;
      }

      if (close === undefined) {
        // Served to its last frame: the fuzzer closes it.
        summary.leftOpen++;
        ws.close(1000);
        setTimeout(() => ws.terminate(), 3000).unref();
        return;
      }
      const c = summary.closedByTarget;
      const { code, reason } = close as { code: number; reason: string };
      c.total++;
      tally(c.byCode, code);
      const noCode = code === 1005 || code === 1006;
      if (noCode) c.withoutCode++;
      else if (reason.length === 0) c.withoutReason++;
      else c.withReason++;
      if ((noCode || reason.length === 0) && c.sample.length < 10) c.sample.push({ connection: n, code, reason, lastFrames: [...lastFrames] });
    }

    async function worker(): Promise<void> {
      while (remaining > 0 && !targetExited) await fuzzConnection(connectionNumber++);
    }

    async function witnessCheck(): Promise<string | undefined> {
      if (witnessClosed) return witnessClosed;
      const t = Date.now();
      try {
        const value = { nonce: Math.random(), text: 'witness ✓', list: [1, 2, 3] };
        const echo = await dest.request({ event: 'echo', timeout: 10_000 }, value);
        if (!isDeepStrictEqual(echo.data, value)) return `echo answered ${JSON.stringify(echo.data)}`;
        const refusal = await dest.request({ event: 'fail', timeout: 10_000 }, null).then(
          () => 'answered',
          (err: { code?: string; message?: string }) => `${err.code}: ${err.message}`,
        );
        if (refusal !== 'RT_ERR_REJECTED: failed on purpose') return `fail answered "${refusal}"`;
        const stream = dest.Readable({ event: 'download', timeout: 10_000 }, 50_000);
        let bytes = 0;
        let good = true;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (chunk.some((b) => b !== 7)) good = false;
        }
        if (bytes !== 50_000 || !good) return `the download stream gave ${bytes} bytes${good ? '' : ' of wrong content'}`;
      } catch (err) {
        return `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`;
      }
      summary.witness.worstMs = Math.max(summary.witness.worstMs, Date.now() - t);
      return witnessClosed;
    }

    log(`fuzz: ${totalFrames.toLocaleString('en-US')} frames at ${url}, ${parallel} connections at once, witness check every ${batchSize.toLocaleString('en-US')} frames, seed ${seed}`);
    const first = await witnessCheck();
    if (first) throw new Error(`the witness failed before any fuzzing: ${first}`);
    while (summary.framesSent < totalFrames && !targetExited) {
      remaining = Math.min(batchSize, totalFrames - summary.framesSent);
      const batchStart = summary.framesSent;
      await Promise.all(Array.from({ length: parallel }, worker));
      if (targetExited) break;
      if (summary.framesSent === batchStart) throw new Error(`no frame could be sent in a batch (${summary.connectFailures} connections failed to open)`);
      summary.witness.checks++;
      const failure = await witnessCheck();
      if (failure) summary.witness.failures.push(`after ${summary.framesSent} frames: ${failure}`);
      const c = summary.closedByTarget;
      log(
        `${summary.framesSent.toLocaleString('en-US')} frames (+${summary.framesSent - batchStart}), ${summary.connections} connections: ` +
          `${c.total} closed by the target (${Object.entries(c.byCode).map(([k, v]) => `${k}×${v}`).join(' ')}), ${summary.leftOpen} left open; ` +
          `crashes ${summary.crashes}; witness ${failure ? `FAILED: ${failure}` : 'OK'}`,
      );
      if (witnessClosed) break;
    }
    summary.seconds = Math.round((Date.now() - started) / 100) / 10;
    summary.framesPerSecond = Math.round(summary.framesSent / Math.max(0.1, summary.seconds));

    // Every raw socket closed, then the target should hold the witness only.
    const deadline = Date.now() + 5000;
    while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const ws of sockets) ws.terminate();
    let stats: TargetStats | undefined;
    if (!targetExited) {
      for (let i = 0; i < 50; i++) {
        stats = await askTarget();
        if (stats.units <= 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (stats) {
      summary.target.heapEndMB = mb(stats.heap);
      summary.target.protocolErrors = stats.protocolErrors;
      summary.target.handlerErrors = stats.handlerErrors;
      summary.target.unitsAtEnd = stats.units;
    }
  } finally {
    finished = true;
    await witnessPeer.close().catch(() => {});
    for (const ws of sockets) ws.terminate();
    target.kill('SIGKILL');
  }

  const s = summary;
  if (s.crashes > 0) s.problems.push(`${s.crashes} crash(es) of the target`);
  if (s.witness.failures.length > 0) s.problems.push(`the witness failed ${s.witness.failures.length} time(s)`);
  if (s.closedByTarget.withoutCode > 0) s.notes.push(`${s.closedByTarget.withoutCode} connection(s) closed by the target without a close code`);
  if (s.closedByTarget.withoutReason > 0) s.notes.push(`${s.closedByTarget.withoutReason} connection(s) closed by the target with a code but no reason`);
  if (s.probes.wrong > 0) s.notes.push(`${s.probes.wrong} probe(s) answered wrongly`);
  if (s.probes.timeouts > 0) s.notes.push(`${s.probes.timeouts} probe(s) on a connection of its own unanswered within ${PROBE_TIMEOUT} ms, the connection still open`);
  if (s.target.unitsAtEnd > 1) s.notes.push(`the target still held ${s.target.unitsAtEnd - 1} raw unit(s) after every raw socket closed`);
  s.ok = s.problems.length === 0;
  print(s, json);
  return s.ok ? 0 : 1;
}

function print(s: FuzzSummary, json: boolean): void {
  const n = (x: number): string => x.toLocaleString('en-US');
  const c = s.closedByTarget;
  const lines = [
    '',
    `fuzz summary (seed ${s.seed}, ${s.seconds} s, ${n(s.framesPerSecond)} frames/s)`,
    `  frames sent           ${n(s.framesSent)}  (${n(s.handshakeFrames)} during the handshake)`,
    `    by mutation         ${Object.entries(s.framesByMutation).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`,
    `  connections           ${n(s.connections)}${s.connectFailures ? ` (${s.connectFailures} failed to open)` : ''}`,
    `  closed by the target  ${n(c.total)}: ${Object.entries(c.byCode).map(([k, v]) => `${k} ×${n(v)}`).join(', ')}`,
    `    with a reason       ${n(c.withReason)}; code without reason ${n(c.withoutReason)}; no code ${n(c.withoutCode)}`,
    ...c.sample.map((x) => `      #${x.connection}: ${x.code} "${x.reason}" after ${x.lastFrames.join(' ')}`),
    `  left open             ${n(s.leftOpen)}  (the target served them to their last frame; closed by the fuzzer)`,
    `  probes                ${n(s.probes.answered)} answered right, ${s.probes.wrong} wrong, ${s.probes.timeouts} unanswered` +
      (s.probes.timeoutsSharedUnit ? ` (+${s.probes.timeoutsSharedUnit} on units shared by several raw connections, whose answer may go to a sibling being closed)` : ''),
    `  crashes               ${s.crashes}${s.crashSample.length ? `: ${s.crashSample.join(' || ')}` : ''}`,
    `  witness               ${s.witness.checks} checks, ${s.witness.failures.length ? `FAILED: ${s.witness.failures.join('; ')}` : 'all OK'} (slowest ${s.witness.worstMs} ms)`,
    `  target                heap after GC ${s.target.heapStartMB} -> ${s.target.heapEndMB} MB; protocol_error events ${n(s.target.protocolErrors)}; ` +
      `handler errors ${n(s.target.handlerErrors)}; units at the end ${s.target.unitsAtEnd} (the witness); stderr lines ${s.target.stderrLines}`,
    ...s.notes.map((x) => `  note                  ${x}`),
    `  result                ${s.ok ? 'OK' : `FAILED: ${s.problems.join('; ')}`}`,
  ];
  console.log(lines.join('\n'));
  if (json) console.log(JSON.stringify(s));
}

runCommand(module, main);
