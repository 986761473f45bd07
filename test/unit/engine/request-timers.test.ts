import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { RequestTimers } from '../../../src/engine/request-timers';

interface Req {
  id: number;
  deadline: number;
  timeout: number;
  done: boolean;
}

const request = (id: number, timeout: number): Req => ({ id, timeout, deadline: performance.now() + timeout, done: false });

test('settled requests behind a slow one are swept: the queue stays within about twice those in flight', () => {
  const timers = new RequestTimers<Req>(() => {});
  const slow = request(0, 60_000);
  timers.add(slow);
  // 100,000 requests come and go behind it, 8 in flight at a time.
  const inFlight: Req[] = [];
  let maxHeld = 0;
  for (let i = 1; i <= 100_000; i++) {
    const r = request(i, 60_000);
    timers.add(r);
    inFlight.push(r);
    if (inFlight.length > 8) inFlight.shift()!.done = true;
    maxHeld = Math.max(maxHeld, timers.held);
  }
  assert.ok(maxHeld <= 2048 + 16, `held ${maxHeld}`);
  timers.clear();
  assert.equal(timers.held, 0);
});

test('requests with different timeouts expire each at its own time, settled ones never', async () => {
  const expired: number[] = [];
  const timers = new RequestTimers<Req>((r) => expired.push(r.id));
  const a = request(1, 60);
  const b = request(2, 20);
  const c = request(3, 20);
  timers.add(a);
  timers.add(b);
  timers.add(c);
  c.done = true;
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.deepEqual(expired, [2]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(expired, [2, 1]);
  assert.equal(timers.held, 0);
});
