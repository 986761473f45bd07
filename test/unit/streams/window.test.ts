import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL_ALLOWANCE, INITIAL_WINDOW, ReadWindow } from '../../../src/streams/window';

// The reader's flow-control arithmetic (src/streams/window.ts), driven by hand.

const KiB = 1024;

test('the window doubles while the consumer keeps up, up to its cap', () => {
  const w = new ReadWindow(448 * KiB);
  assert.equal(w.size, INITIAL_WINDOW);
  const sizes: number[] = [];
  for (let i = 0; i < 10; i++) {
    const q = w.grant(0);
    assert.ok(q > 0);
    w.arrived(q); // the writer sent it all, and the consumer took it at once
    sizes.push(w.size);
  }
  assert.deepEqual(sizes.slice(0, 4), [128 * KiB, 256 * KiB, 448 * KiB, 448 * KiB]);
});

test('a consumer that lags keeps a small window', () => {
  const w = new ReadWindow(448 * KiB);
  let buffered = 0;
  for (let i = 0; i < 20; i++) {
    const q = w.grant(buffered);
    w.arrived(q);
    buffered += q;
    buffered -= Math.min(buffered, 16 * KiB); // takes less than arrives
  }
  // Only the first grant, before anything arrived, found the consumer drained.
  assert.equal(w.size, 2 * INITIAL_WINDOW);
});

test('buffered plus what may still arrive never exceeds the window, however many QUOTAs are in flight', () => {
  const w = new ReadWindow(256 * KiB);
  let mayArrive = INITIAL_ALLOWANCE; // the writer applies none of our QUOTAs yet: each could still come in full
  let buffered = 0;
  for (let i = 0; i < 50; i++) {
    const q = w.grant(buffered);
    mayArrive += q;
    const n = Math.min(mayArrive, 20 * KiB);
    w.arrived(n);
    mayArrive -= n;
    buffered += n;
    if (i < 25) buffered -= Math.min(buffered, 30 * KiB); // then the consumer stops
    assert.ok(buffered + mayArrive <= w.max, `step ${i}: ${buffered} + ${mayArrive}`);
  }
});

test('allowance the writer forfeited never keeps the consumer from its room', () => {
  const w = new ReadWindow(256 * KiB);
  // A slow producer: the writer applies each QUOTA at once, forfeiting what it had left, and
  // has sent part of its allowance when the next QUOTA comes; the consumer takes all at once.
  let allowance = INITIAL_ALLOWANCE;
  for (let i = 0; i < 200; i++) {
    const q = w.grant(0);
    assert.ok(q > 0 || allowance > 0, `step ${i}: the writer has nothing left and gets nothing`);
    if (q > 0) allowance = q;
    const sent = Math.min(allowance, 48 * KiB);
    w.arrived(sent);
    allowance -= sent;
  }
  assert.equal(w.size, 256 * KiB);
});
