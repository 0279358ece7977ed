// Recovery by scanning (src/recover): truncation at every kind of offset, corruption, live files, encrypted files.
import { describe, expect, it } from 'vitest';
import { crc32c, H4mkReader, H4mkWriter, MemorySink, MemorySource, type WriterOptions } from '../src/node.js';
import { chainStart, chainStep, sha256 } from '../src/crypto/sha256.js';
import { decodeChunk } from '../src/format/chunk.js';
import { recoverContainer, type RecoverReport } from '../src/recover/recover.js';
import { allInfos, makeSample, Rng, type Sample, writeSample as writeAnySample } from './helpers.js';

// These tests edit v1 CORE and BIDX bytes (§6.1–6.2); v2 recovery (§6.5) is tested in test/format-v2.test.ts.
const writeSample: typeof writeAnySample = (sample, options = {}) => writeAnySample(sample, { formatVersion: 1, ...options });

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function write(sample: Sample, options: WriterOptions): Promise<Uint8Array> {
  const sink = new MemorySink();
  const writer = await H4mkWriter.create(sink, { formatVersion: 1, ...options });
  for (const t of sample.tracks) writer.addTrack(t);
  for (const b of sample.inputs) await writer.writeBlock(b);
  await writer.finish();
  return sink.bytes();
}

/** End offset of every CORE chunk, in file order (= core_index order). */
function coreEnds(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  for (let p = 32; p < bytes.length; ) {
    const c = decodeChunk(bytes, p);
    if (c.type === 'CORE') ends.push(c.end);
    p = c.end;
  }
  return ends;
}

async function recover(bytes: Uint8Array, options = {}): Promise<{ report: RecoverReport; out: Uint8Array | null }> {
  const sink = new MemorySink();
  const report = await recoverContainer(new MemorySource(bytes), sink, options);
  return { report, out: report.summary === null ? null : sink.bytes() };
}

const sample = makeSample({ gops: 12, seed: 21 });
const original = await writeSample(sample, { compression: 'zstd' });
const originalReader = await H4mkReader.open(new MemorySource(original));
const digests = (await allInfos(originalReader)).map((i) => i.digest);

/** The chain head of the first n blocks of the original. */
function chainOf(n: number): string {
  let h = chainStart();
  for (let i = 0; i < n; i++) h = chainStep(h, digests[i] as Uint8Array);
  return hex(h);
}

