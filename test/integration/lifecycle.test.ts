import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { AbortError, ConnectionLostError, DataType, decodeFrame, FrameType, type Context, type Peer, type Unit } from '../../src';
import { closeAll, delay, eventually, listeningPeer, newPeer, RawServer, rejectionOf, requestFrame, urlOf, waitFor, within } from '../helpers/peers';
import { RawPeer } from '../helpers/raw-peer';

// The request lifecycle over redundant connections (docs/protocol.md §9): requests sent again
// when their connection drops, failing at once where they cannot be, cancellation and deadlines.

after(closeAll);

/** A serving peer that counts how often it ran each request id, and a client over two connections. */
async function countingPair(): Promise<{ server: Peer; client: Peer; unit: Unit; executions: Map<number, number> }> {
  const server = await listeningPeer({ name: 'server' });
  const executions = new Map<number, number>();
  server.role('svc').onRequest('work', async (ctx: Context) => {
    const id = ctx.data as number;
    executions.set(id, (executions.get(id) ?? 0) + 1);
    // Answer a turn later, so that requests are in flight when a connection drops.
    await new Promise((resolve) => setImmediate(resolve));
    return id;
  });
  const client = newPeer({ name: 'client' });
  const { unit } = await client.connect(urlOf(server));
  await client.connect(urlOf(server));
  await eventually(() => server.units[0]?.connections.length === 2, 3000, 'two connections on both sides');
  return { server, client, unit, executions };
}

test('100 abrupt drops of 1 of 2 connections with 64 requests in flight: none lost, none run twice', { timeout: 60_000 }, async () => {
  const { server, client, unit, executions } = await countingPair();
  assert.equal(unit.ext.resend, 1, 'our peers offer resend');
  const dest = client.destination('svc');
  const failures: Error[] = [];
  const answers = new Map<number, unknown>();
  let next = 0;
  let inFlight = 0;
  let stop = false;
  let resolveDone: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const pump = (): void => {
    while (!stop && inFlight < 64) {
      const id = next++;
      inFlight++;
      dest.request('work', id).then(
        (ctx) => answers.set(id, ctx.data),
        (err: Error) => failures.push(err),
      ).finally(() => {
        inFlight--;
        if (stop && inFlight === 0) resolveDone();
        else pump();
      });
    }
  };
  pump();
  for (let drop = 0; drop < 100; drop++) {
    await delay(5);
    // Alternate the side that drops; terminate() is an abrupt close: no close handshake.
    const side = drop % 2 === 0 ? unit : server.units[0];
    const before = next;
    side?.connections[0]?.terminate();
    // Both sides back to two connections (the client redials) with requests flowing again.
    await eventually(() => unit.connections.length === 2 && server.units[0]?.connections.length === 2 && next > before + 64, 5000, `connections back after drop ${drop}`);
  }
  stop = true;
  if (inFlight > 0) await within(done, 10_000, 'every request settled');
  assert.deepEqual(failures.map((e) => (e as { code?: string }).code), [], 'no request failed');
  assert.equal(answers.size, next, 'every request answered');
  for (const [id, answer] of answers) assert.equal(answer, id);
  const twice = [...executions.entries()].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'no request ran twice');
  assert.equal(executions.size, next, 'every request ran');
});

test('toward a peer without resend, requests in flight on a dropped connection fail at once; idempotent ones go again', async () => {
  const raw = await RawServer.start({ roles: ['raw'] });
  const client = newPeer();
  const { unit } = await client.connect(raw.url);
  await client.connect(raw.url);
  await eventually(() => raw.sockets.length === 2 && unit.connections.length === 2);
  assert.equal(unit.ext.resend, undefined);
  const dest = client.destination('raw');
  const plain = Array.from({ length: 8 }, (_, i) => dest.request('never', i).catch((e: Error) => e));
  const idempotent = Array.from({ length: 8 }, (_, i) => dest.request({ event: 'never', idempotent: true }, 100 + i).catch((e: Error) => e));
  await eventually(() => raw.frames[0]!.length + raw.frames[1]!.length >= 16, 3000, 'the requests at the raw server');
  const corrsOn = (i: number): number[] => raw.frames[i]!.filter((f) => f[0] === FrameType.REQUEST).map((f) => (decodeFrame(f) as { corr: number }).corr);
  const onFirst = corrsOn(0);
  assert.ok(onFirst.length > 0 && onFirst.length < 16, 'requests spread over both connections');
  const started = Date.now();
  raw.sockets[0]!.terminate();
  // Plain requests that went on the dropped connection fail at once, not at their timeout.
  const lost = (await Promise.race([Promise.all(plain.filter((_, i) => onFirst.includes(i))), delay(2000).then(() => 'too slow')])) as unknown;
  assert.notEqual(lost, 'too slow');
  for (const err of lost as Error[]) {
    assert.ok(err instanceof ConnectionLostError, String(err));
    assert.equal((err as ConnectionLostError).code, 'RT_ERR_CONNECTION_LOST');
    assert.equal((err as ConnectionLostError).ctx?.unit.id, unit.id);
  }
  assert.ok(Date.now() - started < 2000);
  // Idempotent ones that were on it arrive again on the other connection, with the same ids.
  const idempotentOnFirst = onFirst.filter((corr) => corr >= 8);
  await eventually(() => idempotentOnFirst.every((corr) => corrsOn(1).includes(corr)), 3000, 'idempotent requests sent again');
  assert.equal(raw.frames[1]!.some((f) => f[0] === FrameType.CANCEL || f[0] === FrameType.REQUEST_DEADLINE), false, 'no extension frame to a peer without them');
  void idempotent;
});

