import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidArgumentError,
  NoUnitError,
  RejectedError,
  RequestTimeoutError,
  type RoletalkError,
  type Context,
  type Peer,
  type Unit,
} from '../../src';
import { closeAll, connectedPair, delay, newPeer, rejectionOf, urlOf, waitFor, listeningPeer, within } from '../helpers/peers';

// Requests and messages of docs/protocol.md §3 and §4 between two real peers on 127.0.0.1.

after(closeAll);

/** Both peers serve `echo` (replies with the data) and `describe` (how the data arrived). */
function serveEcho(peer: Peer): void {
  const role = peer.role('echo');
  role.onRequest('echo', (ctx: Context) => ctx.data);
  role.onRequest('describe', (ctx: Context) => ({
    type: ctx.type,
    raw: ctx.origin.raw.toString('hex'),
    originType: ctx.origin.type,
    role: ctx.role,
    event: ctx.event,
    from: ctx.unit.id,
  }));
  role.onMessage('note', (ctx: Context) => {
    peer.emit('note', { type: ctx.type, data: ctx.data, raw: Buffer.from(ctx.origin.raw) });
  });
}

let shared: Promise<{ server: Peer; client: Peer; unit: Unit; remote: Unit }> | undefined;
/** One pair for the tests that only exchange data. */
function echoPair(): Promise<{ server: Peer; client: Peer; unit: Unit; remote: Unit }> {
  shared ??= connectedPair({
    setup: (server, client) => {
      serveEcho(server);
      serveEcho(client);
      server.destination('echo');
      client.destination('echo');
    },
  });
  return shared;
}

interface Case {
  name: string;
  value: unknown;
  type: string;
  /** What the receiver sees (defaults to `value`). */
  expect?: unknown;
  /** The bytes after the datatype byte, as hex. */
  raw?: string;
  /** The echo's type and raw bytes when they differ from the request's (a Date comes back a string). */
  echo?: { type: string; raw: string };
}

const hex = (s: string): string => Buffer.from(s).toString('hex');
const nested = { a: 1, b: 'two', c: [1, 2, 3], d: { e: null, f: [{ g: [[]] }] }, 'ключ': 'значение ✓' };

const cases: Case[] = [
  { name: 'binary', value: Buffer.from([0, 1, 0x7f, 0x80, 0xff]), type: 'binary', raw: '00017f80ff' },
  { name: 'empty binary', value: Buffer.alloc(0), type: 'binary', raw: '' },
  { name: 'null', value: null, type: 'null', raw: '' },
  { name: 'undefined', value: undefined, type: 'null', expect: null, raw: '' },
  { name: 'true', value: true, type: 'boolean', raw: '01' },
  { name: 'false', value: false, type: 'boolean', raw: '00' },
  { name: 'string', value: 'hello', type: 'string', raw: hex('hello') },
  { name: 'empty string', value: '', type: 'string', raw: '' },
  { name: 'unicode string', value: 'héllo wörld ✓ 😀 Привет', type: 'string', raw: hex('héllo wörld ✓ 😀 Привет') },
  { name: 'zero', value: 0, type: 'number', raw: hex('0') },
  { name: 'negative zero', value: -0, type: 'number', expect: 0, raw: hex('0') },
  { name: 'integer', value: 42, type: 'number', raw: hex('42') },
  { name: 'negative', value: -7, type: 'number', raw: hex('-7') },
  { name: 'float', value: 3.14159, type: 'number', raw: hex('3.14159') },
  { name: '0.1+0.2', value: 0.1 + 0.2, type: 'number', raw: hex('0.30000000000000004') },
  { name: '1e21', value: 1e21, type: 'number', raw: hex('1e+21') },
  { name: '1e-7', value: 1e-7, type: 'number', raw: hex('1e-7') },
  { name: 'MAX_SAFE_INTEGER + 2', value: Number.MAX_SAFE_INTEGER + 2, type: 'number', raw: hex('9007199254740992') },
  { name: 'NaN', value: NaN, type: 'number', raw: hex('NaN') },
  { name: 'Infinity', value: Infinity, type: 'number', raw: hex('Infinity') },
  { name: '-Infinity', value: -Infinity, type: 'number', raw: hex('-Infinity') },
  { name: 'object', value: { x: 1, y: 'z' }, type: 'object', raw: hex('{"x":1,"y":"z"}') },
  { name: 'empty object', value: {}, type: 'object', raw: hex('{}') },
  { name: 'array', value: [1, 'x', null, true], type: 'object', raw: hex('[1,"x",null,true]') },
  { name: 'empty array', value: [], type: 'object', raw: hex('[]') },
  { name: 'nested object', value: nested, type: 'object', raw: hex(JSON.stringify(nested)) },
  { name: 'array with undefined', value: [1, undefined, 3], type: 'object', expect: [1, null, 3], raw: hex('[1,null,3]') },
  { name: 'object with undefined', value: { a: undefined, b: 1 }, type: 'object', expect: { b: 1 }, raw: hex('{"b":1}') },
  {
    name: 'date',
    value: new Date(0),
    type: 'object',
    expect: '1970-01-01T00:00:00.000Z',
    raw: hex('"1970-01-01T00:00:00.000Z"'),
    echo: { type: 'string', raw: hex('1970-01-01T00:00:00.000Z') },
  },
];

