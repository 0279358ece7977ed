/**
 * §5.10 KEYP and §6.6 KEYS, byte by byte: both codings round-trip, lookups
 * equal a scan of the listed keyframes, and every rule of the two sections
 * fails with its code and offset.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src/format/constants.js';
import { H4mkError } from '../src/format/errors.js';
import { decodeKeyframeMapRef, type EntryKeys, encodeKeyframeMap, encodeKeyframeMapRef, KeyframeMap, needsKeyframeMap } from '../src/format/keyframe-map.js';
import { createTrackSeekTable, type TrackSeekTable } from '../src/format/seek-table.js';
import { createSegmentDirectory, type SegmentDirectory } from '../src/format/segment-directory.js';
import { sha256 } from '../src/crypto/sha256.js';
import { decodeIndexRegion, encodeIndexRegion } from '../src/format/index-region.js';
import { MemorySink, optimizeContainer } from '../src/node.js';
import { layoutOf } from './fuzz-engine.mjs';
import { makeSample, openBytes, Rng, writeSample } from './helpers.js';

/** One segment of `blocks` blocks; per track, the keyframes (position, pts) in it. */
function fixture(blocks: number, tracks: { positions: number[]; pts: number[] }[]): { seek: TrackSeekTable[]; dir: SegmentDirectory; keys: EntryKeys[] } {
  const dir = createSegmentDirectory(1, 2, 1);
  dir.blockCount[0] = blocks;
  dir.totalBlocks = blocks;
  const seek = tracks.map((t, n) => {
    const table = createTrackSeekTable(n, 1);
    table.entryCount = 1;
    table.segment[0] = 0;
    table.count[0] = t.positions.length;
    table.keyCount[0] = t.positions.length;
    table.minPts[0] = t.pts[0] as number;
    table.maxPts[0] = t.pts.at(-1) as number;
    table.firstKeyPts[0] = t.pts[0] as number;
    table.lastKeyPts[0] = t.pts.at(-1) as number;
    table.firstKeyPosition[0] = t.positions[0] as number;
    table.lastKeyPosition[0] = t.positions.at(-1) as number;
    table.blockCount = t.positions.length;
    table.keyframeCount = t.positions.length;
    return table;
  });
  return { seek, dir, keys: tracks.map((t) => ({ positions: t.positions, pts: t.pts, count: t.positions.length })) };
}

const encode = (f: ReturnType<typeof fixture>) => encodeKeyframeMap(f.seek, f.dir, (track) => f.keys[track] as EntryKeys);

function failure(run: () => unknown): H4mkError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(H4mkError);
    return error as H4mkError;
  }
  throw new Error('expected an H4mkError, none was thrown');
}

// Audio: evenly spaced (coding 0); data: uneven (coding 1), 11 blocks in all (the v2-keys vector's shape).
const shape = () =>
  fixture(11, [
    { positions: [1, 3, 6, 7, 9], pts: [0, 960, 1920, 2880, 3840] },
    { positions: [2, 4, 8, 10], pts: [0, 3, 40, 80] },
  ]);

