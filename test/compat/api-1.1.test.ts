import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { Readable as NodeReadable } from 'node:stream';
import WebSocket from 'ws';
import {
  Context,
  Destination,
  Peer,
  Role,
  Singleton,
  Unit,
  type ConnectOptions,
  type ContextForReadable,
  type ContextForWritable,
  type EmitOptions,
  type ListenOptions,
  type MessageHandler,
  type PeerMetaData,
  type PeerOptions,
  type ReadableHandler,
  type RequestCallback,
  type RequestHandler,
  type sendableData,
  type WritableHandler,
} from '../../src';
import { RawPeer } from '../helpers/raw-peer';
import {
  closeAll,
  closeHttp,
  connectedPair,
  delay,
  eventually,
  jsonFrame,
  listeningPeer,
  newPeer,
  onCleanup,
  proofOf,
  rejectionOf,
  RawSocket,
  urlOf,
  waitFor,
  within,
} from '../helpers/peers';

// The public surface of roletalk 1.1.3, walked class by class against this library with real
// peers on 127.0.0.1: methods, options, defaults, events and their arguments, callbacks, return
// values and error texts. Where this library differs on purpose (README "Differences from
// 1.1.x") the test checks our side of the difference. Left to their own tests in
// test/integration: redial after closing one socket, middleware unwinding order, the context of
// a rejected request's callback, and 'ready' on a stream handler's own end.

after(closeAll);

const errorWith = (message: string | RegExp) => (err: unknown) => {
  assert.ok(err instanceof Error, `an Error, got ${String(err)}`);
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
  return true;
};

// ---- the 1.1.x type names: this compiles only if code written against 1.1.x does ----------

/** Never called: type-checked usage of the 1.1.x API in the style of its docs and tests. */
export function typesOf11x(peer: Peer, unit: Unit): unknown {
  const options: PeerOptions = { name: 'n', friendly: false };
  const listen: ListenOptions = { port: 0, host: '127.0.0.1', path: '/rt' };
  const connect: ConnectOptions = { permanent: true, rejectUnauthorized: false };
  const emit: EmitOptions = { event: 'e', timeout: 10, unit };
  const meta: PeerMetaData = unit.meta;
  const data: sendableData = [1, 'a', null, undefined, Buffer.alloc(1), { a: 1 }];
  const onMessage: MessageHandler = (ctx) => void new Date(ctx.data);
  const onRequest: RequestHandler = (ctx, cb: RequestCallback) => cb(null, ctx.data.a + ctx.data.b);
  const onReadable: ReadableHandler = (ctx: ContextForReadable, cb) => {
    ctx.readable.resume();
    cb(null, null);
  };
  const onWritable: WritableHandler = (ctx: ContextForWritable, cb) => {
    ctx.writable.end();
    cb(null, 'x');
  };
  const role: Role = peer.role('r', false);
  role.onMessage('e', onMessage);
  role.onRequest('e', onRequest);
  role.onReadable('e', onReadable);
  role.onWritable('e', onWritable);
  role.onReadable('inline', (ctx, cb) => {
    ctx.readable.on('data', () => {});
    cb(null, 'awd');
  });
  peer.onData(async (ctx: Context) => {
    ctx.response = '1';
    ctx.type = 'string';
    await ctx.next!();
    ctx.response += '1';
  });
  const dest: Destination = peer.destination('d');
  dest.send(emit, data);
  dest.send({ event: 'e', unit }, 0);
  dest.broadcast('e', data);
  dest.Writable({ event: 'e', unit }, 'x').on('ready', (ctx: Context) => ctx.data);
  dest.Readable('e', null, { highWaterMark: 1 }).on('ready', (ctx: Context) => ctx.rtt);
  // Callbacks get a context on failures too, typed as always there.
  dest.request('e', 1, (err, ctx) => void (err ?? ctx.unit.id));
  dest.survey('e', 1, (err, ctx) => void (err ?? ctx.data));
  const shared: Peer = Singleton(options);
  return [listen, connect, meta.os, shared, dest.request('e', 1).then((ctx: Context) => ctx.rtt), peer.connect('ws://x', connect)];
}

// ---- exports ------------------------------------------------------------------------------

test('exports: Peer, Role, Destination, Unit, Context, Singleton; Singleton shares one Peer', () => {
  for (const cls of [Peer, Role, Destination, Unit, Context, Singleton]) assert.equal(typeof cls, 'function');
  const first = Singleton({ name: 'shared' });
  onCleanup(() => first.close());
  assert.ok(first instanceof Peer);
  assert.equal(Singleton({ name: 'other' }), first);
  assert.equal(first.name, 'shared');
});

// ---- Peer ---------------------------------------------------------------------------------