function assertSame(actual: unknown, expected: unknown, what: string): void {
  if (typeof expected === 'number') {
    assert.equal(typeof actual, 'number', what);
    assert.ok(Object.is(actual, expected), `${what}: ${String(actual)} is not ${String(expected)}`);
  } else if (Buffer.isBuffer(expected)) {
    assert.ok(Buffer.isBuffer(actual), `${what}: not a Buffer`);
    assert.equal((actual as Buffer).toString('hex'), expected.toString('hex'), what);
  } else {
    assert.deepEqual(actual, expected, what);
  }
}

test('every datatype is echoed both ways with its type and raw bytes', async () => {
  const { server, client } = await echoPair();
  for (const [from, to] of [
    [client, server],
    [server, client],
  ] as const) {
    const dest = from.destination('echo');
    for (const c of cases) {
      const expected = 'expect' in c ? c.expect : c.value;
      const echoed = await dest.request('echo', c.value);
      assert.equal(echoed.type, c.echo?.type ?? c.type, `${c.name}: echoed type`);
      assertSame(echoed.data, expected, `${c.name}: echoed data`);
      assert.equal(echoed.origin.type, echoed.type);
      assert.equal(echoed.origin.raw.toString('hex'), c.echo?.raw ?? c.raw, `${c.name}: echoed raw`);

      const seen = (await dest.request('describe', c.value)).data as Record<string, unknown>;
      assert.equal(seen.type, c.type, `${c.name}: type seen by the handler`);
      assert.equal(seen.originType, c.type);
      assert.equal(seen.raw, c.raw, `${c.name}: raw seen by the handler`);
      assert.equal(seen.role, 'echo');
      assert.equal(seen.event, 'describe');
      assert.equal(seen.from, from.id, 'ctx.unit is the requester');
      void to;
    }
  }
});

test('every datatype arrives by message both ways', async () => {
  const { server, client } = await echoPair();
  for (const [from, to] of [
    [client, server],
    [server, client],
  ] as const) {
    const dest = from.destination('echo');
    for (const c of cases) {
      const got = waitFor<[{ type: string; data: unknown; raw: Buffer }]>(to, 'note');
      assert.ok(dest.send('note', c.value), 'send returns the unit used');
      const [seen] = await got;
      assert.equal(seen.type, c.type, `${c.name}: message type`);
      assertSame(seen.data, 'expect' in c ? c.expect : c.value, `${c.name}: message data`);
      assert.equal(seen.raw.toString('hex'), c.raw, `${c.name}: message raw`);
    }
  }
});

test('a response context carries unit, role, event and a round-trip time', async () => {
  const { client, unit } = await echoPair();
  const ctx = await client.destination('echo').request('echo', 'x');
  assert.equal(ctx.unit, unit);
  assert.equal(ctx.role, 'echo');
  assert.equal(ctx.event, 'echo');
  assert.equal(typeof ctx.rtt, 'number');
  assert.ok(ctx.rtt! >= 0 && ctx.rtt! < 5000);
});

