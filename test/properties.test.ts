/**
 * fast-check properties of the format codec pieces: round trips, canonical
 * encodings (serialize(parse(b)) == b, also for mutated b that still parses),
 * damage detection, and exact time conversions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cPortable, H4mkError } from '../src/node.js';
import { Cursor, ByteWriter } from '../src/format/bytes.js';
import { decodeChunk, encodeChunk } from '../src/format/chunk.js';
import {
  BIDX_ENTRY_LENGTH,
  BIDX_HEADER_LENGTH,
  BLOCK_HEADER_LENGTH,
  CHUNK_OVERHEAD,
  DEFAULT_LIMITS,
  DIGEST_LENGTH,
  MAX_TIMESTAMP,
} from '../src/format/constants.js';
import { createTrackSeekTable, decodeSeekTables, encodeSeekTables, type TrackSeekTable } from '../src/format/seek-table.js';
import { decodeSegmentDirectory, encodeSegmentDirectory, minimalSegmentLength, type SegmentDirectory } from '../src/format/segment-directory.js';
import { createSegmentTable, decodeSegmentTable, encodeSegmentTable, type SegmentTable } from '../src/format/segment-table.js';
import { lastTickAtOrBeforeUs, ticksToUs, usToTicksExact, usToTicksFloor } from '../src/format/time.js';
import { MAX_VARINT, readVarint, unzigzag, varintLength, writeVarint, zigzag } from '../src/format/varint.js';

const RUNS = { numRuns: 2000 };
const MAX_ZIGZAG = 2 ** 52 - 1;

/** Runs `decode`; returns its result, or undefined when it threw an H4mkError (anything else propagates). */
function typed<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (error instanceof H4mkError) return undefined;
    throw error;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** Mutations of encoded bytes: a byte xor, set, or a u32 overwrite. */
const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('xor', 'set', 'u32'),
  value: fc.integer({ min: 0, max: 0xffff_ffff }),
});
function applyMutation(bytes: Uint8Array, m: { at: number; kind: string; value: number }): Uint8Array {
  const out = bytes.slice();
  if (out.length === 0) return out;
  const at = m.at % out.length;
  if (m.kind === 'xor') out[at] = (out[at] as number) ^ (m.value & 0xff || 1);
  else if (m.kind === 'set') out[at] = m.value & 0xff;
  else for (let i = 0; i < 4 && at + i < out.length; i++) out[at + i] = (m.value >>> (8 * i)) & 0xff;
  return out;
}

