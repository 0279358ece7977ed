/**
 * Lossless import and export against ffmpeg/ffprobe, for every fixture of
 * scripts/make-media-fixtures.sh, both directions:
 *  - import: one block per packet, bytes identical (md5 per packet of
 *    `-c copy -f framemd5`), packet counts equal, pts/dts within one tick of
 *    ffprobe's, SEEK keyframes = ffprobe's K packets;
 *  - export to the fixture's own format: `-c copy` framemd5 and decoded
 *    framemd5 identical to the source's (so Opus pre-skip and end trimming,
 *    start offsets, edit lists, codec configuration and subtitles survive);
 *  - cross-format exports play in ffmpeg with the same packet bytes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Block, exportMedia, FileSink, FileSource, H4mkReader, importMedia, type ImportSummary, isMediaError } from '../../src/node.js';
import { decodeErrors, FIXTURE_FILES, FIXTURES, framemd5, md5, packetHashes, probePackets, probeStreams, requireFfmpeg, SKIP_FFMPEG } from './ffmpeg.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h4mk-media-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function importFixture(name: string, out = join(dir, `${name}.h4mk`)): Promise<{ path: string; summary: ImportSummary }> {
  const summary = await importMedia(join(FIXTURES, name), await FileSink.create(out));
  return { path: out, summary };
}

async function withReader<T>(path: string, fn: (r: H4mkReader) => Promise<T>): Promise<T> {
  const source = await FileSource.open(path);
  try {
    return await fn(await H4mkReader.open(source));
  } finally {
    await source.close();
  }
}

async function blocksByTrack(path: string): Promise<Map<string, Block[]>> {
  return withReader(path, async (r) => {
    const out = new Map<string, Block[]>();
    for await (const b of r.blocks({})) {
      if (!out.has(b.trackId)) out.set(b.trackId, []);
      out.get(b.trackId)?.push(b as Block);
    }
    return out;
  });
}

const EXPECTED_TRACKS: Record<string, string[]> = {
  'h264-aac.mp4': ['video:avc', 'audio:aac'],
  'vp9-opus.webm': ['video:vp9', 'audio:opus'],
  'multi.mkv': ['video:avc', 'audio:aac', 'audio:opus', 'subtitle:srt'],
  'vfr.mp4': ['video:avc'],
  'long-gop.mkv': ['video:avc'],
  'text.mp4': ['video:avc', 'subtitle:tx3g'],
};

describe.each(FIXTURE_FILES)('%s', (name) => {
  const ext = name.slice(name.lastIndexOf('.'));
  let imported: { path: string; summary: ImportSummary };
  beforeAll(async () => {
    imported = await importFixture(name);
  });

  it('imports every track with its codec string and configuration, one keyframe first (no ffmpeg needed)', async () => {
    await withReader(imported.path, async (r) => {
      const tracks = r.tracks();
      expect(tracks.map((t) => `${t.kind}:${t.extra.media_codec}`)).toEqual(EXPECTED_TRACKS[name]);
      for (const t of tracks) {
        expect(t.blockCount).toBeGreaterThan(0);
        expect(t.extra.source).toMatchObject({ container: ext === '.mp4' ? 'mp4' : ext === '.webm' ? 'webm' : 'matroska' });
        if (['avc', 'aac', 'opus'].includes(t.extra.media_codec as string)) expect(t.config.length).toBeGreaterThan(0);
      }
      expect((await r.verify()).ok).toBe(true);
    });
    expect(imported.summary.forcedKeyframes).toEqual([]);
  });

  it.skipIf(SKIP_FFMPEG)('import: packet bytes, counts, pts/dts and keyframes equal ffmpeg/ffprobe', async () => {
    requireFfmpeg();
    const source = join(FIXTURES, name);
    const hashes = packetHashes(source);
    const probed = probePackets(source);
    const blocks = await blocksByTrack(imported.path);
    await withReader(imported.path, async (r) => {
      for (const t of r.tracks()) {
        const index = (t.extra.source as { index: number }).index;
        const mine = blocks.get(t.id) ?? [];
        const theirs = hashes.get(index) ?? [];
        const packets = probed.get(index) ?? [];
        expect(mine.length, `${t.id} packet count`).toBe(theirs.length);
        expect(mine.length, `${t.id} packet count (ffprobe)`).toBe(packets.length);
        expect(
          mine.map((b) => `${b.payload.length}:${md5(b.payload)}`),
          `${t.id} packet bytes`,
        ).toEqual(theirs.map((p) => `${p.size}:${p.md5}`));
        mine.forEach((b, i) => {
          const p = packets[i] as { pts: number | null; dts: number | null };
          if (p.pts !== null) expect(Math.abs(b.pts - p.pts), `${t.id} #${i} pts ${b.pts} vs ${p.pts}`).toBeLessThanOrEqual(1);
          if (p.dts !== null) expect(Math.abs(b.dts - p.dts), `${t.id} #${i} dts ${b.dts} vs ${p.dts}`).toBeLessThanOrEqual(1);
        });
        // SEEK keyframes: what the index says are keyframes is what ffprobe flags K.
        const keys: number[] = [];
        for await (const b of r.infos({ tracks: [t.number], keyframesOnly: true })) keys.push(b.pts);
        expect(keys, `${t.id} keyframes`).toEqual(packets.filter((p) => p.key).map((p) => p.pts));
        expect(t.keyframeCount).toBe(keys.length);
        for (const k of keys.slice(0, 8)) {
          const hit = await r.seek(t.number, Math.floor((k * 1e6) / t.timescale) + 1);
          expect(hit?.pts).toBe(k);
        }
      }
    });
  });

  it.skipIf(SKIP_FFMPEG)(`export to ${ext}: -c copy and decoded framemd5 identical to the source`, async () => {
    requireFfmpeg();
    const out = join(dir, `back-${name}`);
    await withReader(imported.path, (r) => exportMedia(r, out));
    const source = join(FIXTURES, name);
    expect(framemd5(out, 'copy')).toEqual(framemd5(source, 'copy'));
    expect(framemd5(out, 'decode')).toEqual(framemd5(source, 'decode'));
    expect(decodeErrors(out)).toBe('');
  });
});

describe('cross-format', () => {
  it.skipIf(SKIP_FFMPEG)('MP4 → H4MK → WebM where the codecs allow it (VP9 + Opus) plays in ffmpeg with the same packets', async () => {
    requireFfmpeg();
    // Make the MP4 from the WebM fixture through H4MK, then go MP4 → H4MK → WebM.
    const first = await importFixture('vp9-opus.webm', join(dir, 'x1.h4mk'));
    const mp4 = join(dir, 'vp9-opus.mp4');
    await withReader(first.path, (r) => exportMedia(r, mp4));
    expect(decodeErrors(mp4)).toBe('');
    const again = join(dir, 'x2.h4mk');
    await importMedia(mp4, await FileSink.create(again));
    const webm = join(dir, 'round-trip.webm');
    await withReader(again, (r) => exportMedia(r, webm));
    expect(decodeErrors(webm)).toBe('');
    expect(packetHashes(webm)).toEqual(packetHashes(join(FIXTURES, 'vp9-opus.webm')));
    expect(probeStreams(webm).map((s) => s.codec)).toEqual(['vp9', 'opus']);
  });

  it.skipIf(SKIP_FFMPEG)('MP4 → MKV and MKV → MP4 play with the same packet bytes; subtitles are left out of MP4 with a reason', async () => {
    requireFfmpeg();
    const a = await importFixture('h264-aac.mp4', join(dir, 'c1.h4mk'));
    const mkv = join(dir, 'h264-aac.mkv');
    await withReader(a.path, (r) => exportMedia(r, mkv));
    expect(decodeErrors(mkv)).toBe('');
    expect(packetHashes(mkv)).toEqual(packetHashes(join(FIXTURES, 'h264-aac.mp4')));
    const m = await importFixture('multi.mkv', join(dir, 'c2.h4mk'));
    const mp4 = join(dir, 'multi.mp4');
    const summary = await withReader(m.path, (r) => exportMedia(r, mp4));
    expect(summary.skipped).toEqual([{ id: 'subtitle_0', reason: expect.stringContaining('subtitles') }]);
    expect(decodeErrors(mp4)).toBe('');
    const source = packetHashes(join(FIXTURES, 'multi.mkv'));
    source.delete(3);
    expect(packetHashes(mp4)).toEqual(source);
  });

  it('refuses codecs the target cannot hold, leaving nothing behind', async () => {
    const a = await importFixture('h264-aac.mp4', join(dir, 'c3.h4mk'));
    const out = join(dir, 'nope.webm');
    const error = await withReader(a.path, (r) => exportMedia(r, out)).catch((e: unknown) => e);
    expect(isMediaError(error) && error.code).toBe('E_MEDIA_UNSUPPORTED');
    expect(String(error)).toMatch(/not allowed in WebM/);
    await expect(FileSource.open(out)).rejects.toThrow();
  });
});

describe('time windows', () => {
  it.skipIf(SKIP_FFMPEG)('cuts at keyframes: starts at the keyframe at or before --from-us, ends before the first keyframe at or after --to-us', async () => {
    requireFfmpeg();
    const g = await importFixture('long-gop.mkv', join(dir, 'w.h4mk'));
    const sourceFrames = framemd5(join(FIXTURES, 'long-gop.mkv'), 'decode').filter((l) => !l.startsWith('#'));
    const hashes = (lines: string[]) => lines.filter((l) => !l.startsWith('#')).map((l) => l.split(',').pop()?.trim());
    // Keyframes at 0 s and 4 s: [4.5 s, 6 s) → from the 4 s keyframe to the end.
    const late = join(dir, 'late.mp4');
    const s1 = await withReader(g.path, (r) => exportMedia(r, late, { fromUs: 4_500_000, toUs: 6_000_000 }));
    expect(s1.window).toEqual({ fromUs: 4_000_000, toUs: null });
    expect(decodeErrors(late)).toBe('');
    const p1 = probePackets(late).get(0) ?? [];
    expect(p1.length).toBe(120);
    expect(p1[0]).toMatchObject({ key: true, pts: 0 });
    expect(hashes(framemd5(late, 'decode'))).toEqual(hashes(sourceFrames.slice(120)));
    // [1 s, 3 s) → the first GOP, 0 s .. 4 s, into Matroska.
    const early = join(dir, 'early.mkv');
    const s2 = await withReader(g.path, (r) => exportMedia(r, early, { fromUs: 1_000_000, toUs: 3_000_000 }));
    expect(s2.window).toEqual({ fromUs: 0, toUs: 4_000_000 });
    expect(s2.blocks).toBe(120);
    expect(hashes(framemd5(early, 'decode'))).toEqual(hashes(sourceFrames.slice(0, 120)));
  });

  it('narrows tracks with tracks: [...] and windows audio to the video cut', async () => {
    const a = await importFixture('multi.mkv', join(dir, 'n.h4mk'));
    const out = join(dir, 'audio-only.mkv');
    const s = await withReader(a.path, (r) => exportMedia(r, out, { tracks: ['audio_1'], fromUs: 500_000, toUs: 1_000_000 }));
    expect(s.tracks.map((t) => t.id)).toEqual(['audio_1']);
    // 20 ms Opus packets in [0.5 s, 1 s).
    expect(s.blocks).toBeGreaterThanOrEqual(24);
    expect(s.blocks).toBeLessThanOrEqual(26);
  });
});

describe('other formats read through mediabunny', () => {
  const sources: [string, string[]][] = [
    ['opus.ogg', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'libopus']],
    ['vorbis.ogg', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'libvorbis']],
    ['tone.mp3', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'libmp3lame']],
    ['tone.wav', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'pcm_s16le']],
    ['tone.aac', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', '-f', 'adts']],
    ['tone.flac', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'flac']],
    [
      'clip.ts',
      [
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=96x64:rate=25:duration=1',
        '-f',
        'lavfi',
        '-i',
        'sine=duration=1',
        '-c:v',
        'libx264',
        '-bf',
        '2',
        '-c:a',
        'aac',
        '-f',
        'mpegts',
      ],
    ],
  ];
  it.skipIf(SKIP_FFMPEG).each(sources)('%s: every packet imported byte for byte, keyframes as ffprobe flags them', async (name, args) => {
    requireFfmpeg();
    const file = join(dir, name);
    const r = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args, '-fflags', '+bitexact', file]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const out = join(dir, `${name}.h4mk`);
    await importMedia(file, await FileSink.create(out));
    const hashes = packetHashes(file);
    const probed = probePackets(file);
    const blocks = await blocksByTrack(out);
    await withReader(out, async (reader) => {
      expect(reader.tracks().length).toBe(hashes.size);
      for (const t of reader.tracks()) {
        const index = (t.extra.source as { index: number }).index;
        const mine = blocks.get(t.id) ?? [];
        expect(
          mine.map((b) => md5(b.payload)),
          t.id,
        ).toEqual((hashes.get(index) ?? []).map((p) => p.md5));
        expect(
          mine.map((b) => b.keyframe),
          t.id,
        ).toEqual((probed.get(index) ?? []).map((p) => p.key));
      }
    });
  });
});
