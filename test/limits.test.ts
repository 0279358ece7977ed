/**
 * §9 Limits: declared lengths at the limit are accepted, one over is E_LIMIT,
 * both in the reader (lowered limits) and the writer. Decompression bombs:
 * original_length is a hard cap.
 */
import { deflateRawSync, brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressPayload } from '../src/compress/codec.js';
import { buildH4mkTracks, type Compression, compressionId, crc32c, getCodec, H4mkError, H4mkWriter, MemorySink } from '../src/node.js';
import { caught, openBytes } from './helpers.js';
import { type ChunkPosition, layoutOf, reseal } from './fuzz-engine.mjs';

const data = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

async function expectLimit(promise: Promise<unknown> | (() => unknown), what: RegExp): Promise<H4mkError> {
  const error = await caught(typeof promise === 'function' ? promise : () => promise);
  expect(error).toBeInstanceOf(H4mkError);
  expect((error as H4mkError).code).toBe('E_LIMIT');
  expect(String(error)).toMatch(what);
  expect(Number.isSafeInteger((error as H4mkError).offset)).toBe(true);
  return error as H4mkError;
}

describe('reader limits: exact is accepted, one less is E_LIMIT', () => {
  it('maxIndexLength', async () => {
    for (const layout of ['tail', 'faststart'] as const) {
      const bytes = await buildH4mkTracks(
        [{ id: 'x', kind: 'data' }],
        [{ track: 'x', pts: 0, keyframe: true, payload: data(10) }],
        { pad: 'p'.repeat(500) },
        undefined,
        { layout },
      );
      const reader = await openBytes(bytes);
      const n = reader.indexLength;
      expect(n).toBeGreaterThan(500);
      await expect(openBytes(bytes, { limits: { maxIndexLength: n } })).resolves.toBeDefined();
      await expectLimit(openBytes(bytes, { limits: { maxIndexLength: n - 1 } }), /index of \d+ bytes exceeds the limit/);
    }
  });

  it('maxBlockLength, for the original and the stored length', async () => {
    const bytes = await buildH4mkTracks(
      [{ id: 'x', kind: 'data' }],
      [
        { track: 'x', pts: 0, keyframe: true, payload: data(1000) },
        { track: 'x', pts: 1, keyframe: true, payload: new Uint8Array(1000).map((_, i) => (i * 7919) % 251) },
      ],
    );
    const exact = await openBytes(bytes, { limits: { maxBlockLength: 1000 } });
    expect((await exact.readBlock(0)).payload.length).toBe(1000);
    expect((await exact.verify()).ok).toBe(true);
    const lower = await openBytes(bytes, { limits: { maxBlockLength: 999 } });
    const error = await expectLimit(() => lower.readBlock(1), /length 1000 exceeds the limit/);
    expect(error.coreIndex).toBe(0); // the segment table is checked as a whole: its first entry over the limit
    const report = await lower.verify();
    expect(report.ok).toBe(false);
    expect(report.failures[0]?.code).toBe('E_LIMIT');
  });

  it('maxTracks, maxSegmentBlocks, maxBlocks and maxJsonLength', async () => {
    const meta = { note: 'm'.repeat(100) };
    const metaLength = JSON.stringify(meta).length;
    const tracks = [
      { id: 'a', kind: 'video' as const },
      { id: 'b', kind: 'audio' as const },
      { id: 'c', kind: 'control' as const },
    ];
    const blocks = [];
    for (let i = 0; i < 24; i++) blocks.push({ track: tracks[i % 3]?.id as string, pts: i, keyframe: true, payload: data(5) });
    const bytes = await buildH4mkTracks(tracks, blocks, meta, undefined, { segment: { maxBlocks: 8, splitAtKeyframes: false } });
    const reader = await openBytes(bytes, { limits: { maxTracks: 3, maxSegmentBlocks: 8, maxBlocks: 24, maxJsonLength: metaLength } });
    expect(reader.segmentCount).toBe(3);
    expect((await reader.verify()).ok).toBe(true);
    await expectLimit(openBytes(bytes, { limits: { maxTracks: 2 } }), /3 tracks exceed the limit of 2/);
    await expectLimit(openBytes(bytes, { limits: { maxSegmentBlocks: 7 } }), /segment block count 8 outside 1\.\.7/);
    await expectLimit(openBytes(bytes, { limits: { maxBlocks: 23 } }), /exceeds the limits/);
    await expectLimit(openBytes(bytes, { limits: { maxJsonLength: metaLength - 1 } }), /META exceeds the limit/);
  });

  it('limits given as undefined keep their defaults; invalid limits are RangeErrors', async () => {
    const tracks = Array.from({ length: 3 }, (_, i) => ({ id: `t${i}`, kind: 'data' as const }));
    const bytes = await buildH4mkTracks(tracks, []);
    // undefined must not switch a limit off.
    const reader = await openBytes(bytes, { limits: { maxTracks: undefined, maxIndexLength: undefined } });
    expect(reader.limits.maxTracks).toBe(1024);
    expect(reader.limits.maxIndexLength).toBe(64 * 1024 * 1024);
    for (const bad of [Number.NaN, -1, 1.5, Infinity]) {
      expect(await caught(() => openBytes(bytes, { limits: { maxTracks: bad } }))).toBeInstanceOf(RangeError);
      expect(await caught(() => H4mkWriter.create(new MemorySink(), { limits: { maxBlockLength: bad } }))).toBeInstanceOf(RangeError);
    }
  });
});

