import fs from 'node:fs';
import path from 'node:path';

/**
 * The repository root: the nearest directory above this file that holds package.json. The same
 * from test/helpers (sources) and build/test/helpers (compiled): build/ has no package.json.
 */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}