test('new Peer(): id of 32 hex chars, name "", friendly true, empty units/roles/destinations; options honoured', () => {
  const peer = newPeer();
  assert.match(peer.id, /^[0-9a-f]{32}$/);
  assert.notEqual(newPeer().id, peer.id);
  assert.equal(peer.name, '');
  assert.equal(peer.friendly, true);
  assert.deepEqual([peer.units, peer.roles, peer.destinations], [[], [], []]);
  const named = newPeer({ name: 'Bob', friendly: false });
  assert.equal(named.name, 'Bob');
  assert.equal(named.friendly, false);
  // name and friendly stay assignable.
  named.name = 'Alice';
  named.friendly = true;
  assert.deepEqual([named.name, named.friendly], ['Alice', true]);
  assert.ok(peer instanceof EventEmitter);
});

test('setTag / getTags: strings only, later value wins, a copy is returned, the remote sees them', async () => {
  const { unit } = await connectedPair({
    setup: (server) => {
      server.setTag('some_id', '123');
      server.setTag('some_id', '456');
      server.setTag('abc', 'def');
      assert.throws(() => server.setTag('k', 1 as unknown as string));
      assert.throws(() => server.setTag(1 as unknown as string, 'v'));
      assert.deepEqual(server.getTags(), { some_id: '456', abc: 'def' });
      server.getTags().abc = 'changed';
      assert.equal(server.getTags().abc, 'def');
    },
  });
  assert.deepEqual(unit.getTags(), { some_id: '456', abc: 'def' });
});

test('role(name, active): one instance per name, "role" event once with the Role, active by default', () => {
  const peer = newPeer();
  const announced: unknown[] = [];
  peer.on('role', (role) => announced.push(role));
  const a = peer.role('A');
  assert.ok(a instanceof Role);
  assert.equal(peer.role('A'), a);
  assert.deepEqual(announced, [a]);
  assert.equal(a.name, 'A');
  assert.equal(a.peer, peer);
  assert.equal(a.active, true);
  const off = peer.role('off', false);
  assert.equal(off.active, false);
  assert.equal(peer.role('off', true).active, false, 'a second call does not change the state');
  assert.deepEqual(peer.roles, [a, off]);
  assert.throws(() => peer.role(''));
  assert.throws(() => peer.role(5 as unknown as string));
});

test('destination(name): one instance per name; remote roles make no destinations; name, peer, ready, units', async () => {
  const { client, unit } = await connectedPair({ setup: (server) => (server.role('someRole2'), server.role('someRole3')) });
  assert.deepEqual(client.destinations, []);
  const dest = client.destination('someRole2');
  assert.ok(dest instanceof Destination);
  assert.equal(client.destination('someRole2'), dest);
  assert.deepEqual(client.destinations, [dest]);
  assert.equal(dest.name, 'someRole2');
  assert.equal(dest.peer, client);
  assert.equal(dest.ready, true, 'a destination made after the unit joined includes it');
  assert.deepEqual(dest.units, [unit]);
  const none = client.destination('someUnregisteredRole');
  assert.equal(none.ready, false);
  assert.deepEqual(none.units, []);
});

