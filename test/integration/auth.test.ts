import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket, { WebSocketServer } from 'ws';
import { AuthError, HandshakeTimeoutError, type Peer, type Unit } from '../../src';
import { RawPeer } from '../helpers/raw-peer';
import {
  closeAll,
  confirmedFrame,
  delay,
  listeningPeer,
  newPeer,
  onCleanup,
  proofOf,
  rejectionOf,
  requestFrame,
  stringPayload,
  urlOf,
  within,
  jsonFrame,
  eventually,
} from '../helpers/peers';

// The handshake of docs/protocol.md §2 with and without preshared keys.

after(closeAll);

/** Collects what a peer reports: units and auth errors. */
function watch(peer: Peer): { units: Unit[]; authErrors: Error[] } {
  const seen = { units: [] as Unit[], authErrors: [] as Error[] };
  peer.on('unit', (u: Unit) => seen.units.push(u));
  peer.on('auth_error', (e: Error) => seen.authErrors.push(e));
  return seen;
}

async function keyedPair(serverKeys: Array<[string, string]>, clientKeys: Array<[string, string]>) {
  const server = await listeningPeer({ name: 'server' });
  const client = newPeer({ name: 'client' });
  for (const [id, key] of serverKeys) server.addPresharedKey(id, key);
  // Both spellings of the original API.
  for (const [id, key] of clientKeys) client.auth.addPresharedKey(id, key);
  server.role('svc').onRequest('ping', () => 'pong');
  return { server, client, serverSeen: watch(server), clientSeen: watch(client) };
}

test('the same key on both sides connects', async () => {
  const { server, client, serverSeen } = await keyedPair([['k1', 'secret-1']], [['k1', 'secret-1']]);
  const { unit } = await client.connect(urlOf(server));
  assert.equal(unit.id, server.id);
  assert.equal((await client.destination('svc').request('ping', null)).data, 'pong');
  assert.equal(serverSeen.units.length, 1);
  assert.equal(serverSeen.authErrors.length, 0);
});

test('several ids: the first id the other side holds is used', async () => {
  const { server, client } = await keyedPair(
    [
      ['k1', 'secret-1'],
      ['k2', 'secret-2'],
    ],
    [['k2', 'secret-2']],
  );
  await client.connect(urlOf(server));
  assert.equal((await client.destination('svc').request('ping', null)).data, 'pong');
});

for (const c of [
  { name: 'no common id', server: [['kx', 'a']], client: [['ky', 'b']] },
  { name: 'same id, different key', server: [['k1', 'secret-1']], client: [['k1', 'WRONG-secret']] },
  { name: 'keyed server, keyless client', server: [['k1', 'secret-1']], client: [] },
  { name: 'keyless server, keyed client', server: [], client: [['k1', 'secret-1']] },
] as Array<{ name: string; server: Array<[string, string]>; client: Array<[string, string]> }>) {
  test(`refused: ${c.name}; auth_error on both sides, no unit anywhere, no redial`, async () => {
    const { server, client, serverSeen, clientSeen } = await keyedPair(c.server, c.client);
    const err = await rejectionOf(client.connect(urlOf(server)));
    assert.ok(err instanceof AuthError, `${err.constructor.name}: ${err.message}`);
    assert.equal(err.code, 'RT_ERR_AUTH');
    await eventually(() => serverSeen.authErrors.length >= 1, 3000, 'server auth_error');
    assert.ok(clientSeen.authErrors.length >= 1, 'client auth_error');
    for (const e of [...clientSeen.authErrors, ...serverSeen.authErrors]) {
      assert.ok(e instanceof AuthError);
      assert.ok(e.message.length > 0);
    }
    assert.equal(serverSeen.units.length, 0);
    assert.equal(clientSeen.units.length, 0);
    assert.equal(server.units.length, 0);
    assert.equal(client.units.length, 0);
    // A refused first connection is not redialed, even though connections are permanent.
    const errorsSoFar = serverSeen.authErrors.length;
    await delay(100);
    assert.equal(serverSeen.authErrors.length, errorsSoFar);
  });
}

test('a key mismatch names the chosen id, as the original does', async () => {
  const { server, client, serverSeen } = await keyedPair([['k1', 'secret-1']], [['k1', 'WRONG-secret']]);
  const err = await rejectionOf(client.connect(urlOf(server)));
  assert.match(err.message, /Preshared key mismatch\. Chosen id: k1/);
  await delay(20);
  assert.ok(serverSeen.authErrors.some((e) => /Preshared key mismatch\. Chosen id: k1/.test(e.message)));
});

/** A bare WebSocket to `peer` that records frames and the close. */
async function rawSocket(url: string): Promise<{ ws: WebSocket; frames: Buffer[]; closed: Promise<{ code: number; reason: string; at: number }>; openedAt: number }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  onCleanup(() => ws.terminate());
  const frames: Buffer[] = [];
  ws.on('message', (d: Buffer) => frames.push(d));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed, openedAt: Date.now() };
}

test('handshake timeout: a client that sends nothing gets an ERROR frame and close 4002', async () => {
  const server = await listeningPeer({ handshakeTimeout: 150 });
  const seen = watch(server);
  const raw = await rawSocket(urlOf(server));
  const closed = await closed_(raw.closed);
  assert.equal(closed.code, 4002);
  assert.ok(closed.at - raw.openedAt >= 130, `closed after ${closed.at - raw.openedAt} ms`);
  assert.ok(closed.at - raw.openedAt < 2000);
  assert.deepEqual(
    raw.frames.map((f) => f[0]),
    [3, 0],
    'CONFIRMED at once, then ERROR',
  );
  const reason = JSON.parse(raw.frames[1]!.toString('utf8', 1)) as unknown;
  assert.equal(typeof reason, 'string');
  assert.equal(seen.authErrors.length, 1);
  assert.ok(seen.authErrors[0] instanceof HandshakeTimeoutError);
  assert.equal((seen.authErrors[0] as HandshakeTimeoutError).code, 'RT_ERR_HANDSHAKE_TIMEOUT');
  assert.equal(server.units.length, 0);
});

