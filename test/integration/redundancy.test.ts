import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { UnitClosedError, type Context, type Peer, type Unit } from '../../src';
import { closeAll, delay, eventually, listeningPeer, newPeer, RawServer, urlOf, waitFor, within } from '../helpers/peers';

// Redundant connections (docs/protocol.md §1, §8): several connections to one peer are one unit.

after(closeAll);

/** A server and a client joined by `n` connections that are not redialed when they close. */
async function joined(n: number, setup?: (server: Peer) => void): Promise<{ server: Peer; client: Peer; unit: Unit; remote: Unit }> {
  const server = await listeningPeer({ name: 'server' });
  setup?.(server);
  const client = newPeer({ name: 'client' });
  const units: Unit[] = [];
  for (let i = 0; i < n; i++) units.push((await client.connect(urlOf(server), { permanent: false })).unit);
  for (const u of units) assert.equal(u, units[0], 'every connection joins the same unit');
  await eventually(() => server.units.length === 1 && server.units[0]!.connections.length === n, 3000, 'server side joined');
  return { server, client, unit: units[0]!, remote: server.units[0]! };
}

test('two connects to the same peer join one unit with two connections', async () => {
  const server = await listeningPeer();
  server.role('svc');
  const unitEvents: Unit[] = [];
  server.on('unit', (u: Unit) => unitEvents.push(u));
  const client = newPeer();
  const clientUnits: Unit[] = [];
  client.on('unit', (u: Unit) => clientUnits.push(u));
  const first = await client.connect(urlOf(server));
  const second = await client.connect(urlOf(server));
  assert.equal(first.unit, second.unit);
  assert.notEqual(first.ws, second.ws);
  assert.equal(client.units.length, 1);
  assert.equal(first.unit.connections.length, 2);
  const [a, b] = first.unit.connections;
  assert.notEqual(a!.id, b!.id);
  assert.ok(a!.outbound && b!.outbound);
  assert.equal(typeof a!.bufferedAmount, 'number');
  assert.match(a!.remoteAddress, /127\.0\.0\.1:\d+/);
  await eventually(() => server.units[0]?.connections.length === 2);
  assert.ok(server.units[0]!.connections.every((c) => !c.outbound));
  assert.equal(unitEvents.length, 1, 'one unit event on the server');
  assert.equal(clientUnits.length, 1, 'one unit event on the client');
  assert.deepEqual(client.destination('svc').units, [first.unit], 'the destination lists the unit once');
});

