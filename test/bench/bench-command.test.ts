import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { groupList } from '../../bench/run';

// Proves the benchmark commands work (not what they measure): `npm run bench -- --quick` and a
// `--mesh` run against bench peers started by `roletalk-bench serve`.

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');
const benchDir = path.join(root, 'build', 'bench');

test('bench --quick runs every case against the baselines and writes the report', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-bench-'));
  // 95 s measured on a 2-core machine at load 15 (the tracing and balance groups some 15 s of it),
  // before the transport group (some 25 s more) and the streams group (some 30 s more).
  await run(process.execPath, [path.join(benchDir, 'run.js'), '--quick', '--out', out], { cwd: root, timeout: 300_000 });
  const result = JSON.parse(fs.readFileSync(path.join(out, 'e2e.json'), 'utf8')) as {
    rows: Array<{ impl: string; case: string; group?: string; tracing?: boolean; balance?: string; slowShare?: number; heldBytes?: number }>;
  };
  for (const impl of ['roletalk', 'ws', 'moleculer']) assert.ok(result.rows.some((r) => r.impl === impl), impl);
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
  assert.throws(() => groupList('tracing,nope'), /--groups/);
  assert.throws(() => groupList(true), /--groups/);
  await assert.rejects(run(process.execPath, [path.join(benchDir, 'run.js'), '--only', 'e2e', '--groups', 'nope', '--out', os.tmpdir()], { cwd: root }), /--groups/);
});
