import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Handshake, type HandshakeAction } from '../../../src/protocol/handshake';
import { HandshakeTimeoutError } from '../../../src/errors';

// The handshake of docs/protocol.md §2 as a pure machine: two of them wired together in memory.

let challenges = 0;
function side(keys: Record<string, string>, id: string): Handshake {
  return new Handshake({
    keys: new Map(Object.entries(keys)),
    confirmation: () => ({ id, roles: [`${id}-role`], friendly: true, name: id, meta: {}, tags: {} }),
    challenge: () => (challenges++).toString(16).padStart(64, '0'),
    equal: (a, b) => timingSafeEqual(Buffer.from(a), Buffer.from(b)),
  });
}

interface Outcome {
  success?: string;
  fail?: string;
  sent: Buffer[];
  frames: Buffer[];
}

/** Runs both machines to the end, delivering frames in order; HMACs may be answered late. */
function run(a: Handshake, b: Handshake, opts: { lateHmac?: boolean } = {}): [Outcome, Outcome] {
  const out: [Outcome, Outcome] = [{ sent: [], frames: [] }, { sent: [], frames: [] }];
  const queues: [Buffer[], Buffer[]] = [[], []];
  const hmacs: Array<() => void> = [];
  const machines = [a, b];
  const act = (i: number, actions: HandshakeAction[]): void => {
    for (const action of actions) {
      if (action.kind === 'send') {
        out[i]!.sent.push(action.frame);
        queues[1 - i]!.push(action.frame);
      } else if (action.kind === 'hmac') {
        const done = (): void => act(i, machines[i]!.hmacDone(createHmac('sha256', action.key).update(action.message).digest('hex')));
        if (opts.lateHmac) hmacs.push(done);
        else done();
      } else if (action.kind === 'success') out[i]!.success = action.remote.id;
      else if (action.kind === 'fail') out[i]!.fail = action.error.message;
      else out[i]!.frames.push(action.frame);
    }
  };
  act(0, a.start());
  act(1, b.start());
  for (let rounds = 0; rounds < 50; rounds++) {
    for (const i of [0, 1]) while (queues[i]!.length > 0) act(i, machines[i]!.receive(queues[i]!.shift()!));
    if (hmacs.length > 0) hmacs.shift()!();
  }
  return out;
}

test('no keys on either side: both confirm at once', () => {
  const [a, b] = run(side({}, 'a'), side({}, 'b'));
  assert.equal(a.success, 'b');
  assert.equal(b.success, 'a');
  assert.equal(a.sent.length, 1);
  assert.equal(a.sent[0]![0], 3);
});

test('the same key: challenge, proof, confirmation both ways', () => {
  const [a, b] = run(side({ k1: 's' }, 'a'), side({ k1: 's' }, 'b'));
  assert.equal(a.success, 'b');
  assert.equal(b.success, 'a');
  assert.deepEqual(a.sent.map((f) => f[0]), [1, 2, 3]);
});

test('several ids: the first id the answering side holds is used', () => {
  const [a, b] = run(side({ k1: 'x', k2: 'shared' }, 'a'), side({ k2: 'shared' }, 'b'));
  assert.equal(a.success, 'b');
  assert.equal(b.success, 'a');
  const proof = JSON.parse(b.sent.find((f) => f[0] === 2)!.toString('utf8', 1));
  assert.equal(proof.id, 'k2');
});

test('a key mismatch fails both sides with the original text', () => {
  const [a, b] = run(side({ k1: 'right' }, 'a'), side({ k1: 'wrong' }, 'b'));
  assert.equal(a.success, undefined);
  assert.equal(b.success, undefined);
  const refusal = a.sent.find((f) => f[0] === 0)!;
  assert.equal(JSON.parse(refusal.toString('utf8', 1)), 'Preshared key mismatch. Chosen id: k1');
  assert.match(a.fail!, /mismatch/);
  assert.ok(b.fail);
});

test('no common id, and keyed against keyless both ways, fail', () => {
  const [a] = run(side({ kx: '1' }, 'a'), side({ ky: '2' }, 'b'));
  assert.ok(a.fail);
  const [keyed, keyless] = run(side({ k1: 's' }, 'a'), side({}, 'b'));
  assert.equal(keyed.success, undefined);
  assert.equal(keyless.success, undefined);
  const refusal = keyless.sent.find((f) => f[0] === 0)!;
  assert.equal(JSON.parse(refusal.toString('utf8', 1)), 'The peer has not such proofs: k1');
  const [keyless2, keyed2] = run(side({}, 'a'), side({ k1: 's' }, 'b'));
  assert.ok(keyless2.fail && keyed2.fail);
});

test('frames that arrive while an HMAC is pending are handled in order, then passed on', () => {
  const server = side({ k1: 's' }, 'server');
  const actions = server.start();
  const challenge = JSON.parse(actions[0]!.kind === 'send' ? actions[0].frame.toString('utf8', 1) : '{}').challenge as string;
  const proof = createHmac('sha256', 's').update(challenge).digest('hex');
  const frame = (type: number, value: unknown): Buffer => Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(value))]);
  const pending = server.receive(frame(2, { proof, id: 'k1' }));
  assert.equal(pending[0]!.kind, 'hmac');
  // While the proof is checked: the remote's CONFIRMED and two frames behind it.
  assert.deepEqual(server.receive(frame(3, { id: 'client', roles: [] })), []);
  assert.deepEqual(server.receive(Buffer.from([100, 1])), []);
  assert.deepEqual(server.receive(Buffer.from([100, 2])), []);
  const hmac = pending[0]!.kind === 'hmac' ? pending[0] : undefined;
  const after = server.hmacDone(createHmac('sha256', hmac!.key).update(hmac!.message).digest('hex'));
  assert.deepEqual(after.map((x) => x.kind), ['send', 'success', 'frame', 'frame']);
  const frames = after.filter((x): x is Extract<HandshakeAction, { kind: 'frame' }> => x.kind === 'frame').map((x) => x.frame[1]);
  assert.deepEqual(frames, [1, 2]);
});

test('a non-handshake frame during the handshake fails it; timeout() refuses and fails', () => {
  const a = side({ k1: 's' }, 'a');
  a.start();
  const out = a.receive(Buffer.from([101, 0, 0]));
  assert.deepEqual(out.map((x) => x.kind), ['send', 'fail']);
  const b = side({ k1: 's' }, 'b');
  b.start();
  const timedOut = b.timeout(new HandshakeTimeoutError(4000));
  assert.deepEqual(timedOut.map((x) => x.kind), ['send', 'fail']);
  assert.equal(timedOut[0]!.kind === 'send' && timedOut[0].frame[0], 0);
  assert.ok(b.failed);
});