test('listen(port | options): resolves with the peer; twice throws ".listen has been called already"; a busy port rejects', async () => {
  const peer = newPeer();
  const result = await peer.listen({ port: 0, host: '127.0.0.1' });
  assert.equal(result, peer);
  assert.equal(typeof peer.port, 'number');
  assert.equal(peer._port, peer.port, "1.1.x's private field, used by its users");
  assert.throws(() => peer.listen(0), errorWith('.listen has been called already'));
  const other = newPeer();
  await assert.rejects(other.listen({ port: peer.port!, host: '127.0.0.1' }), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
  // The callback form: cb(null) once listening.
  const withCb = newPeer();
  const err = await new Promise((resolve) => withCb.listen(0, (e) => resolve(e)));
  assert.equal(err, null);
  assert.equal(typeof withCb.port, 'number');
});

test('listen({ server, port }) starts a server that does not listen yet, as 1.1.x did; close() stops it', async () => {
  const server = http.createServer((_req, res) => res.end('http route'));
  onCleanup(() => closeHttp(server));
  const peer = newPeer({ name: 'on-server' });
  peer.role('svc').onRequest('who', () => peer.name);
  await within(peer.listen({ server, port: 0, host: '127.0.0.1' }), 2000, 'listen on the given server');
  assert.equal(server.listening, true);
  const port = (server.address() as net.AddressInfo).port;
  assert.equal(peer.port, port);
  const client = newPeer();
  await client.connect(`ws://127.0.0.1:${port}`);
  assert.equal((await client.destination('svc').request('who', null)).data, 'on-server');
  await client.close();
  await peer.close();
  await eventually(() => !server.listening, 2000, 'the server stopped');
});

test('prepareWSServer + handleUpgrade serve roletalk on a server of the user', async () => {
  const peer = newPeer({ name: 'upgraded' });
  peer.prepareWSServer();
  const server = http.createServer();
  onCleanup(() => closeHttp(server));
  server.on('upgrade', (req, socket, head) => peer.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = newPeer();
  await client.connect(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  assert.deepEqual(
    client.units.map((u) => u.id),
    [peer.id],
  );
});

test('listen({ path }) accepts upgrades on that path only', async () => {
  const peer = await listeningPeer({}, { path: '/rt' });
  const client = newPeer();
  await assert.rejects(client.connect(`${urlOf(peer)}/other`, { permanent: false }));
  const { unit } = await client.connect(`${urlOf(peer)}/rt`);
  assert.equal(unit.id, peer.id);
});

test('connect(): resolves { unit, ws }; "unit" event first; callback form; a second connection joins the same unit', async () => {
  const server = await listeningPeer({ name: 'srv' });
  const client = newPeer();
  const units: Unit[] = [];
  client.on('unit', (u: Unit) => units.push(u));
  const { unit, ws } = await client.connect(urlOf(server));
  assert.ok(unit instanceof Unit);
  assert.ok(ws instanceof WebSocket);
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.equal(unit.id, server.id);
  assert.deepEqual(units, [unit]);
  assert.deepEqual(client.units, [unit]);
  await eventually(() => server.units.length === 1);
  assert.equal(server.units[0]!.id, client.id);
  // connect(address, undefined, cb) and, from JavaScript, connect(address, cb): cb(null, { unit, ws });
  // the same unit, no second "unit" event.
  const res = await new Promise<{ unit: Unit; ws: WebSocket }>((resolve, reject) =>
    client.connect(urlOf(server), undefined, (err, value) => (err ? reject(err) : resolve(value!))),
  );
  assert.equal(res.unit, unit);
  assert.notEqual(res.ws, ws);
  type Cb = (err: Error | null, value?: { unit: Unit }) => void;
  const res2 = await new Promise<{ unit: Unit }>((resolve, reject) =>
    (client.connect as (address: string, cb: Cb) => void)(urlOf(server), (err, value) => (err ? reject(err) : resolve(value!))),
  );
  assert.equal(res2.unit, unit);
  assert.deepEqual(units, [unit]);
  assert.equal(client.units.length, 1);
  assert.throws(() => client.connect(42 as unknown as string));
});

test('auth: a common id and key connect; no common id or a key mismatch reject and emit auth_error', async () => {
  const server = await listeningPeer();
  server.addPresharedKey('foo', '111222333');
  assert.equal(server.addPresharedKey('bar', '444555666'), server, 'addPresharedKey returns the peer');
  assert.throws(() => server.addPresharedKey(1 as unknown as string, 'k'));
  assert.throws(() => server.addPresharedKey('id', 1 as unknown as string));
  const friend = newPeer().addPresharedKey('bar', '444555666').addPresharedKey('baz', 'qwerty789');
  const { unit } = await friend.connect(urlOf(server));
  assert.equal(unit.id, server.id);

  const authErrors: unknown[] = [];
  server.on('auth_error', (e) => authErrors.push(e));
  const stranger = newPeer().addPresharedKey('quux', '111222333');
  const noProof = await rejectionOf(stranger.connect(urlOf(server), { permanent: false }));
  assert.match(noProof.message, /The peer has not such proofs: foo,bar/);
  const wrongKey = newPeer().addPresharedKey('bar', 'qwerty000');
  const mismatch = await rejectionOf(wrongKey.connect(urlOf(server), { permanent: false }));
  assert.match(mismatch.message, /Preshared key mismatch\. Chosen id: bar/);
  await eventually(() => authErrors.length >= 2);
  assert.deepEqual([stranger.units, wrongKey.units, server.units.length], [[], [], 1]);
});

test('auth: a proof under an id this side does not hold is refused with "Verification ID is not registered: <id>"', async () => {
  const server = await listeningPeer();
  server.addPresharedKey('k1', 's3cret');
  const raw = await RawSocket.open(urlOf(server));
  const challenge = JSON.parse((await raw.next((f) => f[0] === 1)).toString('utf8', 1)) as { challenge: string; ids: string[] };
  assert.deepEqual(challenge.ids, ['k1']);
  raw.send(jsonFrame(2, { proof: proofOf('s3cret', challenge.challenge), id: 'nope' }));
  const refusal = await raw.next((f) => f[0] === 0);
  assert.equal(JSON.parse(refusal.toString('utf8', 1)), 'Verification ID is not registered: nope');
  assert.equal((await raw.waitClose()).code, 4002);
});

test('close(): units close, the listener stops; the callback form; a "close" event', async () => {
  const { server, client, unit } = await connectedPair();
  const unitClosed = waitFor(unit, 'close');
  const peerClosed = waitFor(client, 'close');
  const err = await new Promise((resolve) => client.close((e) => resolve(e)));
  assert.equal(err, undefined);
  await unitClosed;
  await peerClosed;
  assert.deepEqual(client.units, []);
  await eventually(() => server.units.length === 0);
  await server.close();
  await assert.rejects(newPeer().connect(urlOf(server), { permanent: false }));
});

test('unit.close() on the listening side: the dialer reconnects; reconnect_success carries address and count', async () => {
  const { server, client, unit } = await connectedPair();
  const reconnected = waitFor<[{ address: string; count: number; unit: Unit }]>(client, 'reconnect_success');
  const closed = waitFor(unit, 'close');
  server.units[0]!.close();
  await closed;
  const [event] = await reconnected;
  assert.equal(event.address, urlOf(server));
  assert.equal(event.count, 1);
  assert.equal(event.unit.id, server.id);
  await eventually(() => client.units.length === 1 && server.units.length === 1);
});

test('unit.close() on the dialing side: no reconnection', async () => {
  const { server, client, unit } = await connectedPair();
  const closed = waitFor(unit, 'close');
  unit.close();
  await closed;
  await delay(100);
  assert.deepEqual(client.units, []);
  assert.equal(server.units.length, 0);
});

test('reconnect_fail carries address, count and the error', async () => {
  const { server, client } = await connectedPair();
  const address = urlOf(server);
  const failed = waitFor<[{ address: string; count: number; error: Error }]>(client, 'reconnect_fail');
  await server.close();
  const [event] = await failed;
  assert.equal(event.address, address);
  assert.equal(event.count, 1);
  assert.ok(event.error instanceof Error);
  await client.close();
});

test('acquaintance: a newcomer is introduced to a peer its peer dialed and connects to it for a role it needs', async () => {
  const peer2 = await listeningPeer({ name: 'peer2' });
  peer2.role('someRole2');
  const peer1 = await listeningPeer({ name: 'peer1' });
  await peer1.connect(urlOf(peer2));
  const peer5 = newPeer({ name: 'peer5' });
  peer5.destination('someRole2');
  const introduced = waitFor<[Unit]>(peer5, 'unit', 3000, (u) => u.id === peer2.id);
  await peer5.connect(urlOf(peer1));
  await introduced;
  assert.deepEqual(peer5.destination('someRole2').units.map((u) => u.id), [peer2.id]);

  // friendly: false neither follows introductions.
  const loner = newPeer({ friendly: false });
  loner.destination('someRole2');
  await loner.connect(urlOf(peer1));
  await delay(100);
  assert.deepEqual(loner.units.map((u) => u.id), [peer1.id]);
});

// ---- Unit ---------------------------------------------------------------------------------

test('Unit: id, name, meta (os, runtime, time, uptime, protocol), getRoles, getTags; "close" and leaving destinations', async () => {
  const { server, client, unit } = await connectedPair({
    server: { name: 'PEER 1' },
    setup: (server, client) => {
      server.role('live');
      server.role('dormant', false);
      client.destination('live');
    },
  });
  assert.equal(unit.id, server.id);
  assert.equal(unit.name, 'PEER 1');
  assert.equal(unit._name, 'PEER 1');
  assert.equal(unit._sockets.length, 1);
  const meta = unit.meta;
  assert.equal(meta.os, process.platform);
  assert.equal(meta.runtime, `nodejs ${process.version}`);
  assert.equal(meta.protocol, '2.0.0');
  assert.equal(typeof meta.time, 'number');
  assert.equal(typeof meta.uptime, 'number');
  assert.deepEqual(unit.getRoles(), ['live'], 'active roles only');
  assert.deepEqual(unit.getTags(), {});
  assert.ok(unit instanceof EventEmitter);
  const dest = client.destination('live');
  const destClosed = waitFor(dest, 'close');
  const closed = waitFor(unit, 'close');
  unit.close();
  assert.deepEqual(await closed, [], '"close" has no arguments');
  await destClosed;
  assert.equal(dest.ready, false);
  assert.deepEqual(client.units, []);
});

// ---- Role ---------------------------------------------------------------------------------

test('Role: disable/enable reach the remote (destination close/open, getRoles) and requests get the §4 texts', async () => {
  const { server, client, unit } = await connectedPair({
    setup: (server, client) => {
      server.role('dynamic').onRequest('someReq', (_ctx, cb) => cb(null, true));
      client.destination('dynamic');
    },
  });
  const dest = client.destination('dynamic');
  const role = server.role('dynamic');
  const closed = waitFor(dest, 'close');
  role.disable();
  assert.equal(role.active, false);
  await closed;
  assert.deepEqual(unit.getRoles(), []);
  await assert.rejects(dest.request({ event: 'someReq', unit }, 1), errorWith('The role "dynamic" is disabled'));
  assert.throws(() => dest.request('someReq', 1), errorWith('No connected units with role [dynamic]'));
  const opened = waitFor(dest, 'open');
  const joined = waitFor<[Unit]>(dest, 'unit');
  role.enable();
  await opened;
  assert.equal((await joined)[0], unit);
  assert.equal((await dest.request('someReq', 1)).data, true);
  await assert.rejects(dest.request('unregistered event', 1), errorWith('The event "unregistered event" is not handled'));
  await assert.rejects(
    client.destination('ghost').request({ event: 'x', unit }, 1),
    errorWith('The role "ghost" is not registered'),
  );
  // A new role opens the matching destination on the remote.
  const newOpen = waitFor(client.destination('someNewRole'), 'open');
  server.role('someNewRole');
  await newOpen;
});

test('Role: several handlers for one event all run (EventEmitter semantics of 1.1.x); the first reply wins', async () => {
  const { server, client } = await connectedPair({
    setup: (server) => {
      const role = server.role('multi');
      role.onMessage('note', (ctx) => void server.emit('seen', `first:${ctx.data}`));
      role.onMessage('note', (ctx) => void server.emit('seen', `second:${ctx.data}`));
      role.onRequest('ask', () => {
        server.emit('asked', 'logger');
      });
      role.onRequest('ask', (_ctx, cb) => setTimeout(() => cb(null, 'late'), 20));
      role.onRequest('ask', (_ctx, cb) => cb(null, 'first reply'));
    },
  });
  const seen: string[] = [];
  server.on('seen', (s: string) => seen.push(s));
  client.destination('multi').send('note', 'x');
  await eventually(() => seen.length === 2);
  assert.deepEqual(seen, ['first:x', 'second:x']);
  const asked = waitFor(server, 'asked');
  assert.equal((await client.destination('multi').request('ask', null)).data, 'first reply');
  await asked;
});

test('Role.onMessage(fn) without an event sees every message of the role, handled event or not', async () => {
  const { server, client } = await connectedPair({
    setup: (server) => {
      server.role('all').onMessage((ctx) => void server.emit('any', `${ctx.event}:${ctx.data}`));
      server.onMessage((ctx) => void server.emit('peer-any', ctx.event));
      server.role('all').onMessage('known', () => {});
    },
  });
  const got: string[] = [];
  server.on('any', (s: string) => got.push(s));
  const peerSaw = waitFor(server, 'peer-any', 3000, (e) => e === 'unknown');
  client.destination('all').send('unknown', 1);
  client.destination('all').send('known', 2);
  await eventually(() => got.length === 2);
  assert.deepEqual(got, ['unknown:1', 'known:2']);
  await peerSaw;
});

test('middleware: peer onData/onRequest, role onData/onRequest all see a request before the handler; ctx.data and ctx.type may be reassigned', async () => {
  const trace: string[] = [];
  const { client } = await connectedPair({
    setup: (server) => {
      server.onData((ctx) => void trace.push(`peer-data:${ctx.role}`));
      server.onRequest((ctx) => void trace.push(`peer-request:${ctx.event}`));
      server.onMessage(() => void trace.push('peer-message'));
      const role = server.role('B');
      role.onData((ctx) => {
        trace.push('role-data');
        ctx.data = { wrapped: ctx.data };
        ctx.type = 'wrapped';
      });
      role.onRequest(() => void trace.push('role-request'));
      role.onRequest('count mw', (ctx, cb) => {
        trace.push('handler');
        cb(null, { data: ctx.data, type: ctx.type, origin: ctx.origin.type });
      });
    },
  });
  const ctx = await client.destination('B').request('count mw', 1);
  assert.deepEqual(ctx.data, { data: { wrapped: 1 }, type: 'wrapped', origin: 'number' });
  assert.deepEqual(trace, ['peer-data:B', 'peer-request:count mw', 'role-data', 'role-request', 'handler']);
});

test('a handler that takes cb answers through it only: what it returns is ignored, and a falsy err answers, as in 1.1.x', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      const role = server.role('B');
      role.onRequest('timer', (ctx, cb) => setTimeout(() => cb(null, `later:${ctx.data}`), 10));
      role.onRequest('value', (_ctx, cb) => (cb(null, 'via cb'), 'returned'));
      // 1.1.x answered whenever err was falsy.
      role.onRequest('falsy', (ctx, cb) => cb(ctx.data as Error | null, 'answered'));
      role.onReadable('stream', (ctx, cb) => {
        ctx.readable.resume();
        return setTimeout(() => cb(null, 'accepted'), 10);
      });
    },
  });
  const dest = client.destination('B');
  for (const falsy of [null, undefined, false, 0, '']) {
    assert.equal((await dest.request('falsy', falsy)).data, 'answered', `cb(${JSON.stringify(falsy)}, data)`);
  }
  assert.equal((await dest.request('timer', 1)).data, 'later:1');
  assert.equal((await dest.request('value', 1)).data, 'via cb');
  const writable = dest.Writable('stream', null);
  const [ctx] = await waitFor<[Context]>(writable, 'ready');
  assert.equal(ctx.data, 'accepted');
  writable.end();
});

