'use strict';
// Prints the import graph of src/ by directory (layer), and the file-level edges that cross
// layers. Used by docs/architecture.md and test/unit/architecture.test.ts.
//   node scripts/import-graph.js          the layer graph
//   node scripts/import-graph.js --files  every cross-layer edge, file by file
const fs = require('node:fs');
const path = require('node:path');

const SRC = path.join(__dirname, '..', 'src');

function walk(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** The layer of a file: its first directory under src/, or the file's own name at the top. */
function layerOf(file) {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? rel[0].replace(/\.ts$/, '') : rel[0];
}

function resolve(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

/** Every relative import of every file of src/: [{ from, to, typeOnly }]. */
function edges() {
  const out = [];
  const pattern = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm;
  for (const file of walk(SRC)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(pattern)) {
      const to = resolve(file, match[3]);
      if (to !== undefined) out.push({ from: file, to, typeOnly: match[2] !== undefined });
    }
  }
  return out;
}

/** The layer graph: layer -> set of layers it imports (itself excluded). */
function layerGraph(list = edges()) {
  const graph = new Map();
  for (const { from, to } of list) {
    const a = layerOf(from);
    const b = layerOf(to);
    if (!graph.has(a)) graph.set(a, new Set());
    if (a !== b) graph.get(a).add(b);
  }
  return graph;
}

/** Cycles among layers, each as a list of layer names. */
function layerCycles(graph) {
  const cycles = [];
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

module.exports = { edges, layerGraph, layerCycles, layerOf, SRC };

if (require.main === module) {
  const list = edges();
  if (process.argv.includes('--files')) {
    for (const { from, to, typeOnly } of list) {
      if (layerOf(from) === layerOf(to)) continue;
      console.log(`${path.relative(SRC, from)} -> ${path.relative(SRC, to)}${typeOnly ? ' (type)' : ''}`);
    }
  } else {
    const graph = layerGraph(list);
    for (const [layer, deps] of [...graph.entries()].sort()) console.log(`${layer} -> ${[...deps].sort().join(', ') || '(nothing)'}`);
    const cycles = layerCycles(graph);
    console.log(cycles.length === 0 ? 'no cycles between layers' : `cycles: ${cycles.map((c) => c.join(' -> ')).join('; ')}`);
  }
}
