/**
 * Exhaustive damage to small containers: every single byte flipped, every
 * truncation, appended junk. The reader must fail with a typed error, and a
 * flipped block must be attributed to that block.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type BlockInfo, crc32c, H4mkError, H4mkReader, MemorySource, type VerifyReport } from '../src/node.js';
import { allInfos, caught, makeSample, openBytes, writeSample } from './helpers.js';

/**
 * `bidx`: where each segment's table lies (v1 BIDX after the blocks; v2 SEGT at the segment start).
 * `data`: v2 only, where each segment's SEGD chunk lies and the blocks it holds.
 */
type Fixture = {
  name: string;
  version: 1 | 2;
  bytes: Uint8Array;
  infos: BlockInfo[];
  bidx: { start: number; end: number; segment: number }[];
  data: { start: number; end: number; blocks: number[] }[];
  /** v2 with a keyframe map: where its KEYS chunk lies (§6.6), before the last record. */
  keys: { start: number; end: number } | null;
};

const fixtures: Fixture[] = [];

beforeAll(async () => {
  const configs = [
    { name: 'tail/zstd', options: { layout: 'tail' as const, compression: 'zstd' as const, segment: { maxBlocks: 8 } } },
    { name: 'faststart/brotli', options: { layout: 'faststart' as const, compression: 'brotli' as const, segment: { maxBlocks: 8 } } },
    { name: 'tail/deflate', options: { layout: 'tail' as const, compression: 'deflate' as const, segment: { maxBlocks: 5 } } },
  ];
  // The v1 fixtures come first: the tests below that edit CORE and BIDX bytes use fixtures[0].
  for (const version of [1, 2] as const) {
    for (const c of configs) {
      const sample = makeSample({ seed: 3, gops: 1, audioFrames: 9, controlEvents: 4, scale: 0.15 });
      const bytes = await writeSample(sample, { ...c.options, formatVersion: version, meta: { t: 'corruption' } });
      const reader = await openBytes(bytes);
      const infos = await allInfos(reader);
      const dir = reader.index.segments;
      const bidx = [];
      const data = [];
      for (let s = 0; s < dir.count; s++) {
        const start = reader.dataOffset + (dir.offset[s] as number);
        const end = start + (dir.length[s] as number);
        const first = dir.firstCoreIndex[s] as number;
        const n = dir.blockCount[s] as number;
        if (version === 2) {
          // §6.5: SEGT opens the segment, SEGD fills the rest.
          const tableEnd = start + 12 + (dir.tableLength[s] as number);
          bidx.push({ start, end: tableEnd, segment: s });
          data.push({ start: tableEnd, end, blocks: Array.from({ length: n }, (_, i) => first + i) });
        } else {
          // §6.2: BIDX right after the segment's last CORE chunk, to the segment end.
          const last = infos[first + n - 1] as BlockInfo;
          bidx.push({ start: last.offset + last.chunkLength, end, segment: s });
        }
      }
      const keysStart = reader.dataOffset + (reader.index.keys?.offset ?? 0);
      const keys = reader.index.keys === null ? null : { start: keysStart, end: keysStart + 12 + reader.index.keys.length };
      fixtures.push({ name: `v${version} ${c.name}`, version, bytes, infos, bidx, data, keys });
    }
  }
});

it('fixtures are small multi-segment containers with compressed blocks', () => {
  for (const f of fixtures) {
    expect(f.bytes.length).toBeGreaterThan(1500);
    expect(f.bytes.length).toBeLessThan(8192);
    expect(f.bidx.length).toBeGreaterThan(2);
    expect(f.infos.some((b) => b.compression !== 'none')).toBe(true);
    // v2: the audio track has ≥ 3 keyframes in a segment, so a KEYS chunk lies before the last record.
    expect(f.keys !== null).toBe(f.version === 2);
  }
});

async function openOrError(bytes: Uint8Array): Promise<H4mkReader | H4mkError> {
  try {
    return await H4mkReader.open(new MemorySource(bytes));
  } catch (error) {
    if (error instanceof H4mkError) return error;
    throw error;
  }
}