test('request handler styles: reply callback, return value, async return, thrown, rejected, string error', async () => {
  const { server, client } = await connectedPair();
  const role = server.role('styles');
  role.onRequest('callback', (ctx, reply) => reply(null, `cb:${ctx.data as string}`));
  role.onRequest('callback-later', (_ctx, reply) => {
    setTimeout(() => reply(null, 'later'), 5);
  });
  role.onRequest('async-callback', async (_ctx, reply) => {
    await delay(5);
    reply(null, 'async-cb');
  });
  role.onRequest('return', (ctx) => `ret:${ctx.data as string}`);
  role.onRequest('return-undefined', () => undefined);
  role.onRequest('async-return', async (ctx) => {
    await delay(5);
    return { got: ctx.data };
  });
  role.onRequest('throw', () => {
    throw new Error('thrown here');
  });
  role.onRequest('reject', async () => {
    await delay(1);
    throw new Error('rejected here');
  });
  role.onRequest('callback-error', (_ctx, reply) => reply(new Error('callback error')));
  role.onRequest('string-error', (_ctx, reply) => reply('plain reason'));
  role.onRequest('object-error', (_ctx, reply) => reply({ code: 42 }));
  role.onRequest('throw-string', () => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    throw 'a thrown string';
  });
  role.onRequest('twice', (_ctx, reply) => {
    reply(null, 'first');
    reply(null, 'second');
    reply(new Error('third'));
  });
  role.onRequest('reply-and-return', (_ctx, reply) => {
    reply(null, 'replied');
    return 'returned';
  });
  const calls = new Map<string, number>();
  server.onRequest((ctx) => {
    calls.set(ctx.event, (calls.get(ctx.event) ?? 0) + 1);
  });
  await waitFor(client.destination('styles'), 'open');
  const dest = client.destination('styles');

  assert.equal((await dest.request('callback', 'a')).data, 'cb:a');
  assert.equal((await dest.request('callback-later', null)).data, 'later');
  assert.equal((await dest.request('async-callback', null)).data, 'async-cb');
  assert.equal((await dest.request('return', 'b')).data, 'ret:b');
  const undef = await dest.request('return-undefined', 1);
  assert.equal(undef.type, 'null');
  assert.equal(undef.data, null);
  assert.deepEqual((await dest.request('async-return', [1])).data, { got: [1] });

  for (const [event, message] of [
    ['throw', 'thrown here'],
    ['reject', 'rejected here'],
    ['callback-error', 'callback error'],
    ['string-error', 'plain reason'],
    ['object-error', '[object Object]'],
    ['throw-string', 'a thrown string'],
  ] as const) {
    const err = await rejectionOf(dest.request(event, null));
    assert.ok(err instanceof RejectedError, `${event}: ${err.constructor.name}`);
    assert.equal(err.code, 'RT_ERR_REJECTED');
    assert.equal(err.message, message, event);
  }

  assert.equal((await dest.request('twice', null)).data, 'first');
  assert.equal((await dest.request('reply-and-return', null)).data, 'replied');
  // One more request after the multi-reply handlers: had a second answer gone out, it would
  // be an answer to an unknown correlation id, ignored; this one gets its own answer.
  assert.equal((await dest.request('return', 'c')).data, 'ret:c');
  assert.equal(calls.get('twice'), 1);
});

test('automatic rejections carry the exact texts of §4', async () => {
  const { server, client, unit } = await connectedPair({
    setup: (server) => {
      server.role('svc').onRequest('echo', (ctx) => ctx.data);
      server.role('dormant', false).onRequest('echo', (ctx) => ctx.data);
    },
  });
  void server;
  const svc = client.destination('svc');
  let err = await rejectionOf(svc.request('nothere', 1));
  assert.ok(err instanceof RejectedError);
  assert.equal(err.message, 'The event "nothere" is not handled');

  // A role the remote does not list is still asked when the unit is named (as the original).
  assert.equal(client.destination('dormant').ready, false);
  err = await rejectionOf(client.destination('dormant').request({ event: 'echo', unit }, 1));
  assert.ok(err instanceof RejectedError);
  assert.equal(err.code, 'RT_ERR_REJECTED');
  assert.equal(err.message, 'The role "dormant" is disabled');

  err = await rejectionOf(client.destination('ghost').request({ event: 'echo', unit }, 1));
  assert.equal(err.message, 'The role "ghost" is not registered');

  // Unicode names come back intact.
  err = await rejectionOf(client.destination('рольä').request({ event: 'x', unit }, 1));
  assert.equal(err.message, 'The role "рольä" is not registered');
});

