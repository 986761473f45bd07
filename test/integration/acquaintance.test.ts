import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Peer, Unit } from '../../src';
import { RawPeer } from '../helpers/raw-peer';
import {
  closeAll,
  delay,
  eventually,
  listeningPeer,
  newPeer,
  onCleanup,
  requestFrame,
  stringPayload,
  urlOf,
  waitFor,
} from '../helpers/peers';

// Acquaintance (docs/protocol.md §7): a peer introduces the peers it dialed to its other units.

after(closeAll);

const ids = (peer: Peer): string[] => peer.units.map((u) => u.id).sort();

async function raw(url: string, confirm: Parameters<typeof RawPeer.connect>[1] = {}): Promise<RawPeer> {
  const peer = await RawPeer.connect(url, confirm);
  onCleanup(() => peer.close());
  return peer;
}

/** Sends svc/echo and waits for its answer: every frame sent or due before it is handled. */
async function probe(peer: RawPeer, corr: number): Promise<void> {
  peer.send(requestFrame('svc', 'echo', corr, stringPayload('probe')));
  const answer = await peer.next((f) => f[0] === 102 && f[2] === corr);
  assert.equal(answer.toString('utf8', 4), 'probe');
}

/** A listens, C listens, B listens and dials both. */
async function triangle(): Promise<{ a: Peer; b: Peer; c: Peer }> {
  const a = await listeningPeer({ name: 'A' });
  a.role('a-role');
  const c = await listeningPeer({ name: 'C' });
  c.role('c-role').onRequest('who', () => 'C');
  const b = await listeningPeer({ name: 'B' });
  b.role('svc').onRequest('echo', (ctx) => ctx.data);
  await b.connect(urlOf(a));
  await b.connect(urlOf(c));
  return { a, b, c };
}

test('a newcomer is introduced to the peers its peer dialed and dials the one it needs', async () => {
  const { a, b, c } = await triangle();
  const d = newPeer({ name: 'D' });
  const dest = d.destination('c-role');
  const opened = waitFor<[Unit]>(dest, 'unit');
  await d.connect(urlOf(b));
  const [unit] = await opened;
  assert.equal(unit.id, c.id);
  assert.equal((await dest.request('who', null)).data, 'C');
  await eventually(() => c.units.some((u) => u.id === d.id), 3000, 'C sees D');
  // D has no destination for A's role: it does not dial A.
  await delay(50);
  assert.deepEqual(ids(d), [b.id, c.id].sort());
  assert.ok(!a.units.some((u) => u.id === d.id));
  assert.deepEqual(ids(b).includes(d.id), true);
});

test('a peer dialed later is announced to the units already there', async () => {
  const a = await listeningPeer({ name: 'A' });
  const c = await listeningPeer({ name: 'C' });
  c.role('c-role');
  const b = await listeningPeer({ name: 'B' });
  await b.connect(urlOf(a));
  const d = newPeer({ name: 'D' });
  const dest = d.destination('c-role');
  await d.connect(urlOf(b));
  assert.equal(dest.ready, false);
  const opened = waitFor<[Unit]>(dest, 'open');
  await b.connect(urlOf(c));
  await opened;
  assert.deepEqual(dest.units.map((u) => u.id), [c.id]);
});

test('a peer that is not friendly neither acts on nor sends introductions', async () => {
  const { b, c } = await triangle();
  const d = newPeer({ name: 'D', friendly: false });
  d.destination('c-role');
  await d.connect(urlOf(b));
  await delay(100);
  assert.deepEqual(ids(d), [b.id]);
  assert.ok(!c.units.some((u) => u.id === d.id));

  // A non-friendly B sends nothing to a friendly raw peer.
  const quiet = await listeningPeer({ name: 'quiet', friendly: false });
  quiet.role('svc').onRequest('echo', (ctx) => ctx.data);
  await quiet.connect(urlOf(c));
  const watcher = await raw(urlOf(quiet), { friendly: true, roles: ['c-role'] });
  await probe(watcher, 1);
  await delay(20);
  assert.deepEqual(
    watcher.frames.filter((f) => f[0] === 200),
    [],
  );
});