describe('§6.6 KEYS', () => {
  it('writes coding 0 for evenly spaced pts and coding 1 with the deltas otherwise, bitmaps LSB first', () => {
    expect(Buffer.from(encode(shape())).toString('hex')).toBe('00ca02' + '0114050325');
  });

  it('decodes what it writes; lookups equal a scan of the keyframes, ties to the last in file order', () => {
    const rng = new Rng(7);
    for (let round = 0; round < 300; round++) {
      const blocks = rng.int(3, 200);
      const tracks = [0, 1].map(() => {
        const k = rng.int(3, blocks);
        const positions = [...Array(blocks).keys()]
          .sort(() => rng.float() - 0.5)
          .slice(0, k)
          .sort((a, b) => a - b);
        const even = rng.bool();
        const step = rng.int(0, 3000);
        let pts = rng.int(-1e6, 1e6);
        const list = positions.map((_, j) => (even ? pts + j * step : (pts += j === 0 ? 0 : rng.pick([0, 0, 1, 17, 1024, 90000]))));
        return { positions, pts: list };
      });
      const f = fixture(blocks, tracks);
      const map = KeyframeMap.decode(encode(f), 0, f.seek, f.dir);
      tracks.forEach((t, n) => {
        const got = map.keys(n, 0);
        expect(Array.from(got.positions)).toEqual(t.positions);
        expect(Array.from(got.pts)).toEqual(t.pts);
        const lo = t.pts[0] as number;
        const hi = t.pts.at(-1) as number;
        for (let q = 0; q < 20; q++) {
          const ticks = rng.bool(0.3) ? rng.pick(t.pts) : rng.int(lo, hi);
          let j = 0;
          t.pts.forEach((p, i) => {
            if (p <= ticks) j = i;
          });
          expect(map.keyAtOrBefore(n, 0, ticks), `round ${round} track ${n} at ${ticks}`).toEqual({ position: t.positions[j], pts: t.pts[j] });
        }
      });
    }
  });

  it('needs no record for entries with fewer than three keyframes, and no map when none has three', () => {
    const f = fixture(4, [{ positions: [0, 2], pts: [0, 10] }]);
    expect(needsKeyframeMap(f.seek)).toBe(false);
    expect(encode(f).length).toBe(0);
    expect(needsKeyframeMap(shape().seek)).toBe(true);
  });

  const broken: [string, (bytes: Uint8Array) => Uint8Array, string, number][] = [
    ['coding 2', (b) => b.fill(2, 0, 1), 'E_FORMAT', 100],
    ['a keyframe bit too many', (b) => b.fill(0xcb, 1, 2), 'E_FORMAT', 101],
    ['the first keyframe moved', (b) => b.fill(0xcc, 1, 2).fill(0x02, 2, 3), 'E_FORMAT', 101],
    ['a padding bit set (position 11 of 11)', (b) => b.fill(0x0a, 2, 3), 'E_FORMAT', 102],
    ['coding 1 where coding 0 applies', (b) => Uint8Array.of(1, 0xca, 0x02, 0xc0, 0x07, 0xc0, 0x07, 0xc0, 0x07, ...b.subarray(3)), 'E_FORMAT', 100],
    ['coding 0 where the span does not divide', (b) => Uint8Array.of(...b.subarray(0, 3), 0, 0x14, 0x05), 'E_FORMAT', 103],
    ['pts past the last keyframe', (b) => Uint8Array.of(...b.subarray(0, 6), 0x03, 0x7f), 'E_FORMAT', 106],
    ['a byte after the last record', (b) => Uint8Array.of(...b, 0), 'E_FORMAT', 108],
    ['cut inside a bitmap', (b) => b.subarray(0, 5), 'E_TRUNCATED', 105],
    ['cut inside a varint', (b) => Uint8Array.of(...b.subarray(0, 7), 0x80), 'E_TRUNCATED', 108],
  ];
  for (const [name, edit, code, offset] of broken) {
    it(`rejects ${name}: ${code} at its byte`, () => {
      const f = shape();
      const e = failure(() => KeyframeMap.decode(edit(encode(f).slice()), 100, f.seek, f.dir));
      expect([e.code, e.chunk]).toEqual([code, 'KEYS']);
      expect(e.offset, e.message).toBe(offset);
    });
  }
});

describe('§5.10 KEYP', () => {
  const digest = new Uint8Array(32).fill(7);

  it('is 48 bytes: keys_offset, keys_length, then the digest', () => {
    const bytes = encodeKeyframeMapRef({ offset: 300, length: 8, digest });
    expect(bytes.length).toBe(48);
    expect(Buffer.from(bytes.subarray(0, 16)).toString('hex')).toBe('2c010000000000000800000000000000');
    expect(decodeKeyframeMapRef(bytes, 0, DEFAULT_LIMITS)).toEqual({ offset: 300, length: 8, digest });
  });

  it('is E_FORMAT in a version 1 index, and where no seek entry has three keyframes', async () => {
    for (const [version, sample] of [
      [1, makeSample({ seed: 5, gops: 2 })],
      [2, makeSample({ seed: 5, gops: 2, audioFrames: 0, controlEvents: 0 })],
    ] as const) {
      const reader = await openBytes(await writeSample(sample, { formatVersion: version }));
      const index = reader.index;
      expect(index.keys).toBeNull();
      const region = encodeIndexRegion({ ...index, chainHead: index.integrity.chainHead, keys: { offset: 0, length: 8, digest } }, sha256);
      const e = failure(() => decodeIndexRegion(region, 0, DEFAULT_LIMITS, sha256, version));
      expect([e.code, e.chunk], e.message).toEqual(['E_FORMAT', 'KEYP']);
    }
  });

  it('rejects a short or long payload, keys_length 0 and keys_length above max_index_length', () => {
    const good = encodeKeyframeMapRef({ offset: 0, length: 8, digest });
    expect(failure(() => decodeKeyframeMapRef(good.subarray(0, 47), 50, DEFAULT_LIMITS)).code).toBe('E_TRUNCATED');
    expect(failure(() => decodeKeyframeMapRef(Uint8Array.of(...good, 0), 50, DEFAULT_LIMITS)).code).toBe('E_FORMAT');
    expect(failure(() => decodeKeyframeMapRef(encodeKeyframeMapRef({ offset: 0, length: 0, digest }), 50, DEFAULT_LIMITS)).code).toBe('E_FORMAT');
    const huge = failure(() =>
      decodeKeyframeMapRef(encodeKeyframeMapRef({ offset: 0, length: DEFAULT_LIMITS.maxIndexLength + 1, digest }), 50, DEFAULT_LIMITS),
    );
    expect([huge.code, huge.chunk, huge.offset]).toEqual(['E_LIMIT', 'KEYP', 58]);
  });
});

