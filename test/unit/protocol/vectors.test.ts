import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  FrameEncoder,
  FrameType,
  decodeFrame,
  decodeHandshakeFrame,
  decodePayload,
  type Frame,
} from '../../../src/protocol';
import { field, loadBehaviors, loadFrames, revive, type FrameVector } from '../../helpers/vectors';

// Every frame an original peer put on the wire decodes to the fields recorded with it, and our
// encoder, given what was decoded, writes the same bytes back.

const frames = loadFrames();
const encoder = new FrameEncoder();

/** Re-encodes a decoded frame, keeping its typed payload bytes as they came. */
function reencode(frame: Frame): Buffer {
  switch (frame.type) {
    case FrameType.MESSAGE:
      return withPayload(encoder.message(frame.role, frame.event, null), frame.payload);
    case FrameType.REQUEST:
    case FrameType.REQUEST_DEADLINE:
      return withPayload(encoder.request(frame.role, frame.event, frame.corr, null, frame.deadlineMs), frame.payload);
    case FrameType.RESPONSE:
      return withPayload(encoder.response(frame.corr, null), frame.payload);
    case FrameType.REJECT:
      return withPayload(encoder.reject(frame.corr, ''), frame.payload);
    case FrameType.REQUEST_READABLE:
    case FrameType.REQUEST_WRITABLE:
      return withPayload(encoder.streamRequest(frame.type, frame.role, frame.event, frame.corr, frame.chan, null), frame.payload);
    case FrameType.STREAM_RESOLVE:
    case FrameType.STREAM_REJECT:
      return withPayload(encoder.streamReply(frame.type, frame.corr, frame.chan, null), frame.payload);
    case FrameType.STREAM_DATA:
      switch (frame.flag) {
        case 0:
          return Buffer.from(encoder.streamChunk(frame.id, frame.body));
        case 1:
          return Buffer.from(encoder.streamFinish(frame.id));
        case 2:
          return Buffer.from(encoder.streamError(frame.id, frame.body.toString('utf8')));
        default:
          return Buffer.from(encoder.streamQuota(frame.id, Number.parseInt(frame.body.toString('hex'), 16)));
      }
    case FrameType.CANCEL:
      return Buffer.from(encoder.cancel(frame.corr));
    case FrameType.ACQUAINT:
    case FrameType.ROLES:
      throw new Error('JSON frames are re-encoded from their text');
  }
}

/** Replaces the one-byte null payload the encoder wrote with the original payload bytes. */
function withPayload(head: Buffer, payload: Buffer): Buffer {
  return Buffer.concat([head.subarray(0, head.length - 1), payload]);
}

function checkFields(vector: FrameVector, frame: Frame): void {
  const expect = (name: string, actual: unknown): void => {
    const f = field(vector, name);
    if (f !== undefined && 'value' in f) assert.deepEqual(actual, f.value, `${vector.name}: ${name}`);
  };
  const anyFrame = frame as unknown as Record<string, unknown>;
  expect('role', anyFrame.role);
  expect('event', anyFrame.event);
  expect('correlation', anyFrame.corr);
  expect('streamId', frame.type === FrameType.STREAM_DATA ? frame.id : anyFrame.chan);
  expect('flag', anyFrame.flag);
  if ('payload' in frame) {
    expect('dataType', frame.payload[0]);
    const data = field(vector, 'data');
    if (data?.hex !== undefined) assert.equal(frame.payload.subarray(1).toString('hex'), data.hex, `${vector.name}: data`);
    // The payload decodes (or, for an unknown datatype, fails with the typed error only).
    decodePayload(frame.payload);
  }
  if (frame.type === FrameType.STREAM_DATA) {
    expect('errorText', frame.flag === 2 ? frame.body.toString('utf8') : undefined);
    expect('quota', frame.flag === 3 ? Number.parseInt(frame.body.toString('hex'), 16) : undefined);
  }
}