test('an abort rejects at once with AbortError and cancels the handler on a peer of ours; a signal aborted before sends nothing', async () => {
  const server = await listeningPeer();
  let started = 0;
  const aborted: unknown[] = [];
  server.role('svc').onRequest('slow', (ctx: Context) => {
    started++;
    return new Promise((resolve) => {
      ctx.signal.addEventListener('abort', () => {
        aborted.push(ctx.signal.reason);
        resolve('stopped');
      });
    });
  });
  const client = newPeer();
  await client.connect(urlOf(server));
  const dest = client.destination('svc');
  const controller = new AbortController();
  const pending = rejectionOf(dest.request({ event: 'slow', signal: controller.signal }, null));
  await eventually(() => started === 1);
  const t0 = Date.now();
  controller.abort(new Error('user went away'));
  const err = await pending;
  assert.ok(Date.now() - t0 < 500);
  assert.ok(err instanceof AbortError);
  assert.equal(err.name, 'AbortError');
  assert.equal(err.code, 'RT_ERR_ABORTED');
  await eventually(() => aborted.length === 1, 2000, 'the handler aborted');
  assert.equal((aborted[0] as Error).name, 'AbortError');

  // A timeout cancels the handler as well.
  const timedOut = await rejectionOf(dest.request({ event: 'slow', timeout: 30 }, null));
  assert.equal(timedOut.code, 'RT_ERR_REQUEST_TIMEOUT');
  await eventually(() => aborted.length === 2, 2000, 'the handler of the timed-out request aborted');

  const already = AbortSignal.abort();
  const before = started;
  assert.equal((await rejectionOf(dest.request({ event: 'slow', signal: already }, null))).name, 'AbortError');
  await delay(50);
  assert.equal(started, before, 'nothing was sent');
  assert.throws(() => dest.request({ event: 'slow', signal: 'no' as unknown as AbortSignal }, null), /signal/);
});

test('a deadline reaches the handler: ctx.deadline, ctx.signal aborting when it passes, inherited by a request it makes', async () => {
  const backend = await listeningPeer({ name: 'backend' });
  const seen: Array<{ deadline: number | undefined; aborted: boolean }> = [];
  backend.role('db').onRequest('query', (ctx: Context) => {
    return new Promise((resolve) => {
      const entry = { deadline: ctx.deadline, aborted: false };
      seen.push(entry);
      ctx.signal.addEventListener('abort', () => {
        entry.aborted = true;
        resolve('gave up');
      });
    });
  });
  const front = await listeningPeer({ name: 'front' });
  const db = front.destination('db');
  await front.connect(urlOf(backend));
  front.role('api').onRequest('get', async (ctx: Context) => {
    // Inherit the caller's deadline and cancellation.
    return (await db.request({ event: 'query', deadline: ctx.deadline, signal: ctx.signal }, null)).data;
  });
  const client = newPeer();
  await client.connect(urlOf(front));
  const t0 = Date.now();
  const err = await rejectionOf(client.destination('api').request({ event: 'get', timeout: 300 }, null));
  assert.equal(err.code, 'RT_ERR_REQUEST_TIMEOUT');
  await eventually(() => seen.length === 1 && seen[0]!.aborted, 3000, 'the backend handler aborted at the deadline');
  const deadline = seen[0]!.deadline!;
  assert.ok(Math.abs(deadline - (t0 + 300)) < 150, `the backend's deadline ${deadline - t0} ms after the call`);
});

test('a stream request honours its signal: an abort ends the stream on both sides', async () => {
  const server = await listeningPeer();
  const closed = waitFor(server, 'writable-closed', 5000);
  server.role('files').onWritable('endless', (ctx: Context) => {
    const writable = ctx.writable!;
    const timer = setInterval(() => writable.write(Buffer.alloc(1024)), 2);
    writable.on('close', () => {
      clearInterval(timer);
      server.emit('writable-closed');
    });
    return null;
  });
  const client = newPeer();
  await client.connect(urlOf(server));
  const controller = new AbortController();
  const readable = client.destination('files').Readable({ event: 'endless', signal: controller.signal }, null);
  const errored = new Promise<Error>((resolve) => readable.once('error', resolve));
  readable.resume();
  await new Promise((resolve) => readable.once('ready', resolve));
  await delay(20);
  controller.abort();
  assert.equal((await errored).name, 'AbortError');
  await closed;
  // An already-aborted signal ends the stream before anything flows.
  const never = client.destination('files').Readable({ event: 'endless', signal: AbortSignal.abort() }, null);
  const err = await new Promise<Error>((resolve) => never.once('error', resolve));
  assert.equal(err.name, 'AbortError');
  void Readable;
});