test('middleware may answer: cb(err) from a layer rejects, and the handler does not run', async () => {
  let handled = false;
  const { client } = await connectedPair({
    setup: (server) => {
      server.onRequest((ctx, cb) => {
        if (ctx.data === 'deny') cb(new Error('denied by middleware'));
      });
      server.role('B').onRequest('x', (_ctx, cb) => {
        handled = true;
        cb(null, 'ok');
      });
    },
  });
  await assert.rejects(client.destination('B').request('x', 'deny'), errorWith('denied by middleware'));
  assert.equal(handled, false);
  assert.equal((await client.destination('B').request('x', 'fine')).data, 'ok');
});

// ---- Destination --------------------------------------------------------------------------

async function star(n: number, setup: (peer: Peer, i: number) => void): Promise<{ hub: Peer; spokes: Peer[] }> {
  const hub = await listeningPeer({ name: 'B' });
  const spokes: Peer[] = [];
  for (let i = 0; i < n; i++) {
    const spoke = newPeer({ name: `A${i + 1}` });
    setup(spoke, i);
    await spoke.connect(urlOf(hub));
    spokes.push(spoke);
  }
  await eventually(() => hub.destination('A').units.length === n, 3000, 'every spoke in the destination');
  return { hub, spokes };
}

test('send: returns the unit used, or undefined; { event, unit } picks the unit; one unit gets it; cb reports success', async () => {
  const received: string[] = [];
  const { hub } = await star(3, (peer) =>
    peer.role('A').onMessage('someEvent22', (ctx) => void received.push(`${peer.name}:${ctx.data}`)),
  );
  const dest = hub.destination('A');
  const used = dest.send('someEvent22', 1);
  assert.ok(used instanceof Unit);
  assert.ok(dest.units.includes(used));
  assert.equal(hub.destination('UNREGISTERED_ROLE').send('someMSG', 1), undefined);
  const chosen = dest.units[2]!;
  for (let i = 0; i < 5; i++) assert.equal(dest.send({ event: 'someEvent22', unit: chosen }, 2), chosen);
  const err = await new Promise((resolve) => dest.send('someEvent22', 3, (e) => resolve(e)));
  assert.ok(!err, 'no error on success');
  await eventually(() => received.length === 7);
  assert.equal(received.filter((r) => r.endsWith(':1')).length, 1, 'send goes to one unit');
  assert.deepEqual(
    received.filter((r) => r.endsWith(':2')),
    Array(5).fill(`${chosen.name}:2`),
  );
});