describe('recover', () => {
  it('an intact container comes back whole: complete, nothing lost, same chain head', async () => {
    const { report, out } = await recover(original);
    expect(report.complete).toBe(true);
    expect(report.damage).toBeNull();
    expect(report.recoveredBlocks).toBe(sample.inputs.length);
    expect(report.digestVerified).toBe(sample.inputs.length);
    expect(report.tracksFrom).toBe('final-index');
    const r = await H4mkReader.open(new MemorySource(out as Uint8Array));
    expect(r.chainHead).toBe(originalReader.chainHead);
    expect(r.tracks().map((t) => t.id)).toEqual(originalReader.tracks().map((t) => t.id));
  });

  it('truncated anywhere: exactly the blocks whose chunk is complete come back, verified, and the output verifies', async () => {
    const ends = coreEnds(original);
    const rng = new Rng(5);
    const cuts = new Set<number>([0, 31, 32, 33, original.length - 1, original.length - 36]);
    for (const e of ends.slice(0, 40)) for (const d of [-1, 0, 1, 12]) cuts.add(e + d);
    for (let i = 0; i < 150; i++) cuts.add(rng.int(0, original.length));
    for (const cut of cuts) {
      const prefix = original.subarray(0, cut);
      const want = ends.filter((e) => e <= cut).length;
      const { report, out } = await recover(prefix);
      expect(report.recoveredBlocks, `cut ${cut}`).toBe(want);
      expect(report.complete).toBe(false);
      expect(report.damage).not.toBeNull();
      if (want === 0) {
        expect(out).toBeNull();
        continue;
      }
      const r = await H4mkReader.open(new MemorySource(out as Uint8Array));
      expect(r.blockCount).toBe(want);
      expect(r.chainHead).toBe(chainOf(want));
      expect((await r.verify()).ok).toBe(true);
      // No index survived a cut before it: the track table is made up, the ticks are kept.
      expect(report.tracksFrom).toBe(cut >= originalReader.indexOffset + originalReader.indexLength ? 'checkpoint' : 'made-up');
      expect(report.digestVerified + report.crcVerified).toBe(want);
    }
  });

  it('with a reference, a truncated file gets its real track table back', async () => {
    const ends = coreEnds(original);
    const cut = (ends[100] as number) + 5;
    const { report, out } = await recover(original.subarray(0, cut), {
      reference: { tracks: originalReader.tracks(), meta: originalReader.meta, safe: originalReader.safe },
    });
    expect(report.tracksFrom).toBe('reference');
    expect(report.recoveredBlocks).toBe(101);
    expect(report.lostBlocks).toBe(1); // the block cut in the middle
    const r = await H4mkReader.open(new MemorySource(out as Uint8Array));
    const a = await allInfos(r);
    const b = (await allInfos(originalReader)).slice(0, 101);
    expect(a.map((x) => [x.trackId, x.ptsUs, hex(x.digest)])).toEqual(b.map((x) => [x.trackId, x.ptsUs, hex(x.digest)]));
  });

  it('a flipped byte in block k: blocks 0..k-1 come back, damage starts at block k, later blocks are counted lost', async () => {
    const infos = await allInfos(originalReader);
    const k = 137;
    const target = infos[k];
    if (target === undefined) throw new Error('sample too small');
    const damaged = original.slice();
    const at = target.offset + 12 + 36 + 1;
    damaged[at] = (damaged[at] as number) ^ 0x40;
    const { report, out } = await recover(damaged);
    expect(report.recoveredBlocks).toBe(k);
    expect(report.damage?.offset).toBe(target.offset);
    expect(report.damage?.code).toBe('E_CHECKSUM');
    expect(report.lostBlocks).toBe(infos.length - k);
    expect(report.complete).toBe(false);
    const r = await H4mkReader.open(new MemorySource(out as Uint8Array));
    expect(r.chainHead).toBe(chainOf(k));
    // The final index survived after the damage: the real tracks are used.
    expect(report.tracksFrom).toBe('final-index');
  });

  it('an edited block whose CRC-32C was recomputed: nothing at or after it is kept, at every position of its segment', async () => {
    const infos = await allInfos(originalReader);
    const segmentOf = (i: number) => originalReader.segmentOf(i);
    // The first, a middle and the last block of a segment, and the very first and last block.
    const s = segmentOf(137);
    const inSegment = infos.filter((b) => segmentOf(b.coreIndex) === s).map((b) => b.coreIndex);
    const cases = [0, inSegment[0] as number, 137, inSegment[inSegment.length - 1] as number, infos.length - 1];
    for (const k of cases) {
      const target = infos[k];
      if (target === undefined) throw new Error('sample too small');
      const edited = original.slice();
      const payloadAt = target.offset + 8;
      const at = payloadAt + 36 + 1;
      edited[at] = (edited[at] as number) ^ 0x40;
      // Recompute the chunk's CRC-32C (over type, length and payload) so that only the digest can tell.
      const end = target.offset + target.chunkLength;
      new DataView(edited.buffer).setUint32(end - 4, crc32c(edited.subarray(target.offset, end - 4)), true);
      const { report, out } = await recover(edited);
      expect(report.damage?.code, `block ${k}`).toBe('E_DIGEST');
      expect(report.recoveredBlocks, `block ${k}`).toBe(k);
      expect(report.lostBlocks, `block ${k}`).toBe(infos.length - k);
      if (k === 0) {
        expect(out).toBeNull();
        continue;
      }
      const r = await H4mkReader.open(new MemorySource(out as Uint8Array));
      expect(r.chainHead, `block ${k}`).toBe(chainOf(k));
      expect((await r.verify()).ok).toBe(true);
    }
  });

  it("a segment forged consistently (block, its CRC, its table entry and table CRC) fails the SEGX cross-check: recovery ends at the segment's first block", async () => {
    const infos = await allInfos(originalReader);
    const segmentCount = originalReader.segmentCount;
    for (const seg of [0, Math.floor(segmentCount / 2), segmentCount - 1]) {
      const blocks = infos.filter((b) => originalReader.segmentOf(b.coreIndex) === seg);
      const first = blocks[0];
      const last = blocks[blocks.length - 1];
      if (first === undefined || last === undefined) throw new Error('empty segment');
      const forged = original.slice();
      const view = new DataView(forged.buffer);
      // The segment's first block: edit a payload byte and recompute its CRC-32C.
      const at = first.offset + 8 + 36 + 1;
      forged[at] = (forged[at] as number) ^ 0x40;
      const coreEnd = first.offset + first.chunkLength;
      view.setUint32(coreEnd - 4, crc32c(forged.subarray(first.offset, coreEnd - 4)), true);
      // Its digest in the segment's BIDX (right after the last block), and the BIDX CRC-32C.
      const bidx = last.offset + last.chunkLength;
      const bidxEnd = bidx + 8 + 16 + 72 * blocks.length + 4;
      forged.set(sha256(forged.subarray(first.offset + 8, coreEnd - 4)), bidx + 8 + 16 + 40);
      view.setUint32(bidxEnd - 4, crc32c(forged.subarray(bidx, bidxEnd - 4)), true);
      const { report } = await recover(forged);
      expect(report.damage?.code, `segment ${seg}`).toBe('E_DIGEST');
      expect(report.recoveredBlocks, `segment ${seg}`).toBe(first.coreIndex);
      expect(report.lostBlocks, `segment ${seg}`).toBe(infos.length - first.coreIndex);
    }
  });

  it('a live file cut anywhere: tracks from the last checkpoint, every complete block back', async () => {
    const live = await write(sample, { compression: 'zstd', live: { checkpointBlocks: 40, checkpointMs: 60_000 } });
    const ends = coreEnds(live);
    const rng = new Rng(9);
    for (let i = 0; i < 40; i++) {
      const cut = rng.int(ends[60] as number, live.length - 1);
      const want = ends.filter((e) => e <= cut).length;
      const { report, out } = await recover(live.subarray(0, cut));
      expect(report.recoveredBlocks, `cut ${cut}`).toBe(want);
      expect(report.tracksFrom).toBe('checkpoint');
      const r = await H4mkReader.open(new MemorySource(out as Uint8Array));
      expect(r.tracks().map((t) => t.id)).toEqual(originalReader.tracks().map((t) => t.id));
      expect(r.chainHead).toBe(chainOf(want));
      expect(r.layout).toBe('tail');
    }
  });

  it('a finished faststart file comes back whole, in its layout', async () => {
    const fast = await writeSample(sample, { compression: 'zstd', layout: 'faststart' });
    const { report, out } = await recover(fast);
    expect(report.complete).toBe(true);
    const r = await H4mkReader.open(new MemorySource(out as Uint8Array));
    expect(r.layout).toBe('faststart');
    expect(r.chainHead).toBe(originalReader.chainHead);
  });

  it('an encrypted live file: blocks copied verbatim with its CRYP; with the key, the transcript shows the truncation', async () => {
    const secret = new Uint8Array(32).fill(3);
    const live = await write(sample, { encryption: { secret }, live: { checkpointBlocks: 40, checkpointMs: 60_000 } });
    const ends = coreEnds(live);
    const cut = (ends[200] as number) + 3;
    const { report, out } = await recover(live.subarray(0, cut));
    expect(report.encrypted).toBe(true);
    expect(report.recoveredBlocks).toBe(201);
    const keyless = await H4mkReader.open(new MemorySource(out as Uint8Array));
    expect((await keyless.verify()).ok).toBe(true);
    const keyed = await H4mkReader.open(new MemorySource(out as Uint8Array), { key: { secret } });
    const block = await keyed.readBlock(5);
    expect(block.payload.length).toBe(block.originalLength);
    const verdict = await keyed.verify();
    expect(verdict.ok).toBe(false);
    expect(verdict.failures.every((f) => f.code === 'E_TRANSCRIPT')).toBe(true);
  });

  it('an encrypted non-live file cut before its index: nothing recoverable (no CRYP survived)', async () => {
    const secret = new Uint8Array(32).fill(4);
    const enc = await write(sample, { encryption: { secret } });
    const { report, out } = await recover(enc.subarray(0, 5000));
    expect(out).toBeNull();
    expect(report.recoveredBlocks).toBe(0);
    expect(report.damage?.message).toMatch(/CRYP/);
  });

  it('not a container: nothing recoverable', async () => {
    const { report, out } = await recover(new Uint8Array(1000).fill(1));
    expect(out).toBeNull();
    expect(report.recoveredBlocks).toBe(0);
    expect(report.damage?.code).toBe('E_MAGIC');
  });
});
