/**
 * Import is exact for files as real muxers write them (issue 15, point 7),
 * checked against ffmpeg's own reading of the same file
 * (`-copyts -c copy -f framemd5`, per stream: dts, pts, size, md5), then
 * again after export back to the same container family:
 *  - mkvmerge: H.264 at 29.97 fps with B-frames (decode times derived from
 *    presentation order, frame durations not whole milliseconds) + AAC +
 *    Opus + Vorbis with its default lacing (8 audio frames per SimpleBlock;
 *    Opus and Vorbis without DefaultDuration), a disabled non-default AAC
 *    track, zlib-compressed tracks;
 *  - header stripping (ContentCompAlgo 3) and a zlib-compressed
 *    CodecPrivate, written here from an mkvmerge file (this mkvmerge offers
 *    no header-removal compression);
 *  - ffmpeg's fragmented MP4 (frag_keyframe+empty_moov: H.264 with B-frames
 *    + AAC; and -movflags cmaf, with negative composition offsets) and its
 *    MOV muxer (QuickTime language codes);
 *  - a track that cannot be imported fails the import unless it is skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Block, exportMedia, FileSink, FileSource, H4mkReader, importMedia, isMediaError } from '../../src/node.js';
import { ByteReader } from '../../src/media/byte-reader.js';
import { concat, element, Id, idBytes, sizeBytes, uintElement } from '../../src/media/matroska/ebml.js';
import { UnsupportedTracksError } from '../../src/media/errors.js';
import { MkvDemuxer } from '../../src/media/matroska/scan.js';
import { md5, requireFfmpeg, SKIP_FFMPEG } from './ffmpeg.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const hasMkvmerge = spawnSync('mkvmerge', ['--version']).status === 0;
let dir: string;

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  // mkvmerge exits 1 for warnings.
  if (r.status !== 0 && !(command === 'mkvmerge' && r.status === 1))
    throw new Error(`${command} ${args.join(' ')}: ${r.stdout.toString()}${r.stderr.toString()}`);
}
const ffmpeg = (...args: string[]) => run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args]);
const mkvmerge = (...args: string[]) => run('mkvmerge', ['-q', ...args]);

/** ffmpeg's packets per stream index: "dts/pts size:md5", timestamps as the file has them (-copyts). */
function ffmpegPackets(file: string): Map<number, string[]> {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', '-copyts', '-i', file, '-map', '0', '-c', 'copy', '-f', 'framemd5', '-'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`ffmpeg framemd5 ${file}: ${r.stderr.toString()}`);
  const out = new Map<number, string[]>();
  for (const line of r.stdout.toString().split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [stream, dts, pts, , size, hash] = line.split(',').map((c) => c.trim());
    const k = Number(stream);
    if (!out.has(k)) out.set(k, []);
    out.get(k)?.push(`${dts}/${pts} ${size}:${hash}`);
  }
  return out;
}

type Imported = { path: string; tracks: { id: string; index: number; language: string; extra: Record<string, unknown> }[]; packets: Map<number, string[]> };

/** Imports `file`; the blocks per source stream index, in the same form as {@link ffmpegPackets}. */
async function importFile(file: string, options: { skipUnsupported?: boolean } = {}): Promise<Imported> {
  const path = join(dir, `${file}.h4mk`);
  await importMedia(join(dir, file), await FileSink.create(path), options);
  const source = await FileSource.open(path);
  try {
    const r = await H4mkReader.open(source);
    const tracks = r.tracks().map((t) => ({ id: t.id, index: (t.extra.source as { index: number }).index, language: t.language, extra: t.extra }));
    const byId = new Map(tracks.map((t) => [t.id, t.index]));
    const packets = new Map<number, string[]>();
    for await (const b of r.blocks({})) {
      const k = byId.get(b.trackId) as number;
      if (!packets.has(k)) packets.set(k, []);
      const payload = (b as Block).payload;
      packets.get(k)?.push(`${b.dts}/${b.pts} ${payload.length}:${md5(payload)}`);
    }
    return { path, tracks, packets };
  } finally {
    await source.close();
  }
}

async function exportTo(container: string, out: string): Promise<void> {
  const source = await FileSource.open(container);
  try {
    await exportMedia(await H4mkReader.open(source), join(dir, out));
  } finally {
    await source.close();
  }
}