test('a request that gets no answer times out with RequestTimeoutError', async () => {
  const { server, client } = await connectedPair({
    client: { requestTimeout: 60 },
    setup: (server) => {
      server.role('slow').onRequest('never', () => new Promise(() => {}));
      server.role('slow').onRequest('late', async () => {
        await delay(120);
        return 'too late';
      });
      server.role('slow').onRequest('fast', () => 'fast');
    },
  });
  void server;
  const slow = client.destination('slow');
  const started = Date.now();
  let err = await rejectionOf(slow.request({ event: 'never', timeout: 40 }, null));
  assert.ok(err instanceof RequestTimeoutError, err.constructor.name);
  assert.equal(err.code, 'RT_ERR_REQUEST_TIMEOUT');
  assert.ok(Date.now() - started >= 35);

  // The peer's requestTimeout is the default; the late answer is ignored when it comes.
  err = await rejectionOf(slow.request('late', null));
  assert.ok(err instanceof RequestTimeoutError);
  await delay(100);
  assert.equal((await slow.request('fast', null)).data, 'fast');
  // No request is left waiting.
  assert.equal(client.units[0]!.pending.size, 0);
});

test('mixed timeouts: each request expires at its own time; timeout 0 or Infinity never expires', async () => {
  let release = (): void => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { client } = await connectedPair({
    setup: (server) => {
      server.role('slow').onRequest('never', () => new Promise(() => {}));
      server.role('slow').onRequest('gated', async () => {
        await gate;
        return 'released';
      });
      server.role('slow').onRequest('fast', () => 'fast');
    },
  });
  const slow = client.destination('slow');
  /** Milliseconds from the call to the RequestTimeoutError. */
  const timing = async (timeout: number): Promise<number> => {
    const started = performance.now();
    const err = await rejectionOf(slow.request({ event: 'never', timeout }, null));
    assert.ok(err instanceof RequestTimeoutError, err.constructor.name);
    return performance.now() - started;
  };
  const unlimited = [slow.request({ event: 'gated', timeout: 0 }, null), slow.request({ event: 'gated', timeout: Infinity }, null)];
  const timings: Array<Promise<number>> = [];
  const answered: Array<Promise<Context>> = [];
  for (let i = 0; i < 10; i++) {
    timings.push(timing(i % 2 === 0 ? 500 : 50));
    // Answered requests between them leave settled entries in the queues.
    answered.push(slow.request({ event: 'fast', timeout: i % 2 === 0 ? 50 : 500 }, null));
    if (i === 4) await delay(20);
  }
  for (const ctx of await Promise.all(answered)) assert.equal(ctx.data, 'fast');
  const elapsed = await Promise.all(timings);
  for (const [i, ms] of elapsed.entries()) {
    const timeout = i % 2 === 0 ? 500 : 50;
    // Never early; late only by what a loaded machine adds to a timer.
    assert.ok(ms >= timeout - 1 && ms < timeout + 250, `request ${i} (timeout ${timeout}) expired after ${ms.toFixed(1)} ms`);
  }
  // The requests without a limit still wait, and are answered.
  await delay(100);
  assert.equal(client.units[0]!.pending.size, 2);
  release();
  for (const ctx of await Promise.all(unlimited)) assert.equal(ctx.data, 'released');
  assert.equal(client.units[0]!.pending.size, 0);
});

test('NoUnitError is thrown at once when no unit serves the role; send returns undefined', async () => {
  const { client } = await connectedPair();
  const nobody = client.destination('nobody');
  assert.equal(nobody.ready, false);
  assert.throws(() => nobody.request('x', 1), (err: Error & { code?: string }) => err instanceof NoUnitError && err.code === 'RT_ERR_NO_UNIT');
  assert.throws(() => nobody.request('x', 1, () => {}), NoUnitError);
  assert.equal(nobody.send('x', 1), undefined);
  const [sendErr] = await new Promise<[Error | undefined]>((resolve) => nobody.send('x', 1, (e) => resolve([e])));
  assert.ok(sendErr instanceof NoUnitError);
  assert.equal(nobody.broadcast('x', 1), 0);
  let asked = 0;
  assert.equal(
    nobody.survey('x', 1, () => asked++),
    0,
  );
  await delay(10);
  assert.equal(asked, 0);
});