test('broadcast: every unit gets the message', async () => {
  const received: string[] = [];
  const { hub } = await star(3, (peer) => peer.role('A').onMessage('someMassiveEvent', () => void received.push(peer.name)));
  hub.destination('A').broadcast('someMassiveEvent', 1);
  await eventually(() => received.length === 3);
  assert.deepEqual(received.sort(), ['A1', 'A2', 'A3']);
});

test('request: one unit answers, round-robin; ctx has data, unit and a numeric rtt; Promise and callback forms', async () => {
  const asked: string[] = [];
  const { hub, spokes } = await star(3, (peer) =>
    peer.role('A').onRequest('get_time2', (ctx, cb) => {
      asked.push(peer.name);
      assert.equal(ctx.role, 'A');
      assert.equal(ctx.event, 'get_time2');
      assert.equal(ctx.unit.id, hub.id);
      cb(null, peer.name);
    }),
  );
  const dest = hub.destination('A');
  const answers: string[] = [];
  for (let i = 0; i < 3; i++) {
    const ctx = await dest.request('get_time2', null);
    assert.ok(ctx instanceof Context);
    assert.equal(typeof ctx.rtt, 'number');
    assert.ok(spokes.some((s) => s.id === ctx.unit.id));
    answers.push(ctx.data as string);
  }
  assert.deepEqual([...answers].sort(), ['A1', 'A2', 'A3'], 'round-robin over the units');
  assert.deepEqual(asked.sort(), ['A1', 'A2', 'A3'], 'each request asked one unit');
  const viaCb = await new Promise<[Error | null, Context | undefined]>((resolve) =>
    dest.request('get_time2', null, (err, ctx) => resolve([err, ctx])),
  );
  assert.equal(viaCb[0], null);
  assert.ok(viaCb[1] instanceof Context);
  // { event, unit } picks the unit.
  const unit = dest.units[1]!;
  assert.equal((await dest.request({ event: 'get_time2', unit }, null)).unit, unit);
});

