// One-request opens, range planning and single-read decode spans (docs/FORMAT.md §8).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Block, FileSource, H4mkReader, MemorySource, type RandomAccessSource, ticksToUs } from '../src/node.js';
import { makeSample, Rng, writeSample } from './helpers.js';

/** A source that records every read (offset, length) on top of MemorySource. */
class RecordingSource implements RandomAccessSource {
  readonly reads: { offset: number; length: number }[] = [];
  private readonly inner: MemorySource;
  constructor(bytes: Uint8Array) {
    this.inner = new MemorySource(bytes);
  }
  size(): Promise<number> {
    return this.inner.size();
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.reads.push({ offset, length });
    return this.inner.read(offset, length);
  }
  readTail(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    this.reads.push({ offset: -1, length });
    return this.inner.readTail(length);
  }
  readHead(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    this.reads.push({ offset: 0, length });
    return this.inner.readHead(length);
  }
}

const sample = makeSample({ gops: 30, seed: 7 });
const layouts = {
  tail: await writeSample(sample, { layout: 'tail' }),
  faststart: await writeSample(sample, { layout: 'faststart' }),
};

describe('opening with one request', () => {
  it('a tail container opens with one suffix read, and verifies', async () => {
    const source = new RecordingSource(layouts.tail);
    const reader = await H4mkReader.open(source);
    expect(source.reads).toEqual([{ offset: -1, length: 512 * 1024 }]);
    expect((await reader.verify()).ok).toBe(true);
  });

  it('a faststart container opens with one prefix read when the layout is hinted', async () => {
    const source = new RecordingSource(layouts.faststart);
    const reader = await H4mkReader.open(source, { layout: 'faststart' });
    expect(source.reads).toEqual([{ offset: 0, length: 512 * 1024 }]);
    expect(reader.layout).toBe('faststart');
    expect((await reader.verify()).ok).toBe(true);
  });

  it('a faststart container without a hint costs a second read, not a failure', async () => {
    const big = await writeSample(makeSample({ gops: 30, seed: 7, scale: 400 }), { layout: 'faststart' });
    const source = new RecordingSource(big);
    await H4mkReader.open(source, { openBytes: 4096 });
    expect(source.reads).toHaveLength(2);
  });

  it('an index larger than the first read costs exactly one more read', async () => {
    const source = new RecordingSource(layouts.tail);
    const reader = await H4mkReader.open(source, { openBytes: 256 });
    expect(source.reads).toHaveLength(2);
    expect(source.reads[1]).toEqual({ offset: reader.indexOffset, length: reader.indexLength });
  });

  it('a local file (no suffix reads) reads header, footer and index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'h4mk-open-'));
    const path = join(dir, 'a.h4mk');
    writeFileSync(path, layouts.tail);
    const source = await FileSource.open(path);
    const reader = await H4mkReader.open(source);
    expect(reader.stats.reads).toBe(3);
    await reader.close();
  });

  it('a damaged header that a one-request open did not see is caught by verify', async () => {
    const damaged = layouts.tail.slice();
    damaged[9] = 0x07; // version high byte
    // A first read that ends before the header, as on a large file.
    const reader = await H4mkReader.open(new RecordingSource(damaged), { openBytes: 4096 });
    const report = await reader.verify();
    expect(report.ok).toBe(false);
    expect(report.failures.some((f) => f.code === 'E_CHECKSUM' || f.code === 'E_VERSION')).toBe(true);
  });
});

type Expected = { coreIndex: number; trackId: string; ptsUs: number; keyframe: boolean; payload: Uint8Array };
const timescales: Record<string, number> = Object.fromEntries(sample.tracks.map((t) => [t.id, t.timescale ?? 1_000_000]));
const expected: Expected[] = sample.expected.map((e, coreIndex) => ({
  coreIndex,
  trackId: e.trackId,
  ptsUs: ticksToUs(e.pts, timescales[e.trackId] as number),
  keyframe: e.keyframe,
  payload: e.payload,
}));

/** Brute force: the decodable span of `trackId` at `t` (§8.2). */
function bruteSpan(trackId: string, t: number): Expected[] | null {
  const track = expected.filter((e) => e.trackId === trackId);
  let key: Expected | undefined;
  for (const e of track) if (e.keyframe && e.ptsUs <= t && (key === undefined || e.ptsUs >= key.ptsUs)) key = e;
  if (key === undefined) return null;
  const after = track.filter((e) => e.coreIndex >= (key as Expected).coreIndex);
  let last = -1;
  after.forEach((e, i) => {
    if (e.ptsUs <= t) last = i;
  });
  return after.slice(0, last + 1);
}

describe('readSpan: everything to decode at a time, in one read', () => {
  for (const layout of ['tail', 'faststart'] as const) {
    it(`${layout}: equals the brute-force span and costs one read`, async () => {
      const rng = new Rng(99);
      const end = Math.max(...expected.map((e) => e.ptsUs));
      for (let q = 0; q < 300; q++) {
        const source = new RecordingSource(layouts[layout]);
        const reader = await H4mkReader.open(source, { layout });
        const before = source.reads.length;
        const trackId = rng.pick(sample.tracks.map((t) => t.id));
        const t = rng.int(-100_000, end + 100_000);
        const span = await reader.readSpan(trackId, t);
        const brute = bruteSpan(trackId, t);
        if (brute === null) {
          expect(span).toBeNull();
          continue;
        }
        expect(span).not.toBeNull();
        const blocks = (span as { blocks: Block[] }).blocks;
        expect(blocks.map((b) => b.coreIndex)).toEqual(brute.map((e) => e.coreIndex));
        for (const [i, b] of blocks.entries()) expect(Buffer.from(b.payload).equals(Buffer.from((brute[i] as Expected).payload))).toBe(true);
        // seek() may read one segment table; the span itself is one read.
        expect(source.reads.length - before).toBe(1);
        const spanReads = source.reads
          .slice(before)
          .filter((r) => r.length > 16 + 72 * 4096 || r.offset === (span as { keyframe: { span: { offset: number } } }).keyframe.span.offset);
        expect(spanReads).toHaveLength(1);
      }
    });
  }
});

describe('plan', () => {
  it('lists exactly the reads range() with payloads then makes', async () => {
    const rng = new Rng(5);
    const end = Math.max(...expected.map((e) => e.ptsUs));
    for (let q = 0; q < 200; q++) {
      const source = new RecordingSource(layouts.tail);
      const reader = await H4mkReader.open(source);
      const fromUs = rng.int(-50_000, end);
      const toUs = fromUs + rng.int(0, 3_000_000);
      const tracks = rng.bool() ? undefined : [rng.pick(sample.tracks.map((t) => t.id))];
      const fromKeyframe = rng.bool();
      const query = { fromUs, toUs, ...(tracks ? { tracks } : {}), fromKeyframe };
      const plan = await reader.plan(query);
      const before = source.reads.length;
      for await (const _ of reader.blocks(query)) void _;
      expect(source.reads.slice(before)).toEqual(plan.map((p) => ({ offset: p.offset, length: p.length })));
      for (let i = 1; i < plan.length; i++)
        expect((plan[i] as { offset: number }).offset).toBeGreaterThan((plan[i - 1] as { offset: number; length: number }).offset);
    }
  });

  it('a window inside one GOP plans a single contiguous range', async () => {
    const reader = await H4mkReader.open(new MemorySource(layouts.tail));
    const plan = await reader.plan({ tracks: ['video_main'], fromUs: 1_000_000, toUs: 1_000_001, fromKeyframe: true });
    expect(plan).toHaveLength(1);
  });
});
