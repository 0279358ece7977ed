/**
 * On-the-fly HLS and DASH delivery played by real players in Debian's
 * headless chromium (playwright-core, never a downloaded browser): hls.js on
 * `hls/master.m3u8` and dash.js on `dash/manifest.mpd`, both served to the
 * page by the test from node_modules (nothing from the internet).
 *
 * Three sources made with ffmpeg (12 s, 320x180, BT.709, testsrc2 + a beeping
 * sine): H.264 with B-frames + AAC in MP4, VP9 + Opus in WebM, AV1 + Opus in
 * WebM, each imported with `h4mk import` into the directory `h4mk serve`
 * serves. For every source and player, in one page with a <video muted>:
 * 1. playback starts and the clock advances ≥ 5 s with no stall over 1 s
 *    (currentTime standing still while playing, start-up, seeks and pauses
 *    excepted) and no fatal player or media error; audio and video are
 *    decoded (webkitAudioDecodedByteCount, webkitVideoDecodedByteCount > 0);
 * 2. a seek to duration/2 resumes and advances ≥ 1 s past the seek point;
 * 3. paused at two times, the presented frame (requestVideoFrameCallback's
 *    mediaTime) drawn onto a canvas is compared with every frame ffmpeg
 *    decodes from the SOURCE file: the best match has PSNR ≥ 30 dB and its
 *    pts is less than one frame interval from the presented time (a player
 *    may map the first segment's start, or the earliest track's, to 0: a
 *    few ms; a whole-second shift of the timeline fails). The offset (best
 *    pts − presented time) and both PSNRs are logged per player and codec;
 * 4. from 2.5 s before the end, playback reaches 'ended' with no stall.
 * A summary (offsets, PSNR, buffered ranges, non-fatal player errors) is
 * printed after the run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grab, PlayerState } from './support/player-page.js';
import { PLAYER_PAGE } from './support/player-page.js';
import { run } from './support/run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const CHROMIUM = process.env.H4MK_CHROMIUM ?? '/usr/bin/chromium';
const HLS_JS = join(ROOT, 'node_modules/hls.js/dist/hls.min.js');
const DASH_JS = join(ROOT, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js');
const WIDTH = 320;
const HEIGHT = 180;
const FPS = 25;
const SECONDS = 12;
/** Times the frame comparison pauses at (player time, s): mid-GOP, between frames. */
const GRAB_TIMES = [3.33, 8.71];

type Player = 'hls' | 'dash';