test('request errors: handler errors, automatic texts, no unit, timeout and a unit that goes away', async () => {
  const { client, unit, server } = await connectedPair({
    setup: (server) => {
      const role = server.role('B');
      role.onRequest('error', (_ctx, cb) => cb(new Error('error message 1'), null));
      role.onRequest('string', (_ctx, cb) => cb('plain reason' as unknown as Error));
      role.onRequest('object', (_ctx, cb) => cb({ a: 1 } as unknown as Error));
      role.onRequest('silent', () => new Promise(() => {}));
    },
  });
  const dest = client.destination('B');
  await assert.rejects(dest.request('error', { a: 1 }), errorWith('error message 1'));
  const viaCb = await new Promise<Error | null>((resolve) => dest.request('error', 1, (err) => resolve(err)));
  assert.equal(viaCb?.message, 'error message 1');
  await assert.rejects(dest.request('string', 1), errorWith('plain reason'));
  await assert.rejects(dest.request('object', 1), errorWith('[object Object]'));
  assert.throws(() => client.destination('nobody').request('x', 1), errorWith('No connected units with role [nobody]'));
  assert.throws(() => client.destination('nobody').Readable('x', 1), errorWith('No connected units with role [nobody]'));
  assert.throws(() => client.destination('nobody').Writable('x', 1), errorWith('No connected units with role [nobody]'));
  await assert.rejects(dest.request({ event: 'silent', timeout: 50 }, 1), errorWith('Request timeout exceeded (50 ms)'));
  const pending = dest.request('silent', 1);
  await delay(20);
  server.units[0]!.close();
  await assert.rejects(pending, errorWith("All unit's sockets have been closed"));
  await eventually(() => unit.connections.length === 0 || client.units.length === 0);
});

