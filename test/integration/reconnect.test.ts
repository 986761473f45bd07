import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import WebSocket from 'ws';
import { ConnectionClosedError, InvalidArgumentError, UnitClosedError, type Unit } from '../../src';
import { WebSocketServer } from 'ws';
import { RawPeer } from '../helpers/raw-peer';
import {
  closeAll,
  connectedPair,
  delay,
  eventually,
  listeningPeer,
  newPeer,
  onCleanup,
  RawServer,
  urlOf,
  waitFor,
  within,
} from '../helpers/peers';

// Reconnection (docs/protocol.md §8) and heartbeats (§1).

after(closeAll);

interface Reconnected {
  address: string;
  unit: Unit;
}

test('the dialer reconnects after the remote closes the unit', async () => {
  const { server, client, unit } = await connectedPair({
    setup: (server) => server.role('svc').onRequest('ping', () => 'pong'),
  });
  const dest = client.destination('svc');
  const unitClosed = waitFor(unit, 'close');
  const reconnected = waitFor<[Reconnected]>(client, 'reconnect_success');
  const serverUnits = waitFor<[Unit]>(server, 'unit');
  const started = Date.now();
  server.units[0]!.close();
  await unitClosed;
  const [event] = await reconnected;
  assert.ok(Date.now() - started < 1000, 'the first redial is immediate');
  assert.equal(event.address, urlOf(server));
  assert.equal(event.unit.id, server.id);
  assert.notEqual(event.unit, unit, 'a new unit');
  assert.equal((await serverUnits)[0].id, client.id);
  assert.deepEqual(client.units, [event.unit]);
  assert.deepEqual(dest.units, [event.unit]);
  assert.equal((await dest.request('ping', null)).data, 'pong');
});

test('the dialer reconnects after the remote drops the connection without a close handshake', async () => {
  const { server, client } = await connectedPair();
  const reconnected = waitFor<[Reconnected]>(client, 'reconnect_success');
  server.units[0]!.connections[0]!.terminate();
  const [event] = await reconnected;
  assert.equal(event.unit.id, server.id);
  await eventually(() => server.units.length === 1);
});

test('the dialer reconnects after the remote restarts on the same port, with the backoff of §8', async () => {
  const first = await listeningPeer({ name: 'first' });
  const port = first.port!;
  const client = newPeer();
  await client.connect(urlOf(first));
  const fails: Array<{ delay: number; error: Error }> = [];
  client.on('reconnect_fail', (e: { delay: number; error: Error }) => fails.push(e));
  const reconnected = waitFor<[Reconnected]>(client, 'reconnect_success', 5000);
  const firstFail = waitFor(client, 'reconnect_fail', 3000);
  await first.close();
  // The immediate redial finds nothing listening; the next one comes about 1 s later.
  await firstFail;
  const failedAt = Date.now();
  assert.equal(fails[0]!.delay, 0);
  const second = await listeningPeer({ name: 'second' }, { port });
  assert.equal(second.port, port);
  second.role('svc').onRequest('who', () => 'second');
  const [event] = await reconnected;
  const took = Date.now() - failedAt;
  assert.equal(event.unit.id, second.id);
  assert.equal(event.unit.name, 'second');
  assert.equal((await client.destination('svc').request('who', null)).data, 'second');
  assert.equal(fails.length, 1);
  assert.ok(took >= 900 && took < 2000, `reconnected ${took} ms after the failed redial`);
});

test('no reconnection after unit.close() on the dialing side', async () => {
  const { server, client, unit } = await connectedPair();
  let reconnects = 0;
  client.on('reconnect_success', () => reconnects++);
  let serverUnits = 0;
  server.on('unit', () => serverUnits++);
  const serverSide = waitFor(server.units[0]!, 'close');
  unit.close();
  await serverSide;
  await delay(200);
  assert.equal(reconnects, 0);
  assert.equal(serverUnits, 0);
  assert.equal(server.units.length, 0);
  assert.equal(client.units.length, 0);
});

test('no reconnection with permanent: false', async () => {
  const { server, client, unit } = await connectedPair({ connect: { permanent: false } });
  let reconnects = 0;
  client.on('reconnect_success', () => reconnects++);
  client.on('reconnect_fail', () => reconnects++);
  let serverUnits = 0;
  server.on('unit', () => serverUnits++);
  const closed = waitFor(unit, 'close');
  server.units[0]!.close();
  await closed;
  await delay(200);
  assert.equal(reconnects, 0);
  assert.equal(serverUnits, 0);
  assert.equal(client.units.length, 0);
});