function closed_<T>(p: Promise<T>): Promise<T> {
  return within(p, 3000, 'the close');
}

test('handshake timeout on a keyed peer: CHALLENGE, then ERROR and 4002', async () => {
  const server = await listeningPeer({ handshakeTimeout: 100 });
  server.addPresharedKey('k1', 's3cret');
  const raw = await rawSocket(urlOf(server));
  // The raw side confirms but never proves: a keyed side needs the proof.
  raw.ws.send(confirmedFrame({ id: 'feedfacefeedfacefeedfacefeedface' }));
  const closed = await closed_(raw.closed);
  assert.equal(closed.code, 4002);
  assert.deepEqual(
    raw.frames.map((f) => f[0]),
    [1, 0],
  );
  assert.equal(server.units.length, 0);
});

test('handshake timeout on the dialing side: connect rejects when the remote never confirms', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  onCleanup(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise((resolve) => wss.close(resolve));
  });
  const closes: number[] = [];
  wss.on('connection', (ws) => ws.on('close', (code) => closes.push(code)));
  const client = newPeer({ handshakeTimeout: 100 });
  const started = Date.now();
  const err = await rejectionOf(client.connect(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, { permanent: false }));
  assert.ok(err instanceof HandshakeTimeoutError, err.constructor.name);
  assert.ok(Date.now() - started >= 90);
  assert.equal(client.units.length, 0);
});

test('a raw keyed handshake: correct proof connects; frames sent right after are kept in order', async () => {
  // A slow HMAC: frames that arrive while the proof is checked must wait, not be lost.
  const server = await listeningPeer({
    hmac: async (key, message) => {
      await delay(30);
      return proofOf(key, message);
    },
  });
  server.addPresharedKey('k1', 's3cret');
  server.role('svc').onRequest('echo', (ctx) => ctx.data);
  const raw = await rawSocket(urlOf(server));
  await eventually(() => raw.frames.length >= 1);
  assert.equal(raw.frames[0]![0], 1);
  const challenge = JSON.parse(raw.frames[0]!.toString('utf8', 1)) as { challenge: string; ids: string[] };
  assert.match(challenge.challenge, /^[0-9a-f]{64}$/);
  assert.deepEqual(challenge.ids, ['k1']);
  // Confirmation before the proof (the original accepts it), then a request, all in one burst.
  raw.ws.send(confirmedFrame({ id: 'feedfacefeedfacefeedfacefeedface', roles: ['raw'] }));
  raw.ws.send(jsonFrame(2, { proof: proofOf('s3cret', challenge.challenge), id: 'k1' }));
  raw.ws.send(requestFrame('svc', 'echo', 7, stringPayload('first')));
  raw.ws.send(requestFrame('svc', 'echo', 8, stringPayload('second')));
  await eventually(() => raw.frames.length >= 4);
  assert.deepEqual(
    raw.frames.map((f) => f[0]),
    [1, 3, 102, 102],
  );
  assert.equal(raw.frames[2]!.toString('hex'), '660107' + stringPayload('first').toString('hex'));
  assert.equal(raw.frames[3]!.toString('hex'), '660108' + stringPayload('second').toString('hex'));
  assert.equal(server.units.length, 1);
});

test('a raw keyed handshake: a wrong proof or an unknown id gets ERROR and 4002', async () => {
  const server = await listeningPeer();
  server.addPresharedKey('k1', 's3cret');
  const seen = watch(server);
  for (const response of [
    { proof: proofOf('not-the-key', 'whatever'), id: 'k1' },
    { proof: 'abcd', id: 'k1' },
    { proof: proofOf('s3cret', 'x'), id: 'nope' },
  ]) {
    const raw = await rawSocket(urlOf(server));
    await eventually(() => raw.frames.length >= 1);
    raw.ws.send(jsonFrame(2, response));
    raw.ws.send(confirmedFrame({ id: 'feedfacefeedfacefeedfacefeedface' }));
    const closed = await closed_(raw.closed);
    assert.equal(closed.code, 4002);
    assert.deepEqual(
      raw.frames.map((f) => f[0]),
      [1, 0],
    );
    if (response.id === 'k1' && response.proof.length === 64) {
      assert.equal(JSON.parse(raw.frames[1]!.toString('utf8', 1)), 'Preshared key mismatch. Chosen id: k1');
    }
  }
  assert.equal(seen.units.length, 0);
  assert.equal(seen.authErrors.length, 3);
});

test('an ERROR frame from the remote during the handshake fails it: 4002, auth_error, no unit', async () => {
  const server = await listeningPeer();
  const seen = watch(server);
  const raw = await rawSocket(urlOf(server));
  raw.ws.send(jsonFrame(0, 'go away'));
  const closed = await closed_(raw.closed);
  assert.equal(closed.code, 4002);
  assert.equal(seen.authErrors.length, 1);
  assert.match(seen.authErrors[0]!.message, /go away/);
  assert.equal(server.units.length, 0);
});

test('a keyless raw peer joins a keyless peer (the helper used by the protocol tests)', async () => {
  const server = await listeningPeer({ name: 'plain' });
  const raw = await RawPeer.connect(urlOf(server));
  onCleanup(() => raw.close());
  assert.equal(raw.remote!.id, server.id);
  await eventually(() => server.units.length === 1);
});
