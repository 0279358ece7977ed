// Golden vectors (docs/FORMAT.md §11): the committed hex must equal what the
// writer produces, and every vector runs through every reading path.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32cPortable, FileSource, H4mkError, H4mkReader, HttpSource, MemorySource, type RandomAccessSource } from '../src/node.js';
import { BlobSource } from '../src/io/blob-source.js';
import { startRangeServer } from './support/range-server.js';
// @ts-expect-error: plain-JS recipes shared with scripts/make-vectors.mjs
import { RECIPES, buildVector } from './vectors/recipes.mjs';

type Recipe = { name: string; blocks: { payload: string }[] };
const recipes = RECIPES as Recipe[];
const dir = join(import.meta.dirname, 'vectors');

function load(name: string): Uint8Array {
  return Uint8Array.from(Buffer.from(readFileSync(join(dir, `${name}.hex`), 'utf8').replace(/\s+/g, ''), 'hex'));
}

/** The reading paths: memory, a local file, a Blob (the browser's local files), and HTTP range requests. */
const work = mkdtempSync(join(tmpdir(), 'h4mk-vectors-'));
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops) await stop();
  rmSync(work, { recursive: true, force: true });
});
let files = 0;
const PATHS: { name: string; open: (bytes: Uint8Array) => Promise<RandomAccessSource> }[] = [
  { name: 'MemorySource', open: async (bytes) => new MemorySource(bytes) },
  {
    name: 'FileSource',
    open: async (bytes) => {
      const path = join(work, `v${files++}.h4mk`);
      writeFileSync(path, bytes);
      return FileSource.open(path);
    },
  },
  { name: 'BlobSource', open: async (bytes) => new BlobSource(new Blob([bytes])) },
  {
    name: 'HttpSource',
    open: async (bytes) => {
      const server = await startRangeServer(bytes);
      stops.push(() => server.stop());
      return HttpSource.open(server.url());
    },
  },
];

describe('golden vectors', () => {
  for (const recipe of recipes) {
    it(`${recipe.name}: the writer reproduces the committed bytes`, async () => {
      const built: Uint8Array = await buildVector(recipe);
      expect(Buffer.from(built).toString('hex')).toBe(Buffer.from(load(recipe.name)).toString('hex'));
    });

    for (const path of PATHS) {
      it(`${recipe.name}: reads back and verifies through ${path.name}`, async () => {
        const reader = await H4mkReader.open(await path.open(load(recipe.name)));
        try {
          expect(reader.blockCount).toBe(recipe.blocks.length);
          const report = await reader.verify();
          expect(report.ok).toBe(true);
          const decoder = new TextDecoder();
          for (let i = 0; i < recipe.blocks.length; i++) {
            const block = await reader.readBlock(i);
            expect(decoder.decode(block.payload)).toBe(recipe.blocks[i]?.payload);
          }
        } finally {
          await reader.close();
        }
      });
    }
  }
});

/** Sets the CRC-32C of bytes [0, 28) at 28, as a valid header would have. */
function fixHeaderCrc(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(28, crc32cPortable(bytes.subarray(0, 28)), true);
  return bytes;
}

/** `bytes` with `bytes[at] = value`. */
function set(bytes: Uint8Array, at: number, value: number): Uint8Array {
  bytes[at] = value;
  return bytes;
}

type Failure = {
  name: string;
  base: string;
  mutate: (b: Uint8Array) => Uint8Array;
  /** read: readBlock(0); seek: a seek on track `a` to 30,000 µs, which v2-keys answers from KEYS (§6.6). */
  stage: 'open' | 'verify' | 'read' | 'seek';
  code: string;
};

/** v2-keys (§11): the KEYS chunk at 32, in the gap before the only record (payload at 40: coding, then the audio bitmap at 41). */
const KEYS_AT = 32;
const AUDIO_BITMAP_AT = KEYS_AT + 8 + 1;

