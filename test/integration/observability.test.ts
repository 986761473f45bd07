import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { Readable } from 'node:stream';
import { type Context } from '../../src';
import { closeAll, connectedPair, delay, eventually, listeningPeer, newPeer, rejectionOf, urlOf, waitFor } from '../helpers/peers';

// Tracing through node:diagnostics_channel and the counters of peer.stats() / unit.stats().

after(closeAll);

function collect(name: string): { seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const listener = (message: unknown): void => void seen.push(message);
  diagnostics_channel.subscribe(name, listener);
  return { seen, stop: () => diagnostics_channel.unsubscribe(name, listener) };
}

test('the roletalk:request TracingChannel sees start, end, asyncStart, asyncEnd and error with role, event, unit and connection', async () => {
  const { client, unit } = await connectedPair({
    setup: (server) => {
      server.role('svc').onRequest('ok', () => 'fine');
      server.role('svc').onRequest('no', () => {
        throw new Error('refused');
      });
    },
  });
  const events: Array<[string, Record<string, unknown>]> = [];
  const channel = diagnostics_channel.tracingChannel('roletalk:request');
  const handlers = {
    start: (m: unknown) => events.push(['start', { ...(m as object) }]),
    end: (m: unknown) => events.push(['end', { ...(m as object) }]),
    asyncStart: (m: unknown) => events.push(['asyncStart', { ...(m as object) }]),
    asyncEnd: (m: unknown) => events.push(['asyncEnd', { ...(m as object) }]),
    error: (m: unknown) => events.push(['error', { ...(m as object) }]),
  };
  channel.subscribe(handlers);
  try {
    const dest = client.destination('svc');
    await dest.request('ok', null);
    await rejectionOf(dest.request('no', null));
  } finally {
    channel.unsubscribe(handlers);
  }
  const kinds = events.map(([kind]) => kind);
  assert.deepEqual(kinds.slice(0, 4), ['start', 'end', 'asyncStart', 'asyncEnd']);
  assert.deepEqual(kinds.slice(4), ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
  const [, start] = events[0]!;
  assert.equal(start.role, 'svc');
  assert.equal(start.event, 'ok');
  assert.equal(start.unitId, unit.id);
  const [, asyncEnd] = events[3]!;
  assert.equal(asyncEnd.connectionId, unit.connections[0]!.id);
  assert.equal((asyncEnd.result as Context).data, 'fine');
  const [, error] = events[6]!;
  assert.equal((error.error as Error).message, 'refused');
  // Unsubscribed: nothing more is published.
  await client.destination('svc').request('ok', null);
  assert.equal(events.length, 9);
});

test('plain channels: handled requests, messages, connections, handshakes and streams', async () => {
  const handled = collect('roletalk:request:handled');
  const messages = collect('roletalk:message');
  const opened = collect('roletalk:connection:open');
  const closed = collect('roletalk:connection:close');
  const handshakes = collect('roletalk:handshake');
  const streamsOpen = collect('roletalk:stream:open');
  const streamsClosed = collect('roletalk:stream:close');
  try {
    const server = await listeningPeer({ name: 'server' });
    server.role('svc').onRequest('ok', () => 'fine');
    server.role('svc').onMessage('note', () => {});
    server.role('svc').onWritable('download', (ctx: Context) => {
      Readable.from([Buffer.from('abc')]).pipe(ctx.writable!);
      return null;
    });
    const client = newPeer({ name: 'client' });
    const { unit } = await client.connect(urlOf(server));
    const dest = client.destination('svc');
    await dest.request('ok', 1);
    dest.send('note', 2);
    for await (const chunk of dest.Readable('download', null)) void chunk;
    await eventually(() => handled.seen.length === 1 && messages.seen.length === 1 && streamsClosed.seen.length === 2);
    assert.deepEqual(handled.seen[0], { role: 'svc', event: 'ok', unitId: client.id, ok: true, error: undefined });
    assert.deepEqual(messages.seen[0], { role: 'svc', event: 'note', unitId: client.id });
    assert.equal(opened.seen.length, 2, 'one open on each side');
    assert.equal(handshakes.seen.filter((h) => (h as { ok: boolean }).ok).length, 2);
    assert.deepEqual(
      streamsOpen.seen.map((s) => (s as { side: string; kind: string }).side + ':' + (s as { kind: string }).kind).sort(),
      ['handler:writable', 'requester:readable'],
    );
    unit.close();
    await eventually(() => closed.seen.length === 2);
    assert.equal((closed.seen[0] as { code: number }).code, 4000);
    const stranger = newPeer().addPresharedKey('k', 'v');
    await rejectionOf(stranger.connect(urlOf(server), { permanent: false }));
    await eventually(() => handshakes.seen.some((h) => (h as { ok: boolean }).ok === false));
  } finally {
    for (const c of [handled, messages, opened, closed, handshakes, streamsOpen, streamsClosed]) c.stop();
  }
});

test('stats: requests, failures by code, messages, traffic and RTT per connection; totals keep the units gone', async () => {
  const { server, client, unit } = await connectedPair({
    setup: (server) => {
      server.role('svc').onRequest('ok', () => 'fine');
      server.role('svc').onRequest('no', () => {
        throw new Error('refused');
      });
      server.role('svc').onRequest('hang', () => new Promise(() => {}));
      server.role('svc').onMessage('note', () => {});
    },
  });
  const dest = client.destination('svc');
  for (let i = 0; i < 5; i++) await dest.request('ok', i);
  await rejectionOf(dest.request('no', null));
  await rejectionOf(dest.request({ event: 'hang', timeout: 20 }, null));
  const hanging = dest.request('hang', null).catch(() => undefined);
  for (let i = 0; i < 3; i++) dest.send('note', i);
  await delay(30);
  const stats = client.stats();
  assert.equal(stats.requests.completed, 5);
  assert.deepEqual(stats.requests.failed, { RT_ERR_REJECTED: 1, RT_ERR_REQUEST_TIMEOUT: 1 });
  assert.equal(stats.requests.inFlight, 1);
  assert.equal(stats.messages.out, 3);
  assert.ok(stats.traffic.framesOut >= 11 && stats.traffic.bytesOut > 0 && stats.traffic.framesIn >= 6);
  const u = unit.stats();
  assert.equal(u.id, server.id);
  assert.equal(u.connections.length, 1);
  assert.equal(typeof u.connections[0]!.rtt, 'number');
  assert.equal(typeof u.connections[0]!.bufferedAmount, 'number');
  await eventually(() => server.stats().messages.in === 3 && server.stats().handled === 6);
  // The unit leaves: its counts stay in the totals, and only grow.
  const closed = waitFor(unit, 'close');
  unit.close();
  await closed;
  await hanging;
  const after = client.stats();
  assert.equal(after.units.length, 0);
  assert.equal(after.requests.completed, 5);
  assert.equal(after.requests.failed.RT_ERR_UNIT_CLOSED, 1);
  assert.ok(after.traffic.framesOut >= stats.traffic.framesOut);
});
