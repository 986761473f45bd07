import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

// The layering of docs/architecture.md, checked on the sources: a change that points a lower
// layer at a higher one, or grows a public class past a page, fails here.

// eslint-disable-next-line @typescript-eslint/no-require-imports
const graph = require('../../../scripts/import-graph.js') as {
  SRC: string;
  edges(): Array<{ from: string; to: string; typeOnly: boolean }>;
  layerGraph(): Map<string, Set<string>>;
  layerCycles(graph: Map<string, Set<string>>): string[][];
  layerOf(file: string): string;
};

/** What each layer may import besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  protocol: ['errors'],
  auth: ['errors'],
  transport: ['protocol', 'errors'],
  streams: ['protocol', 'errors'],
  engine: ['streams', 'transport', 'protocol', 'auth', 'errors'],
  api: ['engine', 'streams', 'transport', 'protocol', 'auth', 'errors'],
  index: ['api', 'engine', 'streams', 'transport', 'protocol', 'auth', 'errors'],
};

test('no layer of src/ imports a layer above it, types included, and the layers form no cycle', () => {
  const wrong: string[] = [];
  for (const { from, to } of graph.edges()) {
    const a = graph.layerOf(from);
    const b = graph.layerOf(to);
    if (a === b) continue;
    const allowed = ALLOWED[a];
    assert.ok(allowed !== undefined, `a layer the architecture does not know: ${a} (${from})`);
    if (!allowed.includes(b)) wrong.push(`${path.relative(graph.SRC, from)} -> ${path.relative(graph.SRC, to)}`);
  }
  assert.deepEqual(wrong, []);
  assert.deepEqual(graph.layerCycles(graph.layerGraph()), []);
});

test('the public classes stay thin and hold no protocol detail', () => {
  const apiDir = path.join(graph.SRC, 'api');
  for (const name of fs.readdirSync(apiDir)) {
    const text = fs.readFileSync(path.join(apiDir, name), 'utf8');
    const lines = text.split('\n').length;
    assert.ok(lines <= 260, `src/api/${name} has ${lines} lines`);
    assert.doesNotMatch(text, /\bFrameType\b|\bdecodeFrame\b|\bFrameEncoder\b/, `src/api/${name} handles frames`);
  }
});