describe('every single byte flipped (exhaustive)', () => {
  it('fails open with a typed error, or verify names the block or chunk', async () => {
    for (const f of fixtures) {
      let openFailures = 0;
      let verifyFailures = 0;
      for (let at = 0; at < f.bytes.length; at++) {
        const damaged = f.bytes.slice();
        damaged[at] = (damaged[at] as number) ^ 0xff;
        const opened = await openOrError(damaged);
        const where = `${f.name}: byte ${at}`;
        if (opened instanceof H4mkError) {
          expect(typeof opened.code, where).toBe('string');
          expect(Number.isSafeInteger(opened.offset), `${where}: ${opened.message}`).toBe(true);
          openFailures++;
          continue;
        }
        const report: VerifyReport = await opened.verify();
        expect(report.ok, where).toBe(false);
        expect(report.failures.length, where).toBeGreaterThan(0);
        expect(
          report.failures.every((x) => x.coreIndex !== undefined || x.chunk !== undefined),
          `${where}: ${JSON.stringify(report.failures)}`,
        ).toBe(true);
        // Attribution: a flip inside a block's CORE chunk names that block; inside a BIDX, names BIDX.
        // v2: inside a SEGD chunk, every block of its segment (the data has one digest) and SEGD; inside SEGT, SEGT.
        const block = f.version === 1 ? f.infos.find((b) => at >= b.offset && at < b.offset + b.chunkLength) : undefined;
        const table = f.bidx.find((b) => at >= b.start && at < b.end);
        const data = f.data.find((d) => at >= d.start && at < d.end);
        if (data !== undefined) {
          expect(report.failedBlocks, where).toEqual(data.blocks);
          expect(
            report.failures.some((x) => x.chunk === 'SEGD'),
            `${where}: ${JSON.stringify(report.failures)}`,
          ).toBe(true);
          // Reading checks the data digest, and SEGD's CRC only when the digest fails (§6.5): a flip in the
          // CRC field leaves the data intact and readable; any other flip fails the read, naming SEGD.
          const inCrcField = at >= data.end - 4;
          const read = await opened.readBlock(data.blocks[0] as number).then(
            (block) => block,
            (e: unknown) => e,
          );
          if (inCrcField && !(read instanceof Error)) expect(read.coreIndex, where).toBe(data.blocks[0]);
          else {
            expect(read, where).toBeInstanceOf(H4mkError);
            expect((read as H4mkError).chunk, `${where}: ${String(read)}`).toBe('SEGD');
          }
        } else if (block !== undefined) {
          expect(report.failedBlocks, where).toEqual([block.coreIndex]);
          expect(
            report.failures.some((x) => x.coreIndex === block.coreIndex),
            `${where}: ${JSON.stringify(report.failures)}`,
          ).toBe(true);
          // And reading that block alone fails, naming it.
          const error = await caught(() => opened.readBlock(block.coreIndex));
          expect(error, where).toBeInstanceOf(H4mkError);
          expect((error as H4mkError).coreIndex, `${where}: ${String(error)}`).toBe(block.coreIndex);
        } else if (table !== undefined) {
          expect(
            report.failures.some((x) => x.chunk === (f.version === 2 ? 'SEGT' : 'BIDX')),
            `${where}: ${JSON.stringify(report.failures)}`,
          ).toBe(true);
        } else if (f.keys !== null && at >= f.keys.start && at < f.keys.end) {
          // §6.6 KEYS: verification names it, and a seek that needs it fails naming it too.
          expect(
            report.failures.some((x) => x.chunk === 'KEYS'),
            `${where}: ${JSON.stringify(report.failures)}`,
          ).toBe(true);
          // As for SEGD, a seek checks the digest first and the CRC only when it fails: a flipped CRC field leaves the map usable.
          const map = await opened.keyframeMap().then(
            (m) => m,
            (e: unknown) => e,
          );
          if (at >= f.keys.end - 4) expect(map, where).not.toBeInstanceOf(Error);
          else expect((map as H4mkError).chunk, `${where}: ${String(map)}`).toBe('KEYS');
        } else {
          throw new Error(`${where}: outside every block and segment table, yet open succeeded`);
        }
        verifyFailures++;
      }
      // Both paths were exercised: the index and framing at open, the blocks at verify.
      expect(openFailures).toBeGreaterThan(200);
      expect(verifyFailures).toBeGreaterThan(f.bytes.length / 2);
    }
  });
});

