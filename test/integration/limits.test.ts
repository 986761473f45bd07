import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidArgumentError,
  OverloadedError,
  PayloadTooLargeError,
  Peer,
  StreamError,
  type Context,
  type PeerOptions,
  type RoletalkError,
  type Unit,
} from '../../src';
import { DEFAULT_LIMITS, sendLimit } from '../../src/engine/limits';
import {
  closeAll,
  connectedPair,
  eventually,
  listeningPeer,
  newPeer,
  rejectionOf,
  requestFrame,
  urlOf,
  waitFor,
  within,
  RawServer,
  RawSocket,
} from '../helpers/peers';
import { RawPeer } from '../helpers/raw-peer';

// The limits of the options maxPayload, maxPendingHandshakes, maxInFlight, maxStreams and streamWindow: each
// breach is a typed error at the call or the close of that one connection with a reason, and a
// bystander (another unit, or the same unit afterwards) keeps working. Run with and without
// ROLETALK_IO_THREADS.

after(closeAll);

const KiB = 1024;

/** Serves, on role `svc`: `echo` (the data back), `size` (the data's length), `big` (that many bytes). */
function serve(peer: Peer): void {
  const role = peer.role('svc');
  role.onRequest('echo', (ctx: Context) => ctx.data);
  role.onRequest('size', (ctx: Context) => (ctx.data as Buffer).length);
  role.onRequest('big', (ctx: Context) => Buffer.alloc(ctx.data as number));
}

async function echoes(unit: Unit, what: string): Promise<void> {
  const ctx = await within(unit.request('svc', 'echo', what), 3000, `a request to ${what}`);
  assert.equal(ctx.data, what);
}

test('bad limit values throw InvalidArgumentError naming the option; defaults apply', () => {
  const bad: Array<[string, unknown]> = [
    ['maxPayload', 1000],
    ['maxPayload', 2 ** 31],
    ['maxPayload', '1mb'],
    ['maxPayload', 200 * KiB + 0.5],
    ['maxPendingHandshakes', 0],
    ['maxPendingHandshakes', Infinity],
    ['maxInFlight', -1],
    ['maxInFlight', 1.5],
    ['maxStreams', 0],
    ['maxStreams', 65536],
    ['streamWindow', 1000],
    ['streamWindow', 2 ** 31],
    ['streamWindow', '512k'],
  ];
  for (const [name, value] of bad) {
    assert.throws(
      () => new Peer({ [name]: value } as PeerOptions),
      (err: unknown) => err instanceof InvalidArgumentError && err.argument === name && err.message.includes(name),
      `${name}: ${String(value)}`,
    );
  }
  const peer = new Peer({ ioThreads: 0 });
  assert.deepEqual({ ...peer.engine.limits }, { ...DEFAULT_LIMITS });
  assert.deepEqual(DEFAULT_LIMITS, { maxPayload: 16 * 1024 * KiB, maxPendingHandshakes: 4096, maxInFlight: 65536, maxStreams: 1024, streamWindow: 448 * KiB });
  const custom = new Peer({ ioThreads: 0, maxPayload: 128 * KiB, maxPendingHandshakes: 1, maxInFlight: 1, maxStreams: 65535, streamWindow: 16 * KiB });
  assert.deepEqual({ ...custom.engine.limits }, { maxPayload: 128 * KiB, maxPendingHandshakes: 1, maxInFlight: 1, maxStreams: 65535, streamWindow: 16 * KiB });
  // What a remote offers (§9 maxPayload) counts only when it is a valid, smaller limit.
  const own = 16 * 1024 * KiB;
  assert.equal(sendLimit(undefined, own), own);
  assert.equal(sendLimit(200 * KiB, own), 200 * KiB);
  assert.equal(sendLimit(32 * 1024 * KiB, own), own);
  assert.equal(sendLimit(1000, own), own);
  assert.equal(sendLimit(200 * KiB + 0.5, own), own);
  assert.equal(sendLimit('200000', own), own);
});