test('peer.close() stops reconnection, even from within the unit close event', async () => {
  const { server, client, unit } = await connectedPair();
  let serverUnits = 0;
  server.on('unit', () => serverUnits++);
  const closedPeer = new Promise<void>((resolve) => {
    unit.once('close', () => {
      void client.close().then(resolve);
    });
  });
  server.units[0]!.close();
  await closedPeer;
  await delay(150);
  assert.equal(serverUnits, 0);
  assert.equal(server.units.length, 0);
  // A closed peer dials no more.
  assert.throws(() => client.connect(urlOf(server)), /closed/);
});

test('a heartbeat timeout drops a connection whose remote stops answering pings', async () => {
  const raw = await RawServer.start({ autoPong: false, roles: ['svc'] });
  const client = newPeer({ heartbeat: { interval: 40, timeout: 60 } });
  const { unit } = await client.connect(raw.url, { permanent: false });
  const pending = unit.request('svc', 'never', null).catch((e: Error) => e);
  const closed = waitFor(unit, 'close', 2000);
  const started = Date.now();
  await closed;
  const took = Date.now() - started;
  assert.ok(took < 1000, `dropped after ${took} ms`);
  const err = await pending;
  assert.ok(err instanceof UnitClosedError, String(err));
  assert.equal(client.units.length, 0);
  // Dropped at once, without waiting for a close handshake.
  await eventually(() => raw.sockets[0]!.readyState === WebSocket.CLOSED, 1000, 'the raw side closed');
});

test('a heartbeat timeout on a permanent connection is followed by a reconnection', async () => {
  const raw = await RawServer.start({ autoPong: false, roles: ['svc'] });
  const client = newPeer({ heartbeat: { interval: 40, timeout: 60 } });
  await client.connect(raw.url);
  const [event] = await waitFor<[Reconnected]>(client, 'reconnect_success', 2000);
  assert.equal(event.unit.id, raw.id);
  assert.ok(raw.sockets.length >= 2);
  assert.equal(raw.sockets[0]!.readyState, WebSocket.CLOSED);
});

test('peers that answer pings stay connected under short heartbeats', async () => {
  const hb = { heartbeat: { interval: 20, timeout: 400 } };
  const { client, unit } = await connectedPair({ server: hb, client: hb });
  let closed = false;
  unit.on('close', () => (closed = true));
  await delay(250);
  assert.equal(closed, false);
  assert.equal(client.units.length, 1);
});

test('our peer answers a ping from a raw client', async () => {
  const server = await listeningPeer();
  const peer = await RawPeer.connect(urlOf(server));
  onCleanup(() => peer.close());
  const pong = new Promise<Buffer>((resolve) => peer.ws.once('pong', resolve));
  peer.ws.ping(Buffer.from('hi'));
  assert.equal((await pong).toString(), 'hi');
});

test('unit.close() and peer.close() close the connection with 4000 and a reason', async () => {
  const server = await listeningPeer();
  const first = await RawPeer.connect(urlOf(server));
  onCleanup(() => first.close());
  await eventually(() => server.units.length === 1);
  server.units[0]!.close();
  const closed = await first.waitClose(2000);
  assert.equal(closed.code, 4000);
  assert.ok(closed.reason.length > 0);

  const second = await RawPeer.connect(urlOf(server), { id: 'feedfacefeedfacefeedfacefeedfac2' });
  onCleanup(() => second.close());
  await eventually(() => server.units.length === 1);
  const peerClosed = waitFor(server, 'close');
  await server.close();
  await peerClosed;
  assert.equal((await second.waitClose(2000)).code, 4000);
  assert.equal(server.units.length, 0);
});

test('a dialed connection closed by this side with any code, or terminated, is redialed as in 1.1.x', async () => {
  const server = await listeningPeer();
  const client = newPeer();
  const { unit } = await client.connect(urlOf(server));
  await client.connect(urlOf(server));
  assert.equal(unit.connections.length, 2);
  let reconnects = 0;
  client.on('reconnect_success', () => reconnects++);
  // 1012 "service restart": how applications recycle a connection. Not closing the unit on purpose.
  const first = waitFor<[Reconnected]>(client, 'reconnect_success');
  unit.connections[0]!.close(1012, 'recycle');
  assert.equal((await first)[0].unit, unit, 'the same unit, its other connection never closed');
  await eventually(() => unit.connections.length === 2);
  const second = waitFor<[Reconnected]>(client, 'reconnect_success');
  unit.connections[1]!.terminate();
  await second;
  await eventually(() => unit.connections.length === 2);
  // Even code 4000 on a single connection is not unit.close(): redialed too.
  const third = waitFor<[Reconnected]>(client, 'reconnect_success');
  unit.connections[0]!.close(4000, 'one socket');
  await third;
  await eventually(() => unit.connections.length === 2 && server.units[0]?.connections.length === 2);
  assert.equal(reconnects, 3);
});

