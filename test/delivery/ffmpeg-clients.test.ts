/**
 * Issue 13 (play everywhere), checked with ffmpeg as the client: for
 * ffmpeg-made files imported with `h4mk import`, the HLS master playlist
 * and the DASH manifest served on the fly by `h4mk serve`, and a static
 * `h4mk package` served by nginx, give ffmpeg the same packets per stream
 * as the source file (bytes, pts, dts, durations: `-copyts -c copy -f
 * framemd5`) and the same decoded video frames.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../src/server/app.js';
import { FIXTURES } from '../media/ffmpeg.js';
import { NGINX_SKIPPED, type Nginx, startNginx } from '../support/nginx.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const BIG = { maxBuffer: 256 * 1024 * 1024 };

type Packet = { pts: number; dts: number; duration: number; size: number; hash: string };
type Stream = { type: string; codec: string; tb: [number, number]; packets: Packet[] };

/** Streams of `ffmpeg -f framemd5` output, with their time bases. */
function parseFramemd5(text: string): Stream[] {
  const streams: Stream[] = [];
  const at = (i: number) => {
    streams[i] ??= { type: '', codec: '', tb: [1, 1], packets: [] };
    return streams[i] as Stream;
  };
  for (const line of text.split('\n')) {
    let m = /^#tb (\d+): (\d+)\/(\d+)/.exec(line);
    if (m) at(Number(m[1])).tb = [Number(m[2]), Number(m[3])];
    m = /^#media_type (\d+): (\w+)/.exec(line);
    if (m) at(Number(m[1])).type = m[2] as string;
    m = /^#codec_id (\d+): (\w+)/.exec(line);
    if (m) at(Number(m[1])).codec = m[2] as string;
    if (line.startsWith('#') || line.trim() === '') continue;
    const f = line.split(',').map((s) => s.trim());
    at(Number(f[0])).packets.push({ dts: Number(f[1]), pts: Number(f[2]), duration: Number(f[3]), size: Number(f[4]), hash: f[5] as string });
  }
  return streams.filter((s) => s !== undefined);
}

async function packets(input: string, maps: string[] = ['0:v?', '0:a?']): Promise<Stream[]> {
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-copyts', '-i', input, ...maps.flatMap((m) => ['-map', m]), '-c', 'copy', '-f', 'framemd5', '-'],
    BIG,
  );
  return parseFramemd5(stdout);
}

/**
 * DASH, one stream at a time: ffmpeg's DASH demuxer ends every stream when the
 * first one ends, so audio packets after the last video frame are missing
 * when both are read together (the same with any MPD); read alone, each
 * stream is complete.
 */
async function dashPackets(input: string, source: Stream[]): Promise<Stream[]> {
  const out: Stream[] = [];
  const counts = { video: 0, audio: 0 };
  for (const s of source) {
    const type = s.type as 'video' | 'audio';
    out.push(...(await packets(input, [`0:${type[0]}:${counts[type]++}`])));
  }
  return out;
}

async function decodedVideo(input: string): Promise<string[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', input, '-map', '0:v:0', '-f', 'framemd5', '-'], BIG);
  return parseFramemd5(stdout)[0]?.packets.map((p) => p.hash) ?? [];
}

/** Seconds of a stream time, for comparing across time bases. */
const seconds = (s: Stream, v: number) => (v * s.tb[0]) / s.tb[1];

/**
 * Every video and audio stream of the source appears in the delivered
 * streams with the same packets, in the same order, with the same timing up
 * to one constant per stream (to within one tick of the coarser time base),
 * which is returned: pts and dts offsets in seconds.
 *
 * Why a constant: CMAF video starts its decode times at its first
 * presentation time (negative composition offsets, trun version 1), which
 * ffmpeg's MP4 reader turns into a pts shift by the largest negative offset;
 * HLS init segments carry no edit list (hls.js ignores them while Chromium
 * applies them), so through HLS every time is also moved by the plan's whole
 * seconds. Durations are not compared: ffmpeg's MP4 demuxer does not report
 * a fragment's per-sample durations as packet durations (the same with
 * ffmpeg's own fragmented output); test/delivery/cmaf.test.ts checks them.
 */
