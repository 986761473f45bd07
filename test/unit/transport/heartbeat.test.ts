import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { HeartbeatScheduler, heartbeatScheduler, type HeartbeatMember } from '../../../src/transport/heartbeat';

// The shared heartbeat wheel (docs/protocol.md §1): pings every interval, a missed pong ends the
// connection after the timeout, and every connection rides the same timer.

/** A fake connection: records pings, answers them (or not) like a remote would. */
function member(scheduler: HeartbeatScheduler, answers: boolean): HeartbeatMember & { pings: number; missedAt: number | undefined } {
  const m = {
    heartbeatSlot: -1,
    pingTick: -1,
    pings: 0,
    missedAt: undefined as number | undefined,
    ping(): void {
      m.pings++;
      if (answers) setImmediate(() => scheduler.pong(m));
    },
    pongMissed(): void {
      m.missedAt = performance.now();
    },
  };
  return m;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a connection that answers is pinged every interval and never dropped', async () => {
  const scheduler = new HeartbeatScheduler({ interval: 40, timeout: 30 });
  const m = member(scheduler, true);
  scheduler.add(m);
  await sleep(300);
  scheduler.remove(m);
  assert.ok(m.pings >= 3, `pinged ${m.pings} times in 300 ms at a 40 ms interval`);
  assert.equal(m.missedAt, undefined);
});

test('a missed pong ends the connection once, after the interval and the timeout', async () => {
  const scheduler = new HeartbeatScheduler({ interval: 40, timeout: 30 });
  const m = member(scheduler, false);
  const start = performance.now();
  scheduler.add(m);
  await sleep(300);
  assert.equal(m.pings, 1, 'no ping after the missed one');
  assert.ok(m.missedAt !== undefined, 'the missed pong was reported');
  // Never early: a ping after the interval, the verdict after the timeout.
  assert.ok(m.missedAt - start >= 40 + 30 - 2, `reported after ${Math.round(m.missedAt - start)} ms`);
  assert.equal(scheduler.size, 0, 'a dropped connection leaves the wheel');
});

test('many connections share one timer, which stops when the last leaves', () => {
  const scheduler = new HeartbeatScheduler({ interval: 5000, timeout: 2000 });
  const setInterval = mock.method(globalThis, 'setInterval');
  const setTimeout = mock.method(globalThis, 'setTimeout');
  try {
    const members = Array.from({ length: 500 }, () => member(scheduler, true));
    for (const m of members) scheduler.add(m);
    assert.equal(scheduler.size, 500);
    assert.equal(scheduler.running, true);
    assert.equal(setInterval.mock.callCount(), 1);
    assert.equal(setTimeout.mock.callCount(), 0);
    for (const m of members) scheduler.remove(m);
    assert.equal(scheduler.running, false);
  } finally {
    mock.restoreAll();
  }
});

test('a member removed while its slot is handled is neither pinged nor dropped', async () => {
  const scheduler = new HeartbeatScheduler({ interval: 20, timeout: 20 });
  const a = member(scheduler, false);
  const b = member(scheduler, false);
  // `a` drops `b` when its own pong is missed (as closing one connection may close others).
  a.pongMissed = () => scheduler.remove(b);
  scheduler.add(a);
  scheduler.add(b);
  await sleep(150);
  assert.equal(b.missedAt, undefined);
  assert.equal(scheduler.size, 0);
});

test('connections with the same heartbeat setting share one scheduler', () => {
  assert.equal(heartbeatScheduler({ interval: 5000, timeout: 2000 }), heartbeatScheduler({ interval: 5000, timeout: 2000 }));
  assert.notEqual(heartbeatScheduler({ interval: 5000, timeout: 2000 }), heartbeatScheduler({ interval: 1000, timeout: 2000 }));
});
