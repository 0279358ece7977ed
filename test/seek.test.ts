/**
 * seek, seekAll, range and readBlock against brute-force scans of every
 * block, on containers with many segments, B-frames and three timescales.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BlockInfo, type H4mkReader, H4mkWriter, MemorySink, type SeekResult, ticksToUs } from '../src/node.js';
import type { KeyframeMap } from '../src/format/keyframe-map.js';
import { seekKeyframe } from '../src/reader/spans.js';
import { allInfos, caught, type ExpectedBlock, makeSample, openBytes, Rng, type Sample, writeSample } from './helpers.js';

const QUERIES_PER_TRACK = 10_000;

type Fixture = { name: string; reader: H4mkReader; infos: BlockInfo[]; sample: Sample };

/**
 * Brute force (the definition): the keyframe with the largest pts and ptsUs ≤ target, ties → last in
 * file order; before the first keyframe, the first keyframe (the smallest pts, ties → last in file
 * order, as a seek to its time); null only for a track without keyframes.
 */
function bruteSeek(infos: readonly BlockInfo[], trackId: string, target: number): BlockInfo | null {
  let best: BlockInfo | null = null;
  let first: BlockInfo | null = null;
  for (const b of infos) {
    if (b.trackId !== trackId || !b.keyframe) continue;
    if (first === null || b.pts <= first.pts) first = b;
    if (b.ptsUs > target) continue;
    if (best === null || b.pts >= best.pts) best = b;
  }
  return best ?? first;
}

/** Last block (file order) of the track with ptsUs ≤ target, or −1. */
function lastNeeded(infos: readonly BlockInfo[], trackId: string, target: number): number {
  let last = -1;
  for (const b of infos) if (b.trackId === trackId && b.ptsUs <= target) last = b.coreIndex;
  return last;
}

function queryTargets(rng: Rng, infos: readonly BlockInfo[], trackId: string, n: number): number[] {
  const mine = infos.filter((b) => b.trackId === trackId);
  const lo = Math.min(...mine.map((b) => b.ptsUs));
  const hi = Math.max(...mine.map((b) => b.ptsUs + b.durationUs));
  const out: number[] = [lo - 1, lo, hi, hi + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0, -1];
  while (out.length < n) {
    const r = rng.float();
    if (r < 0.4) {
      // At, just before and just after a block's µs time (where rounding matters).
      const b = rng.pick(mine);
      out.push(b.ptsUs + rng.int(-2, 2));
    } else if (r < 0.8) out.push(rng.int(lo - 500_000, hi + 500_000));
    else if (r < 0.9)
      out.push(lo - rng.int(1, 10_000_000)); // before the first keyframe
    else if (r < 0.95)
      out.push(hi + rng.int(0, 10_000_000)); // after the last block
    else out.push(rng.int(lo, hi) + rng.float()); // fractional µs
  }
  return out;
}

async function checkSeek(f: Fixture, trackId: string, target: number): Promise<void> {
  const got = await f.reader.seek(trackId, target);
  const want = bruteSeek(f.infos, trackId, Math.floor(target));
  if (want === null) {
    expect(got, `${f.name} ${trackId} @ ${target}`).toBeNull();
    return;
  }
  expect(got, `${f.name} ${trackId} @ ${target}`).not.toBeNull();
  const r = got as SeekResult;
  expect([r.coreIndex, r.pts, r.ptsUs, r.trackId], `${f.name} ${trackId} @ ${target}`).toEqual([want.coreIndex, want.pts, want.ptsUs, trackId]);
  // The span starts at the keyframe's segment and covers every later block of the track at or before the target.
  const dir = f.reader.index.segments;
  const segment = f.reader.segmentOf(r.coreIndex);
  expect(r.span.fromCoreIndex).toBe(r.coreIndex);
  expect(r.span.offset).toBe(f.reader.dataOffset + (dir.offset[segment] as number));
  const needed = Math.max(r.coreIndex, lastNeeded(f.infos, trackId, Math.floor(target)));
  expect(r.span.toCoreIndex).toBeGreaterThanOrEqual(needed);
  expect(r.span.toCoreIndex).toBeLessThan(f.infos.length);
  const lastInfo = f.infos[needed] as BlockInfo;
  expect(r.span.offset + r.span.length).toBeGreaterThanOrEqual(lastInfo.offset + lastInfo.chunkLength);
  const toInfo = f.infos[r.span.toCoreIndex] as BlockInfo;
  expect(r.span.offset + r.span.length).toBeGreaterThanOrEqual(toInfo.offset + toInfo.chunkLength);
  expect(r.span.offset + r.span.length).toBeLessThanOrEqual(f.reader.fileSize);
}

