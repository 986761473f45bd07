import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer } from 'ws';
import { AlreadyListeningError, type Peer } from '../../src';
import { closeAll, closeHttp, eventually, listeningPeer, newPeer, onCleanup, rejectionOf, urlOf, waitFor } from '../helpers/peers';

// Serving on a server of the user's own, listen options and listen errors.

after(closeAll);

function httpServer(handler: http.RequestListener = (_req, res) => res.end('hello from http')): http.Server {
  const server = http.createServer(handler);
  onCleanup(() => closeHttp(server));
  return server;
}

function listenHttp(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

function serving(peer: Peer): Peer {
  peer.role('svc').onRequest('who', () => peer.name);
  return peer;
}

test('handleUpgrade serves roletalk on an existing http.Server next to its HTTP routes', async () => {
  const peer = serving(newPeer({ name: 'upgraded' }));
  const server = httpServer();
  server.on('upgrade', (req, socket, head) => peer.handleUpgrade(req, socket, head));
  const port = await listenHttp(server);
  const client = newPeer();
  const { unit } = await client.connect(`ws://127.0.0.1:${port}/any/path`);
  assert.equal(unit.id, peer.id);
  assert.equal((await client.destination('svc').request('who', null)).data, 'upgraded');
  assert.deepEqual(await get(port), { status: 200, body: 'hello from http' });
  assert.equal(peer.units.length, 1);
});

test('prepareWSServer returns one WebSocket server, and handleUpgrade works with it prepared', async () => {
  const peer = serving(newPeer({ name: 'prepared' }));
  const wss = peer.prepareWSServer();
  assert.ok(wss instanceof WebSocketServer);
  assert.equal(peer.prepareWSServer(), wss);
  const server = httpServer();
  server.on('upgrade', (req, socket, head) => peer.handleUpgrade(req, socket, head));
  const port = await listenHttp(server);
  const client = newPeer();
  await client.connect(`ws://127.0.0.1:${port}`);
  assert.equal((await client.destination('svc').request('who', null)).data, 'prepared');
});

test('listen({ server }) serves on a server that listens already, or once it does', async () => {
  const before = httpServer();
  const port = await listenHttp(before);
  const early = serving(newPeer({ name: 'early' }));
  await early.listen({ server: before });
  assert.equal(early.port, port);
  const client = newPeer();
  await client.connect(`ws://127.0.0.1:${port}`);
  assert.equal((await client.destination('svc').request('who', null)).data, 'early');
  assert.deepEqual(await get(port), { status: 200, body: 'hello from http' }, 'the user server keeps its routes');

  const later = httpServer();
  const late = serving(newPeer({ name: 'late' }));
  const listening = late.listen({ server: later });
  const latePort = await listenHttp(later);
  await listening;
  assert.equal(late.port, latePort);
  const client2 = newPeer();
  await client2.connect(`ws://127.0.0.1:${latePort}`);
  assert.equal((await client2.destination('svc').request('who', null)).data, 'late');
});

test('listen with a path accepts upgrades on that path only', async () => {
  const peer = serving(await listeningPeer({ name: 'pathed' }, { path: '/rt' }));
  const client = newPeer();
  const refused = await rejectionOf(client.connect(`${urlOf(peer)}/other`, { permanent: false }));
  assert.ok(refused instanceof Error);
  assert.equal(peer.units.length, 0);
  await client.connect(`${urlOf(peer)}/rt`);
  assert.equal((await client.destination('svc').request('who', null)).data, 'pathed');
  // A query string does not change the path.
  const client2 = newPeer();
  await client2.connect(`${urlOf(peer)}/rt?x=1`);
  await eventually(() => peer.units.length === 2, 3000, 'both clients joined');
});

test('listen twice throws AlreadyListeningError; the listener still works', async () => {
  const peer = serving(await listeningPeer({ name: 'once' }));
  assert.throws(() => peer.listen(0), AlreadyListeningError);
  assert.throws(() => peer.listen({ port: 0 }), (e: Error & { code?: string }) => e.code === 'RT_ERR_ALREADY_LISTENING');
  const client = newPeer();
  await client.connect(urlOf(peer));
  assert.equal((await client.destination('svc').request('who', null)).data, 'once');
});

test('listen rejects on EADDRINUSE and may be retried on another port', async () => {
  const taken = await listeningPeer();
  const peer = newPeer();
  const err = await rejectionOf(peer.listen({ port: taken.port!, host: '127.0.0.1' }));
  assert.equal(err.code, 'EADDRINUSE');
  assert.equal(peer.port, undefined);
  // The callback form reports the same error.
  const viaCallback = await new Promise<Error | null>((resolve) => {
    peer.listen({ port: taken.port!, host: '127.0.0.1' }, (e) => resolve(e)).catch(() => {});
  });
  assert.equal((viaCallback as Error & { code?: string }).code, 'EADDRINUSE');
  await peer.listen({ port: 0, host: '127.0.0.1' });
  assert.ok(peer.port! > 0);
  assert.notEqual(peer.port, taken.port);
});

test('listen(port, cb) and close(cb): the callback forms', async () => {
  const peer = newPeer();
  const listened = await new Promise<Peer | undefined>((resolve, reject) =>
    peer.listen(0, (err, p) => (err ? reject(err) : resolve(p))).catch(() => {}),
  );
  assert.equal(listened, peer);
  assert.ok(peer.port! > 0);
  const closed = waitFor(peer, 'close');
  await new Promise<void>((resolve, reject) => peer.close((err) => (err ? reject(err) : resolve())));
  await closed;
});

test('our own server answers plain HTTP with 426 and frees its port on close', async () => {
  const peer = await listeningPeer();
  const port = peer.port!;
  const res = await get(port);
  assert.equal(res.status, 426);
  const client = newPeer();
  await client.connect(urlOf(peer));
  await peer.close();
  assert.equal(client.units.length === 0 || client.units[0]!.connections.length <= 1, true);
  const again = await listeningPeer({}, { port });
  assert.equal(again.port, port);
});

test('a closed peer refuses upgrades handed to it', async () => {
  const peer = newPeer();
  const server = httpServer();
  server.on('upgrade', (req, socket, head) => peer.handleUpgrade(req, socket, head));
  const port = await listenHttp(server);
  await peer.close();
  const client = newPeer();
  const err = await rejectionOf(client.connect(`ws://127.0.0.1:${port}`, { permanent: false }));
  assert.ok(err instanceof Error);
  assert.equal(client.units.length, 0);
});