/** The AV1 encoder to use: SVT-AV1 when ffmpeg has it, else libaom in real-time mode. */
function av1Encoder(): string[] {
  const list = spawnSync('ffmpeg', ['-hide_banner', '-encoders']).stdout?.toString() ?? '';
  if (/\blibsvtav1\b/.test(list)) return ['-c:v', 'libsvtav1', '-preset', '12', '-g', '50'];
  return ['-c:v', 'libaom-av1', '-usage', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-g', '50', '-b:v', '400k'];
}

const SPECS: { name: string; ext: string; codecs: string; args: () => string[] }[] = [
  {
    name: 'h264-aac',
    ext: 'mp4',
    codecs: 'H.264 (B-frames) + AAC, MP4',
    args: () => ['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '64k'],
  },
  {
    name: 'vp9-opus',
    ext: 'webm',
    codecs: 'VP9 + Opus, WebM',
    args: () => ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-g', '50', '-b:v', '400k', '-c:a', 'libopus', '-b:a', '64k'],
  },
  {
    name: 'av1-opus',
    ext: 'webm',
    codecs: 'AV1 + Opus, WebM',
    args: () => [...av1Encoder(), '-c:a', 'libopus', '-b:a', '64k'],
  },
];

let work = '';
let served = '';
let base = '';
let server: ReturnType<typeof spawn> | null = null;
let browser: Browser;
let context: BrowserContext;
/** Every decoded video frame of each source (RGB24) with its pts, s. */
const references = new Map<string, { pts: number[]; frames: Uint8Array[] }>();
const summary: string[] = [];

/** Every video frame of `file`, presentation order, as RGB24 at WIDTH x HEIGHT, with its pts (s). */
async function decodeAll(file: string): Promise<{ pts: number[]; frames: Uint8Array[] }> {
  const pts = (await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', file]))
    .toString()
    .split('\n')
    .map((l) => l.trim().replace(/,$/, ''))
    .filter((l) => l !== '')
    .map(Number);
  const raw = await run('ffmpeg', [
    '-v',
    'error',
    '-nostdin',
    '-i',
    file,
    '-map',
    '0:v:0',
    '-fps_mode',
    'passthrough',
    '-vf',
    `scale=${WIDTH}:${HEIGHT}:in_color_matrix=bt709:in_range=tv`,
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-',
  ]);
  const size = WIDTH * HEIGHT * 3;
  if (raw.length !== pts.length * size) throw new Error(`${file}: ffmpeg gave ${raw.length / size} frames, ffprobe ${pts.length} timestamps`);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < pts.length; i++) frames.push(new Uint8Array(raw.buffer, raw.byteOffset + i * size, size));
  return { pts, frames };
}

/** PSNR between RGBA (canvas) and RGB24 (ffmpeg) pictures of the same size, dB. */
function psnr(rgba: Uint8Array, rgb: Uint8Array): number {
  let sum = 0;
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    for (let c = 0; c < 3; c++) {
      const d = (rgba[i + c] as number) - (rgb[j + c] as number);
      sum += d * d;
    }
  }
  const mse = sum / rgb.length;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

/** Index of the source frame whose pts is nearest `t`. */
function nearestIndex(pts: number[], t: number): number {
  let best = 0;
  for (let i = 1; i < pts.length; i++) if (Math.abs((pts[i] as number) - t) < Math.abs((pts[best] as number) - t)) best = i;
  return best;
}

/** Index of the frame presented at `t`: the last pts ≤ t (half a millisecond of rounding allowed). */
function presentedIndex(pts: number[], t: number): number {
  let best = 0;
  for (let i = 0; i < pts.length; i++) if ((pts[i] as number) <= t + 0.0005) best = i;
  return best;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set H4MK_CHROMIUM`);
  if (!existsSync(MAIN)) throw new Error('dist/ is missing: run npm run build');
  work = mkdtempSync(join(tmpdir(), 'h4mk-delivery-browser-'));
  served = join(work, 'served');
  mkdirSync(served);
  for (const spec of SPECS) {
    const file = join(work, `${spec.name}.${spec.ext}`);
    await run('ffmpeg', [
      '-v',
      'error',
      '-nostdin',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${WIDTH}x${HEIGHT}:rate=${FPS}:duration=${SECONDS}`,
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${SECONDS}`,
      // BT.709, tagged in the streams: chromium draws untagged small video as BT.709 while ffmpeg converts it as BT.601.
      '-vf',
      'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p',
      '-colorspace',
      'bt709',
      '-color_primaries',
      'bt709',
      '-color_trc',
      'bt709',
      ...spec.args(),
      '-shortest',
      file,
    ]);
    await run(process.execPath, [MAIN, 'import', file, '-o', join(served, `${spec.name}.h4mk`)]);
    references.set(spec.name, await decodeAll(file));
  }
  // The real CLI server, in its own process.
  const child = spawn(process.execPath, [MAIN, 'serve', served, '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
  let output = '';
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`h4mk serve printed no URL: ${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`h4mk serve exited (${code}): ${output}`)));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const files: Record<string, { body: Buffer | string; type: string }> = {
    '/__test/player.html': { body: PLAYER_PAGE, type: 'text/html; charset=utf-8' },
    '/__test/hls.min.js': { body: readFileSync(HLS_JS), type: 'text/javascript' },
    '/__test/dash.all.min.js': { body: readFileSync(DASH_JS), type: 'text/javascript' },
  };
  // The page and the players come from here; the server answers the rest; nothing else is reachable.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== base) return route.abort('blockedbyclient');
    const file = files[url.pathname];
    if (file !== undefined) return route.fulfill({ status: 200, contentType: file.type, body: file.body });
    return route.continue();
  });
}, 300_000);