describe('varint (§2.2)', () => {
  it('round trips every safe non-negative integer with its minimal length', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeNat(), fc.nat(1 << 20), fc.constantFrom(0, 127, 128, 16383, 16384, 2 ** 49 - 1, 2 ** 49, MAX_VARINT)), (v) => {
        const buf = new Uint8Array(10);
        const end = writeVarint(buf, 1, v);
        expect(end - 1).toBe(varintLength(v));
        expect(end - 1).toBeLessThanOrEqual(8);
        expect(readVarint(buf, 1, end)).toEqual([v, end]);
        // Minimal: the last byte is zero only for the one-byte encoding of 0.
        if (end - 1 > 1) expect(buf[end - 1]).not.toBe(0);
        // The ByteWriter encoding is the same bytes.
        expect(equalBytes(new ByteWriter().varint(v).finish(), buf.subarray(1, end))).toBe(true);
        // Truncated: E_TRUNCATED.
        expect(() => readVarint(buf, 1, end - 1)).toThrow(H4mkError);
      }),
      RUNS,
    );
  });

  it('rejects non-minimal encodings', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 49 - 1 }), fc.integer({ min: 1, max: 2 }), (v, padding) => {
        const buf = new Uint8Array(12);
        let end = writeVarint(buf, 0, v);
        // Re-encode with `padding` redundant zero groups: same value, longer.
        for (let i = 0; i < padding; i++) {
          buf[end - 1] = (buf[end - 1] as number) | 0x80;
          buf[end++] = 0;
        }
        if (end > 8) return;
        const error = typed(() => readVarint(buf, 0, end));
        expect(error).toBeUndefined();
        try {
          readVarint(buf, 0, end);
        } catch (e) {
          expect((e as H4mkError).code).toBe('E_FORMAT');
        }
      }),
      RUNS,
    );
  });

  it('rejects values over 2^53 − 1 and encodings over 8 bytes', () => {
    // 2^53 = 0x20000000000000: 8 bytes of which the last is 0x10.
    const big = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10);
    expect(() => readVarint(big, 0, 8)).toThrow(/exceeds 2\^53 - 1/);
    expect(() => readVarint(new Uint8Array(9).fill(0x81), 0, 9)).toThrow(/longer than 8 bytes/);
    expect(() => writeVarint(new Uint8Array(10), 0, 2 ** 53)).toThrow(RangeError);
    expect(() => writeVarint(new Uint8Array(10), 0, -1)).toThrow(RangeError);
  });

  it('canonical: any bytes that parse re-encode to themselves', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 10 }), (bytes) => {
        const r = typed(() => readVarint(bytes, 0, bytes.length));
        if (r === undefined) return;
        const [v, next] = r;
        const out = new Uint8Array(10);
        expect(equalBytes(out.subarray(0, writeVarint(out, 0, v)), bytes.subarray(0, next))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('zigzag (§2.2)', () => {
  it('is a bijection on ±(2^52 − 1) ordered 0, −1, 1, −2, …', () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX_ZIGZAG, max: MAX_ZIGZAG }), (n) => {
        const z = zigzag(n);
        expect(Number.isSafeInteger(z)).toBe(true);
        expect(z).toBeGreaterThanOrEqual(0);
        expect(z).toBe(n >= 0 ? 2 * n : -2 * n - 1);
        expect(unzigzag(z)).toBe(n);
      }),
      RUNS,
    );
    expect([0, -1, 1, -2, 2].map(zigzag)).toEqual([0, 1, 2, 3, 4]);
  });

  it('any difference of two timestamps within ±(2^51 − 1) zig-zags to a valid varint', () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }), fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }), (a, b) => {
        const z = zigzag(a - b);
        expect(z).toBeLessThanOrEqual(MAX_VARINT);
        const buf = new Uint8Array(10);
        expect(unzigzag(readVarint(buf, 0, writeVarint(buf, 0, z))[0])).toBe(a - b);
      }),
      RUNS,
    );
  });
});

describe('64-bit fields (§2.1)', () => {
  it('u64 and i64 accept exactly 0…2^53 − 1 and ±(2^53 − 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (v) => {
        const bytes = new ByteWriter().i64(v).finish();
        expect(new Cursor(bytes).i64()).toBe(v);
        if (v >= 0) expect(new Cursor(bytes).u64()).toBe(v);
      }),
      RUNS,
    );
    const raw = (lo: number, hi: number) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setUint32(0, lo, true);
      new DataView(b.buffer).setUint32(4, hi, true);
      return b;
    };
    // 2^53 and −2^53 (hi = ∓2^21, lo = 0) are one past the range.
    expect(() => new Cursor(raw(0, 0x20_0000)).u64()).toThrow(H4mkError);
    expect(() => new Cursor(raw(0, 0x20_0000)).i64()).toThrow(H4mkError);
    expect(() => new Cursor(raw(0, 0xffe0_0000)).i64()).toThrow(H4mkError);
    expect(new Cursor(raw(1, 0xffe0_0000)).i64()).toBe(-Number.MAX_SAFE_INTEGER);
    expect(new Cursor(raw(0xffff_ffff, 0x1f_ffff)).u64()).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('CRC-32C (§2.3)', () => {
  it('matches the check value', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32c(check)).toBe(0xe3069283);
    expect(crc32cPortable(check)).toBe(0xe3069283);
  });

  it('the installed implementation equals the portable one, on misaligned views and continued', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(), fc.nat(), (bytes, shift, split, previous) => {
        const buf = new Uint8Array(bytes.length + shift);
        buf.set(bytes, shift);
        const view = buf.subarray(shift);
        const whole = crc32cPortable(bytes);
        expect(crc32c(view)).toBe(whole);
        const cut = bytes.length === 0 ? 0 : split % (bytes.length + 1);
        expect(crc32c(view.subarray(cut), crc32c(view.subarray(0, cut)))).toBe(whole);
        expect(crc32cPortable(bytes.subarray(cut), crc32cPortable(bytes.subarray(0, cut)))).toBe(whole);
        const p = previous >>> 0;
        expect(crc32c(view, p)).toBe(crc32cPortable(bytes, p));
      }),
      RUNS,
    );
  });
});