describe('truncation and trailing data', () => {
  it('truncation at every offset is a typed error with a numeric offset', async () => {
    for (const f of fixtures) {
      for (let n = 0; n < f.bytes.length; n++) {
        const error = await caught(() => H4mkReader.open(new MemorySource(f.bytes.subarray(0, n))));
        expect(error, `${f.name}: ${n} bytes`).toBeInstanceOf(H4mkError);
        const e = error as H4mkError;
        expect(Number.isSafeInteger(e.offset), `${f.name}: ${n} bytes: ${e.message}`).toBe(true);
        expect(e.offset as number).toBeGreaterThanOrEqual(0);
        expect(e.offset as number).toBeLessThanOrEqual(n);
        expect(['E_TRUNCATED', 'E_FORMAT', 'E_MAGIC', 'E_CHECKSUM']).toContain(e.code);
      }
    }
  });

  it('appended junk is an error, even when the junk is a valid footer', async () => {
    for (const f of fixtures) {
      const footer = f.bytes.subarray(f.bytes.length - 36);
      const junks = [Uint8Array.of(0), Uint8Array.of(0xff, 0xff), new Uint8Array(36), footer, new Uint8Array([...new Uint8Array(100), ...footer]), f.bytes];
      for (const junk of junks) {
        const bytes = new Uint8Array(f.bytes.length + junk.length);
        bytes.set(f.bytes);
        bytes.set(junk, f.bytes.length);
        const error = await caught(() => H4mkReader.open(new MemorySource(bytes)));
        expect(error, `${f.name}: +${junk.length}`).toBeInstanceOf(H4mkError);
        expect(Number.isSafeInteger((error as H4mkError).offset)).toBe(true);
      }
    }
  });

  it('an empty source and a bare header are typed errors', async () => {
    for (const bytes of [new Uint8Array(0), (fixtures[0] as Fixture).bytes.subarray(0, 32), new Uint8Array(200)]) {
      const error = await caught(() => H4mkReader.open(new MemorySource(bytes)));
      expect(error).toBeInstanceOf(H4mkError);
    }
  });
});

describe('a damaged block read alone', () => {
  it('a flipped payload byte is E_CHECKSUM naming the block; with the CRC recomputed, E_DIGEST naming it', async () => {
    for (const f of fixtures.filter((x) => x.version === 1)) {
      for (const b of f.infos) {
        if (b.storedLength === 0) continue;
        const at = b.offset + 8 + 36 + Math.floor(b.storedLength / 2); // inside the stored payload
        const damaged = f.bytes.slice();
        damaged[at] = (damaged[at] as number) ^ 0x01;
        const reader = await openBytes(damaged);
        let error = await caught(() => reader.readBlock(b.coreIndex));
        expect(error).toBeInstanceOf(H4mkError);
        expect((error as H4mkError).code).toBe('E_CHECKSUM');
        expect((error as H4mkError).coreIndex, String(error)).toBe(b.coreIndex);
        // Other blocks still read.
        const other = (b.coreIndex + 1) % f.infos.length;
        await expect(reader.readBlock(other)).resolves.toMatchObject({ coreIndex: other });

        // Recompute the CORE chunk's CRC: the SHA-256 in the segment table still catches it.
        const crcAt = b.offset + b.chunkLength - 4;
        new DataView(damaged.buffer).setUint32(crcAt, crc32c(damaged.subarray(b.offset, crcAt)), true);
        const again = await openBytes(damaged);
        error = await caught(() => again.readBlock(b.coreIndex));
        expect(error).toBeInstanceOf(H4mkError);
        expect((error as H4mkError).code).toBe('E_DIGEST');
        expect((error as H4mkError).coreIndex).toBe(b.coreIndex);
        const report = await again.verify();
        expect(report.failedBlocks).toEqual([b.coreIndex]);
        // Without verification the damaged bytes are returned as stored (or fail to decompress, typed).
        if (b.compression === 'none') {
          const raw = await again.readBlock(b.coreIndex, { verify: false });
          expect(raw.payload.length).toBe(b.originalLength);
        } else {
          // Either outcome is asserted: a typed decompression failure naming the block, or (when the
          // damaged stream still decodes) a payload of the declared length, which the decoder checks.
          const outcome = await again.readBlock(b.coreIndex, { verify: false }).then(
            (block) => block,
            (e: unknown) => e,
          );
          if (outcome instanceof Error) {
            expect(outcome).toBeInstanceOf(H4mkError);
            expect((outcome as H4mkError).code).toBe('E_DECOMPRESS');
            expect((outcome as H4mkError).coreIndex).toBe(b.coreIndex);
          } else {
            expect((outcome as { payload: Uint8Array }).payload.length).toBe(b.originalLength);
          }
        }
      }
    }
  });

  it('range with payloads over a damaged block fails typed, naming the block', async () => {
    const f = fixtures[0] as Fixture;
    const b = f.infos[5] as BlockInfo;
    const damaged = f.bytes.slice();
    damaged[b.offset + 8 + 36] = (damaged[b.offset + 8 + 36] as number) ^ 0x80;
    const reader = await openBytes(damaged);
    const error = await caught(async () => {
      for await (const _ of reader.blocks({})) {
        // consume
      }
    });
    expect(error).toBeInstanceOf(H4mkError);
    expect((error as H4mkError).coreIndex).toBe(b.coreIndex);
  });
});

