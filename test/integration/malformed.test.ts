import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { Context, Peer, Unit } from '../../src';
import { loadBehaviors } from '../helpers/vectors';
import { closeAll, eventually, listeningPeer, newPeer, onCleanup, proofOf, requestFrame, stringPayload, urlOf, within } from '../helpers/peers';

// docs/protocol.md §10: every malformed input of test/fixtures/vectors/behaviors.json
// (`malformed`), replayed from a raw client at our peer. The original crashed its process on many of them; ours must close
// only the offending connection (with a code and a reason) or ignore the frame, keep serving
// its other connections, and turn a throwing handler into a REJECT.

interface SentFrame {
  hex?: string;
  text?: string;
}
interface ReceivedFrame {
  kind: string;
  hex: string;
}
interface MalformedCase {
  name: string;
  victimConfig: { keys?: Array<[string, string]>; dest?: string[] };
  sent: SentFrame[];
  received: ReceivedFrame[];
  outcome: string;
}

const cases = loadBehaviors().malformed as MalformedCase[];

after(closeAll);

/** Frames after which our peer closes the connection (a protocol error, §3). */
const CLOSES = new Set([
  'truncated_request_type_only',
  'truncated_request_header',
  'truncated_request_before_correlation',
  'request_correlation_length_zero',
  // 8 bytes exceed the 2^53 bound of §4; the original answered with a mangled id.
  'request_correlation_8_bytes',
  // The original ignored these two truncated frames; §3 makes them protocol errors.
  'message_truncated',
  'stream_frame_truncated',
  'unknown_type_byte_once',
  'unknown_type_byte_twice_same_tick',
  'empty_binary_frame',
  'text_frame',
  'roles_invalid_json',
  'roles_missing_fields',
  'acquaint_invalid_json',
  'response_truncated',
  'reject_truncated',
  'stream_request_truncated',
  'stream_resolve_truncated',
]);

/** Handshakes that succeed with a keyed victim once the proof is made for our challenge. */
const KEYED_OK = new Set(['auth_keyed_correct_proof', 'auth_keyed_confirmation_before_proof']);

/** Cases where we answer exactly as the original did. */
const SAME_AS_ORIGINAL = new Set([
  'request_correlation_leading_zero_bytes',
  'request_boolean_without_value_byte',
  'request_number_unparseable',
  'handcrafted_stream_request_to_unhandled_event',
]);

const hex = (s: string): string => Buffer.from(s).toString('hex');
const corrOf = (f: Buffer): number => f[2]!;
const PROBE_CORR = 42;

/** What our peer answers to the requests of a case, where the protocol decides it. */
const ANSWERS: Record<string, (frames: Buffer[]) => void> = {
  // No datatype byte: the request is answered once (a REJECT: the payload is unreadable).
  request_missing_datatype_byte: (frames) => {
    const replies = frames.filter((f) => (f[0] === 102 || f[0] === 105) && corrOf(f) === 7);
    assert.equal(replies.length, 1);
  },
  request_invalid_json_data: (frames) => {
    const reply = frames.find((f) => corrOf(f) === 9 && (f[0] === 102 || f[0] === 105));
    assert.ok(reply, 'answered');
    assert.equal(reply[0], 105, 'rejected');
    assert.match(reply.toString('utf8', 4), /JSON/);
  },
  // §4: a request with an unknown payload datatype is rejected.
  request_unknown_datatype: (frames) => {
    const reply = frames.find((f) => corrOf(f) === 10 && (f[0] === 102 || f[0] === 105));
    assert.ok(reply);
    assert.equal(reply[0], 105);
  },
  'request_handler_throws (user code)': (frames) => {
    assert.ok(frames.some((f) => f.toString('hex') === '69010d03' + hex('handler threw')), 'REJECT "handler threw"');
  },
};

interface Victim {
  peer: Peer;
  /** A real peer connected throughout: it must keep being served. */
  bystander: Peer;
  bystanderUnit: Unit;
  handlerErrors: unknown[];
  /** What the `note` message handler received. */
  notes: Array<{ type: string; data: unknown }>;
}

const victims = new Map<string, Promise<Victim>>();

function victim(config: MalformedCase['victimConfig']): Promise<Victim> {
  const key = JSON.stringify(config);
  let v = victims.get(key);
  if (v === undefined) {
    v = makeVictim(config);
    victims.set(key, v);
  }
  return v;
}