/** Every stream ffmpeg reads is imported with ffmpeg's packets, and an export to `ext` gives ffmpeg the same packets again. */
async function expectExact(file: string, ext: string): Promise<Imported> {
  const theirs = ffmpegPackets(join(dir, file));
  const mine = await importFile(file);
  expect(mine.tracks.map((t) => t.index).sort(), `${file}: every stream imported`).toEqual([...theirs.keys()].sort());
  for (const [k, list] of theirs) {
    expect((list as string[]).length, `${file} stream ${k}: packets`).toBeGreaterThan(10);
    expect(mine.packets.get(k), `${file} stream ${k} after import`).toEqual(list);
  }
  const back = `back-${file}${ext}`;
  await exportTo(mine.path, back);
  const again = ffmpegPackets(join(dir, back));
  for (const [k, list] of theirs) expect(again.get(k), `${file} stream ${k} after export to ${ext}`).toEqual(list);
  return mine;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h4mk-real-muxers-'));
  if (SKIP_FFMPEG) return;
  requireFfmpeg();
  const video = ['-f', 'lavfi', '-i', 'testsrc2=size=160x96:rate=30000/1001:duration=2'];
  const h264 = ['-c:v', 'libx264', '-bf', '2', '-g', '25', '-pix_fmt', 'yuv420p'];
  const tone = (f: number) => ['-f', 'lavfi', '-i', `sine=frequency=${f}:duration=2`];
  ffmpeg(...video, ...h264, '-fflags', '+bitexact', 'v.mp4');
  ffmpeg(...tone(440), '-c:a', 'aac', '-fflags', '+bitexact', 'aac.m4a');
  ffmpeg(...tone(660), '-c:a', 'libopus', 'opus.ogg');
  ffmpeg(...tone(550), '-c:a', 'libvorbis', 'vorbis.ogg');
  ffmpeg(...video, ...tone(440), ...h264, '-c:a', 'aac', '-movflags', 'frag_keyframe+empty_moov', '-fflags', '+bitexact', 'frag.mp4');
  // CMAF: negative composition offsets (trun version 1), three fragments of one second.
  ffmpeg(...video, ...tone(440), ...h264, '-bf', '3', '-c:a', 'aac', '-movflags', 'cmaf', '-frag_duration', '1000000', '-fflags', '+bitexact', 'cmaf.mp4');
  // ffmpeg's DASH muxer, one file: a sidx per segment and an edit list whose segment_duration 0 means "to the end".
  ffmpeg(...video, ...h264, '-f', 'dash', '-single_file', '1', '-seg_duration', '1', '-fflags', '+bitexact', 'dash.mpd');
  // MOV: a French audio track (Macintosh language code 1), video without a language (0x7FFF), a timecode track.
  ffmpeg(...video, ...tone(440), ...h264, '-c:a', 'aac', '-metadata:s:a:0', 'language=fra', '-fflags', '+bitexact', 'clip.mov');
  ffmpeg('-i', 'clip.mov', '-map', '0', '-c', 'copy', '-timecode', '00:00:00:00', '-fflags', '+bitexact', 'timecode.mov');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(SKIP_FFMPEG || !hasMkvmerge)('Matroska as mkvmerge writes it', () => {
  it('laced Opus, Vorbis and AAC: each frame its own block with ffmpeg’s timestamps; export to .mkv gives the same packets', async () => {
    mkvmerge('-o', 'laced.mkv', 'v.mp4', 'aac.m4a', 'opus.ogg', 'vorbis.ogg');
    const mine = await expectExact('laced.mkv', '.mkv');
    // mkvmerge laced every audio track (several frames per block), and gave Opus and Vorbis no DefaultDuration.
    for (const t of mine.tracks.filter((t) => t.id.startsWith('audio'))) expect((t.extra.matroska as Record<string, unknown>).laced, t.id).toBe(true);
    expect(mine.tracks.map((t) => (t.extra.matroska as Record<string, unknown>).default_duration_ns === undefined)).toEqual([false, false, true, true]);
  });

  it('a disabled, non-default track is imported like any other, its flags kept in TRAK extra and written back', async () => {
    mkvmerge('-o', 'disabled.mkv', 'v.mp4', 'aac.m4a', '--track-enabled-flag', '0:0', '--default-track-flag', '0:0', 'aac.m4a');
    const mine = await expectExact('disabled.mkv', '.mkv');
    expect(mine.tracks.map((t) => t.id)).toEqual(['video_0', 'audio_0', 'audio_1']);
    const third = mine.tracks[2] as Imported['tracks'][number];
    expect((third.extra.matroska as Record<string, unknown>).flags).toEqual({ enabled: 0, default: 0 });
    expect(third.extra.disposition).toMatchObject({ default: false });
    const r = spawnSync('mkvinfo', [join(dir, 'back-disabled.mkv.mkv')]);
    if (r.status === 0) expect(r.stdout.toString()).toMatch(/"Enabled" flag: 0/);
  });

  it('zlib-compressed tracks (--compression N:zlib) are decoded', async () => {
    mkvmerge('-o', 'zlib.mkv', '--compression', '0:zlib', 'v.mp4', '--compression', '0:zlib', 'aac.m4a', '--compression', '0:zlib', 'opus.ogg');
    const mine = await expectExact('zlib.mkv', '.mkv');
    for (const t of mine.tracks)
      expect((t.extra.matroska as Record<string, unknown>).content_encodings, t.id).toEqual([{ order: 0, scope: 1, type: 0, algorithm: 0 }]);
  });

  it('header stripping (ContentCompAlgo 3) and a zlib-compressed CodecPrivate are decoded', async () => {
    mkvmerge('-o', 'plain.mkv', '--disable-lacing', 'v.mp4', 'aac.m4a');
    await rewriteMatroska('plain.mkv', 'stripped.mkv', (track, frames) => {
      if (track === 1) {
        const prefix = commonPrefix(frames);
        expect(prefix.length).toBeGreaterThan(0);
        return { encoding: { scope: 1, algorithm: 3, settings: prefix }, frame: (f) => f.subarray(prefix.length) };
      }
      return { encoding: { scope: 3, algorithm: 0 }, frame: (f) => deflateSync(f), codecPrivate: (p) => deflateSync(p) };
    });
    const mine = await expectExact('stripped.mkv', '.mkv');
    expect(mine.tracks.map((t) => ((t.extra.matroska as Record<string, unknown>).content_encodings as { algorithm: number }[])[0]?.algorithm)).toEqual([3, 0]);
  });
});

describe.skipIf(SKIP_FFMPEG)('MP4 and MOV as ffmpeg writes them', () => {
  it('fragmented MP4 (frag_keyframe+empty_moov, H.264 with B-frames + AAC): decode times from tfdt and trun', async () => {
    const mine = await expectExact('frag.mp4', '.mp4');
    expect(mine.tracks.map((t) => (t.extra.mp4 as Record<string, unknown>).fragmented)).toEqual([true, true]);
    // B-frames: the first packet is decoded at 0 and presented later.
    expect(mine.packets.get(0)?.[0]).toMatch(/^0\/[1-9]\d* /);
  });

  it('CMAF (-movflags cmaf): negative composition offsets presented as ffmpeg presents them', async () => {
    const mine = await expectExact('cmaf.mp4', '.mp4');
    expect(mine.tracks.map((t) => (t.extra.mp4 as Record<string, unknown>).fragmented)).toEqual([true, true]);
  });

  it('DASH single file (sidx, edit list to the end of the fragments): exported with an edit list that covers them', async () => {
    const mine = await expectExact('dash-stream0.mp4', '.mp4');
    const edits = ((mine.tracks[0] as Imported['tracks'][number]).extra.mp4 as { edits: { segment_duration: number; media_time: number }[] }).edits;
    expect(edits).toHaveLength(1);
    expect(edits[0]?.segment_duration).toBeGreaterThan(0);
  });

  it('MOV: Macintosh language codes mapped (0x7FFF unspecified, 1 French), exported back', async () => {
    const mine = await expectExact('clip.mov', '.mov');
    expect(mine.tracks.map((t) => t.language)).toEqual(['', 'fra']);
  });
});

describe.skipIf(SKIP_FFMPEG)('tracks that cannot be imported', () => {
  it('fail the import (nothing written) unless skipped: a MOV timecode track', async () => {
    const out = join(dir, 'tc.h4mk');
    const error = await importMedia(join(dir, 'timecode.mov'), await FileSink.create(out)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedTracksError);
    expect(isMediaError(error) && error.code).toBe('E_MEDIA_UNSUPPORTED');
    expect(String(error)).toMatch(/source track 2: .*tmcd/);
    expect(existsSync(out)).toBe(false);
    const mine = await importFile('timecode.mov', { skipUnsupported: true });
    expect(mine.tracks.map((t) => t.id)).toEqual(['video_0', 'audio_0']);
  });

  it('the CLI: exit 2 with a hint, nothing written; --skip-unsupported imports the others', () => {
    const cli = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
    const failed = cli(['import', 'timecode.mov', '-o', 'cli.h4mk']);
    expect(failed.status).toBe(2);
    expect(failed.stderr.toString()).toMatch(/^h4mk: error: .*cannot import source track 2: .*tmcd.*\nh4mk: hint: give --skip-unsupported/);
    expect(existsSync(join(dir, 'cli.h4mk'))).toBe(false);
    const ok = cli(['import', 'timecode.mov', '-o', 'cli.h4mk', '--skip-unsupported']);
    expect(ok.status, ok.stderr.toString()).toBe(0);
    expect(ok.stdout.toString()).toMatch(/2 tracks/);
    expect(ok.stdout.toString()).toMatch(/skipped source track 2: .*tmcd/);
  });

  it.skipIf(!hasMkvmerge)('an encrypted Matroska track is one of them', async () => {
    mkvmerge('-o', 'plain2.mkv', '--disable-lacing', 'v.mp4', 'aac.m4a');
    await rewriteMatroska('plain2.mkv', 'encrypted.mkv', (track) =>
      track === 2 ? { encoding: { scope: 1, algorithm: 0, encrypted: true }, frame: (f) => f } : null,
    );
    const error = await importMedia(join(dir, 'encrypted.mkv'), await FileSink.create(join(dir, 'enc.h4mk'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedTracksError);
    expect(String(error)).toMatch(/source track 1: track 2 \(A_AAC\): its frames are encrypted/);
    const mine = await importFile('encrypted.mkv', { skipUnsupported: true });
    expect(mine.tracks.map((t) => t.id)).toEqual(['video_0']);
    expect(mine.packets.get(0)).toEqual(ffmpegPackets(join(dir, 'encrypted.mkv')).get(0));
  });
});

// --- writing Matroska with ContentEncodings -------------------------------------------------

type Encoding = { scope: number; algorithm: number; settings?: Uint8Array; encrypted?: boolean };
type Rewrite = { encoding: Encoding; frame: (f: Uint8Array) => Uint8Array; codecPrivate?: (p: Uint8Array) => Uint8Array } | null;

function commonPrefix(frames: Uint8Array[]): Uint8Array {
  const first = frames[0] as Uint8Array;
  let n = Math.min(first.length, 8);
  for (const f of frames) {
    let i = 0;
    while (i < n && f[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n);
}

function contentEncodings(e: Encoding): Uint8Array {
  const body = [uintElement(0x5031, 0), uintElement(0x5032, e.scope), uintElement(0x5033, e.encrypted === true ? 1 : 0)];
  if (e.encrypted === true) body.push(element(0x5035, [uintElement(0x47e1, 5)]));
  else body.push(element(0x5034, [uintElement(0x4254, e.algorithm), ...(e.settings === undefined ? [] : [element(0x4255, e.settings)])]));
  return element(0x6d80, [element(0x6240, body)]);
}

/**
 * Writes `to` from the unlaced Matroska `from`: the same tracks and frames in
 * one cluster, the tracks that `rewrite` names stored with a ContentEncoding
 * (frames and CodecPrivate transformed as it says).
 */
async function rewriteMatroska(from: string, to: string, rewrite: (track: number, frames: Uint8Array[]) => Rewrite): Promise<void> {
  const source = await FileSource.open(join(dir, from));
  try {
    const demuxer = await MkvDemuxer.open(await ByteReader.open(source, from));
    const blocks: { track: number; timestamp: number; keyframe: boolean; data: Uint8Array }[] = [];
    for await (const b of demuxer.blocks({ payloads: true })) {
      expect(b.frames.length).toBe(1);
      blocks.push({ track: b.track, timestamp: b.timestamp, keyframe: b.keyframe, data: b.frames[0] as Uint8Array });
    }
    const plans = new Map(
      demuxer.tracks.map((t) => [
        t.number,
        rewrite(
          t.number,
          blocks.filter((b) => b.track === t.number).map((b) => b.data),
        ),
      ]),
    );
    const entries = demuxer.tracks.map((t) => {
      const plan = plans.get(t.number);
      const children = t.rawChildren.map((c) =>
        c.id === Id.CodecPrivate && plan?.codecPrivate !== undefined && t.codecPrivate !== null
          ? element(Id.CodecPrivate, plan.codecPrivate(t.codecPrivate))
          : c.bytes,
      );
      if (plan !== null && plan !== undefined) children.push(contentEncodings(plan.encoding));
      return element(Id.TrackEntry, children);
    });
    const cluster = element(Id.Cluster, [
      uintElement(Id.Timestamp, 0),
      ...blocks.map((b) => {
        const head = new Uint8Array(4);
        head[0] = 0x80 | b.track;
        new DataView(head.buffer).setInt16(1, b.timestamp);
        head[3] = b.keyframe ? 0x80 : 0;
        const plan = plans.get(b.track);
        return element(Id.SimpleBlock, [head, plan === null || plan === undefined ? b.data : plan.frame(b.data)]);
      }),
    ]);
    const header = element(Id.EBML, [
      uintElement(Id.EBMLVersion, 1),
      uintElement(Id.EBMLReadVersion, 1),
      element(Id.DocType, new TextEncoder().encode('matroska')),
      uintElement(Id.DocTypeVersion, 4),
      uintElement(Id.DocTypeReadVersion, 2),
    ]);
    const segment = concat([element(Id.Info, [uintElement(Id.TimestampScale, demuxer.info.timestampScale)]), element(Id.Tracks, entries), cluster]);
    writeFileSync(join(dir, to), concat([header, idBytes(Id.Segment), sizeBytes(segment.length, 8), segment]));
  } finally {
    await source.close();
  }
}
