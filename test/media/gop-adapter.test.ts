/**
 * GOP scheduling and statistics, the codec adapter contract (opaque and
 * media adapters, frame kinds), decode-time derivation and the Matroska
 * writer/scanner pair: unit tests without ffmpeg.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildH4mkTracks,
  FileSink,
  FileSource,
  GopScheduler,
  gopStats,
  H4mkReader,
  importMedia,
  MemorySource,
  OpaqueAdapter,
  trackGopStats,
} from '../../src/node.js';
import { ByteReader } from '../../src/media/byte-reader.js';
import { h264SliceKind } from '../../src/media/codec/frame-kind.js';
import { MkvDemuxer } from '../../src/media/matroska/scan.js';
import { MkvWriter } from '../../src/media/matroska/mux.js';
import { decodeOrderTimes, opusPacketSamples } from '../../src/media/timing.js';
import { FIXTURES } from './ffmpeg.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h4mk-gop-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('GopScheduler', () => {
  const keys = (s: GopScheduler, frames: number, stepUs: number, forced: number[] = []) =>
    Array.from({ length: frames }, (_, i) => s.next(i * stepUs, { forced: forced.includes(i) })).flatMap((d, i) => (d.keyframe ? [i] : []));

  it('every N frames', () => expect(keys(new GopScheduler({ everyFrames: 10 }), 35, 33_333)).toEqual([0, 10, 20, 30]));
  it('every T µs', () => expect(keys(new GopScheduler({ everyUs: 1_000_000 }), 70, 40_000)).toEqual([0, 25, 50]));
  it('forced (scene cuts) restart the count', () => expect(keys(new GopScheduler({ everyFrames: 10 }), 30, 40_000, [4])).toEqual([0, 4, 14, 24]));
  it('a maximum interval caps forced-only schedules', () => {
    const s = new GopScheduler({ maxIntervalUs: 2_000_000 });
    const decisions = Array.from({ length: 130 }, (_, i) => s.next(i * 40_000, { forced: i === 10 }));
    expect(decisions.flatMap((d, i) => (d.keyframe ? [[i, d.reason]] : []))).toEqual([
      [0, 'first'],
      [10, 'forced'],
      [60, 'max-interval'],
      [110, 'max-interval'],
    ]);
  });
  it('rejects bad policies and out-of-order frames', () => {
    expect(() => new GopScheduler({ everyFrames: 0 })).toThrow(RangeError);
    expect(() => new GopScheduler({ everyFrames: 2.5 })).toThrow(RangeError);
    const s = new GopScheduler();
    s.next(100);
    expect(() => s.next(50)).toThrow(/presentation order/);
  });
  it('property: no GOP is longer than maxFrames or maxIntervalUs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 10_000, max: 3_000_000 }),
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 300 }),
        (maxFrames, maxIntervalUs, steps) => {
          const s = new GopScheduler({ maxFrames, maxIntervalUs });
          let t = 0;
          let lastKey = 0;
          let since = 0;
          steps.forEach((step, i) => {
            const d = s.next(t);
            if (i === 0) expect(d.keyframe).toBe(true);
            if (d.keyframe) {
              lastKey = t;
              since = 1;
            } else {
              since++;
              expect(since).toBeLessThanOrEqual(maxFrames);
              expect(t - lastKey).toBeLessThan(maxIntervalUs);
            }
            t += step;
          });
        },
      ),
    );
  });
});

describe('GOP statistics', () => {
  it('from keyframe times, counting the last GOP to the end of the track', () => {
    expect(gopStats([0, 1_000_000, 3_000_000], [25, 50, 10], 3_400_000, 85)).toEqual({
      keyframes: 3,
      blocks: 85,
      minUs: 400_000,
      meanUs: 1_133_333,
      maxUs: 2_000_000,
      minFrames: 10,
      meanFrames: 28,
      maxFrames: 50,
      exact: true,
    });
  });

  it('of a long-GOP import: 8 s, keyframes every 4 s, 120 frames each', async () => {
    const out = join(dir, 'long.h4mk');
    await importMedia(join(FIXTURES, 'long-gop.mkv'), await FileSink.create(out));
    const reader = await H4mkReader.open(await FileSource.open(out));
    expect(await trackGopStats(reader, 'video_0')).toMatchObject({
      keyframes: 2,
      blocks: 240,
      minUs: 4_000_000,
      maxUs: 4_000_000,
      minFrames: 120,
      maxFrames: 120,
    });
    await reader.close();
  });
});

describe('codec adapters', () => {
  it('the opaque adapter passes bytes and timing through both ways', async () => {
    const adapter = new OpaqueAdapter({ kind: 'data', codec: 'application/x-test', timescale: 1000 });
    const units = [
      { pts: 0, keyframe: true, payload: Uint8Array.of(1, 2, 3) },
      { pts: 40, dts: 40, duration: 40, keyframe: false, kind: 'P' as const, payload: Uint8Array.of(4) },
    ];
    const bytes = await buildH4mkTracks(
      [{ id: 'd', ...adapter.trackOptions() }],
      units.map((u) => ({ track: 'd', ...adapter.toBlock(u) })),
    );
    const reader = await H4mkReader.open(new MemorySource(bytes));
    expect(reader.track('d')).toMatchObject({ codec: 'application/x-test', timescale: 1000, kind: 'data' });
    const back = [adapter.fromBlock(await reader.readBlock(0)), adapter.fromBlock(await reader.readBlock(1))];
    expect(back).toEqual([
      { pts: 0, dts: 0, duration: 0, keyframe: true, payload: Uint8Array.of(1, 2, 3) },
      { pts: 40, dts: 40, duration: 40, keyframe: false, kind: 'P', payload: Uint8Array.of(4) },
    ]);
  });

  it('the media adapter labels H.264 frames I/P/B from their slice headers', async () => {
    const out = join(dir, 'kinds.h4mk');
    await importMedia(join(FIXTURES, 'h264-aac.mp4'), await FileSink.create(out));
    const reader = await H4mkReader.open(await FileSource.open(out));
    const kinds = new Map<string, number>();
    for await (const b of reader.infos({ tracks: ['video_0'] })) {
      kinds.set(String(b.frameKind), (kinds.get(String(b.frameKind)) ?? 0) + 1);
      if (b.keyframe) expect(b.frameKind).toBe('I');
    }
    expect([...kinds.keys()].sort()).toEqual(['B', 'I', 'P']);
    for await (const b of reader.infos({ tracks: ['audio_0'] })) expect(b.frameKind).toBeNull();
    await reader.close();
  });

  it('h264SliceKind reads slice_type through emulation prevention', () => {
    // NAL type 1, first_mb_in_slice = 0 ("1"), slice_type = 1 (B: "010").
    expect(h264SliceKind(Uint8Array.of(0, 0, 0, 2, 0x41, 0b1010_0000), 4)).toBe('B');
    expect(h264SliceKind(Uint8Array.of(0, 0, 0, 2, 0x65, 0b1000_1000), 4)).toBe('I'); // slice_type 7 → I
    expect(h264SliceKind(Uint8Array.of(0, 0, 0, 9, 0x06), 4)).toBeNull();
  });
});

describe('decode times from presentation order', () => {
  it('matches ffmpeg: the i-th smallest pts shifted by the reorder delay', () => {
    // I P B B with display order 0 3 1 2 (×10): delay 1.
    const r = decodeOrderTimes(Float64Array.from([0, 30, 10, 20]), true);
    expect(r.delay).toBe(1);
    expect([...r.dts]).toEqual([-10, 0, 10, 20]);
    expect([...r.gap]).toEqual([10, 10, 10, 10]);
    // An announced depth of 2 deepens the shift, as a decoder buffering two frames would.
    expect([...decodeOrderTimes(Float64Array.from([0, 30, 10, 20]), true, 2).dts]).toEqual([-20, -10, 0, 10]);
    expect([...decodeOrderTimes(Float64Array.from([0, 30, 10, 20]), false).dts]).toEqual([0, 30, 10, 20]);
  });
  it('property: for I/P/B patterns on a frame grid, dts never decreases and never exceeds pts', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 60 }), (groups) => {
        // Each mini-GOP of m frames is sent anchor first (its last frame), then its B-frames.
        const pts: number[] = [0];
        let next = 1;
        for (const m of groups) {
          pts.push((next + m - 1) * 10);
          for (let k = 0; k < m - 1; k++) pts.push((next + k) * 10);
          next += m;
        }
        const { dts } = decodeOrderTimes(Float64Array.from(pts), true);
        for (let i = 0; i < pts.length; i++) {
          if (i > 0) expect(dts[i] as number).toBeGreaterThanOrEqual(dts[i - 1] as number);
          expect(dts[i] as number).toBeLessThanOrEqual(pts[i] as number);
        }
      }),
    );
  });
  it('Opus packet durations from the TOC byte (RFC 6716 §3.1)', () => {
    expect(opusPacketSamples(Uint8Array.of(0xfc))).toBe(960); // CELT FB 20 ms, one frame
    expect(opusPacketSamples(Uint8Array.of(0xfd))).toBe(1920); // two frames
    expect(opusPacketSamples(Uint8Array.of(0x1b, 0x03))).toBe(8640); // SILK NB 60 ms × 3 frames (code 3)
    expect(opusPacketSamples(new Uint8Array(0))).toBeNull();
  });
});

describe('Matroska writer and scanner', () => {
  it('round-trip: timestamps, keyframes, BlockGroups with duration and DiscardPadding, CodecDelay', async () => {
    const path = join(dir, 'w.mkv');
    const writer = await MkvWriter.create(path, {
      docType: 'matroska',
      timestampScale: 1_000_000,
      tracks: [
        { number: 1, uid: 11, type: 1, codecId: 'V_TEST', codecPrivate: Uint8Array.of(9, 9), video: { pixelWidth: 64, pixelHeight: 48 } },
        {
          number: 2,
          uid: 22,
          type: 2,
          codecId: 'A_OPUS',
          codecPrivate: null,
          codecDelayNs: 6_500_000,
          seekPreRollNs: 80_000_000,
          audio: { samplingFrequency: 48000, channels: 2 },
        },
        { number: 3, uid: 33, type: 17, codecId: 'S_TEXT/UTF8', codecPrivate: null, language: 'eng', name: 'Subs' },
      ],
    });
    const blocks = [
      { track: 1, timestamp: 0, keyframe: true, group: false, duration: null, discardPadding: null, data: Uint8Array.of(1) },
      { track: 2, timestamp: 0, keyframe: true, group: false, duration: null, discardPadding: null, data: Uint8Array.of(2) },
      { track: 1, timestamp: 66, keyframe: false, group: false, duration: null, discardPadding: null, data: Uint8Array.of(3) },
      { track: 3, timestamp: 10, keyframe: true, group: true, duration: 800, discardPadding: null, data: new TextEncoder().encode('hi') },
      { track: 1, timestamp: 33, keyframe: false, group: true, duration: null, discardPadding: null, data: Uint8Array.of(4) },
      { track: 2, timestamp: 20, keyframe: true, group: true, duration: null, discardPadding: 3_500_000, data: Uint8Array.of(5) },
      { track: 1, timestamp: 40_000, keyframe: true, group: false, duration: null, discardPadding: null, data: Uint8Array.of(6) },
    ];
    for (const b of blocks) await writer.writeBlock(b);
    await writer.finish();
    const source = await FileSource.open(path);
    const demuxer = await MkvDemuxer.open(await ByteReader.open(source, path));
    expect(demuxer.tracks.map((t) => [t.number, t.codecId, t.codecDelayNs, t.seekPreRollNs, t.name, t.language])).toEqual([
      [1, 'V_TEST', 0, 0, null, null],
      [2, 'A_OPUS', 6_500_000, 80_000_000, null, null],
      [3, 'S_TEXT/UTF8', 0, 0, 'Subs', 'eng'],
    ]);
    expect(demuxer.tracks[0]?.codecPrivate).toEqual(Uint8Array.of(9, 9));
    const read = [];
    for await (const b of demuxer.blocks({ payloads: true }))
      read.push({
        track: b.track,
        timestamp: b.timestamp,
        keyframe: b.keyframe,
        group: b.group,
        duration: b.duration,
        discardPadding: b.discardPadding,
        data: b.frames[0],
      });
    expect(read).toEqual(blocks);
    await source.close();
  });
});