test('survey: asks every unit, calls back once per unit with (null, ctx), returns how many were asked; 0 without units', async () => {
  const { hub } = await star(3, (peer) => peer.role('A').onRequest('get_time', (_ctx, cb) => cb(null, peer.name)));
  const answers: string[] = [];
  let errors = 0;
  const count = hub.destination('A').survey('get_time', null, (err, ctx) => {
    if (err) errors++;
    else answers.push(ctx!.data as string);
  });
  assert.equal(count, 3);
  await eventually(() => answers.length === 3);
  assert.deepEqual(answers.sort(), ['A1', 'A2', 'A3']);
  assert.equal(errors, 0);
  assert.equal(
    hub.destination('none').survey('x', null, () => assert.fail('no unit to ask')),
    0,
  );
});

test('Destination events: "open" for the first unit, "unit" for each, "close" after the last', async () => {
  const hub = await listeningPeer();
  const dest = hub.destination('A');
  const events: string[] = [];
  dest.on('open', (...args: unknown[]) => events.push(`open/${args.length}`));
  dest.on('unit', (u: Unit) => events.push(`unit:${u.name}`));
  dest.on('close', (...args: unknown[]) => events.push(`close/${args.length}`));
  const spokes = [newPeer({ name: 'A1' }), newPeer({ name: 'A2' })];
  for (const s of spokes) {
    s.role('A');
    await s.connect(urlOf(hub));
  }
  await eventually(() => dest.units.length === 2);
  assert.equal(dest.ready, true);
  for (const s of spokes) await s.close();
  await eventually(() => events.length === 4);
  assert.deepEqual(events, ['open/0', 'unit:A1', 'unit:A2', 'close/0']);
  assert.equal(dest.ready, false);
});

// ---- streams ------------------------------------------------------------------------------

test('Writable: "ready" with the answer; every byte reaches the remote onReadable ctx.readable', async () => {
  const received: Buffer[] = [];
  const { server, client } = await connectedPair({
    setup: (server) =>
      server.role('A').onReadable('a1', (ctx, cb) => {
        server.emit('request-data', ctx.data);
        ctx.readable.on('data', (chunk: Buffer) => received.push(chunk));
        ctx.readable.on('end', () => server.emit('ended'));
        cb(null, 'awd');
      }),
  });
  const requestData = waitFor(server, 'request-data');
  const ended = waitFor(server, 'ended');
  const writable = client.destination('A').Writable('a1', 'awd');
  const ready = waitFor<[Context]>(writable, 'ready');
  const expected: string[] = [];
  for (let i = 0; i < 100; i++) {
    const chunk = i % 10 === 0 ? '' : `chunk-${i};`;
    expected.push(chunk);
    writable.write(Buffer.from(chunk));
  }
  writable.end();
  const [ctx] = await ready;
  assert.equal(ctx.data, 'awd');
  assert.equal(typeof ctx.rtt, 'number');
  assert.deepEqual(await requestData, ['awd']);
  await ended;
  assert.equal(Buffer.concat(received).toString(), expected.join(''));
});

test('Readable: "ready" with the answer; every byte the remote onWritable ctx.writable writes arrives', async () => {
  const { client } = await connectedPair({
    setup: (server) =>
      server.role('A').onWritable('a2', (ctx, cb) => {
        cb(null, 5);
        NodeReadable.from(Array.from({ length: 50 }, (_, i) => Buffer.from(`${i},`))).pipe(ctx.writable);
      }),
  });
  const readable = client.destination('A').Readable('a2', null);
  const ready = waitFor<[Context]>(readable, 'ready');
  let text = '';
  for await (const chunk of readable) text += String(chunk);
  assert.equal((await ready)[0].data, 5);
  assert.equal(text, Array.from({ length: 50 }, (_, i) => `${i},`).join(''));
});

test('a refused stream fails with an error that carries the reason (Writable and Readable)', async () => {
  const { client } = await connectedPair({
    setup: (server) => server.role('A').onReadable('no', (_ctx, cb) => cb(new Error('not today'))),
  });
  const writable = client.destination('A').Writable('no', null);
  const [wErr] = await waitFor<[Error]>(writable, 'error');
  assert.match(wErr.message, /not today/);
  const readable = client.destination('A').Readable('nothere', null);
  const [rErr] = await waitFor<[Error]>(readable, 'error');
  assert.match(rErr.message, /The event "nothere" is not handled/);
});

// ---- Context and data types ---------------------------------------------------------------