async function makeVictim(config: MalformedCase['victimConfig']): Promise<Victim> {
  // Short timings stand in for §1 and §2's 5 s, 2 s and 4 s.
  const peer = await listeningPeer({ name: 'victim', handshakeTimeout: 250, heartbeat: { interval: 100, timeout: 600 } });
  for (const [id, k] of config.keys ?? []) peer.addPresharedKey(id, k);
  for (const d of config.dest ?? []) peer.destination(d);
  const svc = peer.role('svc');
  svc.onRequest('echo', (ctx: Context) => ctx.data);
  svc.onRequest('void', () => undefined);
  svc.onRequest('throw', () => {
    throw new Error('handler threw');
  });
  const notes: Array<{ type: string; data: unknown }> = [];
  svc.onMessage('note', (ctx: Context) => {
    notes.push({ type: ctx.type, data: ctx.data });
  });
  svc.onWritable('download', (ctx: Context) => {
    const size = Number(ctx.data);
    ctx.writable!.on('error', () => {});
    ctx.writable!.end(Buffer.alloc(Math.min(size, 1 << 20), 7));
  });
  svc.onReadable('upload', (ctx: Context) => {
    ctx.readable!.on('error', () => {});
    ctx.readable!.resume();
  });
  const handlerErrors: unknown[] = [];
  peer.on('error', (e) => handlerErrors.push(e));
  const bystander = newPeer({ name: 'bystander' });
  for (const [id, k] of config.keys ?? []) bystander.addPresharedKey(id, k);
  const { unit } = await bystander.connect(urlOf(peer), { permanent: false });
  await eventually(() => peer.units.length === 1, 2000, 'the bystander joined');
  return { peer, bystander, bystanderUnit: unit, handlerErrors, notes };
}

interface Replay {
  frames: Buffer[];
  closed: { code: number; reason: string } | undefined;
  ws: WebSocket;
  pongs: number;
}

