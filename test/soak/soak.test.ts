import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SoakSummary } from '../../bench/soak/run';
import { killHarnesses, runHarness } from './run-harness';

// A 20-second soak (`npm run soak`, bench/soak): 64 requests in flight over a unit of two
// connections, an abrupt drop every 2 s, a close(1000) every 8 s, the serving process killed and
// restarted at 10 s. No request may be executed twice, and every one must settle.
//
// Between our peers the extension `resend` (docs/protocol.md §9) sends the requests of a
// dropped connection again: none may be lost, apart from those in flight when the serving
// process was killed (nothing can answer those). ROLETALK_SOAK_EXPECT_LOSSLESS=0 only reports.
const EXPECT_LOSSLESS = process.env.ROLETALK_SOAK_EXPECT_LOSSLESS !== '0';

after(killHarnesses);

test('soak, 20 s: connections dropped and redialed, the server restarted: nothing lost, nothing executed twice, nothing unsettled', { timeout: 120_000 }, async (t) => {
  const { code, summary: s, output } = await runHarness<SoakSummary>(
    'soak',
    ['--seconds', '20', '--drop-every', '2', '--close-every', '8', '--restart-at', '10', '--timeout', '5'],
    100_000,
  );
  t.diagnostic(
    `sent ${s.sent}, answered ${s.answered}, lost ${s.lost} (${s.lostAtRestart} at the restart, ${s.lostOutsideRestart} outside it; ` +
      `timeout ${s.lostByTimeout}, at once ${s.lostAtOnce}: ${JSON.stringify(s.lostByCode)}), executed twice ${s.executedTwice}, unsettled ${s.unsettled}, ` +
      `p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms`,
  );
  // The run did what it says: traffic, drops from both sides, a graceful close, the restart.
  assert.ok(s.sent > 1000, `only ${s.sent} requests sent`);
  assert.ok(s.drops.caller.done >= 3 && s.drops.server.done >= 3, `drops ${JSON.stringify(s.drops)}`);
  assert.ok(s.closes.caller.done + s.closes.server.done >= 1, `closes ${JSON.stringify(s.closes)}`);
  assert.equal(s.restarts, 1);
  // What must hold now.
  assert.equal(s.executedTwice, 0, `executed twice: ids ${s.executedTwiceSample.join(' ')}`);
  assert.equal(s.unsettled, 0, `unsettled: ids ${s.unsettledSample.join(' ')}`);
  assert.equal(s.mismatched, 0, 'answers carrying another request id');
  assert.equal(s.answeredNotExecuted, 0, 'answers to requests the server never executed');
  assert.equal(s.sent, s.answered + s.lost + s.unsettled);
  assert.equal(code, 0, output);
  if (EXPECT_LOSSLESS) assert.equal(s.lostOutsideRestart, 0, `lost outside the restart: ${JSON.stringify(s.lostByCode)}`);
});
