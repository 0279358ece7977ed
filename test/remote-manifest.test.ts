/**
 * `h4mk manifest URL` keeps the library's promise of one request to open:
 * per-track counts, bytes, duration and the GOP statistics come from the
 * index (and the last segment's table, which the open's suffix read already
 * holds) — one request for a 30-minute container, where reading every
 * segment table would cost ~900.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H4mkWriter, MemorySink } from '../src/node.js';
import { NGINX_SKIPPED, type Nginx, startNginx } from './support/nginx.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

let nginx: Nginx;

beforeAll(async () => {
  if (NGINX_SKIPPED) return;
  nginx = await startNginx();
  const sink = new MemorySink();
  const w = await H4mkWriter.create(sink);
  w.addTrack({ id: 'video', kind: 'video', codec: 'avc1.64001f', timescale: 90_000, extra: { media_codec: 'avc' } });
  w.addTrack({ id: 'audio', kind: 'audio', codec: 'mp4a.40.2', timescale: 48_000, extra: { media_codec: 'aac' } });
  const frames = 30 * 60 * 25;
  let audio = 0;
  for (let f = 0; f < frames; f++) {
    // GOPs of 50 frames, and one of 75 (so min, mean and max differ).
    const key = f % 50 === 0 && f !== 1000;
    await w.writeBlock({ track: 'video', pts: f * 3600, dts: f * 3600, duration: 3600, keyframe: key || f === 1025, payload: new Uint8Array(200) });
    while (audio * 1024 * 90_000 <= (f + 1) * 3600 * 48_000) {
      await w.writeBlock({ track: 'audio', pts: audio * 1024, duration: 1024, keyframe: true, payload: new Uint8Array(40) });
      audio++;
    }
  }
  await w.finish();
  await writeFile(join(nginx.root, 'long.h4mk'), sink.bytes());
}, 120_000);

afterAll(async () => {
  await nginx?.stop();
});

describe.skipIf(NGINX_SKIPPED)('manifest over HTTP', () => {
  it('a 30-minute container: one request, and the same GOP statistics as from the local file', async () => {
    const remote = JSON.parse((await run('node', [MAIN, 'manifest', nginx.url('long.h4mk'), '--json', '--stats'])).stdout) as {
      stats: { requests: number };
      tracks: { id: string; gop?: unknown; block_count: number }[];
    };
    const local = JSON.parse((await run('node', [MAIN, 'manifest', join(nginx.root, 'long.h4mk'), '--json'])).stdout) as typeof remote;
    expect(remote.stats.requests).toBe(1);
    expect(remote.tracks).toEqual(local.tracks);
    expect(remote.tracks[0]?.gop).toEqual({
      keyframes: 900,
      min_us: 1_000_000,
      mean_us: 2_000_000,
      max_us: 3_000_000,
      min_frames: 25,
      mean_frames: 50,
      max_frames: 75,
      exact: true,
    });
  }, 60_000);

  it('block URL --index N: the open and one request (the segment of the block, its table included)', async () => {
    const out = JSON.parse((await run('node', [MAIN, 'block', nginx.url('long.h4mk'), '--index', '60000', '--json', '--stats'])).stdout) as {
      stats: { requests: number };
      core_index: number;
    };
    expect(out.core_index).toBe(60000);
    expect(out.stats.requests).toBe(2);
  }, 60_000);
});
