import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Context } from '../../src';
import { closeAll, connectedPair, waitFor } from '../helpers/peers';

// The frame rings between the main thread and the I/O threads (src/transport/threads/frame-ring.ts),
// made 512 B here so that real traffic wraps round them and overflows them: frames larger than
// the ring, a ring full while the other thread is busy, a close behind queued frames.

process.env.ROLETALK_IO_RING_BYTES = '512';
after(closeAll);

const threaded = { ioThreads: 1 };

test('requests of every size, many in flight, through tiny rings on both sides', async () => {
  const { client } = await connectedPair({
    server: threaded,
    client: threaded,
    setup: (server) => server.role('echo').onRequest('echo', (ctx: Context) => ctx.data),
  });
  const dest = client.destination('echo');
  const payloads = Array.from({ length: 300 }, (_, i) => Buffer.alloc([1, 17, 200, 600, 5000, 100_000][i % 6]!, i % 251));
  const answers = await Promise.all(payloads.map((p) => dest.request('echo', p)));
  answers.forEach((ctx, i) => assert.ok((ctx.data as Buffer).equals(payloads[i]!), `answer ${i}`));
});

test('messages keep their order through wrap-around and overflow', async () => {
  const got: number[] = [];
  const { client } = await connectedPair({
    server: threaded,
    client: threaded,
    setup: (server) => server.role('sink').onMessage('n', (ctx: Context) => got.push((ctx.data as { n: number }).n)),
  });
  const dest = client.destination('sink');
  for (let n = 0; n < 3000; n++) dest.send('n', { n, pad: 'x'.repeat((n * 31) % 700) });
  while (got.length < 3000) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(got, Array.from({ length: 3000 }, (_, n) => n));
});

test('a close behind queued frames: the frames go first, then the close', async () => {
  const got: number[] = [];
  const { client, remote, unit } = await connectedPair({
    server: threaded,
    client: threaded,
    setup: (s) => s.role('sink').onMessage('n', (ctx: Context) => got.push(ctx.data as number)),
  });
  const gone = waitFor(remote, 'close', 5000);
  const dest = client.destination('sink');
  for (let n = 0; n < 500; n++) dest.send('n', n);
  unit.close();
  await gone;
  assert.deepEqual(got, Array.from({ length: 500 }, (_, n) => n));
});
