import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../../src/errors';
import { FrameEncoder, FrameType, decodeFrame, decodeHandshakeFrame, decodePayload } from '../../../src/protocol';
import { loadFrames } from '../../helpers/vectors';

// Property tests: random frames of every kind survive encode -> decode; every truncation and
// thousands of random mutations of the captured frames either decode or fail with the typed
// ProtocolError, never with another exception.

const encoder = new FrameEncoder();
const seed = 20261125;

const name = fc.string({ unit: 'binary', maxLength: 40 });
const corr = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const streamId = fc.integer({ min: 1, max: 0xffff });
const json = fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v === 'object' && v !== null);
const value = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.constant(null),
  fc.boolean(),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e21, 0.1 + 0.2)),
  json,
);

/** What a value reads back as: -0 travels as "0", Buffers stay bytes. */
function expected(v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v;
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) return JSON.parse(JSON.stringify(v));
  return v;
}

function assertValue(payload: Buffer, v: unknown): void {
  const decoded = decodePayload(payload).value;
  if (typeof v === 'number' && Number.isNaN(v)) assert.ok(Number.isNaN(decoded));
  else assert.deepEqual(decoded, expected(v));
}

test('random frames of every kind round-trip', () => {
  fc.assert(
    fc.property(name, name, corr, streamId, value, (role, event, c, id, v) => {
      const m = decodeFrame(encoder.message(role, event, v));
      assert.ok(m.type === FrameType.MESSAGE && m.role === role && m.event === event);
      assertValue(m.payload, v);
      const r = decodeFrame(encoder.request(role, event, c, v));
      assert.ok(r.type === FrameType.REQUEST && r.role === role && r.event === event && r.corr === c);
      assertValue(r.payload, v);
      const res = decodeFrame(encoder.response(c, v));
      assert.ok(res.type === FrameType.RESPONSE && res.corr === c);
      assertValue(res.payload, v);
      const rej = decodeFrame(encoder.reject(c, 'no'));
      assert.ok(rej.type === FrameType.REJECT && rej.corr === c);
      for (const type of [FrameType.REQUEST_READABLE, FrameType.REQUEST_WRITABLE] as const) {
        const s = decodeFrame(encoder.streamRequest(type, role, event, c, id, v));
        assert.ok(s.type === type && s.role === role && s.event === event && s.corr === c && s.chan === id);
        assertValue(s.payload, v);
      }
      for (const type of [FrameType.STREAM_RESOLVE, FrameType.STREAM_REJECT] as const) {
        const s = decodeFrame(encoder.streamReply(type, c, id, v));
        assert.ok(s.type === type && s.corr === c && s.chan === id);
        assertValue(s.payload, v);
      }
    }),
    { seed, numRuns: 300 },
  );
});

