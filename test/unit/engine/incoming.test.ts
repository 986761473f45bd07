import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANSWER_MEMORY, IncomingRequests } from '../../../src/engine/incoming';
import { AnsweredIds } from '../../../src/engine/answered-ids';
import { Context } from '../../../src/engine/context';
import type { Connection } from '../../../src/transport/connection';

// The serving side's memory of a remote's requests (extension resend, docs/protocol.md §9).

const unit = { id: 'u', name: 'u' };
const ctx = (): Context => new Context(unit, 'r', 'e', Buffer.from([1]));
const conn = (open = true): Connection => ({ open }) as unknown as Connection;

test('a repeat is recognised while running and after, and answered on its own connection', () => {
  const incoming = new IncomingRequests();
  const first = conn();
  const second = conn();
  assert.equal(incoming.begin(7, ctx(), first), undefined, 'new: run it');
  assert.equal(incoming.begin(7, ctx(), second), 'running');
  const answer = Buffer.from('answer');
  assert.equal(incoming.finish(7, answer, true), second, 'the answer goes where the repeat came');
  answer.fill(0);
  assert.deepEqual(incoming.begin(7, ctx(), first), Buffer.from('answer'), 'the remembered answer is a copy');
});

test('a cancelled request is answered to nobody; answers without kept bytes still block a second run', () => {
  const incoming = new IncomingRequests();
  const c = ctx();
  incoming.begin(3, c, conn());
  incoming.cancel(3, new Error('cancelled'));
  assert.equal(c.signal.aborted, true);
  assert.equal(incoming.finish(3, Buffer.from('x'), true), null);
  incoming.begin(4, ctx(), conn());
  incoming.finish(4, Buffer.from('y'), false);
  assert.equal(incoming.begin(4, ctx(), conn()), null, 'answered, bytes not kept: never run again');
});

test('the memory is bounded by entries and bytes; beyond the bytes, ids are kept without answers', () => {
  const incoming = new IncomingRequests();
  const big = Buffer.alloc(64 * 1024);
  const n = ANSWER_MEMORY.entries + 10;
  for (let corr = 0; corr < n; corr++) {
    incoming.begin(corr, ctx(), conn());
    incoming.finish(corr, big, true);
  }
  assert.equal(incoming.begin(0, ctx(), conn()), undefined, 'the oldest entries are forgotten (it would run again)');
  const recent = incoming.begin(n - 1, ctx(), conn());
  assert.ok(Buffer.isBuffer(recent), 'the newest answer is kept');
  const older = incoming.begin(n - 200, ctx(), conn());
  assert.equal(older, null, 'an older one is remembered as answered, without its bytes');
  const kept = [...Array(n).keys()].filter((corr) => Buffer.isBuffer(incoming.begin(corr, ctx(), conn())));
  assert.ok(kept.length * big.length <= ANSWER_MEMORY.bytes, `${kept.length} answers kept`);
});

test('the unit going away aborts every running request', () => {
  const incoming = new IncomingRequests();
  const a = ctx();
  const b = ctx();
  incoming.begin(1, a, conn());
  incoming.begin(2, b, conn());
  incoming.abortAll(new Error('gone'));
  assert.equal(a.signal.aborted && b.signal.aborted, true);
  assert.equal((a.signal.reason as Error).message, 'gone');
});

test('AnsweredIds remembers exactly the last ids added, in order or not, across window slides and jumps', () => {
  const capacity = 64;
  const ids = new AnsweredIds(capacity);
  const model: number[] = [];
  let seed = 7;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  let counter = 0;
  for (let step = 0; step < 200_000; step++) {
    const r = random(1000);
    // Mostly a counter; some late answers from below, some jumps far ahead, a few repeats of old ids.
    const id = r < 900 ? counter++ : r < 990 ? Math.max(0, counter - 1 - random(50_000)) : r < 999 ? (counter += random(100_000)) : random(2 ** 40);
    if (model.includes(id)) continue; // a remembered id is never answered again (begin sees it)
    const forgotten = ids.add(id);
    model.push(id);
    assert.equal(forgotten, model.length > capacity ? model.shift() : undefined);
    if (step % 97 === 0) {
      for (const known of model) assert.ok(ids.has(known), `remembers ${known} at step ${step}`);
      for (let k = 0; k < 50; k++) {
        const probe = Math.max(0, counter - random(100_000));
        assert.equal(ids.has(probe), model.includes(probe), `${probe} at step ${step}`);
      }
    }
  }
});

test('a request answered within its turn and one whose handler went async are both tracked', () => {
  const incoming = new IncomingRequests();
  const first = conn();
  const second = conn();
  // Answered before `started`: its answer goes on its own connection.
  incoming.begin(1, ctx(), first);
  assert.equal(incoming.finish(1, Buffer.from('a'), false), first);
  incoming.started(1);
  assert.equal(incoming.begin(1, ctx(), first), null, 'answered: not run again');
  // Went async: still a repeat, cancellable, and answered on the repeat's connection.
  const c = ctx();
  incoming.begin(2, c, first);
  incoming.started(2);
  assert.equal(incoming.begin(2, ctx(), second), 'running');
  // A new request while another has not returned yet (never in practice): both stay tracked.
  incoming.begin(3, ctx(), first);
  incoming.begin(4, ctx(), first);
  assert.equal(incoming.begin(3, ctx(), second), 'running');
  incoming.cancel(2, new Error('cancelled'));
  assert.equal(c.signal.aborted, true);
  assert.equal(incoming.finish(2, Buffer.from('b'), false), null);
  assert.equal(incoming.finish(3, Buffer.from('c'), false), second);
  assert.equal(incoming.finish(4, Buffer.from('d'), false), first);
});