test('a connection closed with { redial: false } is not redialed; the others stay permanent', async () => {
  const server = await listeningPeer();
  const client = newPeer();
  const { unit } = await client.connect(urlOf(server));
  await client.connect(urlOf(server));
  await client.connect(urlOf(server));
  assert.equal(unit.connections.length, 3);
  let reconnects = 0;
  client.on('reconnect_success', () => reconnects++);
  unit.connections[0]!.close(1000, 'fewer connections', { redial: false });
  unit.connections[1]!.terminate({ redial: false });
  await eventually(() => unit.connections.length === 1);
  await delay(150);
  assert.equal(reconnects, 0);
  assert.equal(unit.connections.length, 1);
  assert.throws(() => unit.connections[0]!.close(1000, 'x', { redial: 'no' as unknown as boolean }), InvalidArgumentError);
  // The remaining connection is still permanent: the remote closing it brings it back.
  const back = waitFor<[Reconnected]>(client, 'reconnect_success');
  server.units[0]!.close();
  assert.equal((await back)[0].unit.connections.length, 1);
});

test('connect: a bad address throws at once; a refused or closed first connection rejects and is not retried', async () => {
  const client = newPeer();
  assert.throws(() => client.connect('http://127.0.0.1:1'), InvalidArgumentError);
  assert.throws(() => client.connect(42 as unknown as string), InvalidArgumentError);
  let fails = 0;
  client.on('reconnect_fail', () => fails++);

  const gone = await listeningPeer();
  const address = urlOf(gone);
  await gone.close();
  const refused = await client.connect(address).then(
    () => assert.fail('connected'),
    (e: Error & { code?: string }) => e,
  );
  assert.equal(refused.code, 'ECONNREFUSED');

  // A server that accepts the WebSocket and closes it before any handshake.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  onCleanup(() => new Promise((resolve) => wss.close(resolve)));
  let accepted = 0;
  wss.on('connection', (ws) => {
    accepted++;
    ws.close(4321, 'not today');
  });
  const closed = await client.connect(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`).then(
    () => assert.fail('connected'),
    (e: Error) => e,
  );
  assert.ok(closed instanceof ConnectionClosedError, closed.constructor.name);
  assert.equal((closed as ConnectionClosedError).code, 'RT_ERR_CONNECTION_CLOSED');
  await delay(100);
  assert.equal(accepted, 1, 'no retry of a failed first connection');
  assert.equal(fails, 0);
  assert.equal(client.units.length, 0);
});

test('close() is idempotent and resolves on a peer that never listened', async () => {
  const lonely = newPeer();
  await lonely.close();
  await lonely.close();
  const { server, client } = await connectedPair();
  let serverCloses = 0;
  server.on('close', () => serverCloses++);
  await within(Promise.all([server.close(), server.close(), client.close()]), 3000, 'closing twice');
  await server.close();
  assert.ok(serverCloses >= 1);
  assert.equal(server.units.length, 0);
  assert.throws(() => server.listen(0), /closed/);
});

test('a reply made after the requester went away goes nowhere, quietly', async () => {
  let replied = false;
  const { server, client } = await connectedPair({
    setup: (server) =>
      server.role('svc').onRequest('slow', async () => {
        await delay(60);
        replied = true;
        return 'late';
      }),
  });
  const errors: unknown[] = [];
  server.on('error', (e) => errors.push(e));
  const pending = client.destination('svc').request('slow', null).catch((e: Error) => e);
  await delay(10);
  await client.close();
  assert.ok((await pending) instanceof UnitClosedError);
  await eventually(() => replied, 2000, 'the handler replied');
  await delay(20);
  assert.deepEqual(errors, []);
  assert.equal(server.units.length, 0);
});

test("1.1.x's private fields its users' tests reach for: _port, _listener, unit._name, unit._sockets with 'close'", async () => {
  const { server, client, unit } = await connectedPair();
  assert.equal(server._port, server.port);
  if (server.ioThreads === 0) assert.ok(server._listener instanceof http.Server);
  else assert.equal(server._listener, undefined, 'the listener lives in an I/O thread');
  assert.equal(unit._name, 'server');
  const ws = unit._sockets[0]!;
  const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code: number, reason: string) => resolve([code, reason])));
  const back = waitFor<[Reconnected]>(client, 'reconnect_success');
  ws.close(1012);
  const [code] = await closed;
  assert.equal(code, 1012);
  assert.equal(client.units.length, 0, "the unit is gone by the time its socket's 'close' is heard");
  await back;
  assert.equal(client.units.length, 1);
});
