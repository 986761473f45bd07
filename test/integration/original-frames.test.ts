import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RejectedError, type Context, type Peer, type Unit } from '../../src';
import { loadBehaviors, loadFrames, revive, type FrameVector } from '../helpers/vectors';
import { RawPeer } from '../helpers/raw-peer';
import {
  closeAll,
  eventually,
  listeningPeer,
  onCleanup,
  proofOf,
  RawSocket,
  requestFrame,
  stringPayload,
  urlOf,
  waitFor,
  jsonFrame,
} from '../helpers/peers';

// Frames an original roletalk 1.1.3 peer sent (test/fixtures/vectors/frames.json), fed to our
// peer by a raw client: our peer must reach the results the original reached (behaviors.json).

after(closeAll);

const frames = loadFrames();
const behaviors = loadBehaviors();
const names = behaviors.peerNames as Record<string, { id: string; name: string }>;

function frame(prefix: string): FrameVector {
  const found = frames.find((f) => f.name.startsWith(prefix));
  if (found === undefined) throw new Error(`no vector ${prefix}`);
  return found;
}
const bytes = (v: FrameVector): Buffer => Buffer.from(v.hex, 'hex');
/** The label in brackets of a vector's name: `request/01 request B->A [req_echo_object]`. */
const label = (v: FrameVector): string => /\[([^\]]+)\]/.exec(v.name)?.[1]?.split(' (')[0] ?? '';
const step = (name: string): FrameVector[] => frames.filter((f) => f.step === name);
const from = (v: FrameVector, direction: string): boolean => v.direction === direction;

/** Our peer in the original A's place ("alpha"): the roles and handlers the capture used. */
async function alpha(): Promise<{ peer: Peer; notes: Array<{ role: string; type: string; data: unknown }> }> {
  const peer = await listeningPeer({ name: 'alpha' });
  const notes: Array<{ role: string; type: string; data: unknown }> = [];
  const svc = peer.role('svc');
  svc.onRequest('echo', (ctx: Context) => ctx.data);
  svc.onRequest('void', () => undefined);
  svc.onRequest('fail', () => {
    throw new Error('boom');
  });
  svc.onRequest('fail_string', (_ctx, reply) => reply('plain reason'));
  svc.onRequest('fail_object', (_ctx, reply) => reply({ code: 42 }));
  svc.onMessage('note', (ctx: Context) => notes.push({ role: 'svc', type: ctx.type, data: ctx.data }));
  peer.role('dormant', false).onMessage('note', (ctx: Context) => notes.push({ role: 'dormant', type: ctx.type, data: ctx.data }));
  peer.role('svc2');
  return { peer, notes };
}

/** A raw client that joins with the original B's CONFIRMED, byte for byte. */
async function asOriginalB(peer: Peer): Promise<RawSocket> {
  const joined = waitFor<[Unit]>(peer, 'unit');
  const raw = await RawSocket.open(urlOf(peer));
  raw.send(bytes(frame('auth_nokeys/02')));
  const [unit] = await joined;
  assert.equal(unit.id, names.B!.id);
  assert.equal(unit.name, 'beta');
  assert.deepEqual(unit.getRoles(), ['client']);
  return raw;
}

test("the original's messages arrive with the values the original decoded; disabled and unknown roles drop them", async () => {
  const { peer, notes } = await alpha();
  const raw = await asOriginalB(peer);
  const sent = step('message').filter((v) => from(v, 'B->A'));
  assert.equal(sent.length, 34);
  for (const v of sent) raw.send(bytes(v));
  raw.send(requestFrame('svc', 'echo', 200, stringPayload('probe')));
  await raw.next((f) => f[0] === 102 && f[2] === 200);
  const expected = sent.filter((v) => v.observed?.receivedAs !== undefined && label(v) !== 'message_to_disabled_role');
  assert.equal(notes.length, expected.length, 'one delivery per message to an active role');
  expected.forEach((v, i) => {
    const want = v.observed!.receivedAs!;
    const got = notes[i]!;
    assert.equal(got.role, 'svc');
    assert.equal(got.type, want.type, label(v));
    const value = revive(want.data);
    if (typeof value === 'number') assert.ok(Object.is(got.data, value), `${label(v)}: ${String(got.data)}`);
    else if (Buffer.isBuffer(value)) assert.equal((got.data as Buffer).toString('hex'), value.toString('hex'), label(v));
    else assert.deepEqual(got.data, value, label(v));
  });
  // The original delivered a message to its disabled role (quirk 5); this project drops it.
  assert.equal(behaviors.messageToDisabledRole.deliveredToHandler, true);
  assert.ok(!notes.some((n) => n.role === 'dormant'));
});