const fixtures: Fixture[] = [];

beforeAll(async () => {
  const configs = [
    // Segments cut at every video keyframe (GOP): several audio keyframes per segment.
    { name: 'gop-segments', seed: 11, options: {} },
    // Small segments not aligned to keyframes: many segments without a video keyframe.
    {
      name: 'small-segments',
      seed: 12,
      options: { segment: { maxBlocks: 13, splitAtKeyframes: false }, layout: 'faststart' as const, compression: 'zstd' as const },
    },
    // Large segments: several video keyframes per segment too.
    { name: 'large-segments', seed: 13, options: { segment: { maxBlocks: 200, splitAtKeyframes: false, maxDurationUs: 1e12 } } },
  ];
  for (const c of configs) {
    const sample = makeSample({ seed: c.seed, gops: 40, controlEvents: 150, scale: 0.2 });
    const reader = await openBytes(await writeSample(sample, c.options));
    fixtures.push({ name: c.name, reader, infos: await allInfos(reader), sample });
  }
});

describe('fixtures', () => {
  it('have several segments and the intended shape', () => {
    for (const f of fixtures) {
      expect(f.reader.segmentCount).toBeGreaterThan(5);
      expect(f.reader.tracks().map((t) => t.timescale)).toEqual([90000, 48000, 1_000_000]);
      // Audio: several keyframes inside one segment.
      const audioKeysPerSegment = new Map<number, number>();
      for (const b of f.infos)
        if (b.trackId === 'audio_main')
          audioKeysPerSegment.set(f.reader.segmentOf(b.coreIndex), (audioKeysPerSegment.get(f.reader.segmentOf(b.coreIndex)) ?? 0) + 1);
      expect(Math.max(...audioKeysPerSegment.values())).toBeGreaterThan(3);
      // Control: keyframes with equal pts exist (ties).
      const controlKeys = f.infos.filter((b) => b.trackId === 'control' && b.keyframe);
      expect(controlKeys.some((b, i) => i > 0 && b.pts === (controlKeys[i - 1] as BlockInfo).pts)).toBe(true);
    }
    const large = fixtures.find((f) => f.name === 'large-segments') as Fixture;
    const videoKeysPerSegment = new Map<number, number>();
    for (const b of large.infos)
      if (b.trackId === 'video_main' && b.keyframe)
        videoKeysPerSegment.set(large.reader.segmentOf(b.coreIndex), (videoKeysPerSegment.get(large.reader.segmentOf(b.coreIndex)) ?? 0) + 1);
    expect(Math.max(...videoKeysPerSegment.values())).toBeGreaterThan(2);
  });

  it('carry a KEYS map (§6.6), which the seeks below use, and it lists exactly the keyframes of the tables', async () => {
    for (const f of fixtures) {
      expect(f.reader.index.keys, f.name).not.toBeNull();
      const map = (await f.reader.keyframeMap()) as KeyframeMap;
      expect(map, f.name).not.toBeNull();
      for (const t of f.reader.index.seek) {
        for (let k = 0; k < t.entryCount; k++) {
          const count = t.keyCount[k] as number;
          expect(map.has(t.trackNumber, k)).toBe(count >= 3);
          if (count < 3) continue;
          const first = f.reader.index.segments.firstCoreIndex[t.segment[k] as number] as number;
          const want = f.infos.filter((b) => b.trackNumber === t.trackNumber && b.keyframe && f.reader.segmentOf(b.coreIndex) === t.segment[k]);
          const got = map.keys(t.trackNumber, k);
          expect(Array.from(got.positions, (p) => p + first)).toEqual(want.map((b) => b.coreIndex));
          expect(Array.from(got.pts)).toEqual(want.map((b) => b.pts));
        }
      }
    }
  });
});