test('maxPayload: a frame above it closes only that connection with 1009; the unit reports it and a bystander unit keeps working', async () => {
  const server = await listeningPeer({ name: 'server', maxPayload: 256 * KiB });
  serve(server);
  const bystander = newPeer({ name: 'bystander' });
  const { unit: other } = await bystander.connect(urlOf(server), { permanent: false });
  // A peer that offers no limit (§9), as the original: it sends what it likes.
  const victimRemote = waitFor<[Unit]>(server, 'unit', 3000, (u) => u.name === 'victim');
  const victim = await RawPeer.connect(urlOf(server), { id: 'abcdefabcdefabcdefabcdefabcdef03', name: 'victim' });
  const remote = (await victimRemote)[0];
  const binary = (size: number): Buffer => Buffer.concat([Buffer.from([0]), Buffer.alloc(size)]);

  // Within the limit: answered.
  victim.send(requestFrame('svc', 'size', 1, binary(200 * KiB)));
  const answer = await victim.next((f) => f[0] === 102);
  assert.equal(answer.subarray(4).toString(), String(200 * KiB));
  const serverSaw = waitFor<[number, string]>(remote.connections[0]!, 'close');
  const serverLost = waitFor(remote, 'close');
  victim.send(requestFrame('svc', 'size', 2, binary(300 * KiB)));
  const [code, reason] = await serverSaw;
  assert.equal(code, 1009);
  assert.match(reason, /maxPayload/);
  await serverLost;
  assert.equal((await victim.waitClose()).code, 1009);

  await echoes(other, 'still here');
  assert.equal((await other.request('svc', 'size', Buffer.alloc(250 * KiB))).data, 250 * KiB);
});

test('maxPayload between our peers: each offers it in CONFIRMED (§9), so a frame above the remote\'s smaller limit fails at the call and no connection is lost', async () => {
  const server = await listeningPeer({ name: 'server', maxPayload: 256 * KiB });
  serve(server);
  server.role('svc').onWritable('feed', () => 'ok');
  const serverSide = waitFor<[Unit]>(server, 'unit');
  const client = newPeer({ name: 'client' });
  const { unit } = await client.connect(urlOf(server), { permanent: false });
  // Three connections: toward a peer that offers `resend`, a request on a connection the remote
  // closed for its size would go again on the next one, and the next.
  await client.connect(urlOf(server), { permanent: false });
  await client.connect(urlOf(server), { permanent: false });
  assert.equal(unit.ext.maxPayload, 256 * KiB);
  assert.equal((await serverSide)[0].ext.maxPayload, 16 * 1024 * KiB);
  const closes: number[] = [];
  for (const conn of unit.connections) conn.on('close', (code: number) => closes.push(code));

  const big = Buffer.alloc(300 * KiB);
  const isTooLarge = (err: unknown): boolean => err instanceof PayloadTooLargeError && err.limit === 256 * KiB;
  assert.throws(() => unit.request('svc', 'size', big), isTooLarge);
  assert.throws(() => unit.send('svc', 'note', big), isTooLarge);
  assert.equal(client.destination('svc').broadcast('note', big), 0);
  const stream = client.destination('svc').Readable({ event: 'feed', unit }, big);
  assert.ok(isTooLarge((await waitFor<[Error]>(stream, 'error'))[0]));
  assert.equal(unit.pending.size, 0);
  assert.equal((await unit.request('svc', 'size', Buffer.alloc(250 * KiB))).data, 250 * KiB);
  assert.equal(unit.connections.length, 3);
  assert.deepEqual(closes, []);

  // The other way: a response above the caller's smaller limit (within the server's own) becomes
  // a REJECT saying so.
  const wide = await listeningPeer({ name: 'wide' });
  serve(wide);
  const small = newPeer({ name: 'small', maxPayload: 256 * KiB });
  const { unit: toServer } = await small.connect(urlOf(wide), { permanent: false });
  const refused = await rejectionOf(toServer.request('svc', 'big', 200 * KiB).then(() => toServer.request('svc', 'big', 300 * KiB)));
  assert.equal(refused.code, 'RT_ERR_REJECTED');
  assert.match(refused.message, /maxPayload \(262144 bytes\)/);
  await echoes(toServer, 'same connection');
  assert.equal(toServer.connections.length, 1);
});

