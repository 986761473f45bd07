'use strict';
// Runs every compiled test file with node's own test runner. Node 20 has no glob support in
// `node --test`, so the files are listed here. Arguments filter by path fragment:
//   node scripts/run-tests.js unit        only files whose path contains "unit"
// Without arguments, the integration tests run a second time with the sockets in I/O threads
// (ROLETALK_IO_THREADS=2): the same tests, parameterized by the environment, not copied.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', 'build', 'test');
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const all = walk(root, []).sort();
// Filters match the path under build/test, not the checkout's own path (a worktree named wt-unix).
const files = all.filter((f) => filters.length === 0 || filters.some((x) => path.relative(root, f).includes(x)));
if (files.length === 0) {
  console.error('No test files found under build/test (did the build run?)');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';

function run(list, env, title) {
  if (title) console.log(`\n# ${title}`);
  const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...list], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  return result.status ?? 1;
}

let status = run(files, {}, filters.length === 0 ? 'every test, sockets on the main thread' : '');
if (filters.length === 0 && process.env.ROLETALK_IO_THREADS === undefined) {
  const integration = all.filter((f) => f.includes(`${path.sep}integration${path.sep}`) || f.includes(`${path.sep}docs${path.sep}`));
  status = run(integration, { ROLETALK_IO_THREADS: '2' }, 'integration tests again, sockets in 2 I/O threads (ROLETALK_IO_THREADS=2)') || status;
}
process.exit(status);