describe('seek equals a brute-force scan', () => {
  for (const [i, trackId] of ['video_main', 'audio_main', 'control'].entries()) {
    it(`${trackId}: ${QUERIES_PER_TRACK} random queries per fixture`, async () => {
      for (const f of fixtures) {
        const rng = new Rng(1000 + i);
        for (const target of queryTargets(rng, f.infos, trackId, QUERIES_PER_TRACK)) await checkSeek(f, trackId, target);
      }
    });
  }

  it('seeking to every block time finds a keyframe at or before it (exact µs of 1/90000 and 1/48000 ticks)', async () => {
    for (const f of fixtures) {
      for (const b of f.infos) {
        await checkSeek(f, b.trackId, b.ptsUs);
        await checkSeek(f, b.trackId, b.ptsUs - 1);
        if (b.keyframe) {
          const r = (await f.reader.seek(b.trackId, b.ptsUs)) as SeekResult;
          expect(r.pts).toBe(b.pts);
        }
      }
    }
  });

  it('the KEYS map and the segment tables give the same keyframe for every query', async () => {
    for (const f of fixtures) {
      const tablesOnly = { get: (segment: number) => f.reader.tables.get(segment) };
      const withKeys = { ...tablesOnly, keys: () => f.reader.keyframeMap() };
      for (const [i, trackId] of ['video_main', 'audio_main', 'control'].entries()) {
        for (const target of queryTargets(new Rng(3000 + i), f.infos, trackId, 2_000)) {
          expect(await seekKeyframe(f.reader.view, withKeys, trackId, target)).toEqual(await seekKeyframe(f.reader.view, tablesOnly, trackId, target));
        }
      }
    }
  });

  it('accepts track numbers as well as ids, and rejects bad arguments', async () => {
    const f = fixtures[0] as Fixture;
    expect(await f.reader.seek(0, 5_000_000)).toEqual(await f.reader.seek('video_main', 5_000_000));
    expect(await caught(() => f.reader.seek('nope', 0))).toBeInstanceOf(TypeError);
    expect(await caught(() => f.reader.seek(9, 0))).toBeInstanceOf(TypeError);
    expect(await caught(() => f.reader.seek('video_main', Number.NaN))).toBeInstanceOf(RangeError);
    expect(await caught(() => f.reader.seek('video_main', Infinity))).toBeInstanceOf(RangeError);
  });
});

describe('seekAll', () => {
  it('equals seek on every track', async () => {
    for (const f of fixtures) {
      const rng = new Rng(77);
      for (const target of queryTargets(rng, f.infos, 'video_main', 300)) {
        const all = await f.reader.seekAll(target);
        expect(Object.keys(all)).toEqual(['video_main', 'audio_main', 'control']);
        for (const id of Object.keys(all)) expect(all[id]).toEqual(await f.reader.seek(id, target));
      }
    }
  });
});

