// §14 Live append in memory: checkpoints, their overhead bound, the finished file, and live opens of every prefix.
import { describe, expect, it } from 'vitest';
import { crc32c, H4mkError, H4mkReader, H4mkWriter, MemorySink, MemorySource, type WriteSummary, type WriterOptions } from '../src/node.js';
import { decodeChunk } from '../src/format/chunk.js';
import { decodeFooter } from '../src/format/header.js';
import { allInfos, caught, makeSample, type Sample, writeSample } from './helpers.js';

async function writeLive(sample: Sample, options: WriterOptions): Promise<{ bytes: Uint8Array; summary: WriteSummary }> {
  const sink = new MemorySink();
  const writer = await H4mkWriter.create(sink, options);
  for (const t of sample.tracks) writer.addTrack(t);
  for (const b of sample.inputs) await writer.writeBlock(b);
  const summary = await writer.finish();
  return { bytes: sink.bytes(), summary };
}

/** Every FOOT chunk of a file found by walking its chunks: where it ends, and how many blocks its index holds. */
async function checkpoints(bytes: Uint8Array): Promise<{ end: number; blocks: number }[]> {
  const out: { end: number; blocks: number }[] = [];
  for (let p = 32; p < bytes.length; ) {
    const chunk = decodeChunk(bytes, p);
    if (chunk.type === 'FOOT') {
      decodeFooter(bytes.subarray(p, chunk.end), chunk.end);
      const reader = await H4mkReader.open(new MemorySource(bytes.subarray(0, chunk.end)));
      out.push({ end: chunk.end, blocks: reader.blockCount });
    }
    p = chunk.end;
  }
  return out;
}

const sample = makeSample({ gops: 40, seed: 11 });