// Failure vectors carry their expected failure class, as age's do.
const failures: Failure[] = [
  { name: 'bad magic', base: 'v1-minimal-tail', mutate: (b) => set(b, 1, 0x58), stage: 'open', code: 'E_MAGIC' },
  { name: 'header CRC', base: 'v1-minimal-tail', mutate: (b) => set(b, 28, (b[28] as number) ^ 1), stage: 'open', code: 'E_CHECKSUM' },
  { name: 'future version', base: 'v1-minimal-tail', mutate: (b) => fixHeaderCrc(set(b, 8, 3)), stage: 'open', code: 'E_VERSION' },
  { name: 'reserved header flag', base: 'v1-minimal-tail', mutate: (b) => fixHeaderCrc(set(b, 11, 0x80)), stage: 'open', code: 'E_FORMAT' },
  // §4.2: the last 36 bytes are not a FOOT chunk, so the file does not end with its footer.
  { name: 'truncated by one byte', base: 'v1-minimal-tail', mutate: (b) => b.subarray(0, b.length - 1), stage: 'open', code: 'E_TRUNCATED' },
  { name: 'footer CRC', base: 'v1-minimal-tail', mutate: (b) => set(b, b.length - 1, (b[b.length - 1] as number) ^ 1), stage: 'open', code: 'E_CHECKSUM' },
  { name: 'payload byte', base: 'v1-minimal-tail', mutate: (b) => set(b, 32 + 8 + 36, 0), stage: 'verify', code: 'E_CHECKSUM' },
  { name: 'payload byte, read', base: 'v1-minimal-tail', mutate: (b) => set(b, 32 + 8 + 36, 0), stage: 'read', code: 'E_CHECKSUM' },
  // v2 (§6.5): the block's bytes are the last 4 of SEGD's payload, before its CRC; its SEGT starts at 32.
  { name: 'v2 future version', base: 'v2-minimal-tail', mutate: (b) => fixHeaderCrc(set(b, 8, 3)), stage: 'open', code: 'E_VERSION' },
  { name: 'v2 payload byte', base: 'v2-minimal-tail', mutate: (b) => set(b, v2PayloadAt(b), 0), stage: 'verify', code: 'E_CHECKSUM' },
  { name: 'v2 payload byte, read', base: 'v2-minimal-tail', mutate: (b) => set(b, v2PayloadAt(b), 0), stage: 'read', code: 'E_CHECKSUM' },
  { name: 'v2 payload byte, CRC fixed', base: 'v2-minimal-tail', mutate: (b) => fixSegdCrc(set(b, v2PayloadAt(b), 0)), stage: 'read', code: 'E_DIGEST' },
  {
    name: 'v2 table byte, CRC fixed',
    base: 'v2-minimal-tail',
    mutate: (b) => fixChunkCrc(set(b, 32 + 8 + 2 + 32 + 3, 5), 32),
    stage: 'read',
    code: 'E_DIGEST',
  },
  // §5.5: runs of records. The first record's SEGT starts at 32 like any v2 file's; byte 32+8+2+32+4 is its
  // block's dts delta: a valid other value, CRC fixed, so the run's digest (over its records' SEGT digests) fails.
  {
    name: 'v2-runs: a record table byte, CRC fixed',
    base: 'v2-runs',
    mutate: (b) => fixChunkCrc(set(b, 32 + 8 + 2 + 32 + 4, 4), 32),
    stage: 'read',
    code: 'E_DIGEST',
  },
  { name: 'v2-runs: a record data byte', base: 'v2-runs', mutate: (b) => set(b, v2PayloadAt(b), 0), stage: 'read', code: 'E_CHECKSUM' },
  // One more record per segment than the runs hold, SEGX and the index digest resealed: the runs disagree with SEGX.
  {
    name: 'v2-runs: extra_records raised, index resealed',
    base: 'v2-runs',
    mutate: (b) => resealIndex(b, (segx, view) => view.setUint32(segx + 4, view.getUint32(segx + 4, true) + 1, true)),
    stage: 'read',
    code: 'E_FORMAT',
  },
  // §6.6: a sixth keyframe bit in the audio bitmap. Caught by KEYS's CRC, then by KEYP's digest, then by the rules.
  { name: 'v2-keys: a KEYS bitmap byte', base: 'v2-keys', mutate: (b) => set(b, AUDIO_BITMAP_AT, 0xcb), stage: 'seek', code: 'E_CHECKSUM' },
  {
    name: 'v2-keys: a KEYS bitmap byte, CRC fixed',
    base: 'v2-keys',
    mutate: (b) => fixChunkCrc(set(b, AUDIO_BITMAP_AT, 0xcb), KEYS_AT),
    stage: 'seek',
    code: 'E_DIGEST',
  },
  {
    name: 'v2-keys: a KEYS bitmap byte, CRC, keys_digest and index resealed',
    base: 'v2-keys',
    mutate: (b) => {
      fixChunkCrc(set(b, AUDIO_BITMAP_AT, 0xcb), KEYS_AT);
      const digest = createHash('sha256')
        .update(b.subarray(KEYS_AT + 8, KEYS_AT + 8 + 8))
        .digest();
      return resealIndex(b, (keyp) => b.set(digest, keyp + 16), 'KEYP');
    },
    stage: 'seek',
    code: 'E_FORMAT',
  },
  // KEYP (§5.10): the chunk declares more than keys_length says; KEYS placed across the record's start.
  {
    name: 'v2-keys: keys_length one short, index resealed',
    base: 'v2-keys',
    mutate: (b) => resealIndex(b, (keyp, view) => view.setUint32(keyp + 8, 7, true), 'KEYP'),
    stage: 'seek',
    code: 'E_TRUNCATED',
  },
  {
    name: 'v2-keys: keys_offset 1, index resealed',
    base: 'v2-keys',
    mutate: (b) => resealIndex(b, (keyp, view) => view.setUint32(keyp, 1, true), 'KEYP'),
    stage: 'open',
    code: 'E_FORMAT',
  },
];

