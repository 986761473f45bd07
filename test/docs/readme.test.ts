import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

// Runs every ```js readme-example block of README.md as its own program, from inside the
// package so that require('roletalk') resolves to this build, and checks what it prints.

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```js readme-example\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** What each example must print, in README order. */
const expected: RegExp[][] = [
  [/^5 number$/m, /^RT_ERR_REJECTED The event "divide" is not handled$/m],
  [/^sent to 3 units$/m, /^s1 got \{ symbol: 'XYZ', price: 42 \}$/m, /^s2 got/m, /^s3 got/m],
  [/worker: 1, load: 10/, /worker: 3, load: 30/, /^answer from worker-1$/m, /^answer from worker-3$/m],
  [/^upload accepted: true$/m, /^stored report\.bin [0-9a-f]{16}$/m, /^downloaded: chunk one, chunk two$/m],
  [/^the answer is 42$/m, /^refused: RT_ERR_AUTH$/m],
  [
    /^deadline known to the frontend: number$/m,
    /^client: AbortError RT_ERR_ABORTED$/m,
    /^client: RT_ERR_REQUEST_TIMEOUT$/m,
    // Both calls stop the backend: by the abort, or by the deadline or the cancel of the timeout.
    /^backend stopped: AbortError$[\s\S]*^backend stopped: (AbortError|RequestTimeoutError)$/m,
  ],
];

test('README has the examples this test expects', () => {
  assert.equal(examples.length, expected.length);
});

examples.forEach((source, i) => {
  test(`README example ${i + 1} runs and prints what it says`, async () => {
    const dir = path.join(root, 'build', 'readme-examples');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `example-${i + 1}.js`);
    fs.writeFileSync(file, source);
    const { stdout, stderr } = await run(process.execPath, [file], { cwd: root, timeout: 20000 });
    assert.equal(stderr, '');
    for (const pattern of expected[i] ?? []) assert.match(stdout, pattern);
  });
});