test('maxPayload default: 17 MiB from a remote closes the connection with 1009 (a 50 MiB message used to pass)', async () => {
  const server = await listeningPeer({ name: 'server' });
  serve(server);
  const bystander = newPeer({ name: 'bystander' });
  const { unit: other } = await bystander.connect(urlOf(server), { permanent: false });
  // A raw client with no limit of its own does the handshake, then sends one large MESSAGE.
  const raw = await RawPeer.connect(urlOf(server), { id: 'abcdefabcdefabcdefabcdefabcdef01' });
  const big = Buffer.alloc(17 * 1024 * KiB);
  big[0] = 100; // MESSAGE; what follows does not matter, the size is refused first
  raw.send(big);
  assert.equal((await raw.waitClose()).code, 1009);
  await echoes(other, 'unaffected');
});

test('maxPayload on the dialing side: a remote frame above it closes the dialed connection with 1009', async () => {
  const raw = await RawServer.start({ roles: ['svc'] });
  const client = newPeer({ name: 'client', maxPayload: 128 * KiB });
  const { unit } = await client.connect(raw.url, { permanent: false });
  await eventually(() => raw.sockets.length === 1);
  const closed = waitFor<[number, string]>(unit.connections[0]!, 'close');
  const lost = waitFor(unit, 'close');
  raw.sockets[0]!.send(Buffer.alloc(129 * KiB, 100));
  const [code, reason] = await closed;
  assert.equal(code, 1009);
  assert.match(reason, /maxPayload/);
  await lost;
});

test('maxPayload on the sending side: a call whose frame would be larger throws RT_ERR_PAYLOAD_TOO_LARGE and sends nothing', async () => {
  const { client, unit } = await connectedPair({
    client: { maxPayload: 256 * KiB },
    server: { maxPayload: 256 * KiB },
    setup: (server) => {
      serve(server);
      server.role('svc').onWritable('feed', () => 'ok');
    },
  });
  const big = Buffer.alloc(300 * KiB);
  const isTooLarge = (err: unknown): boolean =>
    err instanceof PayloadTooLargeError && err.code === 'RT_ERR_PAYLOAD_TOO_LARGE' && err.limit === 256 * KiB && err.size > 300 * KiB;
  assert.throws(() => unit.request('svc', 'size', big), isTooLarge);
  assert.throws(() => unit.send('svc', 'note', big), isTooLarge);
  assert.throws(() => unit.request('svc', 'echo', 'x'.repeat(300 * KiB)), isTooLarge);
  assert.throws(() => unit.request('svc', 'echo', { blob: 'é'.repeat(200 * KiB) }), isTooLarge);
  assert.equal(unit.pending.size, 0);
  // A stream request too large: the stream is destroyed with the error, nothing is registered.
  const stream = client.destination('svc').Readable({ event: 'feed', unit }, big);
  const [err] = await waitFor<[Error]>(stream, 'error');
  assert.ok(isTooLarge(err), String(err));
  assert.equal(unit.streams.openCount, 0);
  // A response too large becomes a REJECT saying so, the connection untouched.
  const refused = await rejectionOf(unit.request('svc', 'big', 300 * KiB));
  assert.equal(refused.code, 'RT_ERR_REJECTED');
  assert.match(refused.message, /maxPayload/);
  // The limit itself passes, and the connection is the same one.
  const conn = unit.connections[0]!;
  assert.equal((await unit.request('svc', 'size', Buffer.alloc(255 * KiB))).data, 255 * KiB);
  assert.equal(((await unit.request('svc', 'big', 255 * KiB)).data as Buffer).length, 255 * KiB);
  assert.equal(unit.connections[0], conn);
});

