import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawPeer } from '../helpers/raw-peer';
import { closeAll, listeningPeer, newPeer, requestFrame, stringPayload, urlOf, waitFor } from '../helpers/peers';
import { CloseCode, type Unit } from '../../src';

// The WebSocket layer after the opening handshake (src/transport/ws-wire.ts) against a plain ws
// client with ws's random masks: fragmented messages, pings, the close handshake, and the ws
// object that connect() hands out, as 1.1.x did.

after(closeAll);

async function echoServer() {
  const server = await listeningPeer({ name: 'server' });
  server.role('svc').onRequest('echo', (ctx) => ctx.data);
  return server;
}

test('a request fragmented into continuation frames (as Go peers write large messages) is read whole', async () => {
  const server = await echoServer();
  const raw = await RawPeer.connect(urlOf(server));
  const text = 'y'.repeat(10_000);
  const frame = requestFrame('svc', 'echo', 7, stringPayload(text));
  // Four fragments of one message, each with its own random mask key.
  const cuts = [0, 1, 5000, 9000, frame.length];
  for (let i = 0; i < cuts.length - 1; i++) {
    raw.ws.send(frame.subarray(cuts[i], cuts[i + 1]), { binary: true, fin: i === cuts.length - 2 });
  }
  const answer = await raw.next((f) => f[0] === 102);
  assert.deepEqual(answer, Buffer.concat([Buffer.from([102, 1, 7]), stringPayload(text)]));
  raw.close();
});

test('a ping gets a pong with its payload; a text message closes as a protocol error, with a reason', async () => {
  const server = await echoServer();
  const raw = await RawPeer.connect(urlOf(server));
  const pong = new Promise<Buffer>((resolve) => raw.ws.once('pong', resolve));
  raw.ws.ping(Buffer.from('are you there'));
  assert.equal((await pong).toString(), 'are you there');
  raw.ws.send('hello', { binary: false });
  const closed = await raw.waitClose();
  assert.equal(closed.code, CloseCode.PROTOCOL_ERROR);
  assert.match(closed.reason, /Text messages/);
});

test('a message over maxPayload closes with 1009; the connection before it answered', async () => {
  const server = await listeningPeer({ name: 'server', maxPayload: 200_000 });
  server.role('svc').onRequest('echo', (ctx) => ctx.data);
  const raw = await RawPeer.connect(urlOf(server));
  raw.send(requestFrame('svc', 'echo', 1, stringPayload('small')));
  await raw.next((f) => f[0] === 102);
  raw.send(requestFrame('svc', 'echo', 2, stringPayload('z'.repeat(300_000))));
  const closed = await raw.waitClose();
  assert.equal(closed.code, 1009);
});

test("connect()'s ws, as 1.1.x gave it: its close() closes the connection, 'close' is heard, the unit redials", async () => {
  const server = await echoServer();
  const client = newPeer({ name: 'client' });
  const { unit, ws } = await client.connect(urlOf(server));
  // Numbers, not ws.OPEN: with sockets in I/O threads, `ws` is a stand-in with the same surface.
  assert.equal(ws.readyState, 1);
  const heard = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
  const back = waitFor<[Unit]>(client, 'unit');
  ws.close(1012);
  assert.equal(await heard, 1012);
  assert.equal(ws.readyState, 3);
  const [again] = await back;
  assert.equal(again.id, unit.id);
  assert.equal((await client.destination('svc').request('echo', 'after')).data, 'after');
});

test('closing from either side completes the close handshake with the code and reason given', async () => {
  const server = await echoServer();
  const joined = waitFor<[Unit]>(server, 'unit');
  const raw = await RawPeer.connect(urlOf(server));
  const [unit] = await joined;
  unit.close();
  const closed = await raw.waitClose();
  assert.equal(closed.code, 4000);
  assert.ok(closed.reason.length > 0);
  // And from the client's side: the server hears the code.
  const joined2 = waitFor<[Unit]>(server, 'unit');
  const raw2 = await RawPeer.connect(urlOf(server));
  const [unit2] = await joined2;
  const heard = new Promise<void>((resolve) => unit2.once('close', () => resolve()));
  raw2.ws.close(4321, 'bye');
  // Our side answers the close frame with the same code, and the unit goes.
  assert.equal((await raw2.waitClose()).code, 4321);
  await heard;
});
