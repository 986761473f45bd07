import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { baselineList, groupList, pinFlag, roundCount } from '../../bench/run';
import { findBinary } from '../../bench/e2e/processes';

// Proves the benchmark commands work (not what they measure): `npm run bench -- --quick` and a
// `--mesh` run against bench peers started by `roletalk-bench serve`.

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');
const benchDir = path.join(root, 'build', 'bench');

test('bench --quick runs every case against the baselines and writes the report', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-bench-'));
  // Every group, with one round each and a smaller scale group, so that the suite stays short:
  // the figures are not what is tested, the command and the report are.
  const small = ['--rounds', '1', '--stream-rounds', '1', '--transport-rounds', '1', '--scale-connections', '500', '--scale-requests', '50000'];
  await run(process.execPath, [path.join(benchDir, 'run.js'), '--quick', ...small, '--out', out], { cwd: root, timeout: 420_000 });
  const result = JSON.parse(fs.readFileSync(path.join(out, 'e2e.json'), 'utf8')) as {
    rows: Array<{ impl: string; case: string; group?: string; tracing?: boolean; balance?: string; slowShare?: number; heldBytes?: number }>;
  };
  // gRPC-js and NATS are dev dependencies (NATS also needs nats-server): they may be skipped.
  for (const impl of ['roletalk', 'ws', 'net', 'moleculer']) assert.ok(result.rows.some((r) => r.impl === impl), impl);
  for (const kind of ['rtt', 'throughput', 'messages', 'stream', 'stream-down', 'stream-paused', 'broadcast', 'survey']) {
    assert.ok(result.rows.some((r) => r.impl === 'roletalk' && r.case === kind), kind);
  }
  // The streams group, in its own results file: uploads and downloads for both, the paused reader.
  const streams = JSON.parse(fs.readFileSync(path.join(out, 'streams.json'), 'utf8')) as typeof result;
  for (const kind of ['stream', 'stream-down']) {
    assert.ok(streams.rows.some((r) => r.impl === 'ws' && r.case === kind), `streams group: ws ${kind}`);
  }
  const paused = streams.rows.find((r) => r.case === 'stream-paused');
  assert.ok(paused && typeof paused.heldBytes === 'number' && paused.heldBytes <= 512 * 1024, 'a paused reader within 512 KiB');
  for (const kind of ['rtt', 'throughput']) {
    for (const tracing of [false, true]) {
      assert.ok(result.rows.some((r) => r.group === 'tracing' && r.case === kind && r.tracing === tracing), `${kind} tracing ${tracing}`);
    }
  }
  for (const balance of ['round-robin', 'least-pending', 'p2c', 'latency']) {
    const row = result.rows.find((r) => r.group === 'balance' && r.balance === balance);
    assert.ok(row && typeof row.slowShare === 'number', balance);
  }
  // The same-host comparison, in its own results file: both transports, latency and pipelined throughput.
  const transports = JSON.parse(fs.readFileSync(path.join(out, 'transport.json'), 'utf8')) as { rows: Array<{ case: string; transport?: string }> };
  for (const transport of ['unix', 'tcp']) {
    for (const kind of ['rtt', 'throughput']) assert.ok(transports.rows.some((r) => r.transport === transport && r.case === kind), `${transport} ${kind}`);
  }
  assert.ok(!result.rows.some((r) => r.group === 'transport' || r.group === 'streams'), 'e2e.json holds no transport or streams rows');
  const report = fs.readFileSync(path.join(out, 'BENCHMARKS.md'), 'utf8');
  assert.match(report, /\| rtt, 1 conn, 64 B \|/);
  assert.match(report, /## Same host: a Unix socket against TCP loopback/);
  assert.match(report, /\| throughput, 1 conn, window 64, 64 B \| [\d,]+\/s \| [\d,]+\/s \| \d+\.\d+x \|/);
  assert.match(report, /Goals \(figures from this run\)/);
  assert.match(report, /\| case \| tracing off \| tracing on \| on\/off \|/);
  assert.match(report, /\| stream-down \| [\d.]+ MB\/s \| [\d.]+ MB\/s \| \d+\.\d+x \|/);
  assert.match(report, /\| latency \| [\d.]+ ms \|/);
  assert.match(report, /Goal: with 'latency' the slow unit gets under 10 %.*(met|not met)/);
  assert.ok(fs.existsSync(path.join(out, 'e2e-latency.svg')));
  // The scale group, in its own results file: idle connections beside raw ws, and the long run.
  const scale = JSON.parse(fs.readFileSync(path.join(out, 'scale.json'), 'utf8')) as { idle: Array<{ impl: string }>; requests: { samples: unknown[] } | null };
  for (const impl of ['roletalk', 'ws']) assert.ok(scale.idle.some((r) => r.impl === impl), `scale ${impl}`);
  assert.ok(scale.requests !== null && scale.requests.samples.length > 1);
  assert.match(report, /## Scale: idle connections and a long run/);
  assert.match(report, /\| heap used \| [\d.]+ KiB \| [\d.]+ KiB \| -?[\d.]+ KiB \| ≤ 2 KiB more: (met|\*\*not met\*\*) \|/);
  fs.rmSync(out, { recursive: true, force: true });
});

test('bench --mesh measures bench peers started with roletalk-bench serve', async () => {
  const server = spawn(process.execPath, [path.join(benchDir, 'cli.js'), 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let text = '';
      server.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const match = /listening: (\S+)/.exec(text);
        if (match) resolve(match[1]!);
      });
      server.once('exit', () => reject(new Error('serve exited')));
    });
    const { stdout } = await run(
      process.execPath,
      [path.join(benchDir, 'run.js'), '--quick', '--only', 'e2e', '--mesh', address, '--connections', '1', '--windows', '4', '--payloads', '64', '--out', os.tmpdir()],
      { cwd: root, timeout: 60_000 },
    );
    assert.match(stdout, /roletalk\s+rtt\s+conn=1/);
    assert.match(stdout, /roletalk\s+throughput\s+conn=1 win=4/);
  } finally {
    server.kill();
  }
});

