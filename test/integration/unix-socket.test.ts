import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Context, Peer, Unit } from '../../src';
import { closeAll, delay, eventually, listeningPeer, newPeer, rejectionOf, urlOf, waitFor } from '../helpers/peers';

// The same-host fast path: listen({ socketPath }) and connect('ws+unix:<path>'). Runs in both
// transport modes (scripts/run-tests.js sets ROLETALK_IO_THREADS=2 for the second run).

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-unix-'));
let n = 0;
const socketPath = (): string => path.join(dir, `peer-${++n}.sock`);

after(async () => {
  await closeAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function unixServer(where = socketPath(), name = 'server'): Promise<Peer> {
  const server = newPeer({ name });
  server.role('svc').onRequest('add', (ctx) => (ctx.data as number) + 1);
  await server.listen({ socketPath: where });
  return server;
}

test('a request and its answer over a Unix socket; port is undefined, socketPath is the path', async () => {
  const where = socketPath();
  const server = await unixServer(where);
  assert.equal(server.port, undefined);
  assert.equal(server.socketPath, where);
  assert.ok(fs.statSync(where).isSocket());
  const client = newPeer({ name: 'client' });
  const accepted = waitFor<[Unit]>(server, 'unit');
  const { unit, ws } = await client.connect(`ws+unix:${where}`);
  assert.equal(unit.id, server.id);
  assert.equal(unit.address, `ws+unix:${where}`);
  assert.equal(ws.url, `ws+unix:${where}`);
  assert.equal(unit.connections[0]!.remoteAddress, `ws+unix:${where}`);
  const [remote] = await accepted;
  assert.equal(remote.connections[0]!.remoteAddress, 'unix');
  assert.equal((await client.destination('svc').request('add', 41)).data, 42);
});

test('a request path after the socket path: ws+unix:<socket>:<path>', async () => {
  const where = socketPath();
  const server = newPeer();
  server.role('svc').onRequest('ping', () => 'pong');
  await server.listen({ socketPath: where, path: '/rt' });
  const client = newPeer();
  await client.connect(`ws+unix:${where}:/rt`);
  assert.equal((await client.destination('svc').request('ping', null)).data, 'pong');
  // Another path is refused, as over TCP.
  await assert.rejects(newPeer().connect(`ws+unix:${where}:/other`, { permanent: false }));
});

test('a stream both ways over a Unix socket', async () => {
  const server = await unixServer();
  const size = 4 << 20;
  const block = Buffer.alloc(64 * 1024, 7);
  const digest = (bytes: number): string => {
    const hash = createHash('sha256');
    for (let sent = 0; sent < bytes; sent += block.length) hash.update(block.subarray(0, Math.min(block.length, bytes - sent)));
    return hash.digest('hex');
  };
  const uploaded = new Promise<string>((resolve) => {
    server.role('files').onReadable('upload', (ctx: Context) => {
      const hash = createHash('sha256');
      ctx.readable!.on('data', (c: Buffer) => hash.update(c));
      ctx.readable!.on('end', () => resolve(hash.digest('hex')));
      return 'ok';
    });
  });
  server.role('files').onWritable('download', (ctx: Context) => {
    pipeline(Readable.from((function* () {
      for (let sent = 0; sent < size; sent += block.length) yield block;
    })()), ctx.writable!).catch(() => {});
    return size;
  });
  const client = newPeer();
  const files = client.destination('files');
  await client.connect(`ws+unix:${server.socketPath}`);
  await eventually(() => files.ready);
  const w = files.Writable('upload', null);
  await pipeline(Readable.from((function* () {
    for (let sent = 0; sent < size; sent += block.length) yield block;
  })()), w);
  assert.equal(await uploaded, digest(size));
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of files.Readable('download', null) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  assert.equal(bytes, size);
  assert.equal(hash.digest('hex'), digest(size));
});

test('the dialer redials a server that restarts on the same path', async () => {
  const where = socketPath();
  const first = await unixServer(where, 'first');
  const client = newPeer();
  await client.connect(`ws+unix:${where}`);
  const reconnected = waitFor<[{ address: string; unit: Unit }]>(client, 'reconnect_success', 5000);
  const failed = waitFor(client, 'reconnect_fail', 3000);
  await first.close();
  assert.equal(fs.existsSync(where), false, 'close() removed the socket file');
  await failed;
  const second = await unixServer(where, 'second');
  second.role('svc').onRequest('who', () => 'second');
  const [event] = await reconnected;
  assert.equal(event.address, `ws+unix:${where}`);
  assert.equal(event.unit.id, second.id);
  assert.equal((await client.destination('svc').request('who', null)).data, 'second');
});

test('close() removes the socket file, also with units connected', async () => {
  const where = socketPath();
  const server = await unixServer(where);
  await newPeer().connect(`ws+unix:${where}`, { permanent: false });
  assert.ok(fs.existsSync(where));
  await server.close();
  assert.equal(fs.existsSync(where), false);
});

test('a stale socket file from a crashed process is replaced; a socket in use fails with EADDRINUSE', async () => {
  const stale = socketPath();
  // A process that listens and exits without closing leaves its socket file behind.
  const child = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`]);
  assert.equal(child.status, 0);
  assert.ok(fs.statSync(stale).isSocket(), 'the stale file is there');
  const server = await unixServer(stale);
  const client = newPeer();
  await client.connect(`ws+unix:${stale}`);
  assert.equal((await client.destination('svc').request('add', 1)).data, 2);

  // Something accepts on this path: it is not taken over.
  const busy = socketPath();
  const other = net.createServer();
  await new Promise<void>((resolve) => other.listen(busy, resolve));
  try {
    const err = await rejectionOf(newPeer().listen({ socketPath: busy }));
    assert.equal(err.code, 'EADDRINUSE');
    assert.ok(fs.existsSync(busy), 'the live socket stays');
    // Nor is a file that is not a socket removed.
    const plain = path.join(dir, 'plain-file');
    fs.writeFileSync(plain, 'keep');
    assert.equal((await rejectionOf(newPeer().listen({ socketPath: plain }))).code, 'EADDRINUSE');
    assert.equal(fs.readFileSync(plain, 'utf8'), 'keep');
  } finally {
    await new Promise((resolve) => other.close(resolve));
  }
  await server.close();
});

test('listen and connect check socket paths and ws+unix: addresses at the call', async () => {
  const peer = newPeer();
  const bad = { code: 'RT_ERR_INVALID_ARG' };
  assert.throws(() => peer.listen({ socketPath: '' }), { ...bad, argument: 'socketPath' });
  assert.throws(() => peer.listen({ socketPath: 5 as never }), { ...bad, argument: 'socketPath' });
  assert.throws(() => peer.listen({ socketPath: socketPath(), port: 0 }), { ...bad, argument: 'port' });
  assert.throws(() => peer.listen({ socketPath: socketPath(), host: '127.0.0.1' }), { ...bad, argument: 'host' });
  assert.throws(() => peer.listen({ socketPath: socketPath(), server: http.createServer() }), { ...bad, argument: 'server' });
  assert.throws(() => peer.listen({ socketPath: socketPath(), ssl: {} }), { ...bad, argument: 'ssl' });
  assert.throws(() => peer.connect('unix:/tmp/x.sock'), { ...bad, argument: 'address' });
  assert.throws(() => peer.connect('ws+unix:'), { ...bad, argument: 'address' });
  // Nothing listens at a path that does not exist: the dial fails, it does not throw.
  await assert.rejects(peer.connect(`ws+unix:${path.join(dir, 'nobody.sock')}`, { permanent: false }), { code: 'ENOENT' });
});

test('a peer dialed over a Unix socket is not introduced to others (its path means nothing on another host)', async () => {
  const a = await unixServer(undefined, 'A');
  a.role('a-role');
  const b = await listeningPeer({ name: 'B' });
  await b.connect(`ws+unix:${a.socketPath}`);
  const c = newPeer({ name: 'C' });
  c.destination('a-role');
  await c.connect(urlOf(b));
  await delay(150);
  assert.deepEqual(c.units.map((u) => u.id), [b.id]);
});

test('advertise: true offers no address when listening on a Unix socket', async () => {
  const server = newPeer({ advertise: true });
  await server.listen({ socketPath: socketPath() });
  const hub = await listeningPeer({ name: 'hub' });
  const accepted = waitFor<[Unit]>(hub, 'unit');
  await server.connect(urlOf(hub));
  const [unit] = await accepted;
  assert.equal(unit.address, undefined);
});