describe('an index that lies, with every checksum and digest recomputed', () => {
  it('SEEK naming the wrong keyframe position: verify reports E_FORMAT on SEEK', async () => {
    const { decodeSeekTables, encodeSeekTables } = await import('../src/format/seek-table.js');
    const { layoutOf, reseal } = await import('./fuzz-engine.mjs');
    const f = fixtures[0] as Fixture;
    const bytes = f.bytes.slice();
    const layout = layoutOf(bytes);
    const seekChunk = layout.indexChunks.find((c) => c.type === 'SEEK');
    if (seekChunk === undefined) throw new Error('no SEEK');
    const payload = bytes.subarray(seekChunk.payloadStart, seekChunk.end - 4);
    const tables = decodeSeekTables(payload, 0, 3);
    const video = tables[0];
    if (video === undefined) throw new Error('no video table');
    expect(video.firstKeyPosition[0]).toBe(0);
    // The video keyframe is block 0 of segment 0; claim it is block 1 (same varint length).
    video.firstKeyPosition[0] = 1;
    video.lastKeyPosition[0] = (video.lastKeyPosition[0] as number) + 1;
    const patched = encodeSeekTables(tables);
    expect(patched.length).toBe(payload.length);
    payload.set(patched);
    reseal(bytes, layout, crc32c);

    const reader = await openBytes(bytes);
    const r = await reader.seek('video_main', 0);
    expect(r?.coreIndex).toBe(1); // the lie is believed by seek…
    expect((await reader.blockInfo(1)).keyframe).toBe(false);
    const report = await reader.verify();
    expect(report.ok).toBe(false); // …but verify exposes it
    expect(report.failures).toEqual([expect.objectContaining({ code: 'E_FORMAT', chunk: 'SEEK' })]);
  });

  it('keyframe pts decreasing within a track: verify reports E_ORDER naming the block', async () => {
    const { buildH4mkTracks } = await import('../src/node.js');
    const { layoutOf, reseal } = await import('./fuzz-engine.mjs');
    const bytes = await buildH4mkTracks(
      [{ id: 'a', kind: 'audio', timescale: 48000 }],
      [0, 1, 2, 3].map((i) => ({ track: 'a', pts: i * 1024, keyframe: true, payload: Uint8Array.of(i) })),
      {},
      undefined,
      { formatVersion: 1 },
    );
    const layout = layoutOf(bytes);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const segment = layout.segments[0];
    if (segment === undefined) throw new Error('no segment');
    // Swap the pts of blocks 1 and 2 in their CORE headers and BIDX entries: SEEK's summary is unchanged.
    for (const [i, pts] of [
      [1, 2048],
      [2, 1024],
    ] as const) {
      view.setBigInt64((segment.cores[i]?.payloadStart as number) + 16, BigInt(pts), true);
      view.setBigInt64(segment.bidx.payloadStart + 16 + i * 72 + 16, BigInt(pts), true);
    }
    reseal(bytes, layout, crc32c);
    const reader = await openBytes(bytes);
    // seek's binary search assumes the rule; the brute-force answer for 2100 ticks would be block 1 (pts 2048).
    expect((await reader.seek('a', Math.floor((2100 * 1e6) / 48000)))?.coreIndex).toBe(2);
    const report = await reader.verify();
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual([expect.objectContaining({ code: 'E_ORDER', coreIndex: 2 })]);
  });
});

