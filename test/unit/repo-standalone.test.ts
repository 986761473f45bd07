import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/repo';

// The repository stands alone: a user's clone has nothing beside it, so no file may read or
// link to a directory outside it (the project's shared notes and vectors lived in a sibling
// `shared` directory once; docs/protocol.md and test/fixtures/vectors replaced them).

const root = repoRoot();

interface Finding {
  file: string;
  line: number;
  rule: string;
  text: string;
}

/** What may not appear in any tracked text file. The patterns do not match their own source. */
const RULES: Array<{ rule: string; pattern: RegExp }> = [
  { rule: 'a path into a sibling "shared" directory', pattern: /\.\.[\\/]+shared\b/ },
  { rule: 'a path join or resolve through a "shared" directory', pattern: /path\.(?:join|resolve)\((?:[^()]|\([^()]*\))*['"`]shared['"`]/ },
  { rule: 'a string holding a path through a shared directory', pattern: /['"`](?:[^'"`\n]*[\\/])?shared[\\/][^'"`\n]*['"`]/ },
  { rule: 'the protocol notes of the shared directory (use docs/protocol.md)', pattern: /\bPROTOCOL\.md\b/ },
];

/** Relative Markdown link targets, `[text](target)` and `![alt](target)`. */
const LINK = /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;

/** Findings in one file's text; `file` is its path relative to the root. */
function scan(file: string, text: string, exists: (absolute: string) => boolean): Finding[] {
  const findings: Finding[] = [];
  const lines = text.split('\n');
  lines.forEach((lineText, i) => {
    for (const { rule, pattern } of RULES) {
      if (pattern.test(lineText)) findings.push({ file, line: i + 1, rule, text: lineText.trim() });
    }
    if (!file.endsWith('.md')) return;
    for (const match of lineText.matchAll(LINK)) {
      const target = match[1]!.split('#')[0]!;
      // Web addresses, mail and in-page anchors are not files of the repository.
      if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const absolute = path.resolve(root, path.dirname(file), decodeURI(target));
      const relative = path.relative(root, absolute);
      if (relative.startsWith('..') || path.isAbsolute(relative)) {
        findings.push({ file, line: i + 1, rule: 'a link outside the repository', text: match[0] });
      } else if (!exists(absolute)) {
        findings.push({ file, line: i + 1, rule: 'a link to a file the repository does not have', text: match[0] });
      }
    }
  });
  return findings;
}

/** Tracked files (git ls-files), or, without git, the files of the tree but build output. */
function trackedFiles(): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\0').filter((f) => f !== '');
  } catch {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
        if (['.git', 'node_modules', 'build'].includes(entry.name)) continue;
        const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(rel);
        else if (entry.isFile()) files.push(rel);
      }
    };
    walk('');
    return files;
  }
}

const TEXT = /\.(?:ts|js|mjs|cjs|json|md|svg|txt|yml|yaml|sh)$|(?:^|\/)(?:\.gitignore|\.ci\/[^/]+)$/;

test('the scan sees the files it must cover', () => {
  const files = new Set(trackedFiles());
  for (const expected of ['README.md', 'package.json', 'src/index.ts', 'test/helpers/vectors.ts', 'docs/protocol.md', '.ci/run', 'scripts/run-tests.js']) {
    assert.ok(files.has(expected), `${expected} is among the scanned files`);
  }
});

test('no tracked file reads or links to anything outside the repository', () => {
  const exists = (absolute: string): boolean => fs.existsSync(absolute);
  const findings: Finding[] = [];
  let scanned = 0;
  for (const file of trackedFiles()) {
    if (!TEXT.test(file)) continue;
    const absolute = path.join(root, file);
    // A file deleted in the working tree but still tracked has nothing to say.
    if (!fs.existsSync(absolute)) continue;
    findings.push(...scan(file, fs.readFileSync(absolute, 'utf8'), exists));
    scanned++;
  }
  assert.ok(scanned > 50, `only ${scanned} files scanned`);
  assert.deepEqual(findings.map((f) => `${f.file}:${f.line}: ${f.rule}: ${f.text}`), []);
});

test('the scan catches every kind of outside reference', () => {
  const sibling = ['..', 'shared'].join('/');
  const notes = ['PROTOCOL', 'md'].join('.');
  const cases: Array<[string, string]> = [
    ['README.md', `See [the protocol](${sibling}/${notes}).`],
    ['src/a.ts', `// Section numbers refer to ${notes}.`],
    ['test/helpers/b.ts', `const dir = path.join(__dirname, '..', '..', '${['sha', 'red'].join('')}', 'vectors');`],
    ['test/helpers/b2.ts', `export const vectorsDir = path.join(repoRoot(), '..', '${['sha', 'red'].join('')}', 'vectors');`],
    ['test/helpers/c.ts', `const dir = path.resolve(root, '${sibling}/vectors');`],
    ['scripts/d.js', `throw new Error('${['sha', 'red'].join('')}/vectors not found beside the repository');`],
    ['docs/e.md', '[elsewhere](../../outside.md)'],
    ['docs/f.md', '[missing](no-such-file.md)'],
  ];
  for (const [file, text] of cases) {
    assert.notDeepEqual(scan(file, text, () => false), [], `${file}: ${text}`);
  }
  // What may stay: the word in other senses, web links, anchors, links to files that exist.
  const fine: Array<[string, string]> = [
    ['test/integration/roles.test.ts', "const first = Singleton({ name: 'shared' });"],
    ['src/x.ts', '/** One Peer shared by every module of a process. */'],
    ['README.md', '[ws](https://github.com/websockets/ws), [below](#layout), [doc](docs/protocol.md)'],
  ];
  for (const [file, text] of fine) {
    assert.deepEqual(scan(file, text, () => true), [], `${file}: ${text}`);
  }
});