test('message context: unit, role, event, data, type, origin { raw, type }', async () => {
  const { server, client } = await connectedPair({
    setup: (server) => server.role('B').onMessage('someEvent1', (ctx) => void server.emit('ctx', ctx)),
  });
  const seen = waitFor<[Context]>(server, 'ctx');
  client.destination('B').send('someEvent1', { a: 1 });
  const [ctx] = await seen;
  assert.ok(ctx instanceof Context);
  assert.equal(ctx.unit.id, client.id);
  assert.equal(ctx.role, 'B');
  assert.equal(ctx.event, 'someEvent1');
  assert.deepEqual(ctx.data, { a: 1 });
  assert.equal(ctx.type, 'object');
  assert.deepEqual(ctx.origin, { raw: Buffer.from('{"a":1}'), type: 'object' });
});

test('data types travel as in 1.1.x: binary, null (and undefined, functions), boolean, string, number, object', async () => {
  const { client } = await connectedPair({
    setup: (server) => server.role('B').onRequest('echo', (ctx, cb) => cb(null, { type: ctx.type, data: ctx.data, raw: ctx.origin.raw.toString('hex') })),
  });
  const dest = client.destination('B');
  const cases: Array<[unknown, string, unknown]> = [
    [Buffer.from([1, 2]), 'binary', { type: 'Buffer', data: [1, 2] }],
    [null, 'null', null],
    [undefined, 'null', null],
    [() => 1, 'null', null],
    [true, 'boolean', true],
    [false, 'boolean', false],
    ['zxcvb.awd awd', 'string', 'zxcvb.awd awd'],
    [123.567, 'number', 123.567],
    [-10, 'number', -10],
    [{ a: 1, b: [0, undefined, true], c: { d: null, g: 'awdawd' } }, 'object', { a: 1, b: [0, null, true], c: { d: null, g: 'awdawd' } }],
  ];
  for (const [value, type, echoed] of cases) {
    const ctx = await dest.request('echo', value);
    assert.equal(ctx.data.type, type, `type of ${String(value)}`);
    assert.deepEqual(ctx.data.data, echoed, `value of ${String(value)}`);
  }
  const nan = await dest.request('echo', NaN);
  assert.equal(nan.data.raw, Buffer.from('NaN').toString('hex'));
  assert.equal(nan.type, 'object');
  assert.equal(nan.origin.type, 'object');
});

// ---- deliberate differences (README "Differences from 1.1.x"): our side of each ------------

test('difference: a message to a disabled role is dropped (1.1.x delivered it)', async () => {
  const { server, client, unit } = await connectedPair({
    setup: (server) => {
      server.role('off', false).onMessage('note', () => void server.emit('got', 'off'));
      server.role('on').onMessage('note', () => void server.emit('got', 'on'));
    },
  });
  const got: string[] = [];
  server.on('got', (s: string) => got.push(s));
  unit.send('off', 'note', 1);
  client.destination('on').send('note', 1);
  await eventually(() => got.length === 1);
  await delay(20);
  assert.deepEqual(got, ['on']);
});

test('difference: permanent: false is honoured (1.1.x always redialed)', async () => {
  const { server, client } = await connectedPair({ connect: { permanent: false } });
  const redials: unknown[] = [];
  client.on('reconnect_success', (e) => redials.push(e));
  client.on('reconnect_fail', (e) => redials.push(e));
  server.units[0]!.close();
  await eventually(() => client.units.length === 0);
  await delay(150);
  assert.deepEqual(redials, []);
  assert.equal(server.units.length, 0);
});

test('difference: a throwing handler rejects the request with its message (1.1.x crashed)', async () => {
  const { client } = await connectedPair({
    setup: (server) =>
      server.role('B').onRequest('boom', () => {
        throw new Error('handler threw');
      }),
  });
  await assert.rejects(client.destination('B').request('boom', 1), errorWith('handler threw'));
});

test('difference: an unknown frame type closes that connection only and is reported as protocol_error (1.1.x: unit "error")', async () => {
  const server = await listeningPeer();
  server.role('svc').onRequest('echo', (ctx) => ctx.data);
  const reported = waitFor<[Error, Unit]>(server, 'protocol_error');
  const raw = await RawPeer.connect(urlOf(server), { id: 'feedfacefeedfacefeedfacefeedface' });
  raw.send(Buffer.from([99, 1, 2, 3]));
  const [err, unit] = await reported;
  assert.ok(err instanceof Error);
  assert.equal(unit.id, 'feedfacefeedfacefeedfacefeedface');
  assert.notEqual((await raw.waitClose()).code, 4000);
  const client = newPeer();
  await client.connect(urlOf(server));
  assert.equal((await client.destination('svc').request('echo', 'alive')).data, 'alive');
});

test('difference: connect() rejects with Error objects and auth_error carries an Error (1.1.x: strings)', async () => {
  const server = await listeningPeer();
  server.addPresharedKey('k', 'v');
  const authErrors: unknown[] = [];
  server.on('auth_error', (e) => authErrors.push(e));
  const err = await rejectionOf(newPeer().connect(urlOf(server), { permanent: false }));
  assert.ok(err instanceof Error);
  assert.equal(err.code, 'RT_ERR_AUTH');
  await eventually(() => authErrors.length === 1);
  assert.ok(authErrors[0] instanceof Error);
});
