import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RejectedError, UnitClosedError, type Context, type Peer } from '../../src';
import { closeAll, listeningPeer, newPeer, urlOf, waitFor, delay, eventually, within } from '../helpers/peers';

// Survey, broadcast and round-robin over several units of one role (docs/protocol.md §4).

after(closeAll);

/** `n` listening peers serving role `svc`, and a client connected to all of them. */
async function mesh(n: number): Promise<{ servers: Peer[]; client: Peer }> {
  const servers: Peer[] = [];
  for (let i = 0; i < n; i++) {
    const server = await listeningPeer({ name: `s${i}` });
    const role = server.role('svc');
    role.onRequest('who', (ctx) => `${server.name}:${ctx.data as string}`);
    role.onRequest('fail-on-s1', () => {
      if (server.name === 's1') throw new Error('s1 refuses');
      return server.name;
    });
    role.onMessage('note', (ctx) => server.emit('note', ctx.data));
    servers.push(server);
  }
  const client = newPeer({ name: 'client' });
  for (const server of servers) await client.connect(urlOf(server));
  assert.equal(client.destination('svc').units.length, n);
  return { servers, client };
}

test('survey asks every unit and calls back once per unit', async () => {
  const { servers, client } = await mesh(3);
  const answers: Array<{ err: Error | null; ctx?: Context }> = [];
  const all = new Promise<void>((resolve) => {
    const asked = client.destination('svc').survey('who', 'q', (err, ctx) => {
      answers.push({ err, ctx });
      if (answers.length === 3) resolve();
    });
    assert.equal(asked, 3);
  });
  await all;
  await delay(20);
  assert.equal(answers.length, 3, 'exactly one callback per unit');
  assert.ok(answers.every((a) => a.err === null));
  assert.deepEqual(answers.map((a) => a.ctx!.data).sort(), ['s0:q', 's1:q', 's2:q']);
  assert.deepEqual(
    answers.map((a) => a.ctx!.unit.id).sort(),
    servers.map((s) => s.id).sort(),
  );
});

test('survey reports a failing unit through its callback and the others as answers', async () => {
  const { client } = await mesh(3);
  const outcomes: string[] = [];
  await new Promise<void>((resolve) => {
    client.destination('svc').survey('fail-on-s1', null, (err, ctx) => {
      // A failure comes with its context too (1.1.x): which unit refused, and why.
      outcomes.push(err ? `error:${err.message}:${err instanceof RejectedError}:${ctx!.unit.name}:${ctx!.data as string}` : `ok:${ctx!.data as string}`);
      if (outcomes.length === 3) resolve();
    });
  });
  assert.deepEqual(outcomes.sort(), ['error:s1 refuses:true:s1:s1 refuses', 'ok:s0', 'ok:s2']);

  const all = await client.destination('svc').surveyAll('who', 'x');
  assert.equal(all.length, 3);
  assert.deepEqual(all.map((r) => r.ctx?.data).sort(), ['s0:x', 's1:x', 's2:x']);
});

test('broadcast sends one message to every unit', async () => {
  const { servers, client } = await mesh(4);
  const received = new Map<string, unknown[]>();
  for (const s of servers) s.on('note', (d) => received.set(s.name, [...(received.get(s.name) ?? []), d]));
  assert.equal(client.destination('svc').broadcast('note', { n: 1 }), 4);
  assert.equal(client.destination('svc').broadcast({ event: 'note' }, 'second'), 4);
  await eventually(() => [...received.values()].reduce((a, l) => a + l.length, 0) === 8, 3000, 'all broadcasts');
  await delay(20);
  for (const s of servers) assert.deepEqual(received.get(s.name), [{ n: 1 }, 'second'], s.name);
});

test('requests and messages go round-robin over the units', async () => {
  const { servers, client } = await mesh(3);
  const dest = client.destination('svc');
  const counts = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    const from = ((await dest.request('who', 'rr')).data as string).split(':')[0]!;
    counts.set(from, (counts.get(from) ?? 0) + 1);
  }
  assert.deepEqual([...counts.values()], [10, 10, 10]);

  // Concurrent requests are spread the same way.
  const concurrent = await Promise.all(Array.from({ length: 60 }, () => dest.request('who', 'c')));
  const spread = new Map<string, number>();
  for (const ctx of concurrent) spread.set(ctx.unit.id, (spread.get(ctx.unit.id) ?? 0) + 1);
  assert.deepEqual([...spread.values()], [20, 20, 20]);

  const notes = new Map<string, number>();
  for (const s of servers) s.on('note', () => notes.set(s.name, (notes.get(s.name) ?? 0) + 1));
  const used = new Set<string>();
  for (let i = 0; i < 9; i++) used.add(dest.send('note', i)!.id);
  assert.equal(used.size, 3);
  await eventually(() => [...notes.values()].reduce((a, b) => a + b, 0) === 9);
  assert.deepEqual([...notes.values()], [3, 3, 3]);
});

test('a unit that leaves is no longer asked; one that joins is', async () => {
  const { servers, client } = await mesh(2);
  const dest = client.destination('svc');
  const closed = waitFor(client.units.find((u) => u.id === servers[0]!.id)!, 'close');
  await servers[0]!.close();
  await closed;
  assert.equal(dest.units.length, 1);
  for (let i = 0; i < 4; i++) assert.equal(((await dest.request('who', '')).data as string).split(':')[0], 's1');

  const late = await listeningPeer({ name: 'late' });
  late.role('svc').onRequest('who', () => 'late:');
  const joined = waitFor(dest, 'unit');
  await client.connect(urlOf(late));
  await joined;
  let asked = 0;
  await new Promise<void>((resolve) =>
    dest.survey('who', '', () => {
      if (++asked === 2) resolve();
    }),
  );
  assert.equal(asked, 2);
});

test('request and send with an explicit unit go to that unit only', async () => {
  const { servers, client } = await mesh(3);
  const dest = client.destination('svc');
  const target = dest.units.find((u) => u.id === servers[2]!.id)!;
  for (let i = 0; i < 5; i++) {
    const ctx = await dest.request({ event: 'who', unit: target }, 'x');
    assert.equal(ctx.data, 's2:x');
    assert.equal(ctx.unit, target);
  }
  const notes: string[] = [];
  for (const s of servers) s.on('note', () => notes.push(s.name));
  for (let i = 0; i < 3; i++) assert.equal(dest.send({ event: 'note', unit: target }, i), target);
  await eventually(() => notes.length === 3);
  await delay(20);
  assert.deepEqual(notes, ['s2', 's2', 's2']);
});

test('a unit that goes away during a survey is reported through its callback', async () => {
  const { servers, client } = await mesh(2);
  servers[0]!.role('svc').onRequest('hang', () => new Promise(() => {}));
  servers[1]!.role('svc').onRequest('hang', () => 'answered');
  const outcomes: string[] = [];
  const done = new Promise<void>((resolve) => {
    client.destination('svc').survey('hang', null, (err, ctx) => {
      outcomes.push(err ? `${err.constructor.name}` : String(ctx!.data));
      if (outcomes.length === 2) resolve();
    });
  });
  await eventually(() => outcomes.length === 1);
  await servers[0]!.close();
  await within(done, 2000, 'the second callback');
  assert.deepEqual(outcomes, ['answered', UnitClosedError.name]);
});