describe('writer limits', () => {
  it('maxBlockLength exact vs +1, maxTracks, segment blocks over maxSegmentBlocks', async () => {
    const writer = await H4mkWriter.create(new MemorySink(), { limits: { maxBlockLength: 100, maxTracks: 2 } });
    writer.addTrack({ id: 'a', kind: 'data' });
    writer.addTrack({ id: 'b', kind: 'data' });
    expect(await caught(() => writer.addTrack({ id: 'c', kind: 'data' }))).toBeInstanceOf(RangeError);
    await writer.writeBlock({ track: 'a', pts: 0, keyframe: true, payload: data(100) });
    const error = await caught(() => writer.writeBlock({ track: 'a', pts: 1, keyframe: true, payload: data(101) }));
    expect(error).toBeInstanceOf(RangeError);
    expect(String(error)).toMatch(/101 bytes exceeds maxBlockLength/);
    await writer.finish();
    expect(await caught(() => H4mkWriter.create(new MemorySink(), { segment: { maxBlocks: 10 }, limits: { maxSegmentBlocks: 9 } }))).toBeInstanceOf(RangeError);
  });
});

describe('decompression bombs: original_length is a hard cap', () => {
  const BOMB = 64 * 1024 * 1024;
  const CAP = 1024;
  const zeros = new Uint8Array(BOMB);
  const bombs: Record<Exclude<Compression, 'none'>, Uint8Array> = {
    deflate: deflateRawSync(zeros, { level: 1 }),
    brotli: brotliCompressSync(zeros, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } }),
    zstd: getCodec('zstd').compress(zeros),
  };

  for (const [name, stored] of Object.entries(bombs) as [Exclude<Compression, 'none'>, Uint8Array][]) {
    it(`${name}: 64 MiB of zeros declared as 1 KiB is E_DECOMPRESS, without inflating it`, () => {
      expect(stored.length).toBeLessThan(1024 * 1024);
      const before = process.memoryUsage().arrayBuffers;
      const started = performance.now();
      const error = (() => {
        try {
          decompressPayload(stored, compressionId(name), CAP, 42);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      const grew = process.memoryUsage().arrayBuffers - before;
      expect(error).toBeInstanceOf(H4mkError);
      expect((error as H4mkError).code).toBe('E_DECOMPRESS');
      expect((error as H4mkError).coreIndex).toBe(42);
      // Inflating the bomb would have allocated (and kept until GC) tens of MiB.
      expect(grew).toBeLessThan(8 * 1024 * 1024);
      expect(performance.now() - started).toBeLessThan(2000);
    });
  }

  it('decompressed length must equal original_length exactly, for every codec', () => {
    const original = new Uint8Array(5000).map((_, i) => i % 13);
    for (const name of ['none', 'deflate', 'brotli', 'zstd'] as const) {
      const stored = getCodec(name).compress(original);
      const id = compressionId(name);
      expect(Buffer.from(decompressPayload(stored, id, original.length, 0)).equals(Buffer.from(original))).toBe(true);
      for (const declared of [original.length - 1, original.length + 1, 0]) {
        let error: unknown;
        try {
          decompressPayload(stored, id, declared, 3);
        } catch (e) {
          error = e;
        }
        expect(error, `${name} declared ${declared}`).toBeInstanceOf(H4mkError);
        expect((error as H4mkError).code).toBe('E_DECOMPRESS');
        expect((error as H4mkError).coreIndex).toBe(3);
      }
    }
    let error: unknown;
    try {
      decompressPayload(new Uint8Array(4), 9, 4, 1);
    } catch (e) {
      error = e;
    }
    expect((error as H4mkError).code).toBe('E_UNSUPPORTED');
    // Garbage is E_DECOMPRESS, not a codec's own exception.
    for (const name of ['deflate', 'brotli', 'zstd'] as const) {
      try {
        decompressPayload(Uint8Array.of(0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9), compressionId(name), 100, 2);
        expect.unreachable(`${name} accepted garbage`);
      } catch (e) {
        expect(e).toBeInstanceOf(H4mkError);
        expect((e as H4mkError).code).toBe('E_DECOMPRESS');
      }
    }
  });

  /**
   * A real container whose block declares a smaller original_length than its
   * compressed payload expands to: CORE header and BIDX entry patched, SEEK's
   * byte total patched, then every CRC and digest recomputed, so only the cap
   * stands between the reader and the bomb.
   */
  async function patchedContainer(name: Compression, declared: number): Promise<Uint8Array> {
    const bytes = await buildH4mkTracks(
      [{ id: 'x', kind: 'data', compression: name }],
      [{ track: 'x', pts: 0, keyframe: true, payload: new Uint8Array(1 << 20) }],
      {},
      undefined,
      { formatVersion: 1 }, // CORE and BIDX are patched below (v2: test/format-v2.test.ts)
    );
    const layout = layoutOf(bytes);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const core = layout.dataChunks.find((c) => c.type === 'CORE') as ChunkPosition;
    const bidx = layout.dataChunks.find((c) => c.type === 'BIDX') as ChunkPosition;
    const seek = layout.indexChunks.find((c) => c.type === 'SEEK') as ChunkPosition;
    view.setUint32(core.payloadStart + 32, declared, true); // CORE original_length
    view.setUint32(bidx.payloadStart + 16 + 32, declared, true); // BIDX entry 0 original_length
    view.setUint32(seek.payloadStart + 4 + 32, declared, true); // SEEK track 0 original_bytes (low half)
    reseal(bytes, layout, crc32c);
    return bytes;
  }

  for (const name of ['deflate', 'brotli', 'zstd'] as const) {
    it(`${name}: in a container, a block expanding past original_length is E_DECOMPRESS naming it`, async () => {
      const reader = await openBytes(await patchedContainer(name, 1000));
      expect(reader.tracks()[0]?.originalBytes).toBe(1000);
      const info = await reader.blockInfo(0);
      expect(info.compression).toBe(name);
      expect(info.originalLength).toBe(1000);
      const error = await caught(() => reader.readBlock(0));
      expect(error).toBeInstanceOf(H4mkError);
      expect((error as H4mkError).code).toBe('E_DECOMPRESS');
      expect((error as H4mkError).coreIndex).toBe(0);
      // The stored bytes are intact: raw reads still work.
      expect((await reader.readBlock(0, { decompress: false })).payload.length).toBe(info.storedLength);
      const report = await reader.verify();
      expect(report.failures.map((f) => [f.code, f.coreIndex])).toEqual([['E_DECOMPRESS', 0]]);

      // A declared length past maxBlockLength is refused before any allocation.
      const huge = await openBytes(await patchedContainer(name, 0xffff_ffff));
      await expectLimit(() => huge.readBlock(0), /original length 4294967295 exceeds the limit/);
    });
  }
});
