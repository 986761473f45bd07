import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

// Runs every file of examples/ as its own program (require('roletalk') resolves to this
// package) and checks that it exits cleanly and prints what it is there to show.

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');
const dir = path.join(root, 'examples');

/** What each example must print. */
const expected: Record<string, RegExp[]> = {
  'rpc.js': [/^2 \+ 3 = 5$/m, /^rejected: RT_ERR_REJECTED division by zero by calculator$/m],
  'pubsub.js': [/^sent to 2 subscribers$/m, /^one tick went to (alice|bob)$/m, /alice:XYZ=42/, /bob:XYZ=42/],
  'survey.js': [/^node-1 load 0\.1$/m, /^node-2 load 0\.2$/m, /^node-3 failed: disk full$/m],
  'pipeline.js': [/^uploaded 2200000 bytes$/m, /^stored fox\.txt: 2200000 bytes, sha256 [0-9a-f]{12}$/m],
  'auth-tls.js': [/^friend got: secret for friend$/m, /^stranger refused: RT_ERR_AUTH$/m, /^without the certificate: \S+$/m],
  'cancel-deadline.js': [/^user aborted: AbortError$/m, /^user timed out: RT_ERR_REQUEST_TIMEOUT$/m, /^search stopped \(\w+\) with -?\d+ ms left/m],
  'discovery.js': [/^serving jobs: worker-a, worker-b$/m, /^serving jobs: worker-a, worker-b, worker-c$/m, /^discovery: 1 added, 0 removed$/m],
  'metrics.js': [/^roletalk_requests_completed_total 10$/m, /^roletalk_requests_failed_total\{code="RT_ERR_REJECTED"\} 1$/m, /^roletalk_connection_rtt_ms\{unit="server"/m],
};

test('every example has its expectations here, and every expectation its example', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
  assert.deepEqual(files, Object.keys(expected).sort());
});

for (const [file, patterns] of Object.entries(expected)) {
  test(`examples/${file} runs and prints what it shows`, async () => {
    const { stdout, stderr } = await run(process.execPath, [path.join(dir, file)], { cwd: root, timeout: 30_000 });
    assert.equal(stderr, '');
    for (const pattern of patterns) assert.match(stdout, pattern);
  });
}
