import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, fork } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Peer } from '../../src';

// The ioThreads and authThreads options (issue 6): behaviour that differs by mode. The rest of
// the integration suite runs in both modes (scripts/run-tests.js sets ROLETALK_IO_THREADS=2).

const fixtures = path.join(__dirname, '..', 'fixtures');
const peers: Peer[] = [];
after(async () => {
  await Promise.all(peers.map((p) => p.close()));
});

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

/** A local peer whose request handler blocks its main thread, and a remote peer watching. */
async function blockOnce(ioThreads: number, blockMs: number): Promise<{ closed: boolean; outcome: string; unitsAfter: number }> {
  const local = new Peer({ name: 'busy', ioThreads, heartbeat: { interval: 250, timeout: 1000 } });
  peers.push(local);
  local.role('blocker').onRequest('block', () => {
    busy(blockMs);
    return 'done';
  });
  await local.listen({ port: 0, host: '127.0.0.1' });
  const child = fork(path.join(fixtures, 'watchful-peer.js'), [`ws://127.0.0.1:${local.port}`, 'block'], { stdio: 'inherit' });
  const report = await new Promise<{ closed: boolean; outcome: string }>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`watchful peer exited with ${code}`)));
  });
  // Let close frames and events settle on our side before counting.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { ...report, unitsAfter: local.units.length };
}

test('with ioThreads >= 1, a main thread blocked for 10 s keeps its connections', async () => {
  const result = await blockOnce(1, 10_000);
  assert.equal(result.closed, false, 'the remote never lost the connection');
  assert.equal(result.outcome, 'answered done');
});

test('with ioThreads 0, the same block drops the connection after the heartbeat timeout', async () => {
  const result = await blockOnce(0, 3_000);
  assert.equal(result.closed, true, 'the remote dropped the connection: nobody answered its pings');
  assert.equal(result.outcome, 'failed RT_ERR_UNIT_CLOSED');
  assert.equal(result.unitsAfter, 0);
});

test('after close(), I/O threads and the auth pool end: the process exits by itself', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(fixtures, 'threads-exit.js')], { timeout: 20_000 });
  assert.equal(stdout.trim(), 'over threads');
});

test('keyed handshakes with the HMACs in a worker pool succeed and fail as inline ones', async () => {
  const server = new Peer({ authThreads: 2 }).addPresharedKey('k1', 'right');
  peers.push(server);
  server.role('svc').onRequest('echo', (ctx) => ctx.data);
  await server.listen({ port: 0, host: '127.0.0.1' });
  const friend = new Peer({ authThreads: 1 }).addPresharedKey('k1', 'right');
  const stranger = new Peer({ authThreads: 1 }).addPresharedKey('k1', 'wrong');
  peers.push(friend, stranger);
  await friend.connect(`ws://127.0.0.1:${server.port}`);
  assert.equal((await friend.destination('svc').request('echo', 7)).data, 7);
  await assert.rejects(stranger.connect(`ws://127.0.0.1:${server.port}`, { permanent: false }), { code: 'RT_ERR_AUTH' });
  assert.equal(server.units.length, 1);
});

test('ioThreads and authThreads are checked at the call', () => {
  assert.throws(() => new Peer({ ioThreads: -1 }), { code: 'RT_ERR_INVALID_ARG', argument: 'ioThreads' });
  assert.throws(() => new Peer({ ioThreads: 1.5 }), { code: 'RT_ERR_INVALID_ARG', argument: 'ioThreads' });
  assert.throws(() => new Peer({ authThreads: 100 }), { code: 'RT_ERR_INVALID_ARG', argument: 'authThreads' });
});
