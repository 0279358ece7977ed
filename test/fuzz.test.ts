/**
 * Bounded mutation fuzzing of the reader (about 30,000 cases, on format v1 and v2 seeds): bit flips,
 * byte sets, insertions, deletions, truncations, appended junk, chunk-length
 * and u64 rewrites, chunk splices, and payload mutations re-sealed past every
 * checksum. Each case opens, verifies, seeks and reads blocks; only
 * H4mkError may escape, and when verify passes the reader must agree with a
 * brute-force oracle. `npm run fuzz` runs the same engine for long.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/node.js';
import { type FuzzStats, fuzz, makeSeeds, type Problem, runOne, type Seed } from './fuzz-engine.mjs';

const CASES_PER_RUN = 5_000;
const RUNS = [0x0001, 0xbeef, 0x5151, 0x2024];
/** Runs on format version 2 seeds (FORMAT.md §6.5): SEGT/SEGD mutated and re-sealed. */
const V2_RUNS = [0x0002, 0x7e57];
/** Runs on v2 seeds whose index lists runs of records (FORMAT.md §5.5: a 1-byte index budget). */
const V2_RECORD_RUNS = [0x0003];

let seeds: Seed[];
let seedsV2: Seed[];
let seedsRuns: Seed[];
const totals: FuzzStats = { cases: 0, problems: 0, outcomes: {}, kinds: {}, slowestMs: 0 };

beforeAll(async () => {
  seeds = await makeSeeds(lib, 1);
  seedsV2 = await makeSeeds(lib, 2);
  seedsRuns = await makeSeeds(lib, 2, { indexBudget: 1 });
});

function describeProblems(problems: Problem[]): string {
  return problems
    .slice(0, 5)
    .map((p) => `case ${p.caseSeed} (${p.seedName}, ${p.kind}; node scripts/fuzz.mjs --case ${p.caseSeed}):\n${p.problem}`)
    .join('\n\n');
}

describe('mutation fuzzing', () => {
  it('seed containers are small, varied and valid', async () => {
    expect(seeds.map((s) => s.name)).toEqual(['tail/zstd', 'faststart/deflate', 'tail/brotli', 'faststart/none']);
    expect(seedsV2.map((s) => s.name)).toEqual(['v2 tail/zstd', 'v2 faststart/deflate', 'v2 tail/brotli', 'v2 faststart/none']);
    for (const s of [...seeds, ...seedsV2]) {
      expect(s.bytes.length).toBeLessThan(8192);
      expect(s.layout.segments.length).toBeGreaterThan(2);
      const reader = await lib.H4mkReader.open(new lib.MemorySource(s.bytes));
      expect((await reader.verify()).ok).toBe(true);
    }
  });

  for (const seed of RUNS) {
    it(`${CASES_PER_RUN} cases, master seed ${seed}: only typed errors, and no wrong answers after verify passes`, async () => {
      const problems: Problem[] = [];
      const stats = await fuzz(lib, { cases: CASES_PER_RUN, seed, seeds, onProblem: (p) => void problems.push(p) });
      expect(problems, describeProblems(problems)).toEqual([]);
      totals.cases += stats.cases;
      for (const [k, v] of Object.entries(stats.kinds)) totals.kinds[k] = (totals.kinds[k] ?? 0) + v;
      for (const [k, v] of Object.entries(stats.outcomes)) totals.outcomes[k] = (totals.outcomes[k] ?? 0) + v;
      totals.slowestMs = Math.max(totals.slowestMs, stats.slowestMs);
    });
  }

  for (const seed of V2_RUNS) {
    it(`${CASES_PER_RUN} cases on v2 seeds, master seed ${seed}: only typed errors, and no wrong answers after verify passes`, async () => {
      const problems: Problem[] = [];
      const stats = await fuzz(lib, { cases: CASES_PER_RUN, seed, seeds: seedsV2, onProblem: (p) => void problems.push(p) });
      expect(problems, describeProblems(problems)).toEqual([]);
      expect(stats.outcomes['verify:ok'] ?? 0).toBeGreaterThan(50);
      expect(Object.entries(stats.outcomes).some(([k, v]) => k.startsWith('verify:E_') && v > 100)).toBe(true);
    });
  }

  for (const seed of V2_RECORD_RUNS) {
    it(`${CASES_PER_RUN} cases on v2 seeds listing runs of records, master seed ${seed}: only typed errors, and no wrong answers after verify passes`, async () => {
      expect(seedsRuns.every((s) => s.layout.recordsPerSegment > 1)).toBe(true);
      const problems: Problem[] = [];
      const stats = await fuzz(lib, { cases: CASES_PER_RUN, seed, seeds: seedsRuns, onProblem: (p) => void problems.push(p) });
      expect(problems, describeProblems(problems)).toEqual([]);
      expect(stats.outcomes['verify:ok'] ?? 0).toBeGreaterThan(50);
      expect(Object.entries(stats.outcomes).some(([k, v]) => k.startsWith('verify:E_') && v > 100)).toBe(true);
    });
  }

  it('exercised every mutation kind and reached both open and verify failures', () => {
    expect(totals.cases).toBe(RUNS.length * CASES_PER_RUN);
    for (const kind of ['bitflip', 'byteset', 'insert', 'delete', 'truncate', 'append', 'chunk-length', 'u64-field', 'splice', 'reseal']) {
      expect(totals.kinds[kind] ?? 0, kind).toBeGreaterThan(500);
    }
    const sum = (prefix: string) => Object.entries(totals.outcomes).reduce((s, [k, v]) => (k.startsWith(prefix) ? s + v : s), 0);
    expect(sum('open:')).toBeGreaterThan(1000);
    expect(sum('verify:E_')).toBeGreaterThan(1000);
    // Re-sealed mutations get past every checksum: some still verify, some fail deeper checks.
    expect(totals.outcomes['verify:ok'] ?? 0).toBeGreaterThan(100);
    expect(totals.outcomes['verify:E_FORMAT'] ?? 0).toBeGreaterThan(100);
    expect(totals.slowestMs).toBeLessThan(2000);
  });

  it('regression cases that found bugs stay fixed', async () => {
    // Case seeds (engine as of this commit) that made verify() throw on a BIDX naming a missing
    // track, and that made seek land on a non-keyframe while verify() said ok.
    for (const caseSeed of [1784133156, 3888854299, 2164865518, 694825427, 1379867115]) {
      const r = await runOne(lib, seeds, caseSeed);
      expect(r.problem, `case ${caseSeed}`).toBeUndefined();
      expect(r.kind).toBe('reseal');
    }
  });
});