test('maxPendingHandshakes: a flood of sockets that never handshake is capped, the rest closed at once with 1013; units are unaffected', async () => {
  const server = await listeningPeer({ name: 'server', maxPendingHandshakes: 3 });
  serve(server);
  const bystander = newPeer({ name: 'bystander' });
  const { unit: other } = await bystander.connect(urlOf(server), { permanent: false });
  const stats = server.engine.handshakeStats;
  // The dialer is done once it has the server's CONFIRMED; the server, once it has the dialer's.
  await eventually(() => stats.pending === 0);
  assert.equal(stats.refused, 0);

  const flood = await Promise.all(Array.from({ length: 20 }, () => RawSocket.open(urlOf(server))));
  await eventually(() => stats.pending + stats.refused === 20, 3000, 'every socket seen');
  assert.equal(stats.pending, 3);
  assert.equal(stats.refused, 17);
  await eventually(() => flood.filter((s) => s.closed !== undefined).length === 17, 3000, 'the refusals');
  for (const s of flood.filter((s) => s.closed !== undefined)) {
    assert.equal(s.closed!.code, 1013);
    assert.match(s.closed!.reason, /try again later/);
  }
  // The three pending ones got our CONFIRMED and are still waiting for theirs.
  const pending = flood.filter((s) => s.closed === undefined);
  assert.equal(pending.length, 3);
  for (const s of pending) assert.equal(s.frames[0]![0], 3);

  await echoes(other, 'during the flood');
  // A real peer is refused while the limit is reached...
  const late = newPeer({ name: 'late' });
  await rejectionOf(late.connect(urlOf(server), { permanent: false }));
  // ...and accepted once the pending sockets go.
  for (const s of pending) s.close();
  await eventually(() => stats.pending === 0, 3000, 'the pending handshakes ended');
  const { unit } = await late.connect(urlOf(server), { permanent: false });
  await echoes(unit, 'after the flood');
  await echoes(other, 'after the flood');
});

test('maxInFlight: beyond it a request fails at once with RT_ERR_OVERLOADED; other units and later requests are unaffected', async () => {
  const slow = await listeningPeer({ name: 'slow' });
  const fast = await listeningPeer({ name: 'fast' });
  serve(fast);
  const held: Array<() => void> = [];
  slow.role('svc').onRequest('hold', () => new Promise<string>((resolve) => held.push(() => resolve('done'))));
  serve(slow);
  const client = newPeer({ name: 'client', maxInFlight: 4 });
  const { unit } = await client.connect(urlOf(slow), { permanent: false });
  const { unit: other } = await client.connect(urlOf(fast), { permanent: false });

  const first = Array.from({ length: 4 }, () => unit.request('svc', 'hold'));
  const err = await within(rejectionOf(unit.request('svc', 'hold')), 500, 'the refusal');
  assert.ok(err instanceof OverloadedError, String(err));
  assert.equal(err.code, 'RT_ERR_OVERLOADED');
  assert.equal((err as OverloadedError).limit, 'maxInFlight');
  assert.match(err.message, /maxInFlight 4/);
  assert.equal((err as RoletalkError).ctx?.event, 'hold');
  assert.equal(unit.pending.size, 4);
  // Per unit: the other unit is not limited by this one's requests.
  await Promise.all(Array.from({ length: 4 }, (_, i) => echoes(other, `fast ${i}`)));
  await eventually(() => held.length === 4);
  for (const release of held.splice(0)) release();
  for (const ctx of await Promise.all(first)) assert.equal(ctx.data, 'done');
  await echoes(unit, 'room again');
});