test('frames are spread over both connections', async () => {
  const raw = await RawServer.start({ roles: ['raw'] });
  const client = newPeer();
  const { unit } = await client.connect(raw.url);
  await client.connect(raw.url);
  assert.equal(unit.connections.length, 2);
  const dest = client.destination('raw');
  // A burst in one tick, then one message per tick.
  for (let i = 0; i < 200; i++) dest.send('note', Buffer.alloc(512, i));
  for (let i = 0; i < 200; i++) {
    dest.send('note', i);
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Requests too (the raw server never answers them).
  for (let i = 0; i < 100; i++) dest.request({ event: 'q', timeout: 50 }, i).catch(() => {});
  await eventually(() => raw.frames[0]!.length + raw.frames[1]!.length === 500, 3000, 'every frame received');
  const count = (pick: (f: Buffer) => boolean): number[] => raw.frames.map((list) => list.filter(pick).length);
  const burst = count((f) => f[0] === 100 && f.length > 500);
  const perTick = count((f) => f[0] === 100 && f.length < 500);
  const requests = count((f) => f[0] === 101);
  // One send per tick: the idle connections take turns.
  assert.ok(Math.min(...perTick) >= 80, `one-per-tick messages per connection: ${perTick.join(' and ')}`);
  // Bursts go to the least busy connection (bytes not yet written to the socket), so both take
  // part; a connection whose corked batch is not full yet counts as busy until the tick ends.
  assert.ok(Math.min(...burst) >= 10, `burst messages per connection: ${burst.join(' and ')}`);
  assert.ok(Math.min(...requests) >= 5, `burst requests per connection: ${requests.join(' and ')}`);
  await delay(60);
});

for (const side of ['client', 'server'] as const) {
  test(`closing one of two connections (${side} side) while 1000 requests are in flight: 0 lost, 0 answered twice`, async () => {
    const handled = new Map<number, number>();
    const { client, unit, remote } = await joined(2, (server) => {
      server.role('svc').onRequest('slow', async (ctx: Context) => {
        const n = ctx.data as number;
        handled.set(n, (handled.get(n) ?? 0) + 1);
        await delay(n % 20);
        return n;
      });
    });
    const dest = client.destination('svc');
    const outcomes = new Map<number, unknown>();
    const errors: Error[] = [];
    const all = Array.from({ length: 1000 }, (_, i) =>
      dest.request('slow', i).then(
        (ctx) => {
          if (outcomes.has(i)) throw new Error(`request ${i} answered twice`);
          outcomes.set(i, ctx.data);
        },
        (err: Error) => {
          errors.push(err);
        },
      ),
    );
    // Let part of them be answered, then close one connection with most still under way.
    await eventually(() => outcomes.size >= 50, 5000, 'first answers');
    assert.ok(outcomes.size < 1000);
    const conns = side === 'client' ? unit.connections : remote.connections;
    conns[0]!.close();
    await within(Promise.all(all), 10_000, 'every request settled');
    assert.deepEqual(errors.map((e) => e.message), []);
    assert.equal(outcomes.size, 1000);
    for (let i = 0; i < 1000; i++) assert.equal(outcomes.get(i), i, `answer of ${i}`);
    assert.equal(handled.size, 1000);
    assert.ok([...handled.values()].every((n) => n === 1), 'each request handled once');
    // The unit lives on over the other connection.
    await eventually(() => unit.connections.length === 1);
    assert.equal(client.units.length, 1);
    assert.equal(dest.ready, true);
    assert.equal((await dest.request('slow', 3)).data, 3);
    assert.equal(unit.pending.size, 0);
  });
}

test('losing the last connection fails every pending request at once with UnitClosedError', async () => {
  const { client, unit, remote } = await joined(2, (server) => {
    server.role('svc').onRequest('never', () => new Promise(() => {}));
  });
  const dest = client.destination('svc');
  const pending = Array.from({ length: 20 }, (_, i) => dest.request('never', i).then(
    () => assert.fail('answered'),
    (err: Error) => err,
  ));
  await delay(20);
  const unitClosed = waitFor(unit, 'close');
  const destClosed = waitFor(dest, 'close');
  // The first loss fails nothing.
  remote.connections[0]!.terminate();
  await eventually(() => unit.connections.length === 1);
  assert.equal(unit.pending.size, 20);
  const started = Date.now();
  remote.connections[0]!.terminate();
  const errors = await within(Promise.all(pending), 1000, 'pending requests failing');
  assert.ok(Date.now() - started < 500);
  for (const err of errors) {
    assert.ok(err instanceof UnitClosedError, err.constructor.name);
    assert.equal(err.code, 'RT_ERR_UNIT_CLOSED');
  }
  await unitClosed;
  await destClosed;
  assert.equal(client.units.length, 0);
  assert.equal(dest.ready, false);
  assert.equal(unit.pending.size, 0);
  // A request to a closed unit fails at once.
  const err = await unit.request('svc', 'never', null).catch((e: Error) => e);
  assert.ok(err instanceof UnitClosedError);
});

test('a unit over two connections survives either one closing, from either side', async () => {
  const { client, unit, remote } = await joined(3, (server) => {
    server.role('svc').onRequest('ping', () => 'pong');
  });
  const closes: number[] = [];
  unit.on('close', () => closes.push(1));
  unit.connections[0]!.close(4000, 'bye');
  await eventually(() => unit.connections.length === 2);
  // Both sides must have seen that close, or the server could pick the closed one below.
  await eventually(() => remote.connections.length === 2);
  remote.connections[0]!.terminate();
  await eventually(() => unit.connections.length === 1);
  assert.equal((await client.destination('svc').request('ping', null)).data, 'pong');
  assert.deepEqual(closes, []);
  assert.equal(client.units.length, 1);
});
