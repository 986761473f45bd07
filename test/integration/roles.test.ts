import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { InvalidArgumentError, NoUnitError, Peer, Role, Singleton, type Unit } from '../../src';
import { RawPeer } from '../helpers/raw-peer';
import {
  closeAll,
  confirmedFrame,
  connectedPair,
  delay,
  eventually,
  listeningPeer,
  onCleanup,
  requestFrame,
  stringPayload,
  urlOf,
  waitFor,
} from '../helpers/peers';

// Roles (docs/protocol.md §5), destinations opening and closing, names, tags and meta.

after(closeAll);

async function raw(url: string, confirm: Parameters<typeof RawPeer.connect>[1] = {}): Promise<RawPeer> {
  const peer = await RawPeer.connect(url, confirm);
  onCleanup(() => peer.close());
  return peer;
}

const isRoles = (f: Buffer): boolean => f[0] === 201;
const rolesOf = (f: Buffer): { i: number; roles: string[] } => JSON.parse(f.toString('utf8', 1)) as { i: number; roles: string[] };

/** Sends svc/echo with `corr` and waits for its answer: every frame sent before is handled. */
async function probe(peer: RawPeer, corr: number): Promise<void> {
  peer.send(requestFrame('svc', 'echo', corr, stringPayload('probe')));
  const answer = await peer.next((f) => (f[0] === 102 || f[0] === 105) && f[2] === corr);
  assert.equal(answer[0], 102, 'the probe is answered');
}

test('CONFIRMED lists only the active roles', async () => {
  const server = await listeningPeer();
  server.role('on');
  server.role('off', false);
  server.role('toggled').disable();
  server.role('back', false).enable();
  const peer = await raw(urlOf(server));
  assert.deepEqual(peer.remote!.roles, ['on', 'back']);
  assert.equal(peer.remote!.id, server.id);
});

test('ROLES frames carry the full active list with an increasing counter, one per tick', async () => {
  const server = await listeningPeer();
  server.role('svc').onRequest('echo', (ctx) => ctx.data);
  server.role('off', false);
  const peer = await raw(urlOf(server));

  server.role('off').enable();
  const first = rolesOf(await peer.next(isRoles));
  assert.deepEqual(first.roles, ['svc', 'off']);

  server.role('off').disable();
  const second = rolesOf(await peer.next(isRoles));
  assert.deepEqual(second.roles, ['svc']);
  assert.ok(second.i > first.i, `${second.i} > ${first.i}`);

  // Several changes in one tick: one round.
  server.role('added');
  server.role('off').enable();
  server.role('svc').disable();
  server.role('svc').enable();
  const third = rolesOf(await peer.next(isRoles));
  assert.deepEqual(third.roles, ['svc', 'off', 'added']);
  assert.equal(third.i, second.i + 1);
  await probe(peer, 1);
  assert.equal(peer.frames.filter(isRoles).length, 3, 'no other ROLES frame');

  // Enabling an active role or disabling a disabled one is no change.
  server.role('svc').enable();
  server.role('added').disable();
  server.role('added').disable();
  assert.deepEqual(rolesOf(await peer.next(isRoles)).roles, ['svc', 'off']);
  await probe(peer, 2);
  assert.equal(peer.frames.filter(isRoles).length, 4);
});

test('a role change made while the remote CONFIRMED is on its way still reaches the remote', async () => {
  const server = await listeningPeer();
  server.role('svc');
  const ws = new WebSocket(urlOf(server), { perMessageDeflate: false });
  onCleanup(() => ws.terminate());
  const frames: Buffer[] = [];
  ws.on('message', (f: Buffer) => frames.push(f));
  await eventually(() => frames.length === 1);
  assert.deepEqual(JSON.parse(frames[0]!.toString('utf8', 1)).roles, ['svc']);
  // The round for this change runs before the remote has confirmed: no unit to send it to yet.
  server.role('late');
  await delay(10);
  ws.send(confirmedFrame({ id: 'feedfacefeedfacefeedfacefeedface' }));
  await eventually(() => frames.some(isRoles), 3000, 'a ROLES frame');
  assert.deepEqual(rolesOf(frames.find(isRoles)!).roles, ['svc', 'late']);
  assert.ok(rolesOf(frames.find(isRoles)!).i >= 1);
});

test('enable and disable open and close the destination on the remote side', async () => {
  const { server, client, unit } = await connectedPair({
    setup: (server) => server.role('svc').onRequest('ping', () => 'pong'),
  });
  const dest = client.destination('svc');
  assert.equal(dest.ready, true);
  assert.deepEqual(dest.units, [unit]);
  assert.deepEqual(unit.getRoles(), ['svc']);

  const closed = waitFor(dest, 'close');
  server.role('svc').disable();
  await closed;
  assert.equal(dest.ready, false);
  assert.deepEqual(dest.units, []);
  assert.deepEqual(unit.getRoles(), []);
  assert.throws(() => dest.request('ping', null), NoUnitError);
  assert.equal(client.units.length, 1, 'the unit stays, only its roles changed');

  const opened = waitFor(dest, 'open');
  const joined = waitFor<[Unit]>(dest, 'unit');
  server.role('svc').enable();
  await opened;
  assert.equal((await joined)[0], unit);
  assert.equal(dest.ready, true);
  assert.equal((await dest.request('ping', null)).data, 'pong');

  // A role added later opens a destination made before it existed.
  const later = client.destination('later');
  assert.equal(later.ready, false);
  const laterOpen = waitFor(later, 'open');
  server.role('later');
  await laterOpen;
  assert.deepEqual(later.units, [unit]);
  // A destination made after the unit joined lists it at once.
  const eager = await connectedPair({ setup: (s) => s.role('eager') });
  assert.deepEqual(eager.client.destination('eager').units, [eager.unit]);
});

