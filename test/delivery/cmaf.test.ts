/**
 * The CMAF fragmenter's bytes (ISO/IEC 14496-12 §8.8): a media segment keeps
 * every sample's decode time, duration (decode-time deltas, the last from
 * the block), composition offset (signed, trun v1), size, sync flag and data
 * offset; and the playlists of a container come from its index alone.
 */
import { describe, expect, it } from 'vitest';
import { dashManifest, deliveryPlan, findBox, masterPlaylist, mediaPlaylist, mediaSegment } from '../../src/delivery/index.js';
import { H4mkReader, H4mkWriter, MemorySink, MemorySource } from '../../src/node.js';

function parseTrun(segment: Uint8Array) {
  const moof = findBox(segment, 'moof') as Uint8Array;
  const tfdt = findBox(segment, 'moof/traf/tfdt') as Uint8Array;
  const trun = findBox(segment, 'moof/traf/trun') as Uint8Array;
  const tv = new DataView(tfdt.buffer, tfdt.byteOffset, tfdt.byteLength);
  const v = new DataView(trun.buffer, trun.byteOffset, trun.byteLength);
  const base = tv.getUint32(12) * 2 ** 32 + tv.getUint32(16);
  const version = v.getUint8(8);
  const flags = v.getUint32(8) & 0xffffff;
  const count = v.getUint32(12);
  const dataOffset = v.getInt32(16);
  const samples = [];
  for (let i = 0; i < count; i++) {
    const at = 20 + i * 16;
    samples.push({ duration: v.getUint32(at), size: v.getUint32(at + 4), flags: v.getUint32(at + 8), cts: v.getInt32(at + 12) });
  }
  return { base, version, flags, dataOffset, samples, moofLength: moof.length };
}

describe('CMAF media segments', () => {
  const samples = [
    { dts: -1024, pts: 0, duration: 512, keyframe: true, data: new Uint8Array([1, 2, 3]) },
    { dts: -512, pts: 1536, duration: 512, keyframe: false, data: new Uint8Array([4]) },
    { dts: 0, pts: 512, duration: 512, keyframe: false, data: new Uint8Array([5, 6]) },
    { dts: 2000, pts: 1024, duration: 700, keyframe: false, data: new Uint8Array([7, 8, 9, 10]) },
  ];

  it('keeps decode times, durations, signed composition offsets, sizes and sync flags', () => {
    const seg = mediaSegment(samples, { sequence: 7, offset: 15360 });
    const trun = parseTrun(seg);
    expect(trun.base).toBe(15360 - 1024);
    expect(trun.version).toBe(1);
    expect(trun.samples.map((s) => s.duration)).toEqual([512, 512, 2000, 700]);
    expect(trun.samples.map((s) => s.cts)).toEqual([1024, 2048, 512, -976]);
    expect(trun.samples.map((s) => s.size)).toEqual([3, 1, 2, 4]);
    expect(trun.samples.map((s) => (s.flags & 0x00010000) === 0)).toEqual([true, false, false, false]);
    const mfhd = findBox(seg, 'moof/mfhd') as Uint8Array;
    expect(new DataView(mfhd.buffer, mfhd.byteOffset).getUint32(12)).toBe(7);
  });

  it('points the data offset at the first sample in mdat', () => {
    const seg = mediaSegment(samples, { sequence: 1, offset: 15360 });
    const moof = findBox(seg, 'moof') as Uint8Array;
    const moofAt = moof.byteOffset - seg.byteOffset;
    const trun = parseTrun(seg);
    expect([...seg.subarray(moofAt + trun.dataOffset, moofAt + trun.dataOffset + 10)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const mdat = findBox(seg, 'mdat') as Uint8Array;
    expect(mdat.length).toBe(8 + 10);
  });

  it('takes the last duration from endDts when given, and refuses negative decode times and decreasing ones', () => {
    expect(parseTrun(mediaSegment(samples, { sequence: 1, offset: 2000, endDts: 2040 })).samples[3]?.duration).toBe(40);
    expect(() => mediaSegment(samples, { sequence: 1, offset: 0 })).toThrow(RangeError);
    expect(() => mediaSegment([samples[3], samples[0]] as typeof samples, { sequence: 1, offset: 4000 })).toThrow(RangeError);
  });

  it('an empty fragment sits at the given decode time', () => {
    const trun = parseTrun(mediaSegment([], { sequence: 3, offset: 100, emptyDts: 900 }));
    expect([trun.base, trun.samples.length]).toEqual([1000, 0]);
  });
});

describe('playlists from the index alone', () => {
  it('master, media playlists and the MPD of a 30-minute container cost no read after open', async () => {
    const sink = new MemorySink();
    const w = await H4mkWriter.create(sink);
    w.addTrack({
      id: 'v',
      kind: 'video',
      codec: 'avc1.64001f',
      timescale: 90_000,
      config: Uint8Array.of(1, 0x64, 0, 0x1f, 0xff, 0xe0, 0),
      extra: { media_codec: 'avc', video: { width: 64, height: 36 } },
    });
    w.addTrack({
      id: 'a',
      kind: 'audio',
      codec: 'mp4a.40.2',
      timescale: 48_000,
      config: Uint8Array.of(0x11, 0x90),
      extra: { media_codec: 'aac', audio: { sample_rate: 48_000, channels: 2 } },
    });
    const frames = 30 * 60 * 25;
    let audio = 0;
    for (let f = 0; f < frames; f++) {
      await w.writeBlock({ track: 'v', pts: f * 3600, dts: f * 3600, duration: 3600, keyframe: f % 50 === 0, payload: Uint8Array.of(f & 255) });
      while (audio * 1024 * 90_000 <= (f + 1) * 3600 * 48_000) {
        await w.writeBlock({ track: 'a', pts: audio * 1024, duration: 1024, keyframe: true, payload: Uint8Array.of(audio & 255) });
        audio++;
      }
    }
    await w.finish();
    const source = new MemorySource(sink.bytes());
    const reader = await H4mkReader.open(source);
    const reads = source.stats.reads;
    const plan = deliveryPlan(reader);
    const master = masterPlaylist(plan);
    const video = mediaPlaylist(plan, plan.tracks[0] as (typeof plan.tracks)[number]);
    const audioList = mediaPlaylist(plan, plan.tracks[1] as (typeof plan.tracks)[number]);
    const mpd = dashManifest(plan);
    expect(source.stats.reads).toBe(reads);
    expect(master).toContain('CODECS="avc1.64001f,mp4a.40.2"');
    expect(video.split('\n').filter((l) => l.endsWith('.m4s'))).toHaveLength(frames / 50);
    expect(video).toContain('#EXTINF:2.000000,');
    expect(video).toContain('#EXT-X-ENDLIST');
    expect(audioList.split('\n').filter((l) => l.endsWith('.m4s'))).toHaveLength(frames / 50);
    // The DASH init segments' edit list takes the plan's offset off: the timelines are presentation times.
    expect(mpd).toContain('<S t="0" d="180000" r="899"/>');
    expect(mpd).toContain('presentationTimeOffset="0"');
    expect(mpd).toContain('<S t="0" d="96000" r="899"/>');
  }, 120_000);
});
