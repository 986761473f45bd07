import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Peer, StreamError, FrameEncoder, decodeFrame, type Context, type PeerOptions } from '../../src';
import { DEFAULT_STREAM_WINDOW, INITIAL_ALLOWANCE } from '../../src/streams/window';
import { readVarnum } from '../../src/protocol/varnum';
import { RawPeer } from '../helpers/raw-peer';

// Streams of docs/protocol.md §6 between real peers on 127.0.0.1.

const peers: Peer[] = [];
after(async () => {
  await Promise.all(peers.map((p) => p.close()));
});

function pattern(size: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    buf[i] = x >>> 24;
  }
  return buf;
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Yields `size` bytes of `pattern` in `chunk`-sized pieces without holding them all. */
function* pieces(size: number, chunk: number): Generator<Buffer> {
  const block = pattern(chunk);
  for (let sent = 0; sent < size; sent += chunk) yield block.subarray(0, Math.min(chunk, size - sent));
}

async function hashOf(stream: NodeJS.ReadableStream): Promise<{ bytes: number; digest: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, digest: hash.digest('hex') };
}

function expectedHash(size: number, chunk: number): string {
  const hash = createHash('sha256');
  for (const p of pieces(size, chunk)) hash.update(p);
  return hash.digest('hex');
}

/** A server with a `files` role and a client connected to it (`connections` of them). */
async function pair(connections = 1, options: PeerOptions = {}): Promise<{ server: Peer; client: Peer; files: ReturnType<Peer['destination']> }> {
  const server = new Peer({ name: 'server', ...options });
  const client = new Peer({ name: 'client', ...options });
  peers.push(server, client);
  const role = server.role('files');
  role.onReadable('upload', (ctx: Context) => {
    hashOf(ctx.readable!).then((r) => server.emit('uploaded', r, ctx.data), (e) => server.emit('upload_error', e));
    return { accepted: true };
  });
  role.onWritable('download', (ctx: Context) => {
    const { size, chunk } = ctx.data as { size: number; chunk: number };
    pipeline(Readable.from(pieces(size, chunk)), ctx.writable!).catch((e) => server.emit('download_error', e));
    return { size };
  });
  await server.listen(0);
  const files = client.destination('files');
  for (let i = 0; i < connections; i++) await client.connect(`ws://127.0.0.1:${server.port}`);
  return { server, client, files };
}

for (const size of [0, 1, 1 << 20, 64 << 20]) {
  test(`${size} bytes flow both ways intact`, async () => {
    const { server, files } = await pair();
    const chunk = 64 * 1024;
    const uploaded = new Promise<{ bytes: number; digest: string }>((resolve) => server.once('uploaded', resolve));
    const writable = files.Writable('upload', { name: 'blob' });
    const ready = new Promise<Context>((resolve) => writable.once('ready', resolve));
    await pipeline(Readable.from(pieces(size, chunk)), writable);
    assert.deepEqual((await ready).data, { accepted: true });
    const up = await uploaded;
    assert.equal(up.bytes, size);
    assert.equal(up.digest, expectedHash(size, chunk));

    const readable = files.Readable('download', { size, chunk });
    const down = await hashOf(readable);
    assert.equal(down.bytes, size);
    assert.equal(down.digest, expectedHash(size, chunk));
  });
}

test('100 concurrent streams on one connection each arrive intact', async () => {
  const { files, client } = await pair();
  assert.equal(client.units[0]!.connections.length, 1);
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => hashOf(files.Readable('download', { size: 10_000 + i * 997, chunk: 4096 }))),
  );
  results.forEach((r, i) => {
    assert.equal(r.bytes, 10_000 + i * 997);
    assert.equal(r.digest, expectedHash(10_000 + i * 997, 4096));
  });
  // Every stream freed its id once done.
  assert.equal(client.units[0]!.streams.openCount, 0);
});

/** Resolves once `readable` has given its consumer `bytes`, then pauses it. */
async function readThenPause(readable: Readable, bytes: number): Promise<number> {
  let got = 0;
  await new Promise<void>((resolve) => {
    readable.on('data', (c: Buffer) => {
      if ((got += c.length) < bytes) return;
      readable.pause();
      resolve();
    });
  });
  readable.removeAllListeners('data');
  return got;
}