test('send with an explicit unit that is not in the destination returns undefined', async () => {
  const { client, unit } = await connectedPair({ setup: (server) => server.role('svc') });
  assert.equal(client.destination('other').send({ event: 'x', unit }, 1), undefined);
  assert.equal(client.destination('svc').send({ event: 'x', unit }, 1), unit);
});

test('callback form request(event, data, cb) gets (null, ctx) or (err, ctx) as 1.1.x does', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      server.role('cb').onRequest('ok', (ctx) => `ok:${ctx.data as string}`);
      server.role('cb').onRequest('fail', () => {
        throw new Error('nope');
      });
    },
  });
  const dest = client.destination('cb');
  const ok = await new Promise<[Error | null, Context | undefined]>((resolve) => dest.request('ok', 'x', (err, ctx) => resolve([err, ctx])));
  assert.equal(ok[0], null);
  assert.equal(ok[1]!.data, 'ok:x');
  // The returned Promise must not raise an unhandled rejection when a callback is given.
  const failed = await new Promise<[Error | null, Context | undefined]>((resolve) => dest.request('fail', 'x', (err, ctx) => resolve([err, ctx])));
  assert.ok(failed[0] instanceof RejectedError);
  assert.equal(failed[0].message, 'nope');
  // The rejection's context: the unit asked, the role and event, the reason as data.
  const ctx = failed[1]!;
  assert.equal(ctx.unit, client.units[0]);
  assert.equal(ctx.role, 'cb');
  assert.equal(ctx.event, 'fail');
  assert.equal(ctx.data, 'nope');
  assert.equal(typeof ctx.rtt, 'number');
  assert.equal((failed[0] as RejectedError).ctx, ctx, 'the same context is on the error');
});

test('a failed request carries its context on err.ctx: rejected, timed out and unit gone', async () => {
  const { server, client, unit } = await connectedPair({
    setup: (server) => {
      server.role('f').onRequest('no', () => {
        throw new Error('refused');
      });
      server.role('f').onRequest('hang', () => new Promise(() => {}));
    },
  });
  const dest = client.destination('f');
  const rejected = await rejectionOf(dest.request('no', 1));
  assert.ok(rejected instanceof RejectedError);
  assert.equal(rejected.ctx?.unit, unit);
  assert.equal(rejected.ctx?.event, 'no');
  assert.equal(rejected.ctx?.data, 'refused');

  const timedOut = await rejectionOf(dest.request({ event: 'hang', timeout: 30 }, 1));
  assert.ok(timedOut instanceof RequestTimeoutError);
  assert.equal(timedOut.ctx?.unit, unit);
  assert.equal(timedOut.ctx?.role, 'f');
  assert.equal(timedOut.ctx?.event, 'hang');
  assert.equal(timedOut.ctx?.data, null);
  assert.ok(timedOut.ctx!.rtt! >= 25);

  const lost = new Promise<[Error | null, Context | undefined]>((resolve) => dest.request('hang', 1, (err, ctx) => resolve([err, ctx])));
  await delay(20);
  await server.close();
  const [err, ctx] = await within(lost, 3000, 'the callback of a request to a unit that left');
  assert.equal((err as RoletalkError).code, 'RT_ERR_UNIT_CLOSED');
  assert.equal(ctx?.unit, unit);
  assert.equal(ctx?.event, 'hang');
  assert.equal(ctx?.data, null);
});

test('1000 concurrent requests each get their own answer', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      server.role('math').onRequest('square', async (ctx) => {
        const n = ctx.data as number;
        if (n % 3 === 0) await delay(1);
        return n * n;
      });
    },
  });
  const dest = client.destination('math');
  const results = await within(
    Promise.all(Array.from({ length: 1000 }, (_, i) => dest.request('square', i).then((c) => c.data))),
    10_000,
    '1000 requests',
  );
  results.forEach((r, i) => assert.equal(r, i * i));
});