/** Replays a case's frames from a raw client, then probes when the connection should live. */
async function replay(v: Victim, c: MalformedCase, probe: boolean): Promise<Replay> {
  const ws = new WebSocket(urlOf(v.peer), { perMessageDeflate: false, autoPong: c.name !== 'heartbeat_no_pong' });
  onCleanup(() => ws.terminate());
  const result: Replay = { frames: [], closed: undefined, ws, pongs: 0 };
  ws.on('error', () => {});
  ws.on('pong', () => result.pongs++);
  ws.on('message', (f: Buffer) => result.frames.push(f));
  const closed = new Promise<void>((resolve) =>
    ws.on('close', (code, reason) => {
      result.closed = { code, reason: reason.toString() };
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const keyed = (c.victimConfig.keys ?? []).length > 0;
  let challenge = '';
  if (keyed) {
    await eventually(() => result.frames.length > 0, 2000, 'the challenge');
    assert.equal(result.frames[0]![0], 1);
    challenge = (JSON.parse(result.frames[0]!.toString('utf8', 1)) as { challenge: string }).challenge;
  }
  // All of a case's frames in one burst, as they were sent to the original.
  for (const s of c.sent) {
    if (s.text !== undefined) {
      ws.send(s.text);
      continue;
    }
    let frame = Buffer.from(s.hex!, 'hex');
    if (frame[0] === 2 && KEYED_OK.has(c.name)) {
      // The recorded proof answered the original's challenge; make it for ours.
      const response = JSON.parse(frame.toString('utf8', 1)) as { proof: string; id: string };
      const key = new Map(c.victimConfig.keys).get(response.id)!;
      frame = Buffer.concat([Buffer.from([2]), Buffer.from(JSON.stringify({ proof: proofOf(key, challenge), id: response.id }))]);
    }
    ws.send(frame);
  }
  if (c.name === 'heartbeat_ping_victim_count_pongs') ws.ping();
  const isProbe = (f: Buffer): boolean => f[0] === 102 && corrOf(f) === PROBE_CORR;
  if (probe) {
    if (!c.sent.some((s) => s.hex?.endsWith(hex('probe')))) ws.send(requestFrame('svc', 'echo', PROBE_CORR, stringPayload('probe')));
    await eventually(() => result.frames.some(isProbe) || result.closed !== undefined, 3000, 'the probe answer').catch((e: Error) => {
      throw new Error(`${e.message}; received ${result.frames.map((f) => f.toString('hex', 0, 24)).join(' ')}`);
    });
  } else {
    await within(closed, 3000, 'the close');
  }
  return result;
}

before(async () => {
  // Every case of the vectors is covered here (a new case added there fails the count).
  assert.equal(cases.length, 49);
});

for (const c of cases) {
  const keyed = (c.victimConfig.keys ?? []).length > 0;
  const handshakeFails = (c.name.startsWith('auth_') || keyed) && !KEYED_OK.has(c.name);
  const closes = CLOSES.has(c.name) || handshakeFails || c.name === 'heartbeat_no_pong';
  const original = c.outcome.startsWith('PROCESS CRASHED') ? 'crashed the original' : c.outcome;
  test(`${c.name} (${original}) → ${closes ? 'closes that connection' : 'handled, connection usable'}`, async () => {
    const v = await victim(c.victimConfig);
    const unitsBefore = v.peer.units.length;
    const errorsBefore = v.handlerErrors.length;
    const r = await replay(v, c, !closes);
    try {
      await check(v, c, r, closes, handshakeFails, unitsBefore, errorsBefore);
    } finally {
      // Every case's raw client has the vector's peer id: a leftover would join the next one.
      r.ws.terminate();
    }
    // The victim lives on and still serves the connection that did nothing wrong.
    assert.equal((await v.bystander.destination('svc').request('echo', 'still here')).data, 'still here');
    assert.equal(v.bystanderUnit.connections.length, 1);
    await eventually(() => v.peer.units.length === unitsBefore, 2000, 'the raw unit gone');
  });
}

/** What our peer did with a case, against what §10 asks (and what the original did). */
async function check(
  v: Victim,
  c: MalformedCase,
  r: Replay,
  closes: boolean,
  handshakeFails: boolean,
  unitsBefore: number,
  errorsBefore: number,
): Promise<void> {
  if (closes) {
    assert.ok(r.closed, 'closed');
    if (c.name === 'heartbeat_no_pong') {
      // Dropped at once, without a close handshake: the remote never answers one.
      assert.equal(r.closed.code, 1006);
    } else if (handshakeFails) {
      assert.equal(r.closed.code, 4002, `close code ${r.closed.code}`);
      assert.ok(r.closed.reason.length > 0, 'a reason');
      if (c.name !== 'auth_error_frame_from_client') {
        // The refusal is told first (§2), after our CONFIRMED or CHALLENGE.
        const last = r.frames[r.frames.length - 1]!;
        assert.equal(last[0], 0, 'an ERROR frame');
        assert.equal(typeof JSON.parse(last.toString('utf8', 1)), 'string');
        if (c.name === 'auth_keyed_wrong_proof') assert.equal(JSON.parse(last.toString('utf8', 1)), 'Preshared key mismatch. Chosen id: k1');
      }
      assert.ok(!r.frames.some((f) => f[0] >= 100), 'nothing but handshake frames');
    } else {
      // §1: a diagnostic code; ours is 4006 for a malformed frame, as roletalk-go's.
      assert.equal(r.closed.code, 4006);
      assert.ok(r.closed.reason.length > 0, 'a reason');
      assert.ok(!r.frames.some((f) => f[0] === 102 || f[0] === 105), 'no answer to the bad frame');
    }
  } else {
    assert.equal(r.closed, undefined, `closed with ${JSON.stringify(r.closed)}`);
    const probe = r.frames.find((f) => f[0] === 102 && corrOf(f) === PROBE_CORR)!;
    assert.equal(probe.toString('hex'), '66012a03' + hex('probe'), 'the probe is answered as the original did');
    ANSWERS[c.name]?.(r.frames);
    // Where the original answered and §10 does not ask for a change, we answer byte for byte.
    for (const rec of c.received.filter((f) => f.kind === 'response' || f.kind === 'stream_reject')) {
      if (SAME_AS_ORIGINAL.has(c.name) || rec.hex === '66012a03' + hex('probe')) {
        assert.ok(
          r.frames.some((f) => f.toString('hex') === rec.hex),
          `the original answered ${rec.hex}; ours: ${r.frames.map((f) => f.toString('hex')).join(' ')}`,
        );
      }
    }
    if (c.name === 'heartbeat_ping_victim_count_pongs') await eventually(() => r.pongs >= 1, 1000, 'a pong');
    // A message whose JSON cannot be read reaches its handler, which throws on ctx.data:
    // reported as an 'error' event, nothing else.
    assert.equal(v.handlerErrors.length, errorsBefore + (c.name === 'message_invalid_json_data' ? 1 : 0));
    // An unknown datatype is delivered as null with type '?', as the original did.
    if (c.name === 'message_unknown_datatype') assert.deepEqual(v.notes.at(-1), { type: '?', data: null });
    assert.equal(v.peer.units.length, unitsBefore + 1, 'the raw client is a unit');
  }
}

test('a throwing request handler becomes a REJECT with its message, from a real peer too', async () => {
  const v = await victim({});
  const dest = v.bystander.destination('svc');
  await assert.rejects(dest.request('throw', null), { name: 'RejectedError', message: 'handler threw', code: 'RT_ERR_REJECTED' });
  assert.equal((await dest.request('echo', 1)).data, 1);
});

test('after a bad frame, what follows on that connection is not read: one protocol_error, one close', async () => {
  const { RawPeer } = await import('../helpers/raw-peer');
  const peer = await listeningPeer({ name: 'strict' });
  let handled = 0;
  peer.role('svc').onRequest('echo', (ctx: Context) => {
    handled++;
    return ctx.data;
  });
  const errors: Error[] = [];
  peer.on('protocol_error', (err: Error) => errors.push(err));
  const raw = await RawPeer.connect(urlOf(peer), { id: 'f00df00df00df00df00df00df00df00d' });
  // A truncated request, then good ones and more bad ones in the same burst.
  raw.send(Buffer.from([101, 0, 3]));
  for (let i = 0; i < 5; i++) raw.send(requestFrame('svc', 'echo', i, stringPayload('x')));
  raw.send(Buffer.from([250, 1, 2, 3]));
  const closed = await raw.waitClose();
  assert.equal(closed.code, 4006);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(errors.length, 1);
  assert.equal(handled, 0, 'nothing behind the bad frame was handled');
});