test('the vectors cover every frame kind', () => {
  const kinds = new Set(frames.map((v) => v.decoded.typeByte));
  for (const type of [0, 1, 2, 3, 100, 101, 102, 103, 104, 105, 106, 107, 108, 200, 201]) assert.ok(kinds.has(type), `type ${type}`);
});

for (const vector of frames) {
  test(`vector ${vector.seq} ${vector.name}`, () => {
    const bytes = Buffer.from(vector.hex, 'hex');
    assert.equal(bytes.length, vector.length);
    const type = bytes[0]!;
    assert.equal(type, vector.decoded.typeByte);
    if (type <= 3) {
      const frame = decodeHandshakeFrame(bytes);
      assert.equal(frame.type, type);
      const json = field(vector, 'json')!.value as string;
      assert.deepEqual(encoder.json(type, JSON.parse(json)), bytes);
      return;
    }
    const frame = decodeFrame(bytes);
    assert.equal(frame.type, type);
    if (type === FrameType.ACQUAINT || type === FrameType.ROLES) {
      const json = field(vector, 'json')!.value as string;
      assert.deepEqual(encoder.json(type, JSON.parse(json)), bytes);
      const parsed = JSON.parse(json) as { roles: string[] };
      assert.deepEqual((frame as { roles: string[] }).roles, parsed.roles);
      return;
    }
    checkFields(vector, frame);
    assert.deepEqual(reencode(frame), bytes, 're-encoded bytes differ');
  });
}

test('every observed value decodes to what the original received, and encodes as the original did', () => {
  const cases = frames.filter((v) => v.observed?.receivedAs !== undefined);
  assert.ok(cases.length >= 30);
  for (const vector of cases) {
    const bytes = Buffer.from(vector.hex, 'hex');
    const frame = decodeFrame(bytes);
    assert.equal(frame.type, FrameType.MESSAGE);
    if (frame.type !== FrameType.MESSAGE) continue;
    const { type, data } = vector.observed!.receivedAs!;
    const decoded = decodePayload(frame.payload);
    assert.equal(decoded.type, type, vector.name);
    const expected = revive(data);
    if (typeof expected === 'number' && Number.isNaN(expected)) assert.ok(Number.isNaN(decoded.value), vector.name);
    else assert.deepEqual(decoded.value, expected, vector.name);

    // The value the original sent, written by our encoder, gives the original's bytes.
    const source = vector.observed!.sentJsValue!;
    const sent: unknown = source.startsWith('<Buffer')
      ? Buffer.from(source.slice(8, -1).replace(/ /g, ''), 'hex')
      : new Function('Buffer', `return (${source});`)(Buffer);
    assert.deepEqual(encoder.message(frame.role, frame.event, sent), bytes, `encoding ${source}`);
  }
});

test('auth proofs are HMAC-SHA256 of the challenge text under the preshared key', () => {
  const behaviors = loadBehaviors();
  const keys = behaviors.presharedKeysByPeer as Record<string, Record<string, string>>;
  const challenges = new Map<string, string>();
  let checked = 0;
  for (const vector of frames) {
    const bytes = Buffer.from(vector.hex, 'hex');
    const [from, to] = vector.direction.split('->') as [string, string];
    if (bytes[0] === FrameType.HS_CHALLENGE) {
      const frame = decodeHandshakeFrame(bytes) as { challenge: string };
      challenges.set(`${from}->${to}`, frame.challenge);
    } else if (bytes[0] === FrameType.HS_RESPONSE) {
      const frame = decodeHandshakeFrame(bytes) as { proof: string; id: string };
      // The proof answers the challenge the receiver sent to the prover.
      const challenge = challenges.get(`${to}->${from}`)!;
      const proverKey = keys[from]![frame.id]!;
      assert.equal(createHmac('sha256', proverKey).update(challenge).digest('hex'), frame.proof, vector.name);
      checked++;
    }
  }
  assert.equal(checked, 6);
});