/** Edits an index chunk's payload (`edit` gets its absolute payload offset), then fixes its CRC and VERI's index digest and CRC. */
function resealIndex(bytes: Uint8Array, edit: (payload: number, view: DataView) => void, type = 'SEGX'): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const foot = bytes.length - 36;
  const indexOffset = Number(view.getBigUint64(foot + 8, true));
  const chunks = new Map<string, number>();
  for (let p = indexOffset; p < foot; p += 12 + view.getUint32(p + 4, true)) chunks.set(String.fromCharCode(...bytes.subarray(p, p + 4)), p);
  const segx = chunks.get(type) as number;
  const veri = chunks.get('VERI') as number;
  edit(segx + 8, view);
  fixChunkCrc(bytes, segx);
  bytes.set(createHash('sha256').update(bytes.subarray(indexOffset, veri)).digest(), veri + 8 + 48);
  return fixChunkCrc(bytes, veri);
}

/** The first stored byte in `v2-minimal-tail`: SEGT chunk at 32 (8 + payload + 4), then SEGD's 8-byte header. */
function v2PayloadAt(b: Uint8Array): number {
  const tableLength = new DataView(b.buffer, b.byteOffset).getUint32(36, true);
  return 32 + 12 + tableLength + 8;
}

/** Sets the CRC-32C of the chunk at `at` (type, length, payload) after its payload. */
function fixChunkCrc(bytes: Uint8Array, at: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const length = view.getUint32(at + 4, true);
  view.setUint32(at + 8 + length, crc32cPortable(bytes.subarray(at, at + 8 + length)), true);
  return bytes;
}

/** Fixes the CRC of the SEGD chunk of `v2-minimal-tail`. */
function fixSegdCrc(bytes: Uint8Array): Uint8Array {
  return fixChunkCrc(bytes, v2PayloadAt(bytes) - 8);
}

describe('failure vectors', () => {
  for (const f of failures) {
    it(`${f.name} → ${f.code} at ${f.stage}`, async () => {
      const bytes = f.mutate(load(f.base).slice());
      const attempt = async () => {
        const reader = await H4mkReader.open(new MemorySource(bytes));
        if (f.stage === 'open') return null;
        if (f.stage === 'read') return reader.readBlock(0);
        if (f.stage === 'seek') return reader.seek('a', 30_000);
        const report = await reader.verify();
        return report;
      };
      if (f.stage === 'verify') {
        const report = await attempt();
        expect(report).not.toBeNull();
        const r = report as Awaited<ReturnType<H4mkReader['verify']>>;
        expect(r.ok).toBe(false);
        expect(r.failures[0]?.code).toBe(f.code);
        expect(r.failedBlocks).toEqual([0]);
      } else {
        const error = await attempt().then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(H4mkError);
        expect((error as H4mkError).code).toBe(f.code);
        expect(typeof (error as H4mkError).offset).toBe('number');
      }
    });
  }
});