test('--groups picks e2e groups and refuses unknown ones', async () => {
  assert.equal(groupList(undefined), undefined);
  assert.deepEqual(groupList('tracing, balance'), ['tracing', 'balance']);
  assert.deepEqual(groupList('scale'), ['scale']);
  assert.throws(() => groupList('tracing,nope'), /--groups/);
  assert.throws(() => groupList(true), /--groups/);
  await assert.rejects(run(process.execPath, [path.join(benchDir, 'run.js'), '--only', 'e2e', '--groups', 'nope', '--out', os.tmpdir()], { cwd: root }), /--groups/);
});

test('a tiny requests run against raw net: interleaved rounds, the baselines tables, pinning when taskset exists', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-bench-'));
  const pin = findBinary('taskset') !== undefined;
  const flags = ['--quick', '--only', 'e2e', '--groups', 'requests', '--baselines', 'net', '--rounds', '2', '--connections', '1', '--windows', '1', '--payloads', '64'];
  await run(process.execPath, [path.join(benchDir, 'run.js'), ...flags, ...(pin ? ['--pin'] : []), '--out', out], { cwd: root, timeout: 120_000 });
  const result = JSON.parse(fs.readFileSync(path.join(out, 'e2e.json'), 'utf8')) as {
    environment: { pinned?: string };
    rows: Array<{ impl: string; case: string; window: number; payload: number; round?: number }>;
  };
  assert.deepEqual([...new Set(result.rows.map((r) => r.impl))].sort(), ['net', 'roletalk']);
  for (const impl of ['roletalk', 'net']) {
    for (const [kind, window, payload] of [['rtt', 1, 64], ['throughput', 64, 64], ['throughput', 16, 4096], ['throughput', 8, 65536]] as const) {
      const rounds = result.rows.filter((r) => r.impl === impl && r.case === kind && r.window === window && r.payload === payload).map((r) => r.round);
      assert.deepEqual(rounds.sort(), [1, 2], `${impl} ${kind} w${window} ${payload} B`);
    }
  }
  assert.equal(result.environment.pinned, pin ? 'servers CPU 0, client CPU 1' : 'no');
  const report = fs.readFileSync(path.join(out, 'BENCHMARKS.md'), 'utf8');
  assert.match(report, /### Against every baseline, in interleaved rounds/);
  assert.match(report, /\| RTT 64 B p50 \| [\d,]+( \([\d,]+–[\d,]+\))? \| [\d,]+/);
  assert.match(report, /\| 64 KiB w8 \| \d+\.\d\dx( \(\d+\.\d\d–\d+\.\d\d\))? \| – \|/, 'ours/net measured, ours/raw ws not');
  assert.match(report, pin ? /pinned to CPUs: servers CPU 0, client CPU 1/ : /pinned to CPUs: no/);
  fs.rmSync(out, { recursive: true, force: true });
});

test('--rounds, --pin and --baselines are checked, and a bad value names its flag', async () => {
  assert.equal(roundCount({}, 'rounds', 3), 3);
  assert.equal(roundCount({ rounds: '5' }, 'rounds', 3), 5);
  for (const bad of ['0', '1.5', 'x', true] as const) assert.throws(() => roundCount({ rounds: bad }, 'rounds', 3), /--rounds/);
  assert.throws(() => roundCount({ 'transport-rounds': '0' }, 'transport-rounds', 3), /--transport-rounds/);
  assert.equal(pinFlag(undefined), false);
  assert.equal(pinFlag(true), true);
  assert.throws(() => pinFlag('yes'), /--pin/);
  assert.deepEqual(baselineList({ baselines: 'net, ws,net' }), ['net', 'ws']);
  assert.deepEqual(baselineList({ 'no-baselines': true }), []);
  assert.ok(baselineList({}).includes('nats'));
  assert.throws(() => baselineList({ baselines: 'net,zmq' }), /--baselines/);
  // The messages, not the flags: the error of a failed command also quotes its command line.
  for (const [flag, value, message] of [['--rounds', '0', /--rounds takes an integer >= 1/], ['--pin', 'yes', /--pin takes no value/], ['--baselines', 'zmq', /Expected --baselines/]] as const) {
    await assert.rejects(run(process.execPath, [path.join(benchDir, 'run.js'), '--only', 'e2e', flag, value, '--out', os.tmpdir()], { cwd: root }), message);
  }
});
