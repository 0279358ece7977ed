/** Types for the plain-JS fuzz engine (test/fuzz-engine.mjs). */
import type * as Lib from '../src/node.js';

export type Rng = {
  u32(): number;
  float(): number;
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  bool(p?: number): boolean;
  bytes(n: number): Uint8Array;
};
export type ChunkPosition = { type: string; start: number; payloadStart: number; length: number; end: number };
export type Layout = {
  size: number;
  faststart: boolean;
  indexOffset: number;
  indexLength: number;
  dataOffset: number;
  dataEnd: number;
  indexChunks: ChunkPosition[];
  dataChunks: ChunkPosition[];
  segments: { cores: ChunkPosition[]; bidx: ChunkPosition }[];
  segxDigestAt: number[];
  footer: ChunkPosition;
  /** v2 (§6.6): the KEYS chunk before the last record, and the KEYP chunk naming it. */
  keys: ChunkPosition | null;
  keyp: ChunkPosition | null;
};
export type Seed = { name: string; bytes: Uint8Array; layout: Layout; payloads: Uint8Array[] };
export type CaseResult = { outcome: string; problem?: string };
export type Problem = { caseSeed: number; seedName: string; kind: string; problem: string; bytes: Uint8Array };
export type FuzzStats = { cases: number; problems: number; outcomes: Record<string, number>; kinds: Record<string, number>; slowestMs: number };

export function makeRng(seed: number): Rng;
export function layoutOf(bytes: Uint8Array): Layout;
export function reseal(bytes: Uint8Array, layout: Layout, crc32c: (bytes: Uint8Array, previous?: number) => number): Uint8Array;
export function makeSeeds(lib: typeof Lib, formatVersion?: 1 | 2, options?: { indexBudget?: number }): Promise<Seed[]>;
export function mutate(rng: Rng, seed: Seed, crc32c: (bytes: Uint8Array, previous?: number) => number): { bytes: Uint8Array; kind: string; resealed: boolean };
export function runCase(lib: typeof Lib, bytes: Uint8Array, rng: Rng, context?: { resealed?: boolean; payloads?: Uint8Array[] }): Promise<CaseResult>;
export function runOne(lib: typeof Lib, seeds: Seed[], caseSeed: number): Promise<CaseResult & { kind: string; seedName: string; ms: number; bytes: Uint8Array }>;
export function fuzz(
  lib: typeof Lib,
  options: {
    cases: number;
    seed: number;
    seeds: Seed[];
    onProblem?: (p: Problem) => void | Promise<void>;
    onProgress?: (stats: FuzzStats) => void;
    progressEvery?: number;
  },
): Promise<FuzzStats>;