describe('range equals a brute-force filter', () => {
  it('random queries: bounds, track subsets (ids and numbers), keyframesOnly', async () => {
    for (const f of fixtures) {
      const rng = new Rng(99);
      const ids = ['video_main', 'audio_main', 'control'];
      const hi = Math.max(...f.infos.map((b) => b.ptsUs));
      for (let q = 0; q < 400; q++) {
        const fromUs = rng.bool(0.15) ? undefined : rng.int(-200_000, hi + 200_000) + (rng.bool(0.2) ? rng.float() : 0);
        const toUs = rng.bool(0.15) ? undefined : (fromUs ?? 0) + rng.int(-10_000, 3_000_000) + (rng.bool(0.2) ? rng.float() : 0);
        const subset = ids.filter(() => rng.bool(0.6));
        const tracks = rng.bool(0.2) ? undefined : subset.map((id) => (rng.bool() ? id : ids.indexOf(id)));
        const keyframesOnly = rng.bool(0.3);
        const want = f.infos
          .filter(
            (b) =>
              (tracks === undefined || subset.includes(b.trackId)) &&
              (fromUs === undefined || fromUs <= b.ptsUs) &&
              (toUs === undefined || b.ptsUs < toUs) &&
              (!keyframesOnly || b.keyframe),
          )
          .map((b) => b.coreIndex);
        const got: number[] = [];
        for await (const b of f.reader.infos({ fromUs, toUs, tracks, keyframesOnly })) got.push(b.coreIndex);
        expect(got, JSON.stringify({ fromUs, toUs, tracks, keyframesOnly })).toEqual(want);
      }
    }
  });

  it('accepts the documented ±∞ bounds explicitly, and rejects NaN', async () => {
    const f = fixtures[0] as Fixture;
    const all = async (q: Parameters<H4mkReader['range']>[0]) => {
      const out: number[] = [];
      for await (const b of f.reader.infos(q)) out.push(b.coreIndex);
      return out;
    };
    const everything = f.infos.map((b) => b.coreIndex);
    expect(await all({ fromUs: -Infinity, toUs: Infinity })).toEqual(everything);
    expect(await all({ fromUs: Infinity })).toEqual([]);
    expect(await all({ toUs: -Infinity })).toEqual([]);
    expect(await all({ fromUs: -1e300, toUs: 1e300 })).toEqual(everything);
    expect(await caught(() => all({ fromUs: Number.NaN }))).toBeInstanceOf(RangeError);
    expect(await caught(() => all({ tracks: ['nope'] }))).toBeInstanceOf(TypeError);
  });

  it('with payloads, gives the same blocks as readBlock', async () => {
    const f = fixtures[1] as Fixture;
    let n = 0;
    for await (const b of f.reader.blocks({ fromUs: 2_000_000, toUs: 5_000_000, tracks: ['audio_main', 'control'] })) {
      const one = await f.reader.readBlock(b.coreIndex);
      expect('payload' in b).toBe(true);
      expect(Buffer.from((b as typeof one).payload).equals(Buffer.from(one.payload))).toBe(true);
      expect(Buffer.from(one.payload).equals(Buffer.from((f.sample.expected[b.coreIndex] as ExpectedBlock).payload))).toBe(true);
      n++;
    }
    expect(n).toBeGreaterThan(50);
  });
});

describe('readBlock by core_index', () => {
  it('random indexes give the written block', async () => {
    for (const f of fixtures) {
      const rng = new Rng(5);
      for (let q = 0; q < 2000; q++) {
        const i = rng.int(0, f.infos.length - 1);
        const b = await f.reader.readBlock(i);
        const want = f.sample.expected[i] as ExpectedBlock;
        const ts = f.reader.track(want.trackId).timescale;
        expect([b.coreIndex, b.trackId, b.pts, b.dts, b.duration, b.keyframe, b.frameKind, b.ptsUs]).toEqual([
          i,
          want.trackId,
          want.pts,
          want.dts,
          want.duration,
          want.keyframe,
          want.frameKind,
          ticksToUs(want.pts, ts),
        ]);
        expect(Buffer.from(b.payload).equals(Buffer.from(want.payload))).toBe(true);
      }
      for (const bad of [-1, f.infos.length, 1.5, Number.NaN]) expect(await caught(() => f.reader.readBlock(bad))).toBeInstanceOf(RangeError);
    }
  });
});

/**
 * Issue 15: a track that starts after 0, as Matroska files often do (video
 * from 21 ms, audio from 0, 1 ms ticks): a seek before its first keyframe
 * gives that keyframe, through the library, the REST seek route and the
 * seed's seek_to_block; only a track without keyframes gives nothing.
 */