test('stream data frames of every flag round-trip', () => {
  fc.assert(
    fc.property(streamId, fc.uint8Array({ maxLength: 2000 }), fc.string({ maxLength: 50 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (id, chunk, reason, quota) => {
      const c = decodeFrame(encoder.streamChunk(id, chunk));
      assert.ok(c.type === FrameType.STREAM_DATA && c.id === id && c.flag === 0);
      assert.deepEqual(Buffer.from(c.body), Buffer.from(chunk));
      const f = decodeFrame(encoder.streamFinish(id));
      assert.ok(f.type === FrameType.STREAM_DATA && f.flag === 1 && f.body.length === 0);
      const e = decodeFrame(encoder.streamError(id, reason));
      assert.ok(e.type === FrameType.STREAM_DATA && e.flag === 2 && e.body.toString('utf8') === reason);
      const q = decodeFrame(encoder.streamQuota(id, quota));
      assert.ok(q.type === FrameType.STREAM_DATA && q.flag === 3);
      assert.equal(Number.parseInt(q.body.toString('hex'), 16), quota);
    }),
    { seed, numRuns: 300 },
  );
});

test('ROLES and ACQUAINT round-trip through their JSON', () => {
  fc.assert(
    fc.property(fc.array(name, { maxLength: 10 }), fc.nat(), fc.string(), (roles, i, id) => {
      const r = decodeFrame(encoder.json(FrameType.ROLES, { i, roles }));
      assert.ok(r.type === FrameType.ROLES && r.i === i);
      assert.deepEqual(r.roles, roles);
      const a = decodeFrame(encoder.json(FrameType.ACQUAINT, { id, address: 'ws://h:1', roles }));
      assert.ok(a.type === FrameType.ACQUAINT && a.id === id && a.address === 'ws://h:1');
    }),
    { seed, numRuns: 200 },
  );
});

test('CANCEL and REQUEST_DEADLINE (extensions cancel and deadline) round-trip; a wrong length is a ProtocolError', () => {
  fc.assert(
    fc.property(name, name, corr, fc.integer({ min: 0, max: 0xffffffff }), value, (role, event, c, ms, v) => {
      const cancel = encoder.cancel(c);
      const x = decodeFrame(cancel);
      assert.ok(x.type === FrameType.CANCEL && x.corr === c);
      const request = encoder.request(role, event, c, v, ms);
      const d = decodeFrame(request);
      assert.ok(d.type === FrameType.REQUEST_DEADLINE && d.corr === c && d.deadlineMs === ms && d.role === role && d.event === event);
      assert.deepEqual(d.payload, encoder.request(role, event, c, v).subarray(-d.payload.length));
      assert.throws(() => decodeFrame(Buffer.concat([cancel, Buffer.from([0])])), ProtocolError);
      assert.throws(() => decodeFrame(request.subarray(0, 9)), ProtocolError);
    }),
    { seed, numRuns: 200 },
  );
});

/** Decodes bytes as a receiver would; returns normally or throws whatever the codec throws. */
function decodeAll(bytes: Buffer): void {
  if (bytes.length > 0 && bytes[0]! <= 3) {
    decodeHandshakeFrame(bytes);
    return;
  }
  const frame = decodeFrame(bytes);
  if ('payload' in frame) {
    try {
      decodePayload(frame.payload);
    } catch (err) {
      // An unknown datatype or bad JSON is the payload's typed error, read when asked for.
      if (!(err instanceof ProtocolError)) throw err;
    }
  }
}

function onlyTypedErrors(bytes: Buffer): void {
  try {
    decodeAll(bytes);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `${(err as Error).constructor.name}: ${(err as Error).message} for ${bytes.toString('hex').slice(0, 80)}`);
    assert.match(err.code, /^RT_ERR_/);
    assert.equal(err.closeCode, 4006);
  }
}

const vectors = loadFrames().map((v) => Buffer.from(v.hex, 'hex'));

test('every truncation of every captured frame decodes or raises the typed error', () => {
  let cases = 0;
  for (const bytes of vectors) {
    // Long chunks: every prefix up to 64 bytes, then a sample.
    const ends = bytes.length <= 64 ? Array.from({ length: bytes.length }, (_, i) => i) : [...Array(64).keys(), bytes.length >> 1, bytes.length - 1];
    for (const end of ends) {
      onlyTypedErrors(bytes.subarray(0, end));
      cases++;
    }
  }
  assert.ok(cases > 3000);
});

test('random mutations of captured frames decode or raise the typed error', () => {
  const small = vectors.filter((b) => b.length <= 512);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: small.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 }),
      (which, edits) => {
        const bytes = [...small[which]!];
        for (const [at, byte, kind] of edits) {
          const i = bytes.length === 0 ? 0 : at % bytes.length;
          if (kind === 'set' && bytes.length > 0) bytes[i] = byte;
          else if (kind === 'insert') bytes.splice(i, 0, byte);
          else bytes.splice(i, 1);
        }
        onlyTypedErrors(Buffer.from(bytes));
      },
    ),
    { seed, numRuns: 5000 },
  );
});

test('control frames over 64 KiB (ROLES, ACQUAINT, handshake) are refused before their JSON is read', () => {
  const deep = '['.repeat(40_000) + ']'.repeat(40_000);
  const roles = Buffer.concat([Buffer.from([FrameType.ROLES]), Buffer.from(`{"i":1,"roles":${deep}}`)]);
  assert.throws(() => decodeFrame(roles), (err: Error) => err instanceof ProtocolError && /limit/.test(err.message));
  const confirmed = Buffer.concat([Buffer.from([FrameType.HS_CONFIRMED]), Buffer.from(JSON.stringify({ id: 'x', pad: 'y'.repeat(70_000) }))]);
  assert.throws(() => decodeHandshakeFrame(confirmed), ProtocolError);
  // A normal one still decodes.
  const ok = decodeFrame(Buffer.concat([Buffer.from([FrameType.ROLES]), Buffer.from('{"i":2,"roles":["a"]}')]));
  assert.ok(ok.type === FrameType.ROLES && ok.roles[0] === 'a');
});