test('the destination closes when its last unit disconnects', async () => {
  const { server, client } = await connectedPair({ setup: (s) => s.role('svc') });
  const dest = client.destination('svc');
  const closed = waitFor(dest, 'close');
  await server.close();
  await closed;
  assert.equal(dest.ready, false);
});

test('a stale ROLES frame (counter not above the last applied) is ignored', async () => {
  const server = await listeningPeer();
  server.role('svc').onRequest('echo', (ctx) => ctx.data);
  const dest = server.destination('x');
  const peer = await raw(urlOf(server), { roles: [] });
  await eventually(() => server.units.length === 1);
  assert.equal(dest.ready, false);

  peer.sendJson(201, { i: 5, roles: ['x'] });
  await probe(peer, 1);
  assert.equal(dest.ready, true);

  peer.sendJson(201, { i: 3, roles: [] });
  peer.sendJson(201, { i: 5, roles: ['y'] });
  await probe(peer, 2);
  assert.equal(dest.ready, true, 'stale frames ignored');
  assert.deepEqual(server.units[0]!.getRoles(), ['x']);

  peer.sendJson(201, { i: 6, roles: [] });
  await probe(peer, 3);
  assert.equal(dest.ready, false);
  assert.deepEqual(server.units[0]!.getRoles(), []);
});

test('role() and destination() return the same instance for the same name; a new role is announced', async () => {
  const server = await listeningPeer();
  const announced: Role[] = [];
  server.on('role', (r: Role) => announced.push(r));
  const a = server.role('same');
  assert.equal(server.role('same'), a);
  assert.ok(a instanceof Role);
  assert.equal(a.name, 'same');
  assert.equal(a.peer, server);
  assert.equal(a.active, true);
  assert.equal(server.role('dis', false).active, false);
  assert.deepEqual(
    announced.map((r) => r.name),
    ['same', 'dis'],
  );
  assert.deepEqual(
    server.roles.map((r) => r.name),
    ['same', 'dis'],
  );
  const d = server.destination('there');
  assert.equal(server.destination('there'), d);
  assert.equal(d.name, 'there');
  assert.equal(d.peer, server);
  assert.deepEqual(server.destinations, [d]);
  assert.throws(() => server.role(''), InvalidArgumentError);
  assert.throws(() => server.destination(5 as unknown as string), InvalidArgumentError);
});

test('names, tags and meta are seen by the remote unit', async () => {
  const { server, client, unit, remote } = await connectedPair({
    server: { name: 'alpha' },
    client: { name: 'beta' },
    setup: (server, client) => {
      server.setTag('env', 'test').setTag('zone', 'eu-1');
      client.setTag('role', 'client');
    },
  });
  assert.equal(unit.id, server.id);
  assert.equal(unit.name, 'alpha');
  assert.deepEqual(unit.getTags(), { env: 'test', zone: 'eu-1' });
  assert.equal(remote.id, client.id);
  assert.equal(remote.name, 'beta');
  assert.deepEqual(remote.getTags(), { role: 'client' });
  for (const [u, peer] of [
    [unit, server],
    [remote, client],
  ] as const) {
    assert.equal(u.meta.protocol, '2.0.0');
    assert.equal(u.meta.runtime, `nodejs ${process.version}`);
    assert.equal(u.meta.os, process.platform);
    assert.equal(typeof u.meta.time, 'number');
    assert.ok(Math.abs((u.meta.time as number) - Date.now()) < 10_000);
    assert.equal(typeof u.meta.uptime, 'number');
    assert.ok((u.meta.uptime as number) >= 0);
    assert.equal(u.friendly, peer.friendly);
  }
  // Tags are a copy.
  unit.getTags().env = 'changed';
  assert.equal(unit.getTags().env, 'test');
  server.getTags().env = 'changed';
  assert.equal(server.getTags().env, 'test');
});

test('a raw peer sees our name, tags, meta and friendliness in CONFIRMED', async () => {
  const server = await listeningPeer({ name: 'named', friendly: false });
  server.setTag('k', 'v');
  const peer = await raw(urlOf(server));
  const c = peer.remote as Record<string, unknown>;
  assert.deepEqual(Object.keys(c).slice(0, 6), ['id', 'roles', 'friendly', 'name', 'meta', 'tags']);
  assert.match(c.id as string, /^[0-9a-f]{32}$/);
  assert.equal(c.name, 'named');
  assert.equal(c.friendly, false);
  assert.deepEqual(c.tags, { k: 'v' });
  assert.deepEqual(Object.keys(c.meta as object), ['os', 'runtime', 'time', 'uptime', 'protocol']);
});

test('setTag takes strings only; getTags returns them', async () => {
  const peer = await listeningPeer();
  assert.throws(() => peer.setTag('n', 5 as unknown as string), InvalidArgumentError);
  assert.throws(() => peer.setTag('o', { a: 1 } as unknown as string), InvalidArgumentError);
  assert.throws(() => peer.setTag('u', undefined as unknown as string), InvalidArgumentError);
  assert.throws(() => peer.setTag(7 as unknown as string, 'x'), InvalidArgumentError);
  assert.equal(peer.setTag('a', ''), peer, 'chainable');
  assert.deepEqual(peer.getTags(), { a: '' });
  // Peer ids are 32 random hex chars.
  assert.match(peer.id, /^[0-9a-f]{32}$/);
  await delay(0);
});

test('Singleton returns one shared Peer, made with the first options', () => {
  const first = Singleton({ name: 'shared' });
  onCleanup(() => first.close());
  assert.ok(first instanceof Peer);
  assert.equal(Singleton(), first);
  assert.equal(Singleton({ name: 'other' }), first);
  assert.equal(first.name, 'shared');
});