describe('seek before a track starts (MKV-like: video from 21 ms)', () => {
  let bytes: Uint8Array;
  let reader: H4mkReader;
  let firstVideo: BlockInfo;

  beforeAll(async () => {
    const sink = new MemorySink();
    const w = await H4mkWriter.create(sink);
    w.addTrack({ id: 'video', kind: 'video', codec: 'opaque', timescale: 1000 });
    w.addTrack({ id: 'audio', kind: 'audio', codec: 'opaque', timescale: 1000 });
    w.addTrack({ id: 'subs', kind: 'subtitle', codec: 'opaque', timescale: 1000 });
    for (let i = 0; i < 90; i++) {
      await w.writeBlock({ track: 'audio', pts: Math.floor(i * 21.333), keyframe: true, payload: Uint8Array.of(1, i) });
      await w.writeBlock({ track: 'video', pts: 21 + i * 40, dts: 21 + i * 40, keyframe: i % 25 === 0, payload: Uint8Array.of(2, i) });
    }
    await w.finish();
    bytes = sink.bytes();
    reader = await openBytes(bytes);
    firstVideo = (await allInfos(reader)).find((b) => b.trackId === 'video') as BlockInfo;
    expect(firstVideo).toMatchObject({ keyframe: true, ptsUs: 21_000 });
  });

  it('library: seek(0) and any earlier target give the first keyframe, like a seek to its own time', async () => {
    const at = await reader.seek('video', 21_000);
    expect(at).toMatchObject({ trackId: 'video', coreIndex: firstVideo.coreIndex, pts: 21, ptsUs: 21_000 });
    for (const target of [0, -1, 20_999, -1_000_000, Number.MIN_SAFE_INTEGER]) expect(await reader.seek('video', target), String(target)).toEqual(at);
    const span = (at as SeekResult).span;
    expect(span.fromCoreIndex).toBe(firstVideo.coreIndex);
    expect(span.offset).toBeLessThanOrEqual(firstVideo.offset);
    expect(span.offset + span.length).toBeGreaterThanOrEqual(firstVideo.offset + firstVideo.chunkLength);
    const all = await reader.seekAll(0);
    expect(all.video).toEqual(at);
    expect(all.audio).toMatchObject({ ptsUs: 0, coreIndex: 0 });
  });

  it('library: a track without keyframes is the one case of null', async () => {
    expect(await reader.seek('subs', 0)).toBeNull();
    expect(await reader.seek('subs', 1e9)).toBeNull();
    expect((await reader.seekAll(0)).subs).toBeNull();
  });

  it('server: GET …/seek and POST /video/seek_to_block answer the first keyframe', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'h4mk-seek-'));
    const { build } = await import('../src/server/app.js');
    const app = await build({ dir, logger: false });
    try {
      await writeFile(join(dir, 'mkv.h4mk'), bytes);
      const hit = (await reader.seek('video', 0)) as SeekResult;
      const expected = {
        track: 'video',
        target_pts_us: 0,
        found: true,
        core_index: hit.coreIndex,
        pts_us: 21_000,
        pts: 21,
        span: { offset: hit.span.offset, length: hit.span.length, from_core_index: hit.span.fromCoreIndex, to_core_index: hit.span.toCoreIndex },
      };
      const rest = await app.inject({ method: 'GET', url: '/v1/containers/mkv.h4mk/seek?track=video&pts_us=0' });
      expect(rest.statusCode).toBe(200);
      expect(rest.json()).toEqual(expected);
      const seed = await app.inject({ method: 'POST', url: '/video/seek_to_block?track_id=video&pts_us=0&file=mkv.h4mk' });
      expect(seed.statusCode).toBe(200);
      expect(seed.json()).toEqual({ ...expected, track_id: 'video' });
      const empty = await app.inject({ method: 'GET', url: '/v1/containers/mkv.h4mk/seek?track=subs&pts_us=0' });
      expect(empty.json()).toEqual({ track: 'subs', target_pts_us: 0, found: false });
    } finally {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