test("the original's requests get byte-identical responses and rejects", async () => {
  const { peer } = await alpha();
  const raw = await asOriginalB(peer);
  const exchange = ['request', 'reject', 'auto_reject', 'survey'].flatMap(step).filter((v) => v.direction === 'B->A' || v.direction === 'A->B');
  const requests = exchange.filter((v) => from(v, 'B->A'));
  const answers = exchange.filter((v) => from(v, 'A->B'));
  assert.equal(requests.length, 16);
  assert.equal(answers.length, requests.length);
  for (const v of requests) raw.send(bytes(v));
  await eventually(() => raw.frames.filter((f) => f[0] === 102 || f[0] === 105).length >= answers.length, 3000, 'every answer');
  const ours = raw.frames.filter((f) => f[0] === 102 || f[0] === 105).map((f) => f.toString('hex'));
  // Each request answered once, byte for byte as the original answered (corr 0 to 70000).
  assert.deepEqual([...ours].sort(), answers.map((v) => v.hex).sort());
  assert.equal(raw.closed, undefined);
});

test("responses and rejects the original sent settle our requests as the original's requester saw them", async () => {
  const ours = await listeningPeer({ name: 'beta' });
  ours.role('client');
  const joined = waitFor<[Unit]>(ours, 'unit');
  const raw = await RawSocket.open(urlOf(ours));
  raw.send(bytes(frame('auth_nokeys/01')));
  const [unit] = await joined;
  // The original's answers in the order its requester asked, paired with the requests it answered.
  const exchange = ['request', 'reject', 'auto_reject'].flatMap(step);
  const pairs: Array<{ request: FrameVector; answer: FrameVector }> = [];
  for (const answer of exchange.filter((v) => from(v, 'A->B'))) {
    const request = exchange.find((v) => from(v, 'B->A') && label(v) === label(answer))!;
    // Our correlation ids count from 0; the original's requester was forced to 300 and 70000.
    if (/correlation_(300|70000)/.test(label(answer))) continue;
    pairs.push({ request, answer });
  }
  assert.equal(pairs.length, 13);
  // The raw side answers each of our requests with the original's answer for it, given our corr.
  let answered = 0;
  raw.ws.on('message', (f: Buffer) => {
    if (f[0] !== 101) return;
    const corrLen = f[5]!;
    const corr = f.subarray(6 + f.readUInt16BE(1) + f.readUInt16BE(3), 6 + f.readUInt16BE(1) + f.readUInt16BE(3) + corrLen);
    const original = bytes(pairs[answered++]!.answer);
    const originalCorrLen = original[1]!;
    raw.send(Buffer.concat([original.subarray(0, 1), Buffer.from([corr.length]), corr, original.subarray(2 + originalCorrLen)]));
  });
  const results: Record<string, unknown> = {};
  for (const { request } of pairs) {
    // Our request carries what the original's requester sent (role, event, data).
    const role = request.decoded.fields.find((f) => f.name === 'role')!.value as string;
    const event = request.decoded.fields.find((f) => f.name === 'event')!.value as string;
    const payload = bytes(request).subarray(6 + Buffer.byteLength(role) + Buffer.byteLength(event) + bytes(request)[5]!);
    try {
      const ctx = await unit.request(role, event, payloadValue(payload));
      const data = ctx.data;
      results[label(request)] = { ok: true, type: ctx.type, data: Buffer.isBuffer(data) ? { $hex: data.toString('hex') } : data };
    } catch (err) {
      assert.ok(err instanceof RejectedError);
      results[label(request)] = { ok: false, error: (err as Error).message };
    }
  }
  const expected = { ...(behaviors.requests as Record<string, unknown>) };
  delete expected.req_correlation_300;
  delete expected.req_correlation_70000;
  assert.deepEqual(results, expected);
});

/** The JS value of a typed payload, for re-sending what the original's requester sent. */
function payloadValue(payload: Buffer): unknown {
  switch (payload[0]) {
    case 0:
      return Buffer.from(payload.subarray(1));
    case 1:
      return null;
    case 2:
      return payload[1] !== 0;
    case 3:
      return payload.toString('utf8', 1);
    case 4:
      return Number(payload.toString('latin1', 1));
    default:
      return JSON.parse(payload.toString('utf8', 1)) as unknown;
  }
}