describe('live writer', () => {
  it('a finished live file is an ordinary tail container: same blocks, digests and chain head as a non-live one', async () => {
    const plain = await writeSample(sample, { compression: 'zstd' });
    const { bytes, summary } = await writeLive(sample, { compression: 'zstd', live: { checkpointBlocks: 16, checkpointMs: 60_000 } });
    expect(summary.live?.checkpoints).toBeGreaterThan(1);
    const a = await H4mkReader.open(new MemorySource(plain));
    const b = await H4mkReader.open(new MemorySource(bytes));
    expect(b.layout).toBe('tail');
    expect(b.chainHead).toBe(a.chainHead);
    expect(b.blockCount).toBe(a.blockCount);
    const ia = await allInfos(a);
    const ib = await allInfos(b);
    expect(ib.map((x) => String(x.digest && Buffer.from(x.digest).toString('hex')))).toEqual(
      ia.map((x) => String(x.digest && Buffer.from(x.digest).toString('hex'))),
    );
    const report = await b.verify();
    expect(report.failures).toEqual([]);
    // The checkpoints are gaps between segments: the file is larger by their bytes, plus the gap varints in SEGX.
    expect(bytes.length - plain.length).toBe((summary.live?.checkpointBytes ?? 0) + b.indexLength - a.indexLength);
  });

  it('checkpoints due by block count cost at most 10% of the data (the overhead bound)', async () => {
    const big = makeSample({ gops: 200, seed: 5 });
    const { summary } = await writeLive(big, { live: { checkpointBlocks: 1, checkpointMs: 3_600_000 } });
    const live = summary.live;
    if (live === undefined) throw new Error('no live stats');
    expect(live.checkpoints).toBeGreaterThan(5);
    expect(live.skipped).toBeGreaterThan(0);
    const data = summary.bytes - live.checkpointBytes - summary.indexLength - 36 - 32;
    // Each checkpoint's index is ≤ 1/10 of the data written since the previous one; plus its 36-byte FOOT.
    expect(live.checkpointBytes).toBeLessThanOrEqual(0.1 * data + 36 * live.checkpoints);
  });

  it('checkpointMs 0: a checkpoint after every segment, and a segment closes at every block', async () => {
    const small = makeSample({ gops: 2, seed: 3 });
    const { bytes, summary } = await writeLive(small, { live: { checkpointMs: 0 } });
    expect(summary.segmentCount).toBe(small.inputs.length);
    expect(summary.live?.checkpoints).toBe(small.inputs.length - 1);
    expect((await (await H4mkReader.open(new MemorySource(bytes))).verify()).ok).toBe(true);
  });

  it('a live open of any prefix returns exactly the blocks of the last complete checkpoint, and they verify', async () => {
    const { bytes } = await writeLive(sample, { live: { checkpointBlocks: 32, checkpointMs: 60_000 } });
    const feet = await checkpoints(bytes);
    expect(feet.length).toBeGreaterThan(3);
    const full = await H4mkReader.open(new MemorySource(bytes));
    const fullInfos = await allInfos(full);
    // Every cut point around each footer, and a stride through the rest.
    const cuts = new Set<number>();
    for (const f of feet) for (let d = -40; d <= 40; d++) cuts.add(f.end + d);
    for (let c = 0; c <= bytes.length; c += 97) cuts.add(c);
    for (const cut of [...cuts].filter((c) => c >= 0 && c <= bytes.length).sort((x, y) => x - y)) {
      const durable = feet.filter((f) => f.end <= cut).pop();
      const source = new MemorySource(bytes.subarray(0, cut));
      if (durable === undefined) {
        const error = await caught(() => H4mkReader.open(source, { live: true }));
        expect(error).toBeInstanceOf(H4mkError);
        continue;
      }
      const reader = await H4mkReader.open(source, { live: true });
      expect(reader.blockCount, `cut ${cut}`).toBe(durable.blocks);
      expect(reader.fileSize).toBe(durable.end);
      expect(reader.sourceSize).toBe(cut);
      if (cut % 7 === 0 || cut === durable.end) {
        const infos = await allInfos(reader);
        expect(infos.map((x) => x.offset)).toEqual(fullInfos.slice(0, durable.blocks).map((x) => x.offset));
        expect((await reader.verify()).ok).toBe(true);
      }
    }
  });

  it('a live open with a scan limit shorter than the distance to the last checkpoint fails with E_TRUNCATED', async () => {
    const { bytes } = await writeLive(sample, { live: { checkpointBlocks: 32, checkpointMs: 60_000 } });
    const feet = await checkpoints(bytes);
    const first = feet[0];
    if (first === undefined) throw new Error('no checkpoint');
    const cut = first.end + 5000;
    const source = new MemorySource(bytes.subarray(0, cut));
    expect((await H4mkReader.open(source, { live: true, liveScanLimit: 10_000 })).blockCount).toBe(first.blocks);
    const error = await caught(() => H4mkReader.open(source, { live: true, liveScanLimit: 4000, openBytes: 1024 }));
    expect((error as H4mkError).code).toBe('E_TRUNCATED');
  });

  it('an encrypted live file checkpoints CRYP; a live open of a prefix decrypts what it holds', async () => {
    const secret = new Uint8Array(32).fill(7);
    const { bytes } = await writeLive(sample, { encryption: { secret }, live: { checkpointBlocks: 32, checkpointMs: 60_000 } });
    const finished = await H4mkReader.open(new MemorySource(bytes), { key: { secret } });
    expect((await finished.verify()).ok).toBe(true);
    const feet = await checkpoints(bytes);
    const mid = feet[Math.floor(feet.length / 2)];
    if (mid === undefined) throw new Error('no checkpoint');
    const reader = await H4mkReader.open(new MemorySource(bytes.subarray(0, mid.end + 100)), { live: true, key: { secret } });
    expect(reader.encrypted).toBe(true);
    // Encryption holds each track's latest block back (END_OF_TRACK), so core_index order is not input order.
    for (const i of [0, reader.blockCount - 1]) {
      const block = await reader.readBlock(i);
      const want = sample.expected.find((e) => e.trackId === block.trackId && e.pts === block.pts && e.dts === block.dts);
      expect(Buffer.from(block.payload).equals(Buffer.from(want?.payload ?? []))).toBe(true);
    }
  });

  it('docs/FORMAT.md §14.3: the example file, offset by offset', async () => {
    const sink = new MemorySink();
    // §14.3 shows a version 1 file (its first 537 bytes are v1-minimal-tail).
    const writer = await H4mkWriter.create(sink, { formatVersion: 1, live: { checkpointMs: 0 } });
    writer.addTrack({ id: 'v', kind: 'video', codec: 'opaque' });
    for (let i = 0; i < 3; i++)
      await writer.writeBlock({ track: 'v', ptsUs: i * 40_000, durationUs: 40_000, keyframe: true, kind: 'I', payload: new TextEncoder().encode('H4MK') });
    await writer.finish();
    const bytes = sink.bytes();
    expect(bytes.length).toBe(1691);
    const feet: [number, number, number][] = [];
    for (let p = 32; p < bytes.length; ) {
      const c = decodeChunk(bytes, p);
      if (c.type === 'FOOT') {
        const f = decodeFooter(bytes.subarray(p, c.end), c.end);
        feet.push([p, f.indexOffset, f.indexLength]);
      }
      p = c.end;
    }
    expect(feet).toEqual([
      [501, 184, 317],
      [1054, 689, 365],
      [1655, 1242, 413],
    ]);
    const reader = await H4mkReader.open(new MemorySource(bytes));
    expect([...reader.index.segments.offset]).toEqual([0, 505, 1058]);
    const { readFileSync } = await import('node:fs');
    const vector = readFileSync(new URL('./vectors/v1-minimal-tail.hex', import.meta.url), 'utf8').replace(/[^0-9a-f]/gi, '');
    // The first 537 bytes are v1-minimal-tail but for the checkpoint FOOT's state (1 at 529) and so its CRC (533).
    const hex = Buffer.from(bytes.subarray(0, 537)).toString('hex');
    expect(hex.slice(0, 529 * 2)).toBe(vector.toLowerCase().slice(0, 529 * 2));
    expect(hex.slice(529 * 2, 533 * 2)).toBe('01000000');
    expect(vector.toLowerCase().slice(529 * 2, 533 * 2)).toBe('00000000');
    const live = await H4mkReader.open(new MemorySource(bytes.subarray(0, 700)), { live: true });
    expect([live.blockCount, live.fileSize, live.finished]).toEqual([1, 537, false]);
    const cut = await H4mkReader.open(new MemorySource(bytes.subarray(0, 537)));
    expect([cut.blockCount, cut.finished]).toEqual([1, false]);
    const whole = await H4mkReader.open(new MemorySource(bytes), { live: true });
    expect([whole.blockCount, whole.finished]).toEqual([3, true]);
    // Any other state is E_FORMAT.
    const bad = bytes.slice(0, 537);
    bad[529] = 2;
    bad.set(new Uint8Array(new Uint32Array([crc32c(bad.subarray(501, 533))]).buffer), 533);
    await expect(H4mkReader.open(new MemorySource(bad))).rejects.toMatchObject({ code: 'E_FORMAT' });
  });

  it('rejects live with the faststart layout and bad cadences', async () => {
    await expect(H4mkWriter.create(new MemorySink(), { layout: 'faststart', live: {} })).rejects.toThrow(RangeError);
    await expect(H4mkWriter.create(new MemorySink(), { live: { checkpointBlocks: 0 } })).rejects.toThrow(RangeError);
    await expect(H4mkWriter.create(new MemorySink(), { live: { checkpointMs: -1 } })).rejects.toThrow(RangeError);
  });
});