function expectSamePackets(source: Stream[], delivered: Stream[], label: string): Map<Stream, { pts: number; dts: number }> {
  const offsets = new Map<Stream, { pts: number; dts: number }>();
  for (const s of source) {
    const key = s.packets.map((p) => `${p.size}:${p.hash}`).join(' ');
    const match = delivered.find((d) => d.type === s.type && d.packets.map((p) => `${p.size}:${p.hash}`).join(' ') === key);
    expect(
      match,
      `${label}: no delivered ${s.type} stream with the source's ${s.packets.length} ${s.codec} packets (delivered: ${delivered.map((d) => `${d.type}/${d.codec}/${d.packets.length}`).join(' ')})`,
    ).toBeDefined();
    const d = match as Stream;
    const tick = Math.max(s.tb[0] / s.tb[1], d.tb[0] / d.tb[1]) + 1e-9;
    const first = d.packets[0] as Packet;
    const origin = s.packets[0] as Packet;
    const offset = { pts: seconds(d, first.pts) - seconds(s, origin.pts), dts: seconds(d, first.dts) - seconds(s, origin.dts) };
    s.packets.forEach((p, i) => {
      const q = d.packets[i] as Packet;
      expect(Math.abs(seconds(d, q.pts) - seconds(s, p.pts) - offset.pts), `${label} ${s.type} packet ${i} pts`).toBeLessThanOrEqual(2 * tick);
      expect(Math.abs(seconds(d, q.dts) - seconds(s, p.dts) - offset.dts), `${label} ${s.type} packet ${i} dts`).toBeLessThanOrEqual(2 * tick);
    });
    offsets.set(s, offset);
  }
  return offsets;
}

type Clip = { name: string; file: string; make?: string[] };

const LAVFI = [
  '-f',
  'lavfi',
  '-i',
  'testsrc2=size=320x180:rate=25',
  '-f',
  'lavfi',
  '-i',
  'sine=frequency=440:sample_rate=48000',
  '-f',
  'lavfi',
  '-i',
  'sine=frequency=660:sample_rate=44100',
];
const CLIPS: Clip[] = [
  {
    name: 'H.264 B-frames + two AAC + timed text (MP4)',
    file: 'h264-2aac-text.mp4',
    make: [
      ...LAVFI,
      '-f',
      'srt',
      '-i',
      'SUBS',
      '-t',
      '5',
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-map',
      '2:a',
      '-map',
      '3:s',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-bf',
      '2',
      '-g',
      '25',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      '-c:s',
      'mov_text',
      '-metadata:s:a:0',
      'language=eng',
      '-metadata:s:a:1',
      'language=fra',
      '-metadata:s:s:0',
      'language=eng',
    ],
  },
  {
    name: 'HEVC + AAC (MP4)',
    file: 'hevc-aac.mp4',
    make: [
      ...LAVFI.slice(0, 8),
      '-t',
      '4',
      '-c:v',
      'libx265',
      '-preset',
      'ultrafast',
      '-x265-params',
      'log-level=error:keyint=25',
      '-tag:v',
      'hvc1',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
    ],
  },
  {
    name: 'AV1 + Opus (WebM)',
    file: 'av1-opus.webm',
    make: [...LAVFI.slice(0, 8), '-t', '3', '-c:v', 'libsvtav1', '-preset', '12', '-g', '25', '-c:a', 'libopus', '-b:a', '48k'],
  },
  { name: 'VP9 + Opus (WebM)', file: 'vp9-opus.webm' },
  { name: 'variable frame rate H.264 (MP4)', file: 'vfr.mp4' },
  { name: 'Matroska: H.264 + AAC + Opus + SubRip', file: 'multi.mkv' },
];

let dir: string;
let app: FastifyInstance;
let base: string;
let nginx: Nginx | null = null;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'h4mk-delivery-'));
  await mkdir(join(dir, 'served'));
  const subs = join(dir, 'subs.srt');
  await import('node:fs/promises').then((fs) =>
    fs.writeFile(subs, '1\n00:00:00,500 --> 00:00:01,500\nFirst line\n\n2\n00:00:02,000 --> 00:00:03,200\nSecond & last line\n'),
  );
  await Promise.all(
    CLIPS.map(async (c) => {
      const source = join(dir, c.file);
      if (c.make === undefined) await copyFile(join(FIXTURES, c.file), source);
      else await run('ffmpeg', ['-v', 'error', '-y', ...c.make.map((a) => (a === 'SUBS' ? subs : a)), source], BIG);
      await run('node', [MAIN, 'import', source, '-o', join(dir, 'served', `${c.file}.h4mk`)], BIG);
    }),
  );
  app = await build({ dir: join(dir, 'served') });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  if (!NGINX_SKIPPED) nginx = await startNginx();
}, 240_000);

