#!/usr/bin/env node
/**
 * Long-running mutation fuzzing of the reader (`npm run fuzz`), against the
 * built package in dist/. The engine is test/fuzz-engine.mjs, the same one
 * the bounded CI test (test/fuzz.test.ts) runs against src/.
 *
 *   node scripts/fuzz.mjs [--cases N] [--seed S] [--case C] [--save DIR]
 *
 * --cases N   number of cases (default 1,000,000)
 * --seed S    master seed (default: random, printed)
 * --case C    re-run the single case C (a case seed printed with a failure)
 * --save DIR  write each failing input to DIR/case-C.h4mk
 *
 * Exit status 1 when any case made the reader throw anything but an
 * H4mkError, or otherwise misbehave (see runCase in the engine).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as lib from '../dist/node.js';
import { fuzz, makeSeeds, runOne } from '../test/fuzz-engine.mjs';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000000' },
    seed: { type: 'string' },
    case: { type: 'string' },
    save: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: node scripts/fuzz.mjs [--cases N] [--seed S] [--case C] [--save DIR]');
  process.exit(0);
}

function integer(text, what) {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`fuzz: error: ${what} must be a non-negative integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

const seeds = await makeSeeds(lib);
let problems = 0;

async function report(p, bytes) {
  problems++;
  console.error(`\nFAIL case ${p.caseSeed} (seed container ${p.seedName}, mutation ${p.kind})`);
  console.error(`  reproduce: node scripts/fuzz.mjs --case ${p.caseSeed}`);
  console.error(`  ${p.problem.split('\n').join('\n  ')}`);
  if (values.save && bytes) {
    await mkdir(values.save, { recursive: true });
    const path = join(values.save, `case-${p.caseSeed}.h4mk`);
    await writeFile(path, bytes);
    console.error(`  input saved to ${path}`);
  }
}

if (values.case !== undefined) {
  const caseSeed = integer(values.case, '--case');
  const r = await runOne(lib, seeds, caseSeed);
  if (r.problem) await report({ caseSeed, seedName: r.seedName, kind: r.kind, problem: r.problem }, r.bytes);
  else console.log(`case ${caseSeed}: ${r.kind} on ${r.seedName} → ${r.outcome} (${r.ms.toFixed(1)} ms)`);
  process.exit(problems > 0 ? 1 : 0);
}

const cases = integer(values.cases, '--cases');
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : integer(values.seed, '--seed');
console.log(`fuzz: ${cases} cases, seed ${seed}, ${seeds.length} seed containers (${seeds.map((s) => `${s.name} ${s.bytes.length} B`).join(', ')})`);
const started = performance.now();
const stats = await fuzz(lib, {
  cases,
  seed,
  seeds,
  progressEvery: 5000,
  onProblem: (p) => report(p, p.bytes),
  onProgress: (s) => {
    const rate = s.cases / ((performance.now() - started) / 1000);
    console.log(`  ${s.cases} cases, ${s.problems} problems, ${rate.toFixed(0)} cases/s, slowest ${s.slowestMs.toFixed(1)} ms`);
  },
});
console.log(`fuzz: done, ${stats.cases} cases in ${((performance.now() - started) / 1000).toFixed(1)} s, ${stats.problems} problems`);
console.log(`  mutations: ${JSON.stringify(stats.kinds)}`);
console.log(`  outcomes:  ${JSON.stringify(stats.outcomes)}`);
console.log(`  slowest case: ${stats.slowestMs.toFixed(1)} ms`);
if (stats.problems > 0) console.log(`  re-run one with: node scripts/fuzz.mjs --case <case seed> [--save DIR]`);
process.exit(stats.problems > 0 ? 1 : 0);
