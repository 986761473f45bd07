import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FuzzSummary } from '../../bench/fuzz/run';
import { killHarnesses, runHarness } from './run-harness';

// 20,000 fuzzed frames (`npm run fuzz`, bench/fuzz) at a live peer in a child process: it must
// not crash, the witness peer connected to it must keep getting right answers, and every
// connection it closes must be closed with a close code. The seed is random unless
// ROLETALK_FUZZ_SEED is set; a failure prints it, and `npm run fuzz -- --seed N` replays it.

after(killHarnesses);

test('fuzz, 20,000 frames: no crash, the witness served, every close with a code', { timeout: 120_000 }, async (t) => {
  const seed = process.env.ROLETALK_FUZZ_SEED;
  const { code, summary: s, output } = await runHarness<FuzzSummary>('fuzz', ['--frames', '20000', ...(seed ? ['--seed', seed] : [])], 100_000);
  const c = s.closedByTarget;
  t.diagnostic(
    `seed ${s.seed}: ${s.framesSent} frames over ${s.connections} connections in ${s.seconds} s; closed by the target ${c.total} ` +
      `${JSON.stringify(c.byCode)} (with a reason ${c.withReason}, code without reason ${c.withoutReason}, no code ${c.withoutCode}); left open ${s.leftOpen}; ` +
      `probes ${JSON.stringify(s.probes)}; witness checks ${s.witness.checks}`,
  );
  assert.equal(s.framesSent, 20_000);
  assert.ok(c.total > 0, 'the target closed no connection: the fuzzer sends nothing malformed?');
  assert.equal(s.crashes, 0, `seed ${s.seed}: ${s.crashSample.join(' || ')}`);
  assert.ok(s.witness.checks >= 5, `${s.witness.checks} witness checks`);
  assert.deepEqual(s.witness.failures, [], `seed ${s.seed}`);
  assert.equal(c.withoutCode, 0, `seed ${s.seed}: closed without a code: ${JSON.stringify(c.sample)}`);
  assert.equal(code, 0, output);
});