test("the original's CONFIRMED and ROLES rounds give our peer the remote's roles, name and tags", async () => {
  const ours = await listeningPeer({ name: 'beta' });
  ours.role('client').onRequest('echo', (ctx: Context) => ctx.data);
  const svc2 = ours.destination('svc2');
  const joined = waitFor<[Unit]>(ours, 'unit');
  const raw = await RawSocket.open(urlOf(ours));
  raw.send(bytes(frame('auth_nokeys/01')));
  const [unit] = await joined;
  const after = behaviors.afterConnect;
  assert.equal(unit.id, names.A!.id);
  assert.equal(unit.name, after.B_sees_A_name);
  assert.deepEqual(unit.getTags(), after.B_sees_A_tags);
  // The original lists its disabled roles too; we take the list as given.
  assert.deepEqual(unit.getRoles(), after.B_sees_A_roles);
  assert.equal(unit.meta.protocol, '2.0.0');
  assert.equal(svc2.ready, true);

  let corr = 0;
  const probe = async (): Promise<void> => {
    const c = ++corr;
    raw.send(requestFrame('client', 'echo', c, stringPayload('probe')));
    await raw.next((f) => f[0] === 102 && f[2] === c);
  };
  const rounds = step('roles_update');
  assert.equal(rounds.length, 4);
  raw.send(bytes(rounds[0]!)); // svc2.disable()
  await waitFor(svc2, 'close');
  assert.deepEqual(unit.getRoles(), ['svc']);
  raw.send(bytes(rounds[1]!)); // svc2.enable()
  await waitFor(svc2, 'open');
  raw.send(bytes(rounds[2]!)); // role('added')
  raw.send(bytes(rounds[3]!)); // a batched disable + enable: same list, next counter
  // A stale round (the first one again) is ignored.
  raw.send(bytes(rounds[0]!));
  await probe();
  assert.deepEqual(unit.getRoles(), behaviors.rolesAfterUpdates.B_sees_A_roles);
  assert.equal(svc2.ready, true);
  assert.equal(ours.destination('added').ready, true);
});

test('survey over two units answering with the original frames: count and one answer each', async () => {
  const ours = await listeningPeer({ name: 'beta' });
  const answers = { alpha: bytes(frame('survey/03')), delta: bytes(frame('survey/04')) };
  for (const who of ['alpha', 'delta'] as const) {
    const unitName = who === 'alpha' ? 'A' : 'D';
    const rawPeer = await RawPeer.connect(urlOf(ours), { id: names[unitName]!.id, name: who, roles: ['svc'], friendly: false });
    onCleanup(() => rawPeer.close());
    void rawPeer.next((f) => f[0] === 101).then((req) => {
      // Answer with the original's response payload under our request's correlation id.
      const corrLen = req[5]!;
      const corrAt = 6 + req.readUInt16BE(1) + req.readUInt16BE(3);
      const original = answers[who];
      rawPeer.send(Buffer.concat([Buffer.from([102, corrLen]), req.subarray(corrAt, corrAt + corrLen), original.subarray(2 + original[1]!)]));
    });
  }
  const dest = ours.destination('svc');
  await eventually(() => dest.units.length === 2, 3000, 'both units');
  const results: Array<{ from: string; data: unknown }> = [];
  const asked = await new Promise<number>((resolve) => {
    const n = dest.survey('echo', 'who?', (err, ctx) => {
      assert.equal(err, null);
      results.push({ from: ctx!.unit.name, data: ctx!.data });
      if (results.length === 2) resolve(n);
    });
  });
  assert.equal(asked, behaviors.survey.unitsAsked);
  assert.deepEqual(
    results.sort((a, b) => a.from.localeCompare(b.from)),
    behaviors.survey.results,
  );
});