/** Waits until `read()` stops changing for a while: nothing is in flight any more. */
async function settled(read: () => number): Promise<number> {
  let last = -1;
  while (last !== read()) {
    last = read();
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return last;
}

for (const streamWindow of [undefined, 128 * 1024]) {
  test(`a reader that stops reading holds at most its window (streamWindow ${streamWindow ?? 'default'}), and the window grew`, { timeout: 30_000 }, async () => {
    const cap = streamWindow ?? DEFAULT_STREAM_WINDOW;
    const { server, files } = await pair(1, streamWindow === undefined ? {} : { streamWindow });
    const total = 48 << 20;
    let produced = 0;
    server.role('files').onWritable('flood', (ctx: Context) => {
      const source = Readable.from(pieces(total, 64 * 1024));
      source.on('data', (c: Buffer) => (produced += c.length));
      pipeline(source, ctx.writable!).catch(() => {});
      return 'go';
    });
    const readable = files.Readable('flood', null);
    // A fast consumer first: the window grows to its cap. Then it stops.
    const consumed = await readThenPause(readable, 16 << 20);
    const held = await settled(() => readable.readableLength);
    // Once nothing is in flight, everything the writer sent and nobody read is in the buffer.
    assert.ok(held <= cap, `the paused reader holds ${held} bytes, window ${cap}`);
    assert.ok(held > 64 * 1024, `the window grew past the initial 64 KiB: ${held} bytes held`);
    // The writer is held back too: what it took from its source stays within its own buffer.
    const before = produced;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(produced, before, 'the writer stopped');
    const rest = await hashOf(readable);
    assert.equal(consumed + rest.bytes, total, 'reading again takes the rest');
  });
}

test('bytes arrive intact both ways with a small streamWindow: 0 B, 1 B, 3 MiB', { timeout: 30_000 }, async () => {
  const { server, files } = await pair(1, { streamWindow: INITIAL_ALLOWANCE });
  for (const size of [0, 1, 3 << 20]) {
    const chunk = 10_000;
    const uploaded = new Promise<{ bytes: number; digest: string }>((resolve) => server.once('uploaded', resolve));
    await pipeline(Readable.from(pieces(size, chunk)), files.Writable('upload', null));
    const up = await uploaded;
    assert.equal(up.digest, expectedHash(size, chunk), `upload of ${size} bytes`);
    const down = await hashOf(files.Readable('download', { size, chunk }));
    assert.equal(down.bytes, size);
    assert.equal(down.digest, expectedHash(size, chunk), `download of ${size} bytes`);
  }
});

test('a stream lives when another redundant connection closes, and dies with its own', async () => {
  const { server, client, files } = await pair(2);
  const unit = client.units[0]!;
  assert.equal(unit.connections.length, 2);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  server.role('files').onWritable('gated', (ctx: Context) => {
    (async () => {
      ctx.writable!.write(pattern(1000));
      await gate;
      ctx.writable!.end(pattern(1000, 2));
    })().catch(() => {});
    return 'ok';
  });

  // Find which connection carries the stream: the one the STREAM_RESOLVE arrived on.
  const first = files.Readable('gated', null);
  await new Promise((resolve) => first.once('ready', resolve));
  const carrying = [...unit.conns].find((c) => (unit.streams as unknown as { entries: Map<number, { conn: unknown }> }).entries.values().next().value?.conn === c)!;
  const other = unit.conns.find((c) => c !== carrying)!;
  other.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  release();
  const r = await hashOf(first);
  assert.equal(r.bytes, 2000);

  // Now a stream whose own connection is dropped: both ends fail.
  const serverErrors: Error[] = [];
  server.role('files').onWritable('stuck', (ctx: Context) => {
    ctx.writable!.on('error', (e) => serverErrors.push(e));
    ctx.writable!.write(pattern(10));
    return 'ok';
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const second = files.Readable('stuck', null);
  await new Promise((resolve) => second.once('ready', resolve));
  const failed = new Promise<Error>((resolve) => second.once('error', resolve));
  second.resume();
  for (const c of unit.conns) c.terminate();
  const err = await failed;
  assert.ok(err instanceof StreamError);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(serverErrors.length, 1);
  assert.ok(serverErrors[0] instanceof StreamError);
});

test('refusals and errors travel both ways', async () => {
  const { server, files } = await pair();
  const role = server.role('files');
  role.onReadable('refuse', (_ctx, reply) => reply(new Error('not today')));
  role.onWritable('explode', (ctx: Context) => {
    ctx.writable!.on('error', () => {});
    ctx.writable!.write(pattern(100));
    setTimeout(() => ctx.writable!.destroy(new Error('kaboom')), 20);
    return 'ok';
  });
  const readerErrors: Error[] = [];
  role.onReadable('listen', (ctx: Context) => {
    ctx.readable!.on('error', (e) => readerErrors.push(e));
    ctx.readable!.resume();
    return 'ok';
  });

  const refused = files.Writable('refuse', null);
  const refusal = await new Promise<Error>((resolve) => refused.once('error', resolve));
  assert.ok(refusal instanceof StreamError);
  assert.equal(refusal.message, 'not today');

  const unhandled = files.Readable('nothere', null);
  const e2 = await new Promise<Error>((resolve) => unhandled.once('error', resolve));
  assert.equal(e2.message, 'The event "nothere" is not handled');

  const exploding = files.Readable('explode', null);
  exploding.resume();
  const e3 = await new Promise<Error>((resolve) => exploding.once('error', resolve));
  assert.match(e3.message, /kaboom/);

  const w = files.Writable('listen', null);
  await new Promise((resolve) => w.once('ready', resolve));
  w.write(pattern(10));
  w.on('error', () => {});
  w.destroy(new Error('writer gave up'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(readerErrors.length, 1);
  assert.match(readerErrors[0]!.message, /writer gave up/);
});

test('our reader takes the frames an original writer sends (vector stream_writable)', async () => {
  const server = new Peer();
  peers.push(server);
  let received: Promise<{ bytes: number; digest: string }> | undefined;
  server.role('svc').onReadable('upload', (ctx: Context) => {
    received = hashOf(ctx.readable!);
    return { accepted: true };
  });
  await server.listen(0);
  const raw = await RawPeer.connect(`ws://127.0.0.1:${server.port}`);
  // The original's request: writer id 0x76f6, event "upload", payload {"name":"blob.bin"}.
  const encoder = new FrameEncoder();
  raw.send(Buffer.from(encoder.streamRequest(104, 'svc', 'upload', 0, 0x76f6, { name: 'blob.bin' })));
  const resolve = decodeFrame(await raw.next((f) => f[0] === 107));
  assert.equal(resolve.type, 107);
  const readerId = (resolve as { chan: number }).chan;
  assert.ok(readerId > 0 && readerId <= 0xffff);
  // An original writer: 16 KiB of credit without any QUOTA, chunks of 5, 10000 and 7000 bytes.
  const body = pattern(17005);
  raw.send(Buffer.from(encoder.streamChunk(readerId, body.subarray(0, 5))));
  raw.send(Buffer.from(encoder.streamChunk(readerId, body.subarray(5, 10005))));
  raw.send(Buffer.from(encoder.streamChunk(readerId, body.subarray(10005))));
  raw.send(Buffer.from(encoder.streamFinish(readerId)));
  const r = await received!;
  assert.equal(r.bytes, 17005);
  assert.equal(r.digest, sha(body));
  raw.close();
});

test('an original-style writer (16 KiB to start, 64 KiB chunks while any allowance is left) fills a paused reader only to its window plus one chunk', { timeout: 30_000 }, async () => {
  const server = new Peer({ name: 'server' });
  peers.push(server);
  const total = 24 << 20;
  const chunk = 64 * 1024;
  const block = pattern(chunk);
  let consumed = 0;
  let stoppedOnce = false;
  const hash = createHash('sha256');
  let reader!: Readable;
  const ended = new Promise<void>((resolve) => {
    server.role('svc').onReadable('upload', (ctx: Context) => {
      reader = ctx.readable!;
      reader.on('data', (c: Buffer) => {
        hash.update(c);
        // The consumer stops once, after 8 MiB; the test resumes it later.
        if ((consumed += c.length) >= 8 << 20 && !stoppedOnce) {
          stoppedOnce = true;
          reader.pause();
        }
      });
      reader.on('end', resolve);
      return null;
    });
  });
  await server.listen(0);
  const raw = await RawPeer.connect(`ws://127.0.0.1:${server.port}`);
  const encoder = new FrameEncoder();
  raw.send(Buffer.from(encoder.streamRequest(104, 'svc', 'upload', 0, 0x76f6, null)));
  const readerId = (decodeFrame(await raw.next((f) => f[0] === 107)) as { chan: number }).chan;

  // The original writer: QUOTA replaces its allowance; it sends a whole chunk while the
  // allowance is above zero, so it may overshoot by one chunk.
  let allowance = INITIAL_ALLOWANCE;
  let seen = 0;
  let sent = 0;
  let stopped = false;
  const writing = (async () => {
    while (sent < total && !stopped) {
      for (; seen < raw.frames.length; seen++) {
        if (raw.frames[seen]![0] !== 106) continue;
        const frame = decodeFrame(raw.frames[seen]!) as { flag: number; body: Buffer };
        if (frame.flag === 3) allowance = readVarnum(frame.body, 0, frame.body.length);
      }
      // A producer that keeps up: chunks go out back to back while any allowance is left.
      while (allowance > 0 && sent < total) {
        raw.send(Buffer.from(encoder.streamChunk(readerId, block)));
        allowance -= chunk;
        sent += chunk;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    raw.send(Buffer.from(encoder.streamFinish(readerId)));
  })();

  try {
    const held = (await settled(() => sent)) - consumed;
    assert.ok(reader.isPaused(), 'the consumer stopped');
    assert.ok(held <= DEFAULT_STREAM_WINDOW + chunk, `the paused reader holds ${held} bytes`);
    assert.ok(held > 64 * 1024, `the window grew past the initial 64 KiB: ${held} bytes held`);
  } catch (err) {
    stopped = true;
    raw.close();
    throw err;
  }
  reader.resume();
  await writing;
  await ended;
  assert.equal(consumed, total);
  assert.equal(hash.digest('hex'), expectedHash(total, chunk));
  raw.close();
});

test('our writer follows QUOTA frames sent the way an original reader sends them', async () => {
  const server = new Peer();
  peers.push(server);
  const size = 40000;
  server.role('svc').onWritable('download', (ctx: Context) => {
    ctx.writable!.end(pattern(size));
    return { size };
  });
  await server.listen(0);
  const raw = await RawPeer.connect(`ws://127.0.0.1:${server.port}`);
  const encoder = new FrameEncoder();
  const readerId = 0x4902;
  raw.send(Buffer.from(encoder.streamRequest(103, 'svc', 'download', 0, readerId, null)));
  const resolve = decodeFrame(await raw.next((f) => f[0] === 107)) as { chan: number };
  const writerId = resolve.chan;
  // The original reader: allowance 16384; once half is used it grants hwm - unused.
  const hwm = 16384;
  let allowance = hwm;
  const got: Buffer[] = [];
  for (;;) {
    const frame = decodeFrame(await raw.next((f) => f[0] === 106)) as { id: number; flag: number; body: Buffer };
    assert.equal(frame.id, readerId);
    if (frame.flag === 1) break;
    assert.equal(frame.flag, 0);
    assert.ok(frame.body.length <= allowance, `chunk of ${frame.body.length} exceeds allowance ${allowance}`);
    allowance -= frame.body.length;
    got.push(Buffer.from(frame.body));
    if (allowance <= hwm / 2) {
      const grant = hwm - allowance;
      // QUOTA sets the allowance; the original sends hwm - unused.
      raw.send(Buffer.from(encoder.streamQuota(writerId, grant)));
      allowance = grant;
    }
  }
  assert.equal(sha(Buffer.concat(got)), sha(pattern(size)));
  raw.close();
});

test('stream data for unknown ids is ignored', async () => {
  const { files } = await pair();
  const readable = files.Readable('download', { size: 100_000, chunk: 1000 });
  const unit = files.units[0]!;
  // Garbage addressed to ids nobody has: the connection and the stream carry on.
  const encoder = new FrameEncoder();
  unit.conns[0]!.send(encoder.streamChunk(0xfffe, Buffer.from('nobody')));
  const r = await hashOf(readable);
  assert.equal(r.bytes, 100_000);
  assert.equal(unit.connections.length, 1);
});

test("the handler's stream ends emit 'ready' with { unit }: downloads that wait for it end, 0 B and 2 MiB", { timeout: 20_000 }, async () => {
  const { server, client, files } = await pair();
  const role = server.role('files');
  // The 1.1.x pattern: write only once 'ready' says the response is on the wire.
  role.onWritable('wait-ready', (ctx: Context) => {
    const size = ctx.data as number;
    ctx.writable!.once('ready', (info: { unit: unknown }) => {
      server.emit('writable-ready', info);
      Readable.from(pieces(size, 64 * 1024)).pipe(ctx.writable!);
    });
    return null;
  });
  // A handler that replies through the callback first and listens after still hears it.
  role.onWritable('reply-first', (ctx: Context, reply) => {
    reply(null, 'ok');
    ctx.writable!.once('ready', () => ctx.writable!.end(Buffer.from('after ready')));
  });
  role.onReadable('wait-ready-up', (ctx: Context) => {
    ctx.readable!.once('ready', (info: { unit: unknown }) => {
      server.emit('readable-ready', info);
      hashOf(ctx.readable!).then((r) => server.emit('uploaded-after-ready', r));
    });
    return null;
  });
  const seen = new Promise<[{ unit: unknown }]>((resolve) => server.once('writable-ready', (...a: [{ unit: unknown }]) => resolve(a)));
  const empty = await hashOf(files.Readable('wait-ready', 0));
  assert.equal(empty.bytes, 0, 'a 0-byte download ends');
  const serverUnit = server.units[0]!;
  assert.equal((await seen)[0].unit, serverUnit, "'ready' carries the unit that asked");

  const big = await hashOf(files.Readable('wait-ready', 2 * 1024 * 1024));
  assert.equal(big.bytes, 2 * 1024 * 1024);
  assert.equal(big.digest, expectedHash(2 * 1024 * 1024, 64 * 1024));

  const text = await hashOf(files.Readable('reply-first', null));
  assert.equal(text.bytes, 'after ready'.length);

  const readyUp = new Promise<[{ unit: unknown }]>((resolve) => server.once('readable-ready', (...a: [{ unit: unknown }]) => resolve(a)));
  const uploaded = new Promise<[{ bytes: number }]>((resolve) => server.once('uploaded-after-ready', (...a: [{ bytes: number }]) => resolve(a)));
  await pipeline(Readable.from(pieces(300 * 1024, 16 * 1024)), files.Writable('wait-ready-up', null));
  assert.equal((await readyUp)[0].unit, serverUnit);
  assert.equal((await uploaded)[0].bytes, 300 * 1024);
  void client;
});

test("a handler's stream end whose requester vanishes closes quietly unless it listens for 'error'", { timeout: 20_000 }, async () => {
  const { server, client, files } = await pair();
  const role = server.role('files');
  const closed: string[] = [];
  // The 1.1.x way: no 'error' listener on the handler's ends. An 'error' nobody hears would
  // crash the serving process (the test runner reports it as a failure).
  role.onWritable('endless', (ctx: Context) => {
    const writable = ctx.writable!;
    writable.on('close', () => closed.push('writable'));
    const timer = setInterval(() => writable.write(Buffer.alloc(1024)), 1);
    writable.on('close', () => clearInterval(timer));
    return null;
  });
  role.onReadable('sink', (ctx: Context) => {
    ctx.readable!.on('close', () => closed.push('readable'));
    ctx.readable!.resume();
    return null;
  });
  const heard: Error[] = [];
  role.onWritable('listened', (ctx: Context) => {
    ctx.writable!.on('error', (err) => heard.push(err));
    const timer = setInterval(() => ctx.writable!.write(Buffer.alloc(1024)), 1);
    ctx.writable!.on('close', () => clearInterval(timer));
    return null;
  });
  const down = files.Readable('endless', null);
  down.on('error', () => {});
  down.resume();
  const listened = files.Readable('listened', null);
  listened.on('error', () => {});
  listened.resume();
  const up = files.Writable('sink', null);
  up.on('error', () => {});
  up.write(Buffer.alloc(1024));
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const conn of client.units[0]!.conns) conn.terminate();
  const deadline = Date.now() + 5000;
  while ((closed.length < 2 || heard.length < 1) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(closed.sort(), ['readable', 'writable']);
  assert.equal(heard.length, 1, "a handler that listens for 'error' hears it");
  assert.ok(heard[0] instanceof StreamError);
});