test('a stream request whose connection drops before the answer fails at once', async () => {
  const raw = await RawServer.start({ roles: ['raw'] });
  const client = newPeer();
  const { unit } = await client.connect(raw.url);
  await client.connect(raw.url);
  await eventually(() => raw.sockets.length === 2 && unit.connections.length === 2);
  const readable = client.destination('raw').Readable({ event: 'download', timeout: 60_000 }, null);
  const failed = new Promise<Error>((resolve) => readable.once('error', resolve));
  await eventually(() => raw.frames.some((list) => list.some((f) => f[0] === FrameType.REQUEST_READABLE)), 3000, 'the stream request');
  const carrying = raw.frames.findIndex((list) => list.some((f) => f[0] === FrameType.REQUEST_READABLE));
  raw.sockets[carrying]!.terminate();
  const err = await within(failed, 2000, 'the stream failing');
  assert.match(err.message, /connection/);
});

test('close({ drain: true }): a rolling restart of one of two serving peers under load loses no request', { timeout: 30_000 }, async () => {
  const serve = async (name: string): Promise<Peer> => {
    const peer = await listeningPeer({ name });
    peer.role('svc').onRequest('work', async (ctx: Context) => {
      await delay(2);
      return `${name}:${ctx.data as number}`;
    });
    return peer;
  };
  const first = await serve('first');
  const second = await serve('second');
  const client = newPeer({ name: 'client' });
  await client.connect(urlOf(first), { permanent: false });
  await client.connect(urlOf(second), { permanent: false });
  const dest = client.destination('svc');
  await eventually(() => dest.units.length === 2);
  const failures: Error[] = [];
  const servedBy = new Map<string, number>();
  let stop = false;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stop) {
      try {
        const answer = (await dest.request('work', next++)).data as string;
        const by = answer.split(':')[0]!;
        servedBy.set(by, (servedBy.get(by) ?? 0) + 1);
      } catch (err) {
        failures.push(err as Error);
      }
    }
  };
  const workers = Array.from({ length: 32 }, () => worker());
  await delay(200);
  const servedBefore = servedBy.get('first') ?? 0;
  assert.ok(servedBefore > 0, 'the first peer served before the restart');
  await first.close({ drain: true, timeout: 5000 });
  const restarted = await serve('restarted');
  await client.connect(urlOf(restarted), { permanent: false });
  await eventually(() => dest.units.length === 2);
  await delay(200);
  stop = true;
  await Promise.all(workers);
  assert.deepEqual(failures.map((e) => (e as { code?: string }).code ?? e.message), []);
  assert.ok((servedBy.get('restarted') ?? 0) > 0, 'the restarted peer took work');
  assert.ok((servedBy.get('second') ?? 0) > 0);
});

test('close() checks its arguments at the call, naming them', async () => {
  const peer = newPeer();
  assert.throws(() => peer.close('soon' as never), /"options"/);
  assert.throws(() => peer.close({ drain: 'yes' as never }), /"drain"/);
  assert.throws(() => peer.close({ drain: true, timeout: -1 }), /"timeout"/);
  assert.throws(() => peer.close({ drain: true }, 5 as never), /"cb"/);
  await peer.close({ drain: true, timeout: 100 });
});

test('an answer sent while a redundant remote was down to one connection is kept: its repeat on a connection that joined later gets it, not a refusal', async () => {
  const server = await listeningPeer({ name: 'server' });
  let runs = 0;
  server.role('svc').onRequest('count', () => ++runs);
  const id = 'abcdefabcdefabcdefabcdefabcdef77';
  const as = { id, ext: { resend: 1 } };
  const joined = waitFor<[Unit]>(server, 'unit');
  const a = await RawPeer.connect(urlOf(server), as);
  const [unit] = await joined;
  const b = await RawPeer.connect(urlOf(server), as);
  await eventually(() => unit.connections.length === 2);
  // B drops: the remote is down to A, as between a drop and its redial.
  b.close();
  await eventually(() => unit.connections.length === 1);
  const request = requestFrame('svc', 'count', 5, Buffer.from([DataType.NULL]));
  a.send(request);
  const answer = await a.next((f) => f[0] === FrameType.RESPONSE);
  // A new connection joins, then A drops before (as far as the caller knows) its answer arrived:
  // the caller sends the request again on the new one.
  const c = await RawPeer.connect(urlOf(server), as);
  await eventually(() => unit.connections.length === 2);
  a.close();
  await eventually(() => unit.connections.length === 1);
  c.send(request);
  const again = await c.next((f) => f[0] === FrameType.RESPONSE || f[0] === FrameType.REJECT);
  assert.deepEqual(again, answer, 'the kept answer, byte for byte');
  assert.equal(runs, 1, 'run once');
  c.close();
});
