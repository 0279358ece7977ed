/**
 * Version 2 segments of several records (docs/FORMAT.md §5.5): when the
 * index would pass its budget the writer lists runs of records as segments.
 * Checked against the same blocks written one record per segment: the same
 * payloads, metadata and seek answers; verification, recovery, live
 * checkpoints inside runs, encryption, faststart; and every way a run can be
 * wrong (digest, count, table length, records, a stray chunk) is refused with
 * the code §5.5 names.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32c, H4mkError, H4mkReader, H4mkWriter, HttpSource, MemorySink, MemorySource } from '../src/node.js';
import { recoverContainer } from '../src/recover/recover.js';
import type { KeyframeMapRef } from '../src/format/keyframe-map.js';
import type { TrackSeekTable } from '../src/format/seek-table.js';
import { layoutOf } from './fuzz-engine.mjs';
import { allInfos, caught, makeSample, writeSample } from './helpers.js';
import { startRangeServer } from './support/range-server.js';

const sample = makeSample({ seed: 33, gops: 40 });
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'h4mk-runs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = new Uint8Array(32).fill(3);
const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

function codeOf(error: unknown): string {
  expect(error).toBeInstanceOf(H4mkError);
  return (error as H4mkError).code;
}

async function open(bytes: Uint8Array, options = {}) {
  return H4mkReader.open(new MemorySource(bytes), options);
}

async function payloads(reader: H4mkReader): Promise<string[]> {
  const out: string[] = [];
  for await (const b of reader.blocks()) out.push(Buffer.from(b.payload).toString('hex'));
  return out;
}

/** One record per segment, and the same blocks with a budget a third of that index. */
async function pair(options = {}) {
  const single = await writeSample(sample, options);
  const singleReader = await open(single, 'encryption' in options ? { key: { secret: SECRET } } : {});
  const budget = Math.max(1024, Math.floor(singleReader.indexLength / 3));
  const runs = await writeSample(sample, { ...options, indexBudget: budget });
  return { single, runs, budget, singleReader };
}

type Chunk = { type: string; start: number; payloadStart: number; end: number };

/** Fixes the CRC of chunk `c` in place. */
function fixCrc(bytes: Uint8Array, c: Chunk): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(c.end - 4, crc32c(bytes.subarray(c.start, c.end - 4)), true);
}