describe('reading KEYS (§6.6): type, then declared length, then CRC and digest', () => {
  it('another type is E_FORMAT; a longer declared length E_TRUNCATED, a shorter E_FORMAT, whatever the CRC', async () => {
    const bytes = await writeSample(makeSample({ seed: 9, gops: 3 }), {});
    const layout = layoutOf(bytes);
    const keys = layout.keys as NonNullable<typeof layout.keys>;
    const cases: [string, (b: Uint8Array) => void, string][] = [
      ['type KEYZ', (b) => b.set([0x5a], keys.start + 3), 'E_FORMAT'],
      ['length + 1', (b) => new DataView(b.buffer).setUint32(keys.start + 4, keys.length + 1, true), 'E_TRUNCATED'],
      ['length − 1', (b) => new DataView(b.buffer).setUint32(keys.start + 4, keys.length - 1, true), 'E_FORMAT'],
    ];
    for (const [name, edit, code] of cases) {
      const b = bytes.slice();
      edit(b);
      const reader = await openBytes(b);
      const e = await reader.keyframeMap().then(
        () => null,
        (error: unknown) => error,
      );
      expect(e, name).toBeInstanceOf(H4mkError);
      expect([(e as H4mkError).code, (e as H4mkError).chunk], name).toEqual([code, 'KEYS']);
      expect(
        (await reader.verify()).failures.map((f) => [f.code, f.chunk]),
        name,
      ).toEqual([[code, 'KEYS']]);
    }
  });
});

describe('where the writer puts KEYS (§5.10), and optimize keeps it', () => {
  const sample = makeSample({ seed: 14, gops: 8 });

  /** Seeks on every track at 60 times: the same answers from `a` as from `b`. */
  async function sameSeeks(a: Awaited<ReturnType<typeof openBytes>>, b: Awaited<ReturnType<typeof openBytes>>): Promise<void> {
    const end = Math.max(...a.tracks().map((t) => t.lastPtsUs ?? 0));
    for (const t of a.tracks()) {
      for (let k = 0; k <= 60; k++) {
        const at = Math.floor((end * k) / 60);
        expect((await a.seek(t.number, at))?.coreIndex, `${t.id} at ${at}`).toBe((await b.seek(t.number, at))?.coreIndex);
      }
    }
  }

  for (const [name, options] of [
    ["one record per segment: in the last segment's gap", {}],
    ['runs of records (§5.5): inside the last segment', { indexBudget: 900 }],
    ['a live file: in the last gap, after a checkpoint', { live: { checkpointBlocks: 16, checkpointMs: 60_000 } }],
  ] as const) {
    it(`${name}; optimize to both layouts moves it with the last segment`, async () => {
      const bytes = await writeSample(sample, options);
      const reader = await openBytes(bytes);
      const dir = reader.index.segments;
      const keys = reader.index.keys as NonNullable<typeof reader.index.keys>;
      expect(keys).not.toBeNull();
      const last = dir.count - 1;
      const lastStart = dir.offset[last] as number;
      const previousEnd = last === 0 ? 0 : (dir.offset[last - 1] as number) + (dir.length[last - 1] as number);
      expect(dir.recordsPerSegment > 1).toBe('indexBudget' in options);
      if (dir.recordsPerSegment > 1) expect(keys.offset).toBeGreaterThan(lastStart);
      else {
        expect(keys.offset).toBeGreaterThanOrEqual(previousEnd);
        expect(keys.offset + 12 + keys.length).toBe(lastStart);
      }
      if ('live' in options) expect(keys.offset).toBeGreaterThan(previousEnd);
      expect((await reader.verify()).failures).toEqual([]);
      for (const layout of ['tail', 'faststart'] as const) {
        const sink = new MemorySink();
        const summary = await optimizeContainer(reader, sink, { layout });
        const optimized = await openBytes(sink.bytes());
        expect(optimized.index.keys?.length, layout).toBe(keys.length);
        expect(optimized.index.keys?.digest).toEqual(keys.digest);
        expect((await optimized.verify()).failures, layout).toEqual([]);
        expect(summary.droppedGapBytes > 0).toBe('live' in options);
        await sameSeeks(optimized, reader);
      }
    });
  }
});
