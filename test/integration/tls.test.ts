import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { closeAll, closeHttp, listeningPeer, newPeer, onCleanup, rejectionOf } from '../helpers/peers';
import { selfSignedCertificate } from '../helpers/certificate';

// Listening with TLS on a self-signed certificate made for this test, dialing wss://.

let key: Buffer;
let cert: Buffer;

before(() => {
  ({ key, cert } = selfSignedCertificate('localhost', 'IP:127.0.0.1,DNS:localhost'));
});

after(closeAll);

async function tlsServer(): Promise<{ url: string; port: number; serverId: string; server: Awaited<ReturnType<typeof listeningPeer>> }> {
  const server = await listeningPeer({ name: 'secure' }, { ssl: { key, cert } });
  server.role('svc').onRequest('echo', (ctx) => ({ echoed: ctx.data, type: ctx.type }));
  return { url: `wss://127.0.0.1:${server.port}`, port: server.port!, serverId: server.id, server };
}

test('wss:// with the certificate as ca: requests flow both ways', async () => {
  const { url, serverId, server } = await tlsServer();
  const client = newPeer({ name: 'client' });
  client.role('back').onRequest('echo', (ctx) => ctx.data);
  const { unit, ws } = await client.connect(url, { ca: cert });
  assert.equal(unit.id, serverId);
  assert.equal(ws.url, `${url}/`);
  const ctx = await client.destination('svc').request('echo', Buffer.from([1, 2, 3]));
  assert.deepEqual(ctx.data, { echoed: { type: 'Buffer', data: [1, 2, 3] }, type: 'binary' });
  const big = 'x'.repeat(200_000);
  assert.equal(((await client.destination('svc').request('echo', big)).data as { echoed: string }).echoed, big);
  // The listening side calls back over the same TLS connection.
  const back = server.destination('back');
  assert.equal((await back.request('echo', 'reverse')).data, 'reverse');
});

test('wss:// without the ca is refused (self-signed) and makes no unit; rejectUnauthorized: false connects', async () => {
  const { url, server } = await tlsServer();
  const client = newPeer();
  const err = await rejectionOf(client.connect(url, { permanent: false }));
  assert.match(String((err as { code?: string }).code ?? err.message), /SELF_SIGNED|self.signed|certificate/i);
  assert.equal(client.units.length, 0);
  assert.equal(server.units.length, 0);
  const lax = newPeer();
  const { unit } = await lax.connect(url, { rejectUnauthorized: false, permanent: false });
  assert.equal(unit.id, server.id);
  assert.deepEqual((await lax.destination('svc').request('echo', 1)).data, { echoed: 1, type: 'number' });
});

test('plain ws:// to a TLS port fails without disturbing the listener', async () => {
  const { port, url } = await tlsServer();
  const client = newPeer();
  await rejectionOf(client.connect(`ws://127.0.0.1:${port}`, { permanent: false }));
  const good = newPeer();
  await good.connect(url, { ca: cert });
  assert.deepEqual((await good.destination('svc').request('echo', 'ok')).data, { echoed: 'ok', type: 'string' });
});

test('listen({ server }) with an https.Server of the user', async () => {
  const server = https.createServer({ key, cert }, (_req, res) => res.end('tls http'));
  onCleanup(() => closeHttp(server));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const peer = newPeer({ name: 'on-https' });
  peer.role('svc').onRequest('who', () => 'on-https');
  await peer.listen({ server });
  const client = newPeer();
  await client.connect(`wss://127.0.0.1:${peer.port}`, { ca: cert });
  assert.equal((await client.destination('svc').request('who', null)).data, 'on-https');
});