describe('§5.5 runs of records', () => {
  it('an index over its budget lists runs: same blocks, metadata and seeks as one record per segment; the index fits; verify passes', async () => {
    const { single, runs, budget, singleReader } = await pair();
    const reader = await open(runs);
    const dir = reader.index.segments;
    expect(singleReader.index.segments.recordsPerSegment).toBe(1);
    expect(dir.recordsPerSegment).toBeGreaterThan(1);
    expect(reader.indexLength).toBeLessThanOrEqual(budget);
    expect(reader.indexLength).toBeLessThan(singleReader.indexLength);
    expect(dir.count).toBe(Math.ceil(singleReader.index.segments.count / dir.recordsPerSegment));
    expect(reader.blockCount).toBe(singleReader.blockCount);
    // The records are byte for byte the same: only the index and the KEYS map before the last record (§6.6) changed.
    const keysA = reader.index.keys as KeyframeMapRef;
    const keysB = singleReader.index.keys as KeyframeMapRef;
    expect(keysA.offset).toBe(keysB.offset);
    expect(Buffer.from(runs.subarray(32, 32 + keysA.offset)).equals(Buffer.from(single.subarray(32, 32 + keysB.offset)))).toBe(true);
    const lastA = runs.subarray(32 + keysA.offset + 12 + keysA.length, reader.indexOffset);
    const lastB = single.subarray(32 + keysB.offset + 12 + keysB.length, singleReader.indexOffset);
    expect(Buffer.from(lastA).equals(Buffer.from(lastB))).toBe(true);
    // §6.6 With runs, video entries hold several keyframes: KEYS lists them, so seeks between them read no table.
    const video = reader.index.seek[0] as TrackSeekTable;
    expect(Math.max(...video.keyCount.subarray(0, video.entryCount))).toBeGreaterThanOrEqual(3);
    expect((await reader.keyframeMap())?.has(0, video.keyCount.indexOf(Math.max(...video.keyCount.subarray(0, video.entryCount))))).toBe(true);
    expect(await payloads(reader)).toEqual(await payloads(singleReader));
    const strip = (xs: Awaited<ReturnType<typeof allInfos>>) =>
      xs.map(({ coreIndex, trackNumber, pts, dts, flags, storedLength }) => ({ coreIndex, trackNumber, pts, dts, flags, storedLength }));
    expect(strip(await allInfos(reader))).toEqual(strip(await allInfos(singleReader)));
    const endUs = Math.max(...reader.tracks().map((t) => t.lastPtsUs ?? 0));
    for (const t of reader.tracks()) {
      for (let k = 0; k <= 40; k++) {
        const at = Math.floor((endUs * k) / 40);
        const a = await reader.seek(t.number, at);
        const b = await singleReader.seek(t.number, at);
        expect(a?.coreIndex, `${t.id} at ${at}`).toBe(b?.coreIndex);
        expect(a?.pts).toBe(b?.pts);
      }
    }
    const report = await reader.verify();
    expect(report.failures).toEqual([]);
    expect(report.blocksChecked).toBe(reader.blockCount);
    // The chain steps over the runs' digests: SHA-256 of their records' SEGT digests.
    const layout = layoutOf(runs);
    const g = dir.recordsPerSegment;
    let chain = new Uint8Array(32);
    for (let s = 0; s < dir.count; s++) {
      const records = layout.segments.slice(s * g, s * g + g) as unknown as { segt: Chunk }[];
      const digest = sha256(...records.map((r) => sha256(runs.subarray(r.segt.payloadStart, r.segt.end - 4))));
      expect(Buffer.from(dir.digests.subarray(s * 32, s * 32 + 32)).equals(Buffer.from(digest))).toBe(true);
      chain = sha256(chain, digest);
    }
    expect(Buffer.from(reader.index.integrity.chainHead).equals(Buffer.from(chain))).toBe(true);
  });

  it('the CLI says so: manifest --json gives records_per_segment and marks the GOP figures estimated; verify passes', async () => {
    const { runs } = await pair();
    const file = join(dir, 'runs.h4mk');
    writeFileSync(file, runs);
    const json = spawnSync(process.execPath, [MAIN, 'manifest', file, '--json'], { encoding: 'utf8' });
    expect(json.status, json.stderr).toBe(0);
    const m = JSON.parse(json.stdout);
    expect(m.records_per_segment).toBeGreaterThan(1);
    expect(m.keyframe_map_length).toBeGreaterThan(0);
    const video = m.tracks.find((t: { kind: string }) => t.kind === 'video');
    expect(video.gop.exact).toBe(false);
    expect(video.gop.keyframes).toBe(video.keyframe_count);
    const text = spawnSync(process.execPath, [MAIN, 'manifest', file], { encoding: 'utf8' });
    expect(text.stdout).toMatch(/runs of up to \d+ records/);
    expect(text.stdout).toMatch(/keyframe map \(KEYS\) \d+ bytes before the last record/);
    expect(text.stdout).toMatch(/estimated: the index lists segments by runs/);
    const verify = spawnSync(process.execPath, [MAIN, 'verify', file], { encoding: 'utf8' });
    expect(verify.status, verify.stderr).toBe(0);
  });

  it('over HTTP: one request to open, then a seek and its keyframe with one request for the run; every block as from memory', async () => {
    // Payloads large enough (~3 MB) that the open's 512 KiB read does not hold the runs.
    const big = makeSample({ seed: 34, gops: 40, scale: 30 });
    const single = await writeSample(big);
    const budget = Math.floor((await open(single)).indexLength / 3);
    const runs = await writeSample(big, { indexBudget: budget });
    expect(runs.length).toBeGreaterThan(2 * 1024 * 1024);
    const server = await startRangeServer(runs);
    try {
      const source = await HttpSource.open(server.url());
      const reader = await H4mkReader.open(source);
      expect(reader.index.segments.recordsPerSegment).toBeGreaterThan(1);
      expect(server.requests.length).toBe(1);
      const local = await open(runs);
      const endUs = Math.max(...reader.tracks().map((t) => t.lastPtsUs ?? 0));
      const target = Math.floor(endUs * 0.61);
      const before = server.requests.length;
      const hit = await reader.seek('video_main', target);
      const block = await reader.readBlock(hit?.coreIndex as number);
      expect(server.requests.length - before).toBe(1);
      const expected = await local.readBlock((await local.seek('video_main', target))?.coreIndex as number);
      expect(Buffer.from(block.payload).equals(Buffer.from(expected.payload))).toBe(true);
      expect(await payloads(reader)).toEqual(await payloads(local));
    } finally {
      await server.stop();
    }
  });

  it('faststart and encrypted containers list runs too, and read, seek and verify with the key', async () => {
    for (const options of [{ layout: 'faststart' as const }, { encryption: { secret: SECRET } }]) {
      const { runs, singleReader } = await pair(options);
      const key = 'encryption' in options ? { key: { secret: SECRET } } : {};
      const reader = await open(runs, key);
      expect(reader.index.segments.recordsPerSegment).toBeGreaterThan(1);
      expect(await payloads(reader)).toEqual(await payloads(singleReader));
      const report = await reader.verify();
      if ('encryption' in options) expect(report.decryptedBlocks).toBe(reader.blockCount);
      expect(report.failures).toEqual([]);
    }
  });

  it('a live writer’s checkpoints between records of a run are stepped over when reading and checked by verify', async () => {
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { live: { checkpointBlocks: 1, checkpointMs: 1 }, indexBudget: 1024 });
    for (const t of sample.tracks) writer.addTrack(t);
    for (const b of sample.inputs) await writer.writeBlock(b);
    await writer.finish();
    const bytes = sink.bytes();
    const reader = await open(bytes);
    expect(reader.index.segments.recordsPerSegment).toBeGreaterThan(1);
    // Some run holds a checkpoint (a FOOT chunk) between two of its records.
    const layout = layoutOf(bytes);
    const dir = reader.index.segments;
    const inside = (layout.dataChunks as Chunk[]).filter((c) => {
      if (c.type !== 'FOOT') return false;
      const at = c.start - reader.dataOffset;
      for (let s = 0; s < dir.count; s++) if (at > (dir.offset[s] as number) && at < (dir.offset[s] as number) + (dir.length[s] as number)) return true;
      return false;
    });
    expect(inside.length).toBeGreaterThan(0);
    expect((await payloads(reader)).length).toBe(sample.inputs.length);
    expect((await reader.verify()).failures).toEqual([]);
    // Damage to a checkpoint inside a run: reads step over it, verification names it.
    const damaged = bytes.slice();
    const foot = inside[0] as Chunk;
    damaged[foot.payloadStart] = (damaged[foot.payloadStart] as number) ^ 1;
    const again = await open(damaged);
    expect((await payloads(again)).length).toBe(sample.inputs.length);
    const report = await again.verify();
    expect(report.failures.map((f) => f.code)).toContain('E_CHECKSUM');
  });

  it('recovery of a cut file keeps every whole record before the cut', async () => {
    const { runs } = await pair();
    const layout = layoutOf(runs);
    const records = layout.segments as unknown as { segd: Chunk }[];
    const reader = await open(runs);
    let blocksBefore = 0;
    const ends: { end: number; blocks: number }[] = [];
    for (const r of records) {
      const t = await recordBlockCount(runs, r as never);
      blocksBefore += t;
      ends.push({ end: r.segd.end, blocks: blocksBefore });
    }
    expect(blocksBefore).toBe(reader.blockCount);
    for (const cut of [ends[3]?.end ?? 0, (ends[7]?.end ?? 0) + 5, layout.dataEnd - 3]) {
      const sink = new MemorySink();
      const report = await recoverContainer(new MemorySource(runs.subarray(0, cut)), sink);
      const whole = ends.filter((e) => e.end <= cut).at(-1)?.blocks ?? 0;
      expect(report.recoveredBlocks, `cut at ${cut}`).toBe(whole);
    }
    // An intact file comes back whole, with its runs listed again.
    const sink = new MemorySink();
    const report = await recoverContainer(new MemorySource(runs), sink);
    expect(report.recoveredBlocks).toBe(reader.blockCount);
  });

  it('refuses a run whose digest, records, counts or chunks are wrong, with the codes of §5.5', async () => {
    const { runs } = await pair();
    const reader = await open(runs);
    const layout = layoutOf(runs);
    const g = reader.index.segments.recordsPerSegment;
    const readRun = async (bytes: Uint8Array, s: number) => {
      const r = await open(bytes);
      return caught(() => r.readBlock(r.index.segments.firstCoreIndex[s] as number));
    };
    const records = layout.segments as unknown as { segt: Chunk; segd: Chunk }[];
    // A SEGT entry byte of the second record of run 1, its CRC fixed: the run's digest fails.
    {
      const bytes = runs.slice();
      const rec = records[g + 1] as { segt: Chunk };
      bytes[rec.segt.end - 5] = (bytes[rec.segt.end - 5] as number) ^ 0x01;
      fixCrc(bytes, rec.segt);
      const code = codeOf(await readRun(bytes, 1));
      expect(['E_DIGEST', 'E_FORMAT', 'E_LIMIT']).toContain(code);
    }
    // A SEGT CRC broken: E_CHECKSUM for that run.
    {
      const bytes = runs.slice();
      const rec = records[g + 1] as { segt: Chunk };
      bytes[rec.segt.end - 1] = (bytes[rec.segt.end - 1] as number) ^ 0x01;
      expect(codeOf(await readRun(bytes, 1))).toBe('E_CHECKSUM');
    }
    // A data byte of the third record of run 0: E_CHECKSUM; its CRC fixed: E_DIGEST (the record's data digest).
    {
      const bytes = runs.slice();
      const rec = records[Math.min(2, g - 1)] as { segd: Chunk };
      bytes[rec.segd.payloadStart] = (bytes[rec.segd.payloadStart] as number) ^ 0x01;
      expect(codeOf(await readRun(bytes, 0))).toBe('E_CHECKSUM');
      fixCrc(bytes, rec.segd);
      expect(codeOf(await readRun(bytes, 0))).toBe('E_DIGEST');
    }
    // A run whose first chunk is its SEGD (the SEGT's type bytes changed): E_FORMAT.
    {
      const bytes = runs.slice();
      const rec = records[g] as { segt: Chunk };
      bytes.set([0x53, 0x45, 0x47, 0x44], rec.segt.start); // "SEGD"
      expect(codeOf(await readRun(bytes, 1))).toBe('E_FORMAT');
    }
  });

  it('SEGX is checked: extra_records above max_segment_blocks is E_LIMIT; a count that disagrees with the runs is E_FORMAT', async () => {
    const { runs } = await pair();
    const layout = layoutOf(runs);
    const segx = (layout.indexChunks as Chunk[]).find((c) => c.type === 'SEGX') as Chunk;
    const reseal = (bytes: Uint8Array) => {
      fixCrc(bytes, segx);
      const veri = (layout.indexChunks as Chunk[]).find((c) => c.type === 'VERI') as Chunk;
      bytes.set(sha256(bytes.subarray(layout.indexOffset, veri.start)), veri.payloadStart + 48);
      fixCrc(bytes, veri);
    };
    const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset);
    {
      const bytes = runs.slice();
      view(bytes).setUint32(segx.payloadStart + 4, 70_000, true);
      reseal(bytes);
      expect(codeOf(await caught(() => open(bytes)))).toBe('E_LIMIT');
    }
    {
      const bytes = runs.slice();
      const g = view(bytes).getUint32(segx.payloadStart + 4, true) + 1;
      view(bytes).setUint32(segx.payloadStart + 4, g, true); // one more record per segment than the runs hold
      reseal(bytes);
      const reader = await open(bytes);
      expect(codeOf(await caught(() => reader.readBlock(0)))).toBe('E_FORMAT');
    }
  });
});

/** The block_count varint of a record's SEGT (after first_core_index). */
async function recordBlockCount(bytes: Uint8Array, record: { segt: Chunk }): Promise<number> {
  let p = record.segt.payloadStart;
  const read = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[p++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  read();
  return read();
}