afterAll(async () => {
  if (summary.length > 0) console.log(`delivery in the browser:\n${summary.join('\n')}`);
  await context?.close();
  await browser?.close();
  const child = server;
  if (child !== null && child.exitCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

const state = (page: Page): Promise<PlayerState> => page.evaluate(() => (window as unknown as { h4: { state(): PlayerState } }).h4.state());

/**
 * Polls the page until `done(state)` or a fatal player error, at most
 * `timeoutMs`; throws with the player's errors and clock on a fatal error or
 * the time running out.
 */
async function until(page: Page, what: string, done: (s: PlayerState) => boolean, timeoutMs: number): Promise<PlayerState> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await state(page);
    if (s.fatal !== null) throw new Error(`${what}: player error: ${s.fatal}\nall errors: ${JSON.stringify(s.errors)}\nstate: ${describeState(s)}`);
    if (done(s)) return s;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs / 1000} s; state: ${describeState(s)}; errors: ${JSON.stringify(s.errors)}`);
    await page.waitForTimeout(100);
  }
}

function describeState(s: PlayerState): string {
  const ranges = s.buffered.map(([a, b]) => `${a.toFixed(3)}-${b.toFixed(3)}`).join(',');
  return `t=${s.currentTime.toFixed(3)} duration=${s.duration} paused=${s.paused} seeking=${s.seeking} ended=${s.ended} readyState=${s.readyState} buffered=[${ranges}] firstPlaying=${s.firstPlaying}`;
}

const PLAYERS: { player: Player; label: string; path: string }[] = [
  { player: 'hls', label: 'hls.js', path: 'hls/master.m3u8' },
  { player: 'dash', label: 'dash.js', path: 'dash/manifest.mpd' },
];

type H4 = { start(k: string, u: string): void; seek(t: number): void; play(): void; grab(t: number): Promise<Grab> };

/** Pauses at `t` and returns the presented frame, at most 20 s. */
async function grabAt(page: Page, t: number): Promise<Grab> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      page.evaluate((at) => (window as unknown as { h4: H4 }).h4.grab(at), t),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`pausing at ${t} s and grabbing the frame took over 20 s`)), 20_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;

describe('HLS and DASH delivery in chromium', () => {
  for (const spec of SPECS) {
    for (const { player, label, path } of PLAYERS) {
      it(`${spec.name} (${spec.codecs}) plays, seeks and shows the source's frames with ${label}`, async () => {
        const t0 = Date.now();
        const tag = `${spec.name} × ${label}`;
        const page = await context.newPage();
        const consoleErrors: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') consoleErrors.push(m.text());
        });
        page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
        const notes: string[] = [];
        try {
          await page.goto(`${base}/__test/player.html`, { timeout: 30_000 });
          const url = `${base}/v1/containers/${spec.name}.h4mk/${path}`;
          await page.evaluate(([kind, u]) => (window as unknown as { h4: H4 }).h4.start(kind, u), [player, url] as const);

          // 1. Playback: the clock advances ≥ 5 s past where it started, no stall over 1 s, audio decoded.
          const started = await until(page, 'first playing', (s) => s.firstPlaying !== null, 30_000);
          const from = started.firstPlaying as number;
          const played = await until(page, 'playing 5 s', (s) => s.currentTime >= from + 5, 30_000);
          notes.push(
            `start ${from.toFixed(4)} s, duration ${played.duration}, buffered ${JSON.stringify(played.buffered.map(([a, b]) => [+a.toFixed(3), +b.toFixed(3)]))}`,
          );
          expect(
            played.maxStallMs,
            `longest stall while playing (stalls ${JSON.stringify(played.stalls)}, waits ${JSON.stringify(played.waits)})`,
          ).toBeLessThanOrEqual(1000);
          expect(played.audioDecodedBytes, 'audio decoded (webkitAudioDecodedByteCount)').toBeGreaterThan(0);
          expect(played.videoDecodedBytes, 'video decoded (webkitVideoDecodedByteCount)').toBeGreaterThan(0);

          // 2. Seek to the middle: playback resumes and advances ≥ 1 s past the seek point.
          const middle = played.duration / 2;
          expect(Number.isFinite(middle) && middle > 2, `duration ${played.duration}`).toBe(true);
          await page.evaluate((t) => (window as unknown as { h4: H4 }).h4.seek(t), middle);
          const resumed = await until(
            page,
            `resuming after the seek to ${middle.toFixed(3)} s`,
            (s) => !s.seeking && !s.paused && s.currentTime >= middle + 1,
            30_000,
          );
          expect(resumed.maxStallMs, `longest stall while playing (stalls ${JSON.stringify(resumed.stalls)})`).toBeLessThanOrEqual(1000);

          // 3. Frames: paused at T, the presented frame (rVFC mediaTime) is the source's frame at that time.
          const ref = references.get(spec.name);
          if (ref === undefined) throw new Error('no reference frames');
          for (const t of GRAB_TIMES) {
            const grab = await grabAt(page, t);
            expect([grab.width, grab.height]).toEqual([WIDTH, HEIGHT]);
            const rgba = new Uint8Array(Buffer.from(grab.rgba, 'base64'));
            const scores = ref.frames.map((f) => psnr(rgba, f));
            let best = 0;
            for (let i = 1; i < scores.length; i++) if ((scores[i] as number) > (scores[best] as number)) best = i;
            // mediaTime is the presented frame's own timestamp: the nearest source pts. Without it, the
            // frame shown at currentTime is the last one at or before it.
            const shown = grab.mediaTime ?? grab.currentTime;
            const same = grab.mediaTime !== null ? nearestIndex(ref.pts, shown) : presentedIndex(ref.pts, shown);
            const offset = (ref.pts[best] as number) - shown;
            const line =
              `T=${t}: presented ${shown.toFixed(4)}${grab.mediaTime === null ? ' (currentTime; no rVFC)' : ''}; source frame there @${(ref.pts[same] as number).toFixed(4)} PSNR ${(scores[same] as number).toFixed(2)} dB; ` +
              `best match @${(ref.pts[best] as number).toFixed(4)} ${(scores[best] as number).toFixed(2)} dB; offset (best pts − presented) ${signed(offset)} s`;
            summary.push(`  ${tag}: ${line}`);
            // Soft: the end-of-stream check below still runs and reports.
            expect.soft(scores[best] as number, `${tag} T=${t}: best PSNR over every source frame (is the picture right at all?)`).toBeGreaterThanOrEqual(30);
            expect
              .soft(
                Math.abs(offset),
                `${tag} T=${t}: the matching source frame (PSNR ${(scores[best] as number).toFixed(2)} dB at ${(ref.pts[best] as number).toFixed(4)} s) is under one frame from the presented time ${shown.toFixed(4)} s`,
              )
              .toBeLessThan(1 / FPS);
          }

          // 4. The end: from 2.5 s before the end, playback reaches it ('ended') without a stall over 1 s.
          const before = await state(page);
          await page.evaluate((t) => {
            const p = (window as unknown as { h4: H4 }).h4;
            p.seek(t);
            p.play();
          }, before.duration - 2.5);
          const ended = await until(page, `playing to the end (from ${(before.duration - 2.5).toFixed(3)} s)`, (s) => s.ended, 30_000);
          notes.push(`ended at ${ended.currentTime.toFixed(3)} s, buffered ${JSON.stringify(ended.buffered.map(([a, b]) => [+a.toFixed(3), +b.toFixed(3)]))}`);
          expect(ended.maxStallMs, `longest stall while playing (stalls ${JSON.stringify(ended.stalls)})`).toBeLessThanOrEqual(1000);
          expect(ended.currentTime, 'ended at the duration').toBeGreaterThanOrEqual(ended.duration - 0.1);

          const final = await state(page);
          const kinds = [...new Set(final.errors.map((e) => e.text.replace(/ \[.*?\]/, '').slice(0, 120)))];
          summary.push(
            `  ${tag}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${notes.join('; ')}; max stall ${final.maxStallMs.toFixed(0)} ms, waits ${JSON.stringify(final.waits)}, audio ${final.audioDecodedBytes} B decoded, dropped ${final.droppedFrames}/${final.totalFrames} frames` +
              `${kinds.length > 0 ? `; non-fatal player errors (${final.errors.length}): ${kinds.join(' | ')}` : ''}${consoleErrors.length > 0 ? `; console: ${consoleErrors.slice(0, 3).join(' | ')}` : ''}`,
          );
        } catch (error) {
          summary.push(
            `  ${tag}: FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${error instanceof Error ? error.message.split('\n').slice(0, 2).join(' ') : String(error)}; ${notes.join('; ')}${consoleErrors.length > 0 ? `; console: ${consoleErrors.slice(0, 3).join(' | ')}` : ''}`,
          );
          throw error;
        } finally {
          await page.close();
        }
      }, 120_000);
    }
  }
});