afterAll(async () => {
  await app?.close();
  await nginx?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe.each(CLIPS)('$name', (clip) => {
  const url = (path: string) => `${base}/v1/containers/${encodeURIComponent(`${clip.file}.h4mk`)}/${path}`;

  it('HLS on the fly: same packets and decoded frames as the source', async () => {
    const source = await packets(join(dir, clip.file));
    const offsets = expectSamePackets(source, await packets(url('hls/master.m3u8')), 'HLS');
    // Through HLS every stream is moved by the same whole number of seconds (audio: exactly that).
    const audio = [...offsets].filter(([s]) => s.type === 'audio').map(([, o]) => o.pts);
    for (const a of audio) expect(Math.abs(a - Math.round(a)), JSON.stringify(audio)).toBeLessThan(1e-6);
    expect(await decodedVideo(url('hls/master.m3u8'))).toEqual(await decodedVideo(join(dir, clip.file)));
  }, 120_000);

  it('DASH on the fly: same packets as the source', async () => {
    const source = await packets(join(dir, clip.file));
    const offsets = expectSamePackets(source, await dashPackets(url('dash/manifest.mpd'), source), 'DASH');
    // Through DASH the edit list takes the offset off: audio (no reordering) has the source's exact times.
    for (const [s, o] of offsets)
      if (s.type === 'audio') expect([Math.abs(o.pts) < 1e-6, Math.abs(o.dts) < 1e-6], `${s.codec} ${JSON.stringify(o)}`).toEqual([true, true]);
  }, 120_000);

  it.skipIf(NGINX_SKIPPED)(
    'static package served by nginx: same packets as the source, byte-identical to the server',
    async () => {
      const out = join((nginx as Nginx).root, clip.file);
      await run('node', [MAIN, 'package', join(dir, 'served', `${clip.file}.h4mk`), '-o', out], BIG);
      const source = await packets(join(dir, clip.file));
      expectSamePackets(source, await packets((nginx as Nginx).url(`${clip.file}/master.m3u8`)), 'package/HLS');
      expectSamePackets(source, await dashPackets((nginx as Nginx).url(`${clip.file}/manifest.mpd`), source), 'package/DASH');
      // The server's master points into its versioned directory; below it, the files are the package's, byte for byte.
      const master = await (await fetch(url('hls/master.m3u8'))).text();
      const version = /^(v-[0-9a-f]{16})\/t0\/index\.m3u8$/m.exec(master)?.[1];
      expect(version, master).toBeDefined();
      expect(master.replaceAll(`${version}/`, '')).toBe(await readFile(join(out, 'master.m3u8'), 'utf8'));
      for (const path of ['t0/index.m3u8', 't0/init.mp4', 't0/0.m4s', 't1/init.mp4', 't1/0.m4s']) {
        if (!(await stat(join(out, path)).catch(() => null))) continue;
        const served = new Uint8Array(await (await fetch(url(`hls/${version}/${path}`))).arrayBuffer());
        expect(Buffer.from(served).equals(await readFile(join(out, path))), path).toBe(true);
      }
    },
    120_000,
  );
});

describe('subtitles as WebVTT', () => {
  it('every timed-text cue of the source is in the WebVTT segments, with its time', async () => {
    const name = encodeURIComponent('h264-2aac-text.mp4.h4mk');
    const master = await (await fetch(`${base}/v1/containers/${name}/hls/master.m3u8`)).text();
    const sub = /TYPE=SUBTITLES.*URI="([^"]+)"/.exec(master)?.[1];
    expect(sub).toBeDefined();
    const playlist = await (await fetch(`${base}/v1/containers/${name}/hls/${sub}`)).text();
    const dirOf = (sub as string).replace(/index\.m3u8$/, '');
    let all = '';
    for (const seg of playlist.split('\n').filter((l) => l.endsWith('.vtt')))
      all += await (await fetch(`${base}/v1/containers/${name}/hls/${dirOf}${seg}`)).text();
    expect(all).toContain('00:00:00.500 --> 00:00:01.500\nFirst line');
    expect(all).toContain('00:00:02.000 --> 00:00:03.200\nSecond &amp; last line');
  });
});