test('maxStreams on the opening side: beyond it the stream is destroyed with RT_ERR_OVERLOADED; other units unaffected', async () => {
  const a = await listeningPeer({ name: 'a' });
  const b = await listeningPeer({ name: 'b' });
  for (const p of [a, b]) {
    // A stream that stays open until the reader goes.
    p.role('svc').onWritable('feed', (ctx: Context) => {
      ctx.writable!.on('error', () => {}).write('hello');
      return 'ok';
    });
  }
  const client = newPeer({ name: 'client', maxStreams: 2 });
  const { unit } = await client.connect(urlOf(a), { permanent: false });
  const { unit: other } = await client.connect(urlOf(b), { permanent: false });
  const dest = client.destination('svc');
  const open = async (to: Unit): Promise<ReturnType<typeof dest.Readable>> => {
    const stream = dest.Readable({ event: 'feed', unit: to });
    // Still open when the test ends and the peers close.
    stream.on('error', () => {});
    await waitFor(stream, 'ready');
    return stream;
  };
  const s1 = await open(unit);
  await open(unit);
  const third = dest.Readable({ event: 'feed', unit });
  const [err] = await waitFor<[Error & { code?: string }]>(third, 'error');
  assert.ok(err instanceof OverloadedError, String(err));
  assert.match(err.message, /maxStreams 2/);
  assert.equal(unit.streams.openCount, 2);
  // Another unit has its own budget.
  await open(other);
  await open(other);
  // Closing one makes room.
  s1.destroy();
  await eventually(() => unit.streams.openCount === 1);
  await open(unit);
});

test('maxStreams on the serving side: a stream request beyond it is refused with STREAM_REJECT saying so; other units unaffected', async () => {
  const server = await listeningPeer({ name: 'server', maxStreams: 2 });
  server.role('svc').onWritable('feed', (ctx: Context) => {
    ctx.writable!.on('error', () => {}).write('hello');
    return 'ok';
  });
  serve(server);
  const c1 = newPeer({ name: 'c1' });
  const c2 = newPeer({ name: 'c2' });
  const { unit } = await c1.connect(urlOf(server), { permanent: false });
  const { unit: other } = await c2.connect(urlOf(server), { permanent: false });
  const open = (peer: Peer, to: Unit) => peer.destination('svc').Readable({ event: 'feed', unit: to }).on('error', () => {});
  await waitFor(open(c1, unit), 'ready');
  await waitFor(open(c1, unit), 'ready');
  const third = open(c1, unit);
  const [err] = await waitFor<[Error & { code?: string }]>(third, 'error');
  assert.ok(err instanceof StreamError, String(err));
  assert.equal(err.code, 'RT_ERR_STREAM');
  assert.match(err.message, /Too many open streams.*maxStreams 2/);
  // The refusal cost nothing else: the unit answers, and c2 has its own budget on the server.
  await echoes(unit, 'still served');
  await waitFor(open(c2, other), 'ready');
  await waitFor(open(c2, other), 'ready');
});

test('a raw stream request beyond maxStreams gets STREAM_REJECT with the reason in the §6 form', async () => {
  const server = await listeningPeer({ name: 'server', maxStreams: 1 });
  server.role('svc').onReadable('sink', () => 'ok');
  const raw = await RawPeer.connect(urlOf(server), { id: 'abcdefabcdefabcdefabcdefabcdef02' });
  // REQUEST_WRITABLE, role svc, event sink, correlation n, stream id 7+n, null payload.
  const request = (corr: number): Buffer =>
    Buffer.concat([Buffer.from([104, 0, 3, 0, 4, 1, 1]), Buffer.from('svcsink'), Buffer.from([corr, 7 + corr, 1])]);
  raw.send(request(1));
  const resolve = await raw.next((f) => f[0] === 107);
  assert.equal(resolve[3], 1);
  raw.send(request(2));
  const reject = await raw.next((f) => f[0] === 108);
  assert.equal(reject[3], 2);
  const text = reject.subarray(6).toString();
  assert.equal(reject[5], 3); // a string payload
  assert.match(JSON.parse(text).data, /Too many open streams.*maxStreams 1/);
  assert.equal(raw.closed, undefined);
});
