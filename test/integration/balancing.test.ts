import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Context, Peer } from '../../src';
import { closeAll, delay, listeningPeer, newPeer, urlOf } from '../helpers/peers';

// Balancing strategies of peer.destination(name, { balance }) over three units, one slow.

after(closeAll);

/**
 * Three units serving `svc`; the one named `slow` answers 300 times slower (300 ms against 1 ms,
 * a gap that a loaded machine's event-loop lag cannot close).
 */
async function mesh(): Promise<Peer> {
  const client = newPeer({ name: 'client' });
  for (const [name, ms] of [['fast-1', 1], ['fast-2', 1], ['slow', 300]] as const) {
    const server = await listeningPeer({ name });
    server.role('svc').onRequest('work', async (ctx: Context) => {
      await delay(ms);
      void ctx;
      return name;
    });
    await client.connect(urlOf(server));
  }
  return client;
}

/** Runs `total` requests, `concurrency` at a time; returns how many each unit answered. */
async function load(client: Peer, balance: string, total: number, concurrency: number): Promise<Record<string, number>> {
  const dest = client.destination(`svc`, { balance: balance as never });
  const counts: Record<string, number> = {};
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < total) {
      sent++;
      const name = (await dest.request('work', null)).data as string;
      counts[name] = (counts[name] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

for (const [balance, maxSlowShare] of [
  ['latency', 0.1],
  ['least-pending', 0.2],
  ['p2c', 0.25],
] as const) {
  test(`'${balance}' sends the slow unit under ${maxSlowShare * 100} % of the requests; round-robin a third`, async () => {
    const client = await mesh();
    const counts = await load(client, balance, 400, 16);
    const share = (counts.slow ?? 0) / 400;
    assert.ok(share < maxSlowShare, `slow unit share ${share} with ${balance}: ${JSON.stringify(counts)}`);
    assert.ok((counts['fast-1'] ?? 0) > 100 && (counts['fast-2'] ?? 0) > 100, JSON.stringify(counts));
  });
}

test('round-robin, the default, takes the units in turn', async () => {
  const client = await mesh();
  const dest = client.destination('svc');
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push((await dest.request('work', null)).data as string);
  assert.deepEqual(names.slice(0, 3).sort(), ['fast-1', 'fast-2', 'slow']);
  assert.deepEqual(names.slice(3), names.slice(0, 3));
});

test('a bad strategy throws at the call, naming the option', () => {
  const client = newPeer();
  assert.throws(() => client.destination('x', { balance: 'random' as never }), /options\.balance/);
});