test("the original's keyed handshake frames: our proof and our refusals are byte-identical to the original's", async () => {
  const keys = behaviors.presharedKeysByPeer as Record<string, Record<string, string>>;
  const withKeys = async (label: string): Promise<Peer> => {
    const peer = await listeningPeer({ name: label });
    for (const [id, key] of Object.entries(keys[label] ?? {})) peer.addPresharedKey(id, key);
    return peer;
  };

  // F answers E's challenge with the proof the original F sent, then E's confirmation joins.
  const f = await withKeys('F');
  const e = await RawSocket.open(urlOf(f));
  const ourChallenge = JSON.parse((await e.next((x) => x[0] === 1)).toString('utf8', 1)) as { challenge: string; ids: string[] };
  assert.deepEqual(ourChallenge.ids, ['k1']);
  e.send(bytes(frame('auth_keys_ok/01')));
  const proof = await e.next((x) => x[0] === 2);
  assert.equal(proof.toString('hex'), frame('auth_keys_ok/03').hex, 'the same proof as the original F');
  const joined = waitFor<[Unit]>(f, 'unit');
  e.send(jsonFrame(2, { proof: proofOf('secret-1', ourChallenge.challenge), id: 'k1' }));
  e.send(bytes(frame('auth_keys_ok/05')));
  const [unit] = await joined;
  assert.equal(unit.id, names.E!.id);
  assert.equal(unit.name, 'keyed-server');

  // H holds the wrong key: its proof is the original H's; G's refusal fails the handshake.
  const h = await withKeys('H');
  const hErrors: Error[] = [];
  h.on('auth_error', (err: Error) => hErrors.push(err));
  const g = await RawSocket.open(urlOf(h));
  g.send(bytes(frame('auth_keys_mismatch/01')));
  assert.equal((await g.next((x) => x[0] === 2)).toString('hex'), frame('auth_keys_mismatch/03').hex);
  g.send(bytes(frame('auth_keys_mismatch/05')));
  assert.equal((await g.waitClose()).code, 4002);
  assert.equal(hErrors.length, 1);
  assert.match(hErrors[0]!.message, /Preshared key mismatch\. Chosen id: k1/);
  assert.equal(h.units.length, 0);

  // No common id, and a keyless side facing a challenge: the original's exact ERROR texts.
  for (const [ours, challenge, refusal] of [
    ['J', 'auth_no_common_id/01', 'auth_no_common_id/03'],
    ['K', 'auth_server_keyless_client_keyed/02', 'auth_server_keyless_client_keyed/03'],
    ['L2', 'auth_server_keyed_client_keyless/01', 'auth_server_keyed_client_keyless/03'],
  ] as const) {
    const peer = await withKeys(ours);
    const raw = await RawSocket.open(urlOf(peer));
    raw.send(bytes(frame(challenge)));
    const error = await raw.next((x) => x[0] === 0);
    assert.equal(error.toString('hex'), frame(refusal).hex, `${ours}: ${error.toString('utf8', 1)}`);
    assert.equal((await raw.waitClose()).code, 4002);
    assert.equal(peer.units.length, 0);
  }
});

test("the original's ACQUAINT entries: followed in either key order, ignored without an address", async () => {
  const ours = await listeningPeer({ name: 'r' });
  ours.role('svc').onRequest('echo', (ctx: Context) => ctx.data);
  const qDest = ours.destination('q-role');
  ours.destination('r-one');
  const raw = await RawPeer.connect(urlOf(ours), { id: names.P!.id, name: 'p', friendly: true, roles: ['p-role'] });
  onCleanup(() => raw.close());
  const errors: unknown[] = [];
  ours.on('error', (e) => errors.push(e));

  // P2's announcement of R2, without an address: it crashed the original V (same destination).
  assert.equal(behaviors.acquaintCrashNatural.crashError, 'Error: address should be a string');
  raw.send(bytes(frame('acquaint_crash_natural/04')));
  raw.send(bytes(frame('acquaint_R_connects_P/03')));

  // The original's entries for Q name an address of the capture; a live peer takes Q's place.
  for (const entry of ['acquaint_R_connects_P/04', 'acquaint_R_connects_P/07']) {
    const q = await listeningPeer({ name: 'q' });
    q.role('q-role');
    const original = bytes(frame(entry)).toString('utf8', 1);
    const patched = original.replace(names.Q!.id, q.id).replace(/ws:\/\/127\.0\.0\.1:\d+/, urlOf(q));
    assert.deepEqual(Object.keys(JSON.parse(patched) as object), Object.keys(JSON.parse(original) as object), 'key order kept');
    const opened = waitFor<[Unit]>(qDest, 'unit', 3000, (u) => u.id === q.id);
    raw.send(Buffer.concat([Buffer.from([200]), Buffer.from(patched)]));
    await opened;
  }
  raw.send(requestFrame('svc', 'echo', 9, stringPayload('probe')));
  await raw.next((f) => f[0] === 102 && f[2] === 9);
  assert.equal(raw.closed, undefined);
  assert.deepEqual(errors, []);
  assert.equal(ours.units.filter((u) => u.id === names.R2!.id).length, 0);
  assert.equal(qDest.units.length, 2);
});
