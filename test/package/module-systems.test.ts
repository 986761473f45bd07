import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

// The package loads by its name both ways, through package.json "exports", and both entry
// points are one module instance.

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');

test('require("roletalk") gives the API', async () => {
  const { stdout } = await run(process.execPath, ['-e', "const m = require('roletalk'); console.log(typeof m.Peer, typeof m.RoletalkError, typeof m.FrameEncoder, typeof m.Singleton)"], { cwd: root });
  assert.equal(stdout.trim(), 'function function function function');
});

test('import from "roletalk" gives the same classes as require', async () => {
  const script = [
    "import { Peer, Destination } from 'roletalk';",
    "import { createRequire } from 'node:module';",
    'const cjs = createRequire(import.meta.url)(\'roletalk\');',
    "console.log(typeof Peer, Peer === cjs.Peer, Destination === cjs.Destination, new Peer().id.length);",
  ].join('\n');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
  assert.equal(stdout.trim(), 'function true true 32');
});
