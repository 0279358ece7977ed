/**
 * Issue 13, live: a container being written (in place, with checkpoints) is
 * served as a live HLS playlist (EVENT, no ENDLIST, short max-age) and a
 * dynamic MPD that grow with each checkpoint, list only complete segments,
 * and end (ENDLIST, static MPD) when the writer finishes; ffmpeg then reads
 * the source's packets through the playlist.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Block, FileSink, FileSource, H4mkReader, H4mkWriter } from '../../src/node.js';
import { build } from '../../src/server/app.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

let dir: string;
let app: FastifyInstance;
let base: string;
let source: H4mkReader;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'h4mk-live-delivery-'));
  await mkdir(join(dir, 'served'));
  const clip = join(dir, 'clip.mp4');
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x90:rate=25',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    '8',
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
    '48k',
    clip,
  ]);
  await run('node', [MAIN, 'import', clip, '-o', join(dir, 'clip.h4mk')]);
  source = await H4mkReader.open(await FileSource.open(join(dir, 'clip.h4mk')));
  app = await build({ dir: join(dir, 'served'), revalidateMs: 0 });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await source?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

let version = '';
const get = async (path: string) => {
  const r = await fetch(`${base}/v1/containers/live.h4mk/${path.replace('hls/t', `hls/${version}/t`)}`);
  return { status: r.status, cache: r.headers.get('cache-control'), text: await r.text() };
};
const segmentsOf = (playlist: string) => playlist.split('\n').filter((l) => l.endsWith('.m4s')).length;

describe('live HLS and DASH from a container being written', () => {
  it('playlists grow with each checkpoint, list complete segments only, and end when the writer finishes', async () => {
    const path = join(dir, 'served', 'live.h4mk');
    const writer = await H4mkWriter.create(await FileSink.create(path, { inPlace: true }), { live: { checkpointMs: 0 } });
    for (const t of source.tracks()) {
      writer.addTrack({ id: t.id, kind: t.kind, codec: t.codec, config: t.config, timescale: t.timescale, name: t.name, language: t.language, extra: t.extra });
    }
    const blocks: Block[] = [];
    for await (const b of source.blocks({})) blocks.push(b);
    const seen: { video: number; audio: number }[] = [];
    let i = 0;
    for (const stop of [0.3, 0.6, 1]) {
      for (; i < Math.floor(blocks.length * stop); i++) {
        const b = blocks[i] as Block;
        await writer.writeBlock({ track: b.trackId, pts: b.pts, dts: b.dts, duration: b.duration, keyframe: b.keyframe, payload: b.payload });
      }
      if (stop === 1) break;
      const master = await get('hls/master.m3u8');
      expect(master.status, master.text).toBe(200);
      expect(master.cache).toBe('public, no-cache');
      // The versioned directory stays the same while the writer appends.
      const v = /^(v-[0-9a-f]{16})\//m.exec(master.text)?.[1] as string;
      if (version !== '') expect(v).toBe(version);
      version = v;
      const video = await get('hls/t0/index.m3u8');
      const audio = await get('hls/t1/index.m3u8');
      expect(video.cache).toMatch(/max-age=1$/);
      expect(video.text).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
      expect(video.text).not.toContain('#EXT-X-ENDLIST');
      seen.push({ video: segmentsOf(video.text), audio: segmentsOf(audio.text) });
      // Every listed segment is served; the next one is not complete yet (404, not cached).
      const n = segmentsOf(video.text);
      expect((await get(`hls/t0/${n - 1}.m4s`)).status).toBe(200);
      const next = await get(`hls/t0/${n}.m4s`);
      expect(next.status).toBe(404);
      expect(next.cache).toBe('no-store');
      const mpd = await get('dash/manifest.mpd');
      expect(mpd.text).toContain('type="dynamic"');
    }
    await writer.finish();
    expect((await get('hls/master.m3u8')).text).toContain(`${version}/t0/index.m3u8`);
    // Another version's URL is a 404, never this version's bytes.
    expect((await fetch(`${base}/v1/containers/live.h4mk/hls/v-0123456789abcdef/t0/0.m4s`)).status).toBe(404);
    expect(seen[0]?.video).toBeGreaterThan(0);
    expect(seen[1]?.video).toBeGreaterThan(seen[0]?.video as number);
    expect(seen[1]?.audio).toBeGreaterThan(seen[0]?.audio as number);
    const video = await get('hls/t0/index.m3u8');
    expect(video.text).toContain('#EXT-X-ENDLIST');
    expect(video.text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(video.cache).toMatch(/immutable/);
    expect((await get('dash/manifest.mpd')).text).toContain('type="static"');
    // The finished container verifies, and ffmpeg reads the source's packets through the playlist.
    await run('node', [MAIN, 'verify', path]);
    const packets = async (input: string) =>
      (await run('ffmpeg', ['-v', 'error', '-copyts', '-i', input, '-map', '0:v', '-c', 'copy', '-f', 'framemd5', '-'], { maxBuffer: 64 << 20 })).stdout
        .split('\n')
        .filter((l) => !l.startsWith('#') && l.trim() !== '')
        .map((l) => l.split(',').slice(4).join(',').trim());
    expect(await packets(`${base}/v1/containers/live.h4mk/hls/master.m3u8`)).toEqual(await packets(join(dir, 'clip.mp4')));
  }, 120_000);
});