describe('gaps between segments (§5.5)', () => {
  /**
   * Inserts `gap` bytes between segments 0 and 1 of a tail container, records
   * the gap in SEGX and moves the index, then recomputes every checksum.
   */
  async function withGap(gap: Uint8Array): Promise<Uint8Array> {
    const { decodeSegmentDirectory, encodeSegmentDirectory } = await import('../src/format/segment-directory.js');
    const { DEFAULT_LIMITS } = await import('../src/format/constants.js');
    const { layoutOf, reseal } = await import('./fuzz-engine.mjs');
    const f = fixtures[0] as Fixture; // tail layout
    const before = layoutOf(f.bytes);
    const at = (before.segments[0]?.bidx.end as number) + 0;
    const bytes = new Uint8Array(f.bytes.length + gap.length);
    bytes.set(f.bytes.subarray(0, at));
    bytes.set(gap, at);
    bytes.set(f.bytes.subarray(at), at + gap.length);
    const view = new DataView(bytes.buffer);
    const foot = bytes.length - 36;
    view.setUint32(foot + 8, before.indexOffset + gap.length, true); // FOOT index_offset
    const segx = before.indexChunks.find((c) => c.type === 'SEGX');
    if (segx === undefined) throw new Error('no SEGX');
    const start = segx.payloadStart + gap.length;
    const payload = bytes.subarray(start, start + segx.length);
    const dir = decodeSegmentDirectory(payload, 0, DEFAULT_LIMITS);
    for (let s = 1; s < dir.count; s++) dir.offset[s] = (dir.offset[s] as number) + gap.length;
    const patched = encodeSegmentDirectory(dir);
    expect(patched.length).toBe(payload.length); // gap < 128: the varint stays one byte
    payload.set(patched);
    // The seed's layout, moved past the gap (the gap itself may not be walkable).
    const g = gap.length;
    type Position = (typeof before.dataChunks)[number];
    const move = (c: Position): Position => (c.start >= at ? { ...c, start: c.start + g, payloadStart: c.payloadStart + g, end: c.end + g } : c);
    const after = {
      ...before,
      size: before.size + g,
      indexOffset: before.indexOffset + g,
      dataEnd: before.dataEnd + g,
      indexChunks: before.indexChunks.map(move),
      dataChunks: before.dataChunks.map(move),
      segments: before.segments.map((x) => ({ cores: x.cores.map(move), bidx: move(x.bidx) })),
      segxDigestAt: before.segxDigestAt.map((p) => p + g),
      footer: move(before.footer),
    };
    return reseal(bytes, after, crc32c);
  }

  it('a well-formed unknown chunk in a gap is skipped by readers and checked by verify', async () => {
    const { encodeChunk } = await import('../src/format/chunk.js');
    const bytes = await withGap(encodeChunk('CKPT', new TextEncoder().encode('live checkpoint')));
    const reader = await openBytes(bytes);
    const report = await reader.verify();
    expect(report.failures).toEqual([]);
    const f = fixtures[0] as Fixture;
    for (let i = 0; i < f.infos.length; i++) {
      const b = await reader.readBlock(i);
      expect(b.pts).toBe((f.infos[i] as BlockInfo).pts);
    }
  });

  it('garbage or a damaged chunk in a gap fails verify, naming the gap chunk', async () => {
    const { encodeChunk } = await import('../src/format/chunk.js');
    const good = encodeChunk('CKPT', new Uint8Array(20));
    const damaged = good.slice();
    damaged[15] = (damaged[15] as number) ^ 1;
    const overlong = good.slice();
    new DataView(overlong.buffer).setUint32(4, 1000, true);
    for (const gap of [new Uint8Array(32).fill(0xee), damaged, overlong, good.subarray(0, 10)]) {
      const reader = await openBytes(await withGap(gap));
      const report = await reader.verify();
      expect(report.ok).toBe(false);
      expect(report.failures.length).toBe(1);
      expect(report.failures[0]?.chunk, JSON.stringify(report.failures)).toBeDefined();
      expect(report.failures[0]?.offset).toBeGreaterThan(32);
      expect(report.failedBlocks).toEqual([]);
    }
  });
});