test('introductions carry id, address and roles, and only units with a known address', async () => {
  const { a, b, c } = await triangle();
  // An inbound unit of B: B has no address for it and must not announce it.
  const inbound = newPeer({ name: 'inbound' });
  inbound.role('in-role');
  await inbound.connect(urlOf(b));
  const watcher = await raw(urlOf(b), { friendly: true, id: 'abcdefabcdefabcdefabcdefabcdef01' });
  await probe(watcher, 1);
  const entries = watcher.frames.filter((f) => f[0] === 200).map((f) => JSON.parse(f.toString('utf8', 1)) as Record<string, unknown>);
  assert.deepEqual(
    entries.sort((x, y) => String(x.id).localeCompare(String(y.id))),
    [
      { id: a.id, address: urlOf(a), roles: ['a-role'] },
      { id: c.id, address: urlOf(c), roles: ['c-role'] },
    ].sort((x, y) => x.id.localeCompare(y.id)),
  );
  for (const e of entries) assert.equal(typeof e.address, 'string');
  // A non-friendly raw peer gets no introductions at all.
  const shy = await raw(urlOf(b), { friendly: false, id: 'abcdefabcdefabcdefabcdefabcdef02' });
  await probe(shy, 1);
  assert.equal(shy.frames.filter((f) => f[0] === 200).length, 0);
});

test('entries without an address, for known peers, for itself or for unwanted roles are ignored', async () => {
  const peer = await listeningPeer({ name: 'target' });
  peer.role('svc').onRequest('echo', (ctx) => ctx.data);
  peer.destination('x');
  const other = await listeningPeer({ name: 'other' });
  other.role('x');
  const errors: unknown[] = [];
  peer.on('error', (e) => errors.push(e));
  const sender = await raw(urlOf(peer), { friendly: true });
  const dialsBefore = other.units.length;
  sender.sendJson(200, { id: 'deadbeef', roles: ['x', 'y'] });
  sender.sendJson(200, { id: 'deadbeef', address: null, roles: ['x'] });
  sender.sendJson(200, { id: other.id, address: urlOf(other), roles: ['unwanted'] });
  sender.sendJson(200, { id: peer.id, address: urlOf(peer), roles: ['x'] });
  sender.sendJson(200, { id: sender.remote!.id, address: urlOf(peer), roles: ['x'] });
  await probe(sender, 1);
  await delay(100);
  assert.equal(other.units.length, dialsBefore);
  assert.deepEqual(ids(peer), ['feedfacefeedfacefeedfacefeedface']);
  assert.deepEqual(errors, []);
  assert.equal(sender.closed, undefined, 'the connection stays open');

  // A usable entry is followed.
  sender.sendJson(200, { id: other.id, address: urlOf(other), roles: ['x'] });
  await eventually(() => peer.destination('x').ready, 3000, 'dialed the introduced peer');
  assert.deepEqual(peer.destination('x').units.map((u) => u.id), [other.id]);

  // The same entry again does not dial twice.
  sender.sendJson(200, { id: other.id, address: urlOf(other), roles: ['x'] });
  await probe(sender, 2);
  await delay(50);
  assert.equal(peer.units.find((u) => u.id === other.id)!.connections.length, 1);
});

test('an entry whose address does not answer fails quietly', async () => {
  const peer = await listeningPeer({ name: 'target' });
  peer.role('svc').onRequest('echo', (ctx) => ctx.data);
  peer.destination('x');
  const sender = await raw(urlOf(peer), { friendly: true });
  // A port that nothing listens on: the closed port of a peer that has gone.
  const gone = await listeningPeer();
  const address = urlOf(gone);
  await gone.close();
  sender.sendJson(200, { id: 'deadbeefdeadbeefdeadbeefdeadbeef', address, roles: ['x'] });
  await delay(100);
  await probe(sender, 1);
  assert.equal(peer.units.length, 1);
});