test('messages to an unknown role, a disabled role or an unhandled event are dropped silently', async () => {
  const { server, client, unit } = await connectedPair({
    setup: (server) => {
      server.role('live').onMessage('note', (ctx) => server.emit('got', `live:${ctx.data as string}`));
      server.role('off', false).onMessage('note', (ctx) => server.emit('got', `off:${ctx.data as string}`));
    },
  });
  const got: string[] = [];
  server.on('got', (s: string) => got.push(s));
  const errors: unknown[] = [];
  server.on('error', (e) => errors.push(e));
  assert.equal(unit.send('ghost', 'note', 'a'), true);
  assert.equal(unit.send('off', 'note', 'b'), true);
  assert.equal(unit.send('live', 'other', 'c'), true);
  // Frames on one connection arrive in order: once this one is seen, the others were handled.
  const done = waitFor(server, 'got');
  client.destination('live').send('note', 'd');
  await done;
  await delay(10);
  assert.deepEqual(got, ['live:d']);
  assert.deepEqual(errors, []);
  assert.equal(client.units.length, 1, 'the connection stays');
});

test('a failing message handler is reported as an error event on the receiving peer', async () => {
  const { server, client } = await connectedPair({
    setup: (server) => {
      server.role('m').onMessage('boom', () => {
        throw new Error('message handler failed');
      });
    },
  });
  const reported = waitFor<[Error, Context]>(server, 'error');
  client.destination('m').send('boom', 1);
  const [err, ctx] = await reported;
  assert.equal(err.message, 'message handler failed');
  assert.equal(ctx.event, 'boom');
});

test('a second listening peer on another port serves independently', async () => {
  const a = await listeningPeer({ name: 'a' });
  const b = await listeningPeer({ name: 'b' });
  assert.notEqual(a.port, b.port);
  a.role('who').onRequest('name', () => 'a');
  b.role('who').onRequest('name', () => 'b');
  const c = newPeer();
  await c.connect(urlOf(a));
  await c.connect(urlOf(b));
  const names = new Set<unknown>();
  for (let i = 0; i < 4; i++) names.add((await c.destination('who').request('name', null)).data);
  assert.deepEqual([...names].sort(), ['a', 'b']);
});

test('large payloads and unicode role and event names travel intact', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      server.role('données ✓').onRequest('écho 😀', (ctx) => ctx.data);
    },
  });
  const dest = client.destination('données ✓');
  const big = Buffer.alloc(8 << 20);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  const ctx = await dest.request('écho 😀', big);
  assert.equal(ctx.type, 'binary');
  assert.ok(big.equals(ctx.data as Buffer));
  const text = 'ж'.repeat(1 << 20);
  assert.equal((await dest.request('écho 😀', text)).data, text);
  const obj = { list: Array.from({ length: 50_000 }, (_, i) => ({ i, s: String(i) })) };
  assert.deepEqual((await dest.request('écho 😀', obj)).data, obj);
});

test('values JSON cannot carry: null like the original, or a typed error at once', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      const role = server.role('enc');
      role.onRequest('echo', (ctx) => ctx.data);
      role.onRequest('bigint-inside', () => ({ a: 1n }));
      role.onRequest('circular', () => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      });
      role.onRequest('typed-array', () => new Uint8Array([1, 2, 3]));
    },
  });
  const dest = client.destination('enc');
  // BigInt, functions and symbols go as null, as the original sends them.
  for (const value of [10n, () => 1, Symbol('s')]) {
    const ctx = await dest.request('echo', value);
    assert.equal(ctx.type, 'null');
    assert.equal(ctx.data, null);
  }
  const bytes = await dest.request('echo', new Uint8Array([9, 8]));
  assert.equal(bytes.type, 'binary');
  assert.deepEqual([...(bytes.data as Buffer)], [9, 8]);
  assert.deepEqual([...((await dest.request('typed-array', null)).data as Buffer)], [1, 2, 3]);
  // An object JSON cannot write is refused before anything is sent.
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.throws(() => dest.request('echo', { a: 1n }), InvalidArgumentError);
  assert.throws(() => dest.request('echo', circular), InvalidArgumentError);
  assert.throws(() => dest.send('echo', circular), InvalidArgumentError);
  // A response JSON cannot write rejects the request with the reason.
  const err = await rejectionOf(dest.request('bigint-inside', null));
  assert.ok(err instanceof RejectedError);
  assert.match(err.message, /BigInt/);
  assert.match((await rejectionOf(dest.request('circular', null))).message, /circular/);
  assert.equal((await dest.request('echo', 'after')).data, 'after');
});
