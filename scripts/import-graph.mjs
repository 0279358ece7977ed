#!/usr/bin/env node
/**
 * The folder-level import graph of src/, checked against the architecture:
 *
 *   format → io → compress, crypto → platform, web-platform → reader, writer
 *     → media, controls, recover, delivery → tools → (root) → views → cli, server
 *
 * A folder may import its own layer and the layers before it, never a later
 * one; the folder graph has no cycles. platform/ holds the Platform
 * interface and the Node platform, web-platform/ the browser's (and
 * WebCipher); the root files (index.ts, node.ts, web.ts, builder.ts) are the
 * package's entries and may import anything below views, cli and server.
 * views/ shapes library values into the JSON documents the CLI prints and
 * the server sends: cli and server import it, it imports neither. Type-only imports
 * (`import type`) are left out: they are erased from the JavaScript and
 * create no dependency at run time.
 *
 *   node scripts/import-graph.mjs          print the graph, exit 1 on a violation
 *   node scripts/import-graph.mjs --json   the same as JSON
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const LAYERS = [
  ['format'],
  ['io'],
  ['compress', 'crypto'],
  ['platform', 'web-platform'],
  ['reader', 'writer'],
  ['media', 'controls', 'recover', 'delivery'],
  ['tools'],
  ['(root)'],
  ['views'],
  ['cli', 'server'],
];
const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i])));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const folderOf = (file) => {
  const rel = relative(root, file).split(sep);
  return rel.length === 1 ? '(root)' : (rel[0] ?? '(root)');
};

const edges = new Map();
const problems = [];
for (const file of files(root)) {
  const text = readFileSync(file, 'utf8');
  const from = folderOf(file);
  for (const m of text.matchAll(/^\s*(?:import|export)\s(?!type\s)[^;]*?from\s+'(\.[^']+)'/gms)) {
    const target = resolve(dirname(file), (m[1] ?? '').replace(/\.js$/, '.ts'));
    const to = folderOf(target);
    if (to === from) continue;
    const key = `${from} → ${to}`;
    edges.set(key, (edges.get(key) ?? 0) + 1);
    const a = layerOf.get(from);
    const b = layerOf.get(to);
    if (a === undefined || b === undefined) problems.push(`${relative(root, file)}: folder ${a === undefined ? from : to} has no layer (add it to LAYERS)`);
    else if (b > a) problems.push(`${relative(root, file)} (${from}) imports ${to}, a later layer`);
  }
}

// Cycles: strongly connected components of the folder graph (Tarjan).
const graph = new Map();
for (const key of edges.keys()) {
  const [a, b] = key.split(' → ');
  if (!graph.has(a)) graph.set(a, new Set());
  graph.get(a).add(b);
}
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const strong = (v) => {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!index.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) problems.push(`cycle between folders: ${component.sort().join(', ')}`);
  }
};
for (const v of graph.keys()) if (!index.has(v)) strong(v);

const sorted = [...edges.entries()].sort(([a], [b]) => a.localeCompare(b));
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ edges: Object.fromEntries(sorted), problems }, null, 2));
} else {
  for (const [key, n] of sorted) console.log(`${key}  (${n})`);
  for (const p of problems) console.error(`import-graph: ${p}`);
  if (problems.length === 0) console.log(`import-graph: ${sorted.length} folder edges, layered, no cycles`);
}
process.exit(problems.length === 0 ? 0 : 1);
