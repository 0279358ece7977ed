/**
 * Round trip of three interleaved tracks through every layout, compression
 * and sink/source pair; writer misuse; atomic file output; empty containers.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Block,
  type BlockInfo,
  buildH4mkTracks,
  FileSink,
  FileSource,
  H4mkError,
  H4mkReader,
  H4mkWriter,
  MemorySink,
  MemorySource,
  type RandomAccessSource,
  ticksToUs,
} from '../src/node.js';
import { ALL_COMPRESSIONS, ALL_LAYOUTS, caught, type ExpectedBlock, makeSample, openBytes, writeSample } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'h4mk-roundtrip-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sample = makeSample({ seed: 7, gops: 6 });
const META = { title: 'Round trip', tags: ['a', 'b'], nested: { n: 1, unicode: 'ü→✓' } };
const SAFE = { policy: 'transport_only', note: 'custom' };

function checkBlock(got: Block | BlockInfo, want: ExpectedBlock, coreIndex: number, timescale: number): void {
  expect(got.coreIndex).toBe(coreIndex);
  expect(got.trackId).toBe(want.trackId);
  expect(got.pts).toBe(want.pts);
  expect(got.dts).toBe(want.dts);
  expect(got.duration).toBe(want.duration);
  expect(got.keyframe).toBe(want.keyframe);
  expect(got.frameKind).toBe(want.frameKind);
  expect(got.ptsUs).toBe(ticksToUs(want.pts, timescale));
  expect(got.dtsUs).toBe(ticksToUs(want.dts, timescale));
  expect(got.originalLength).toBe(want.payload.length);
  if ('payload' in got) expect(Buffer.from(got.payload).equals(Buffer.from(want.payload))).toBe(true);
}

async function checkContainer(reader: H4mkReader, compression: string, layout: string): Promise<void> {
  const expected = sample.expected;
  expect(reader.layout).toBe(layout);
  expect(reader.blockCount).toBe(expected.length);
  expect(reader.segmentCount).toBeGreaterThan(3);
  expect(reader.meta).toEqual(META);
  expect(reader.safe).toEqual(SAFE);

  const tracks = reader.tracks();
  expect(tracks.map((t) => t.id)).toEqual(['video_main', 'audio_main', 'control']);
  const timescale = new Map(tracks.map((t) => [t.id, t.timescale]));
  expect(tracks.map((t) => t.timescale)).toEqual([90000, 48000, 1_000_000]);
  expect(tracks[0]?.codec).toBe('avc1.64001f');
  expect(Array.from(tracks[0]?.config ?? [])).toEqual([1, 0x64, 0, 0x1f]);
  expect(tracks[0]?.name).toBe('Main');
  expect(tracks[1]?.language).toBe('en');
  expect(tracks[1]?.extra).toEqual({ channels: 2 });
  expect(tracks.every((t) => t.compression === compression)).toBe(true);

  // readBlock, one by one.
  const stored = new Map<string, number>();
  let compressedBlocks = 0;
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i] as ExpectedBlock;
    const block = await reader.readBlock(i);
    checkBlock(block, want, i, timescale.get(want.trackId) as number);
    const raw = await reader.readBlock(i, { decompress: false });
    expect(raw.payload.length).toBe(block.storedLength);
    if (block.compression === 'none') expect(Buffer.from(raw.payload).equals(Buffer.from(want.payload))).toBe(true);
    else {
      expect(block.compression).toBe(compression);
      expect(raw.payload.length).toBeLessThan(want.payload.length);
      compressedBlocks++;
    }
    stored.set(want.trackId, (stored.get(want.trackId) ?? 0) + block.storedLength);
  }
  if (compression === 'none') expect(compressedBlocks).toBe(0);
  else expect(compressedBlocks).toBeGreaterThan(expected.length / 4);

  // range() with payloads: the same blocks, in file order.
  const ranged: Block[] = [];
  for await (const b of reader.blocks({})) ranged.push(b);
  expect(ranged.length).toBe(expected.length);
  for (const [i, b] of ranged.entries()) checkBlock(b, expected[i] as ExpectedBlock, i, timescale.get(b.trackId) as number);

  // Track statistics.
  for (const t of tracks) {
    const mine = expected.filter((b) => b.trackId === t.id);
    expect(t.blockCount).toBe(mine.length);
    expect(t.keyframeCount).toBe(mine.filter((b) => b.keyframe).length);
    expect(t.originalBytes).toBe(mine.reduce((s, b) => s + b.payload.length, 0));
    expect(t.storedBytes).toBe(stored.get(t.id));
    expect(t.firstPts).toBe(Math.min(...mine.map((b) => b.pts)));
    expect(t.lastPts).toBe(Math.max(...mine.map((b) => b.pts)));
  }

  const report = await reader.verify();
  expect(report.failures).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.blocksChecked).toBe(expected.length);
  expect(report.chainHead).toBe(reader.chainHead);
}

describe('round trip: 3 interleaved tracks, every layout × compression', () => {
  it('the sample really interleaves and reorders', () => {
    const order = sample.expected.map((b) => b.trackId);
    // Tracks alternate many times, and the video track has pts ≠ dts and pts out of file order.
    let switches = 0;
    for (let i = 1; i < order.length; i++) if (order[i] !== order[i - 1]) switches++;
    expect(switches).toBeGreaterThan(50);
    const video = sample.expected.filter((b) => b.trackId === 'video_main');
    expect(video.some((b) => b.pts !== b.dts)).toBe(true);
    expect(video.some((b, i) => i > 0 && b.pts < (video[i - 1] as ExpectedBlock).pts)).toBe(true);
    expect(new Set(video.map((b) => b.frameKind))).toEqual(new Set(['I', 'P', 'B']));
    expect(video[0]?.dts).toBeLessThan(0);
  });

  for (const layout of ALL_LAYOUTS) {
    for (const compression of ALL_COMPRESSIONS) {
      it(`${layout} / ${compression}: memory and file give the same bytes and read back identically`, async () => {
        const options = { layout, compression, meta: META, safe: SAFE };
        const bytes = await writeSample(sample, options);
        await checkContainer(await openBytes(bytes), compression, layout);

        const path = join(dir, `sample-${layout}-${compression}.h4mk`);
        const writer = await H4mkWriter.create(await FileSink.create(path), options);
        for (const t of sample.tracks) writer.addTrack(t);
        for (const b of sample.inputs) await writer.writeBlock(b);
        const summary = await writer.finish();
        const onDisk = await readFile(path);
        expect(summary.bytes).toBe(onDisk.length);
        expect(summary.blockCount).toBe(sample.expected.length);
        expect(summary.layout).toBe(layout);
        expect(Buffer.from(bytes).equals(onDisk)).toBe(true);

        const source = await FileSource.open(path);
        const reader = await H4mkReader.open(source);
        try {
          await checkContainer(reader, compression, layout);
        } finally {
          await reader.close();
        }
        // Only the container is left: no temporary or spool files.
        expect((await readdir(dir)).filter((f) => f.includes(`${layout}-${compression}`))).toEqual([`sample-${layout}-${compression}.h4mk`]);
      });
    }
  }

  it('per-block compression overrides the track default, and a track default overrides the writer', async () => {
    const bytes = await buildH4mkTracks(
      [
        { id: 'a', kind: 'data', compression: 'brotli' },
        { id: 'b', kind: 'data' },
      ],
      [
        { track: 'a', pts: 0, keyframe: true, payload: new Uint8Array(500) },
        { track: 'b', pts: 0, keyframe: true, payload: new Uint8Array(500) },
        { track: 'b', pts: 1, keyframe: true, payload: new Uint8Array(500), compression: 'deflate' },
        { track: 'a', pts: 1, keyframe: true, payload: new Uint8Array(500), compression: 'none' },
      ],
      {},
      undefined,
      { compression: 'zstd' },
    );
    const reader = await openBytes(bytes);
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await reader.readBlock(i)).compression);
    expect(got).toEqual(['brotli', 'zstd', 'deflate', 'none']);
    expect((await reader.verify()).ok).toBe(true);
  });
});

describe('META and SAFE', () => {
  it('default SAFE is {"policy":"transport_only"} and META defaults to {}', async () => {
    const bytes = await buildH4mkTracks([{ id: 'x', kind: 'data' }], [{ track: 'x', pts: 0, keyframe: true, payload: Uint8Array.of(1) }]);
    const reader = await openBytes(bytes);
    expect(reader.safe).toEqual({ policy: 'transport_only' });
    expect(reader.meta).toEqual({});
    // And SAFE is really stored as that JSON text.
    expect(Buffer.from(bytes).includes(Buffer.from('{"policy":"transport_only"}'))).toBe(true);
  });

  it('META and SAFE objects round trip', async () => {
    const meta = { a: 1, b: [true, null, 'x'], c: { d: 'é' } };
    const safe = { policy: 'custom', allow: ['x'] };
    const reader = await openBytes(await buildH4mkTracks([], [], meta, safe));
    expect(reader.meta).toEqual(meta);
    expect(reader.safe).toEqual(safe);
  });
});

describe('writer misuse', () => {
  async function fresh() {
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink);
    writer.addTrack({ id: 'v', kind: 'video', timescale: 90000 });
    writer.addTrack({ id: 'c', kind: 'control' });
    return { sink, writer };
  }
  const one = Uint8Array.of(1);

  it('rejects a first block that is not a keyframe', async () => {
    const { writer } = await fresh();
    const error = await caught(() => writer.writeBlock({ track: 'v', pts: 0, payload: one }));
    expect(error).toBeInstanceOf(H4mkError);
    expect((error as H4mkError).code).toBe('E_ORDER');
    expect(String(error)).toMatch(/first block of track v must be a keyframe/);
  });

  it('rejects a decreasing dts within a track, but not across tracks', async () => {
    const { writer } = await fresh();
    await writer.writeBlock({ track: 'v', pts: 9000, dts: 9000, keyframe: true, payload: one });
    await writer.writeBlock({ track: 'c', pts: 0, keyframe: true, payload: one }); // other track: fine
    const error = await caught(() => writer.writeBlock({ track: 'v', pts: 9000, dts: 8999, payload: one }));
    expect(error).toBeInstanceOf(H4mkError);
    expect((error as H4mkError).code).toBe('E_ORDER');
    expect(String(error)).toMatch(/dts must not decrease within track v/);
  });

  it('rejects a keyframe pts before the previous keyframe', async () => {
    const { writer } = await fresh();
    await writer.writeBlock({ track: 'v', pts: 6000, dts: 0, keyframe: true, payload: one });
    await writer.writeBlock({ track: 'v', pts: 3000, dts: 1000, payload: one }); // non-key B-frame: fine
    const error = await caught(() => writer.writeBlock({ track: 'v', pts: 5999, dts: 2000, keyframe: true, payload: one }));
    expect(error).toBeInstanceOf(H4mkError);
    expect((error as H4mkError).code).toBe('E_ORDER');
    expect(String(error)).toMatch(/keyframe pts must not decrease/);
  });

  it('rejects an unknown track, a duplicate track id and addTrack after the first block', async () => {
    const { writer } = await fresh();
    let error = await caught(() => writer.writeBlock({ track: 'nope', pts: 0, keyframe: true, payload: one }));
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/unknown track "nope"/);
    error = await caught(() => writer.writeBlock({ track: 7, pts: 0, keyframe: true, payload: one }));
    expect(error).toBeInstanceOf(TypeError);
    error = await caught(() => writer.addTrack({ id: 'v', kind: 'audio' }));
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/track "v" already exists/);
    await writer.writeBlock({ track: 'v', pts: 0, keyframe: true, payload: one });
    error = await caught(() => writer.addTrack({ id: 'late', kind: 'audio' }));
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/before the first block/);
  });

  it('rejects microseconds that are not integers or not whole ticks', async () => {
    const { writer } = await fresh();
    let error = await caught(() => writer.writeBlock({ track: 'v', ptsUs: 1.5, keyframe: true, payload: one }));
    expect(error).toBeInstanceOf(RangeError);
    expect(String(error)).toMatch(/ptsUs must be an integer/);
    // 1 µs is 0.09 ticks of 1/90000 s.
    error = await caught(() => writer.writeBlock({ track: 'v', ptsUs: 1, keyframe: true, payload: one }));
    expect(error).toBeInstanceOf(RangeError);
    expect(String(error)).toMatch(/not a whole number of 1\/90000 s ticks/);
    error = await caught(() => writer.writeBlock({ track: 'v', ptsUs: 0, durationUs: 33_333, keyframe: true, payload: one }));
    expect(error).toBeInstanceOf(RangeError);
    expect(String(error)).toMatch(/duration 33333/);
    error = await caught(() => writer.writeBlock({ track: 'v', pts: 0, ptsUs: 0, keyframe: true, payload: one }));
    expect(error).toBeInstanceOf(TypeError);
    error = await caught(() => writer.writeBlock({ track: 'v', pts: 0.5, keyframe: true, payload: one }));
    expect(error).toBeInstanceOf(RangeError);
    // 100 ms is exactly 9000 ticks: accepted.
    await writer.writeBlock({ track: 'v', ptsUs: 100_000, keyframe: true, payload: one });
  });

  it('rejects bad frame kinds, payloads and compressions without breaking the writer', async () => {
    const { sink, writer } = await fresh();
    await writer.writeBlock({ track: 'v', pts: 0, keyframe: true, kind: 'I', payload: one });
    const bad: unknown[] = [
      { track: 'v', pts: 1, kind: 'X', payload: one },
      { track: 'v', pts: 1, payload: [1, 2, 3] },
      { track: 'v', pts: 1, payload: one, compression: 'lz4' },
      { track: 'v', payload: one },
      { track: 'v', pts: 1, payload: one, duration: -1 },
      { track: 'v', pts: 2 ** 52, payload: one },
    ];
    for (const block of bad) {
      const error = await caught(() => writer.writeBlock(block as never));
      expect(error instanceof TypeError || error instanceof RangeError).toBe(true);
    }
    // Every rejected call left the writer usable and wrote nothing.
    await writer.writeBlock({ track: 'v', pts: 3003, kind: 'P', payload: one });
    await writer.finish();
    const reader = await openBytes(sink.bytes());
    expect(reader.blockCount).toBe(2);
    expect((await reader.blockInfo(1)).frameKind).toBe('P');
    expect((await reader.verify()).ok).toBe(true);
  });

  it('checks track strings, config and extra at addTrack, not at finish', async () => {
    const { sink, writer } = await fresh();
    const bad: [Parameters<H4mkWriter['addTrack']>[0], ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, RegExp][] = [
      [{ id: 'x'.repeat(256), kind: 'data' }, RangeError, /track id longer than 255 UTF-8 bytes/],
      [{ id: 'é'.repeat(128), kind: 'data' }, RangeError, /track id longer than 255/], // 256 bytes
      [{ id: 'a', kind: 'data', codec: 'c'.repeat(256) }, RangeError, /codec longer/],
      [{ id: 'a', kind: 'data', name: 'n'.repeat(256) }, RangeError, /name longer/],
      [{ id: 'a', kind: 'data', language: '€'.repeat(86) }, RangeError, /language longer/],
      [{ id: '\ud800', kind: 'data' }, TypeError, /not well-formed Unicode/],
      [{ id: 'a', kind: 'data', config: 'abc' as never }, TypeError, /Uint8Array/],
      [{ id: 'a', kind: 'data', extra: 'str' as never }, TypeError, /extra must be a JSON object/],
      [{ id: 'a', kind: 'data', extra: [1] as never }, TypeError, /extra must be a JSON object/],
      [{ id: 'a', kind: 'data', extra: { n: 1n } as never }, TypeError, /not serializable/],
      [{ id: 'a', kind: 'data', extra: { big: 'x'.repeat(1 << 20) } }, RangeError, /maxJsonLength/],
      [{ id: 'a', kind: 'bogus' as never }, TypeError, /track kind/],
      [{ id: 'a', kind: 'data', timescale: 0 }, RangeError, /timescale/],
    ];
    for (const [i, [options, type, message]] of bad.entries()) {
      const error = await caught(() => writer.addTrack(options));
      expect(error, `case ${i}`).toBeInstanceOf(type);
      expect(String(error)).toMatch(message);
    }
    // 255 bytes exactly is fine, and the writer still works.
    const longest = 'é'.repeat(127) + 'x';
    writer.addTrack({ id: longest, kind: 'data', codec: 'c'.repeat(255), extra: { ok: true } });
    await writer.writeBlock({ track: longest, pts: 0, keyframe: true, payload: one });
    await writer.finish();
    const reader = await openBytes(sink.bytes());
    expect(reader.track(longest).codec).toBe('c'.repeat(255));
    expect(reader.track(longest).extra).toEqual({ ok: true });
  });

  it('checks META and SAFE when the writer is created: JSON objects within maxJsonLength', async () => {
    const cases: [Record<string, unknown>, ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor][] = [
      [{ meta: { big: 'm'.repeat(1 << 20) } }, RangeError],
      [{ safe: { big: 's'.repeat(1 << 20) } }, RangeError],
      [{ meta: [1, 2] }, TypeError],
      [{ meta: { n: 1n } }, TypeError],
      [{ safe: 'transport_only' }, TypeError],
      [{ meta: { big: 'm'.repeat(100) }, limits: { maxJsonLength: 50 } }, RangeError],
    ];
    for (const [options, type] of cases) expect(await caught(() => H4mkWriter.create(new MemorySink(), options))).toBeInstanceOf(type);
    // Exactly at the limit: written, and read back by a reader with default limits.
    const meta = { m: 'x'.repeat((1 << 20) - 8) };
    expect(JSON.stringify(meta).length).toBe(1 << 20);
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { meta });
    await writer.finish();
    expect((await openBytes(sink.bytes())).meta).toEqual(meta);
  });

  it('validates the segment policy; undefined entries keep their defaults', async () => {
    for (const segment of [
      { maxBlocks: Number.NaN },
      { maxBlocks: 2.5 },
      { maxBlocks: 0 },
      { maxBytes: -1 },
      { maxDurationUs: Number.NaN },
      { splitAtKeyframes: 'yes' as never },
    ]) {
      const error = await caught(() => H4mkWriter.create(new MemorySink(), { segment }));
      expect(error instanceof RangeError || error instanceof TypeError, JSON.stringify(segment)).toBe(true);
    }
    // undefined must not switch splitting at keyframes or the byte cap off.
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { segment: { maxBlocks: undefined, maxBytes: undefined, splitAtKeyframes: undefined } });
    writer.addTrack({ id: 'v', kind: 'video' });
    for (let i = 0; i < 12; i++) await writer.writeBlock({ track: 'v', pts: i, keyframe: i % 4 === 0, payload: Uint8Array.of(i) });
    await writer.finish();
    const reader = await openBytes(sink.bytes());
    expect(reader.segmentCount).toBe(3);
    expect((await reader.verify()).ok).toBe(true);
  });

  it('a lowered maxSegmentBlocks limit also bounds the default segment size', async () => {
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { limits: { maxSegmentBlocks: 5 }, segment: { splitAtKeyframes: false } });
    writer.addTrack({ id: 'd', kind: 'data' });
    for (let i = 0; i < 23; i++) await writer.writeBlock({ track: 'd', pts: i, keyframe: true, payload: Uint8Array.of(i) });
    await writer.finish();
    const reader = await openBytes(sink.bytes(), { limits: { maxSegmentBlocks: 5 } });
    expect(reader.segmentCount).toBe(5);
    expect((await reader.verify()).ok).toBe(true);
  });

  it('META is a snapshot taken at create', async () => {
    const meta: Record<string, unknown> = { a: 1 };
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { meta });
    meta.a = 2;
    await writer.finish();
    expect((await openBytes(sink.bytes())).meta).toEqual({ a: 1 });
  });

  it('rejects overlapping writes and use after finish', async () => {
    const { writer } = await fresh();
    const first = writer.writeBlock({ track: 'v', pts: 0, keyframe: true, payload: new Uint8Array(1000) });
    const error = await caught(() => writer.writeBlock({ track: 'v', pts: 1, payload: one }));
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/in progress/);
    await first;
    await writer.finish();
    expect(await caught(() => writer.writeBlock({ track: 'v', pts: 2, payload: one }))).toBeInstanceOf(TypeError);
    expect(await caught(() => writer.finish())).toBeInstanceOf(TypeError);
  });
});

describe('file output is atomic', () => {
  it('abort leaves no file', async () => {
    const path = join(dir, 'aborted.h4mk');
    for (const layout of ALL_LAYOUTS) {
      const writer = await H4mkWriter.create(await FileSink.create(path), { layout });
      writer.addTrack({ id: 'x', kind: 'data' });
      for (let i = 0; i < 50; i++) await writer.writeBlock({ track: 'x', pts: i, keyframe: true, payload: new Uint8Array(2000) });
      await writer.abort();
      expect((await readdir(dir)).filter((f) => f.includes('aborted'))).toEqual([]);
    }
  });

  it('abort (and a failed finish) does not touch an existing destination', async () => {
    const path = join(dir, 'existing.h4mk');
    const original = Buffer.from('previous contents, not a container');
    await writeFile(path, original);
    for (const layout of ALL_LAYOUTS) {
      const writer = await H4mkWriter.create(await FileSink.create(path), { layout });
      writer.addTrack({ id: 'x', kind: 'data' });
      await writer.writeBlock({ track: 'x', pts: 0, keyframe: true, payload: new Uint8Array(100) });
      expect((await readFile(path)).equals(original)).toBe(true);
      await writer.abort();
      expect((await readFile(path)).equals(original)).toBe(true);

      // finish() that fails (index over a lowered limit) aborts by itself.
      const failing = await H4mkWriter.create(await FileSink.create(path), { layout, limits: { maxIndexLength: 100 } });
      failing.addTrack({ id: 'x', kind: 'data' });
      await failing.writeBlock({ track: 'x', pts: 0, keyframe: true, payload: new Uint8Array(100) });
      const error = await caught(() => failing.finish());
      expect(error).toBeInstanceOf(RangeError);
      expect((await readFile(path)).equals(original)).toBe(true);
      expect((await readdir(dir)).filter((f) => f.includes('existing'))).toEqual(['existing.h4mk']);
    }
  });

  it('options rejected by create leave no temporary file', async () => {
    const path = join(dir, 'rejected.h4mk');
    for (const options of [
      { meta: [] as never },
      { layout: 'sideways' as never },
      { compression: 'lz4' as never },
      { layout: 'faststart' as const, segment: { maxBlocks: 0 } },
    ]) {
      expect(await caught(() => FileSink.create(path).then((sink) => H4mkWriter.create(sink, options)))).toBeInstanceOf(Error);
      expect((await readdir(dir)).filter((f) => f.includes('rejected'))).toEqual([]);
    }
  });

  it('finish replaces an existing destination', async () => {
    const path = join(dir, 'replaced.h4mk');
    await writeFile(path, 'old');
    const writer = await H4mkWriter.create(await FileSink.create(path));
    writer.addTrack({ id: 'x', kind: 'data' });
    await writer.writeBlock({ track: 'x', pts: 0, keyframe: true, payload: Uint8Array.of(9) });
    await writer.finish();
    const reader = await H4mkReader.open(await FileSource.open(path));
    expect(Array.from((await reader.readBlock(0)).payload)).toEqual([9]);
    await reader.close();
  });
});

describe('empty containers', () => {
  for (const layout of ALL_LAYOUTS) {
    it(`${layout}: tracks but zero blocks, and no tracks at all, are valid`, async () => {
      for (const tracks of [
        [
          { id: 'v', kind: 'video' as const, timescale: 90000 },
          { id: 'a', kind: 'audio' as const },
        ],
        [],
      ]) {
        const sink = new MemorySink();
        const writer = await H4mkWriter.create(sink, { layout });
        for (const t of tracks) writer.addTrack(t);
        const summary = await writer.finish();
        expect(summary.blockCount).toBe(0);
        const bytes = sink.bytes();
        expect(summary.bytes).toBe(bytes.length);
        const source: RandomAccessSource = new MemorySource(bytes);
        const reader = await H4mkReader.open(source);
        expect(reader.blockCount).toBe(0);
        expect(reader.segmentCount).toBe(0);
        expect(reader.layout).toBe(layout);
        expect(reader.tracks().map((t) => [t.id, t.blockCount, t.keyframeCount, t.firstPts, t.lastPts])).toEqual(tracks.map((t) => [t.id, 0, 0, null, null]));
        for (const t of tracks) expect(await reader.seek(t.id, 1e9)).toBeNull();
        expect(await reader.seekAll(0)).toEqual(Object.fromEntries(tracks.map((t) => [t.id, null])));
        const all = [];
        for await (const b of reader.infos()) all.push(b);
        expect(all).toEqual([]);
        expect(await caught(() => reader.readBlock(0))).toBeInstanceOf(RangeError);
        const report = await reader.verify();
        expect(report.ok).toBe(true);
        expect(report.blocksChecked).toBe(0);
      }
    });
  }
});