describe('chunk framing (§4)', () => {
  const chunkType = fc.stringMatching(/^[A-Z0-9 ]{4}$/);

  it('round trips at any offset in a larger buffer', () => {
    fc.assert(
      fc.property(chunkType, fc.uint8Array({ maxLength: 2000 }), fc.nat(9), fc.nat(9), (type, payload, before, after) => {
        const chunk = encodeChunk(type, payload);
        expect(chunk.length).toBe(CHUNK_OVERHEAD + payload.length);
        const buf = new Uint8Array(before + chunk.length + after).fill(0xaa);
        buf.set(chunk, before);
        const c = decodeChunk(buf, before, { base: 1000, expect: type });
        expect(c.type).toBe(type);
        expect(c.start).toBe(before);
        expect(c.end).toBe(before + chunk.length);
        expect(equalBytes(c.payload, payload)).toBe(true);
      }),
      RUNS,
    );
  });

  it('every single-bit flip is detected, with a typed error', () => {
    fc.assert(
      fc.property(chunkType, fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(7), (type, payload, at, bit) => {
        const chunk = encodeChunk(type, payload);
        const i = at % chunk.length;
        chunk[i] = (chunk[i] as number) ^ (1 << bit);
        let error: unknown;
        try {
          decodeChunk(chunk, 0, { base: 50 });
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(H4mkError);
        expect(['E_CHECKSUM', 'E_FORMAT', 'E_TRUNCATED']).toContain((error as H4mkError).code);
        expect((error as H4mkError).offset).toBeGreaterThanOrEqual(50);
      }),
      { numRuns: 5000 },
    );
  });

  it('truncation and oversize declared lengths are typed errors', () => {
    fc.assert(
      fc.property(chunkType, fc.uint8Array({ maxLength: 300 }), fc.nat(), (type, payload, cut) => {
        const chunk = encodeChunk(type, payload);
        const n = cut % chunk.length;
        expect(() => decodeChunk(chunk.subarray(0, n), 0)).toThrow(H4mkError);
        expect(() => decodeChunk(chunk, 0, { limit: n })).toThrow(H4mkError);
        if (payload.length > 0) {
          let error: unknown;
          try {
            decodeChunk(chunk, 0, { maxPayload: payload.length - 1 });
          } catch (e) {
            error = e;
          }
          expect((error as H4mkError).code).toBe('E_LIMIT');
        }
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------- BIDX

const LIMITS = { ...DEFAULT_LIMITS };

const segmentTableArb = fc
  .record({
    firstCoreIndex: fc.integer({ min: 0, max: 2 ** 40 }),
    entries: fc.array(
      fc.record({
        storedLength: fc.nat(100_000),
        trackNumber: fc.nat(0xffff),
        flags: fc.nat(0x1f),
        compression: fc.nat(3),
        duration: fc.nat(0xffff_ffff),
        pts: fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }),
        dts: fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }),
        originalLength: fc.nat(DEFAULT_LIMITS.maxBlockLength),
        digest: fc.uint8Array({ minLength: DIGEST_LENGTH, maxLength: DIGEST_LENGTH }),
      }),
      { minLength: 1, maxLength: 40 },
    ),
  })
  .map(({ firstCoreIndex, entries }) => {
    const t = createSegmentTable(firstCoreIndex, entries.length);
    t.count = entries.length;
    let offset = 0;
    entries.forEach((e, i) => {
      t.chunkOffset[i] = offset;
      offset += CHUNK_OVERHEAD + BLOCK_HEADER_LENGTH + e.storedLength;
      t.storedLength[i] = e.storedLength;
      t.trackNumber[i] = e.trackNumber;
      t.flags[i] = e.flags;
      t.compression[i] = e.compression;
      t.duration[i] = e.duration;
      t.pts[i] = e.pts;
      t.dts[i] = e.dts;
      t.originalLength[i] = e.originalLength;
      t.digests.set(e.digest, i * DIGEST_LENGTH);
    });
    return t;
  });

function segmentTableFields(t: SegmentTable) {
  const n = t.count;
  return {
    firstCoreIndex: t.firstCoreIndex,
    count: n,
    chunkOffset: Array.from(t.chunkOffset.subarray(0, n)),
    storedLength: Array.from(t.storedLength.subarray(0, n)),
    trackNumber: Array.from(t.trackNumber.subarray(0, n)),
    flags: Array.from(t.flags.subarray(0, n)),
    compression: Array.from(t.compression.subarray(0, n)),
    duration: Array.from(t.duration.subarray(0, n)),
    pts: Array.from(t.pts.subarray(0, n)),
    dts: Array.from(t.dts.subarray(0, n)),
    originalLength: Array.from(t.originalLength.subarray(0, n)),
    digests: Array.from(t.digests.subarray(0, n * DIGEST_LENGTH)),
  };
}

describe('segment table, BIDX (§6.2)', () => {
  it('round trips, and serialize(parse(b)) == b', () => {
    fc.assert(
      fc.property(segmentTableArb, (t) => {
        const bytes = encodeSegmentTable(t);
        expect(bytes.length).toBe(BIDX_HEADER_LENGTH + t.count * BIDX_ENTRY_LENGTH);
        const back = decodeSegmentTable(bytes, 0, LIMITS);
        expect(segmentTableFields(back)).toEqual(segmentTableFields(t));
        expect(equalBytes(encodeSegmentTable(back), bytes)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a mutated table either fails typed or is canonical', () => {
    fc.assert(
      fc.property(segmentTableArb, mutation, (t, m) => {
        const bytes = applyMutation(encodeSegmentTable(t), m);
        const back = typed(() => decodeSegmentTable(bytes, 0, LIMITS));
        if (back !== undefined) expect(equalBytes(encodeSegmentTable(back), bytes)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

// ---------------------------------------------------------------- SEEK

type EntrySpec = { segmentDelta: number; count: number; keys: number; minPts: number; d1: number; d2: number; d3: number; p1: number; p2: number };
const entrySpec = fc.record({
  segmentDelta: fc.integer({ min: 1, max: 5 }),
  count: fc.integer({ min: 1, max: 70_000 }),
  keys: fc.nat(70_000),
  minPts: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  d1: fc.nat(2 ** 20),
  d2: fc.nat(2 ** 20),
  d3: fc.nat(2 ** 20),
  p1: fc.nat(1000),
  p2: fc.nat(1000),
});

function buildSeekTable(number: number, start: number, specs: EntrySpec[], bytes: [number, number]): TrackSeekTable {
  const t = createTrackSeekTable(number, specs.length);
  t.entryCount = specs.length;
  let segment = start;
  let lastKey = -Infinity;
  specs.forEach((s, k) => {
    segment = k === 0 ? start : segment + s.segmentDelta;
    const keys = k === 0 ? Math.max(1, Math.min(s.keys, s.count)) : Math.min(s.keys, s.count);
    t.segment[k] = segment;
    t.count[k] = s.count;
    t.keyCount[k] = keys;
    t.minPts[k] = s.minPts;
    if (keys > 0) {
      // §5.4: one keyframe is first and last (deltas 0); two or more sit at distinct positions.
      const firstKey = Math.max(s.minPts, lastKey) + s.d1;
      const lastKey_ = firstKey + (keys === 1 ? 0 : s.d2);
      t.firstKeyPts[k] = firstKey;
      t.lastKeyPts[k] = lastKey_;
      t.firstKeyPosition[k] = s.p1;
      t.lastKeyPosition[k] = s.p1 + (keys === 1 ? 0 : Math.max(1, s.p2));
      t.maxPts[k] = lastKey_ + s.d3;
      lastKey = lastKey_;
    } else {
      t.firstKeyPts[k] = Number.NaN;
      t.lastKeyPts[k] = Number.NaN;
      t.maxPts[k] = s.minPts + s.d3;
    }
    t.blockCount += s.count;
    t.keyframeCount += keys;
  });
  t.storedBytes = bytes[0];
  t.originalBytes = bytes[1];
  return t;
}

const seekTablesArb = fc
  .array(fc.record({ start: fc.nat(1000), specs: fc.array(entrySpec, { maxLength: 12 }), bytes: fc.tuple(fc.nat(2 ** 45), fc.nat(2 ** 45)) }), { maxLength: 5 })
  .map((tracks) => tracks.map((t, i) => buildSeekTable(i, t.start, t.specs, t.bytes)));

function seekFields(t: TrackSeekTable) {
  const n = t.entryCount;
  const keyed = (k: number) => (t.keyCount[k] as number) > 0;
  return {
    trackNumber: t.trackNumber,
    blockCount: t.blockCount,
    keyframeCount: t.keyframeCount,
    storedBytes: t.storedBytes,
    originalBytes: t.originalBytes,
    entries: Array.from({ length: n }, (_, k) => [
      t.segment[k],
      t.count[k],
      t.keyCount[k],
      t.minPts[k],
      t.maxPts[k],
      keyed(k) ? t.firstKeyPts[k] : null,
      keyed(k) ? t.lastKeyPts[k] : null,
      keyed(k) ? t.firstKeyPosition[k] : null,
      keyed(k) ? t.lastKeyPosition[k] : null,
    ]),
  };
}

describe('seek tables, SEEK (§5.4)', () => {
  it('round trip, and serialize(parse(b)) == b', () => {
    fc.assert(
      fc.property(seekTablesArb, (tables) => {
        const bytes = encodeSeekTables(tables);
        const back = decodeSeekTables(bytes, 0, tables.length);
        expect(back.map(seekFields)).toEqual(tables.map(seekFields));
        expect(equalBytes(encodeSeekTables(back), bytes)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('entry timestamps beyond ±(2^51 − 1) are E_LIMIT (so sums of deltas stay exact)', () => {
    const spec = (minPts: number, d3: number): EntrySpec => ({ segmentDelta: 1, count: 1, keys: 1, minPts, d1: 0, d2: 0, d3, p1: 0, p2: 0 });
    const ok = buildSeekTable(0, 0, [spec(-MAX_TIMESTAMP, 0), spec(MAX_TIMESTAMP, 0)], [0, 0]);
    expect(decodeSeekTables(encodeSeekTables([ok]), 0, 1).map(seekFields)).toEqual([seekFields(ok)]);
    for (const bad of [
      [spec(-MAX_TIMESTAMP - 1, 0)],
      [spec(0, 0), spec(MAX_TIMESTAMP + 1, 0)],
      [spec(MAX_TIMESTAMP, 1)], // max_pts = min_pts + span past the bound
      [spec(2 ** 50, 0), spec(2 ** 50 + 2 ** 51, 0)],
    ]) {
      const bytes = encodeSeekTables([buildSeekTable(0, 0, bad, [0, 0])]);
      let error: unknown;
      try {
        decodeSeekTables(bytes, 0, 1);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(bad)).toBeInstanceOf(H4mkError);
      expect((error as H4mkError).code).toBe('E_LIMIT');
    }
  });

  it('a mutated SEEK either fails typed or is canonical', () => {
    fc.assert(
      fc.property(seekTablesArb, mutation, (tables, m) => {
        const bytes = applyMutation(encodeSeekTables(tables), m);
        const back = typed(() => decodeSeekTables(bytes, 0, tables.length));
        if (back !== undefined) expect(equalBytes(encodeSeekTables(back), bytes)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});

// ---------------------------------------------------------------- SEGX

const directoryArb = fc
  .array(
    fc.record({
      gap: fc.oneof(fc.constant(0), fc.nat(10_000)),
      blocks: fc.integer({ min: 1, max: DEFAULT_LIMITS.maxSegmentBlocks }),
      extra: fc.nat(2 ** 30),
      digest: fc.uint8Array({ minLength: DIGEST_LENGTH, maxLength: DIGEST_LENGTH }),
    }),
    { maxLength: 30 },
  )
  .map((entries) => {
    const count = entries.length;
    const d: SegmentDirectory = {
      count,
      offset: new Float64Array(count),
      length: new Float64Array(count),
      blockCount: new Uint32Array(count),
      firstCoreIndex: new Float64Array(count),
      digests: new Uint8Array(count * DIGEST_LENGTH),
      totalBlocks: 0,
      end: 0,
    };
    let end = 0;
    entries.forEach((e, s) => {
      d.offset[s] = end + e.gap;
      d.length[s] = minimalSegmentLength(e.blocks) + e.extra;
      d.blockCount[s] = e.blocks;
      d.firstCoreIndex[s] = d.totalBlocks;
      d.totalBlocks += e.blocks;
      d.digests.set(e.digest, s * DIGEST_LENGTH);
      end = (d.offset[s] as number) + (d.length[s] as number);
    });
    d.end = end;
    return d;
  });

function directoryFields(d: SegmentDirectory) {
  return {
    count: d.count,
    offset: Array.from(d.offset),
    length: Array.from(d.length),
    blockCount: Array.from(d.blockCount),
    firstCoreIndex: Array.from(d.firstCoreIndex),
    digests: Array.from(d.digests),
    totalBlocks: d.totalBlocks,
    end: d.end,
  };
}

describe('segment directory, SEGX (§5.5)', () => {
  it('round trips, and serialize(parse(b)) == b', () => {
    fc.assert(
      fc.property(directoryArb, (d) => {
        const bytes = encodeSegmentDirectory(d);
        const back = decodeSegmentDirectory(bytes, 0, LIMITS);
        expect(directoryFields(back)).toEqual(directoryFields(d));
        expect(equalBytes(encodeSegmentDirectory(back), bytes)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('a mutated SEGX either fails typed or is canonical', () => {
    fc.assert(
      fc.property(directoryArb, mutation, (d, m) => {
        const bytes = applyMutation(encodeSegmentDirectory(d), m);
        const back = typed(() => decodeSegmentDirectory(bytes, 0, LIMITS));
        if (back !== undefined) expect(equalBytes(encodeSegmentDirectory(back), bytes)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});

// ---------------------------------------------------------------- time

const TIMESCALES = [90_000, 48_000, 44_100, 1_000_000, 1_000_000_000];
const timescale = fc.oneof(fc.constantFrom(...TIMESCALES), fc.integer({ min: 1, max: 0xffff_ffff }));
const ticks = fc.oneof(fc.integer({ min: -MAX_TIMESTAMP, max: MAX_TIMESTAMP }), fc.integer({ min: -1_000_000, max: 1_000_000 }));
const floorBig = (a: bigint, b: bigint) => (a >= 0n || a % b === 0n ? a / b : a / b - 1n);

describe('time conversions (§2.4)', () => {
  it('ticksToUs is floor(t · 10^6 / timescale), exactly', () => {
    fc.assert(
      fc.property(ticks, timescale, (t, ts) => {
        expect(ticksToUs(t, ts)).toBe(Number(floorBig(BigInt(t) * 1_000_000n, BigInt(ts))));
      }),
      { numRuns: 5000 },
    );
  });

  it('usToTicksFloor is floor(us · timescale / 10^6), exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 44), max: 2 ** 44 }), timescale, (us, ts) => {
        expect(usToTicksFloor(us, ts)).toBe(Number(floorBig(BigInt(us) * BigInt(ts), 1_000_000n)));
      }),
      { numRuns: 5000 },
    );
  });

  it('lastTickAtOrBeforeUs is the last tick whose µs view is ≤ us', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 44), max: 2 ** 44 }), timescale, (us, ts) => {
        const t = lastTickAtOrBeforeUs(us, ts);
        // Domain: tick counts a container can hold (results past 2^53 are not exact numbers).
        fc.pre(Math.abs(t) <= MAX_TIMESTAMP);
        expect(ticksToUs(t, ts)).toBeLessThanOrEqual(us);
        expect(ticksToUs(t + 1, ts)).toBeGreaterThan(us);
      }),
      { numRuns: 5000 },
    );
  });

  it('for timescales ≤ 10^6 the µs view is injective: ticks come back exactly (1/90000, 1/48000, 1/44100)', () => {
    fc.assert(
      fc.property(ticks, fc.constantFrom(90_000, 48_000, 44_100, 1_000_000, 25, 1), (t, ts) => {
        // Domain: µs views that are exact numbers. (|pts| near 2^51 ticks at 1/90000 s has a µs
        // view past 2^53: ticksToUs can only round it; see the report on §2.4.)
        fc.pre(Math.abs(t) * (1_000_000 / ts) < 2 ** 53 - 2);
        expect(lastTickAtOrBeforeUs(ticksToUs(t, ts), ts)).toBe(t);
        expect(ticksToUs(t + 1, ts)).toBeGreaterThan(ticksToUs(t, ts));
      }),
      { numRuns: 5000 },
    );
  });

  it('usToTicksExact accepts exactly the whole-tick microsecond values', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 44), max: 2 ** 44 }), timescale, (us, ts) => {
        const product = BigInt(us) * BigInt(ts);
        if (product % 1_000_000n === 0n) expect(usToTicksExact(us, ts, 'pts')).toBe(Number(product / 1_000_000n));
        else expect(() => usToTicksExact(us, ts, 'pts')).toThrow(RangeError);
      }),
      { numRuns: 5000 },
    );
    // 1/90000: multiples of 100 µs are whole ticks (9 ticks); 1/48000: multiples of 125 µs (6 ticks).
    expect(usToTicksExact(100, 90_000, 'pts')).toBe(9);
    expect(usToTicksExact(125, 48_000, 'pts')).toBe(6);
    expect(() => usToTicksExact(33_333, 90_000, 'pts')).toThrow(RangeError);
  });
});
