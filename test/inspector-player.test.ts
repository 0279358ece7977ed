/**
 * The inspector as a player, end to end in Debian's headless chromium
 * (playwright-core, never a downloaded browser), against a real `h4mk serve`
 * of containers made here with ffmpeg and `h4mk import`:
 *
 * - H.264/AAC (the demo clip, looped to 8 s with a stream copy), VP9/Opus
 *   and AV1/Opus (320x180, 8 s): play → the clock advances ≥ 5 s with no
 *   stall over 1 s and audio is decoded (webkitAudioDecodedByteCount);
 *   paused at three positions (after playing on, after a seek while paused,
 *   after a seek while playing), the still drawn on the canvas is ffmpeg's
 *   frame at the paused time (PSNR ≥ 30 dB, closer than its neighbours), and
 *   the frame the <video> element shows is the same source frame (the MSE
 *   timeline is not shifted).
 * - An encrypted container plays after its key file is chosen with the file
 *   picker; no request carries the key.
 * - An audio-only container shows a waveform (no video box, no frame
 *   buttons), plays, seeks while playing, and redraws the waveform paused.
 * - The page's byte cache: the second step to the next frame costs 0 requests.
 * - At 390×844 the list and the container page do not scroll sideways.
 * Screenshots: docs/screenshots/player.png, player-audio.png, player-phone.png.
 *
 * MSE needs `media-src blob:` in the page's Content-Security-Policy. When
 * the server does not send it yet, the test adds it to the page's response
 * and says so (see the README's Inspector section).
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from './support/h4mk-serve.js';
import { run } from './support/run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const CLIP = join(ROOT, 'assets/demo-clip.mp4');
const SCREENSHOTS = join(ROOT, 'docs/screenshots');
const CHROMIUM = process.env.H4MK_CHROMIUM ?? '/usr/bin/chromium';
const W = 320;
const H = 180;

let work = '';
let served = '';
let base = '';
let server: ChildProcess | null = null;
let browser: Browser;
let context: BrowserContext;
let cspPatched = false;
const sent: string[] = [];
const figures: string[] = [];
/** Paused <video> frame minus the still's frame, per check. */
const videoOffsets: number[] = [];
/** Every frame of each source: pts (s) and RGB24 pixels. */
const references = new Map<string, { pts: number[]; frames: Uint8Array[] }>();

/** Every video frame of `file` in presentation order, RGB24, with its pts; `matrix`: how ffmpeg converts YUV. */
async function decodeAll(
  file: string,
  matrix: 'bt601' | 'bt709',
  [w, h]: readonly [number, number] = [W, H],
): Promise<{ pts: number[]; frames: Uint8Array[] }> {
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
    `scale=${w}:${h}:in_color_matrix=${matrix}:in_range=tv`,
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-',
  ]);
  const size = w * h * 3;
  if (raw.length !== pts.length * size) throw new Error(`${file}: ${raw.length / size} frames, ${pts.length} timestamps`);
  return { pts, frames: pts.map((_, i) => new Uint8Array(raw.buffer, raw.byteOffset + i * size, size)) };
}

/** PSNR between an RGBA picture and an RGB24 one of the same size, dB. */
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

/** Index of the frame presented at `t` s: the last pts ≤ t. */
function presentedIndex(pts: number[], t: number): number {
  let best = 0;
  for (let i = 0; i < pts.length; i++) if ((pts[i] as number) <= t + 0.0005) best = i;
  return best;
}

const SOURCES: { name: string; file: string; matrix: 'bt601' | 'bt709'; size?: readonly [number, number]; make: (out: string) => Promise<unknown> }[] = [
  // The demo clip twice over (stream copy): its own H.264 (B-frames, untagged SD: BT.601) and AAC, 8 s.
  {
    name: 'h264-aac',
    file: 'h264-aac.mp4',
    matrix: 'bt601',
    make: (out) => run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-stream_loop', '1', '-i', CLIP, '-c', 'copy', out]),
  },
  {
    name: 'vp9-opus',
    file: 'vp9-opus.webm',
    matrix: 'bt709',
    make: (out) => synth(out, ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-g', '50', '-b:v', '400k']),
  },
  { name: 'av1-opus', file: 'av1-opus.webm', matrix: 'bt709', make: (out) => synth(out, av1Encoder()) },
  // Untagged (no colour description in the container or the sequence header), 640×360: drawn as ffmpeg
  // converts untagged video, BT.601 limited range, not as BT.709 (what chromium assumes).
  { name: 'av1-untagged', file: 'av1-untagged.webm', matrix: 'bt601', size: [640, 360], make: (out) => synth(out, av1Encoder(), false, [640, 360]) },
];

function av1Encoder(): string[] {
  const list = spawnSync('ffmpeg', ['-hide_banner', '-encoders']).stdout?.toString() ?? '';
  if (/\blibsvtav1\b/.test(list)) return ['-c:v', 'libsvtav1', '-preset', '12', '-g', '50'];
  return ['-c:v', 'libaom-av1', '-usage', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-g', '50', '-b:v', '400k'];
}

/** 8 s of testsrc2 (BT.709 and tagged, or BT.601 and untagged) and a beeping sine in Opus. */
function synth(out: string, video: string[], tagged = true, [w, h]: readonly [number, number] = [W, H]): Promise<Buffer> {
  return run('ffmpeg', [
    ...['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=25:duration=8`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:beep_factor=4:sample_rate=48000:duration=8'],
    ...(tagged
      ? ['-vf', 'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709']
      : ['-vf', 'scale=out_color_matrix=bt601:out_range=tv,format=yuv420p']),
    ...[...video, '-c:a', 'libopus', '-b:a', '64k', '-shortest', out],
  ]);
}

/** A browser context that logs every request and gives the page's document `media-src blob:` when the server does not. */
async function newContext(options: Parameters<Browser['newContext']>[0]): Promise<BrowserContext> {
  const ctx = await browser.newContext(options);
  ctx.on('request', (r) => sent.push(`${r.url()}\n${JSON.stringify(r.headers())}\n${r.postData() ?? ''}`));
  await ctx.route(
    (url) => url.origin === base && url.pathname === '/',
    async (route) => {
      const response = await route.fetch();
      const headers = response.headers();
      const csp = headers['content-security-policy'] ?? '';
      if (csp !== '' && !/media-src[^;]*blob:/.test(csp)) {
        cspPatched = true;
        headers['content-security-policy'] = `${csp}; media-src 'self' blob:`;
      }
      await route.fulfill({ response, headers });
    },
  );
  return ctx;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set H4MK_CHROMIUM`);
  if (!existsSync(join(ROOT, 'dist-web/index.html')) || !existsSync(MAIN)) throw new Error('dist/ or dist-web/ is missing: run npm run build');
  work = mkdtempSync(join(tmpdir(), 'h4mk-player-'));
  served = join(work, 'served');
  mkdirSync(served);
  for (const s of SOURCES) {
    const file = join(work, s.file);
    await s.make(file);
    await run(process.execPath, [MAIN, 'import', file, '-o', join(served, `${s.name}.h4mk`)]);
    references.set(s.name, await decodeAll(file, s.matrix, s.size));
  }
  await run(process.execPath, [MAIN, 'keygen', '-o', join(work, 'player.key')]);
  await run(process.execPath, [
    MAIN,
    'import',
    join(work, 'h264-aac.mp4'),
    '--encrypt',
    '--key-file',
    join(work, 'player.key'),
    '-o',
    join(served, 'encrypted.h4mk'),
  ]);
  await run('ffmpeg', [
    '-v',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=330:beep_factor=3:sample_rate=44100:duration=8',
    '-c:a',
    'aac',
    '-b:a',
    '96k',
    join(work, 'audio.m4a'),
  ]);
  await run(process.execPath, [MAIN, 'import', join(work, 'audio.m4a'), '-o', join(served, 'audio-only.h4mk')]);
  const started = startServe(MAIN, served);
  server = started.child;
  base = await started.base;
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
    ],
  });
  context = await newContext({ viewport: { width: 1280, height: 900 } });
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 300_000);

afterAll(async () => {
  if (cspPatched) console.warn("inspector player: the server's CSP has no media-src blob: (MSE cannot attach); the test added it to the page's response");
  if (figures.length > 0) console.log(`inspector player:\n${figures.join('\n')}\n  paused <video> frame − still frame: ${videoOffsets.join(' ')}`);
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

type Clock = { t: number; paused: boolean; state: string; audio: number; maxStallMs: number; ttff: string; seekMs: string; shift: string; error: string };

/** Installs a clock monitor in the page: the longest stand-still of the video's clock while it plays. */
async function monitor(page: Page): Promise<void> {
  await page.evaluate(() => {
    const m = { maxStallMs: 0, lastT: -1, lastAdvance: performance.now(), exempt: true };
    (window as unknown as { __clock: typeof m }).__clock = m;
    setInterval(() => {
      const v = document.querySelector<HTMLVideoElement>('[data-testid=video]');
      if (v === null) return;
      const now = performance.now();
      if (v.paused || v.seeking || v.ended) {
        // Start-up, seeks and pauses are not stalls: tracking resumes once the clock moves again.
        m.exempt = true;
        m.lastT = v.currentTime;
        m.lastAdvance = now;
        return;
      }
      if (v.currentTime !== m.lastT) {
        m.exempt = false;
        m.lastT = v.currentTime;
        m.lastAdvance = now;
      } else if (!m.exempt) m.maxStallMs = Math.max(m.maxStallMs, now - m.lastAdvance);
    }, 50);
  });
}

async function clock(page: Page): Promise<Clock> {
  return page.evaluate(() => {
    const v = document.querySelector<HTMLVideoElement>('[data-testid=video]') as HTMLVideoElement & { webkitAudioDecodedByteCount?: number };
    const b = document.querySelector<HTMLElement>('[data-testid=play]') as HTMLElement;
    const m = (window as unknown as { __clock?: { maxStallMs: number } }).__clock;
    return {
      t: v.currentTime,
      paused: v.paused,
      state: b.dataset.state ?? '',
      audio: v.webkitAudioDecodedByteCount ?? 0,
      maxStallMs: m?.maxStallMs ?? 0,
      ttff: b.dataset.ttffMs ?? '',
      seekMs: b.dataset.seekMs ?? '',
      shift: b.dataset.shift ?? '',
      error: document.querySelector('[data-testid=player-status]')?.textContent ?? '',
    };
  });
}

/** Polls until `done`, at most `ms`; fails with the clock and the player's status. */
async function until(page: Page, what: string, done: (c: Clock) => boolean, ms = 30_000): Promise<Clock> {
  const end = Date.now() + ms;
  for (;;) {
    const c = await clock(page);
    if (c.state === 'error' || c.state === 'unavailable') throw new Error(`${what}: player ${c.state}: ${c.error}`);
    if (done(c)) return c;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s (${JSON.stringify(c)})`);
    await page.waitForTimeout(100);
  }
}

async function open(page: Page, name: string): Promise<void> {
  await page.goto(`${base}/#container=${encodeURIComponent(name)}`);
  await page.waitForSelector('[data-testid=preview][data-done], [data-testid=waveform][data-state]', { timeout: 20_000 });
  await monitor(page);
}

/** Clicks pause and waits for the still of the paused time; returns its frame time (µs) and both pictures. */
async function pauseAndGrab(page: Page): Promise<{ frameUs: number; canvas: Uint8Array; video: Uint8Array }> {
  await page.click('[data-testid=play]');
  await until(page, 'pausing', (c) => c.paused && c.state === 'paused', 10_000);
  await page.waitForFunction(
    () => {
      const p = document.querySelector<HTMLElement>('[data-testid=preview]');
      return p !== null && p.dataset.mode === 'still' && p.dataset.done === p.dataset.seq && p.dataset.state === 'frame';
    },
    undefined,
    { timeout: 15_000 },
  );
  const r = await page.evaluate(() => {
    const b64 = (data: Uint8ClampedArray): string => {
      let s = '';
      for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return btoa(s);
    };
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid=frame-canvas]') as HTMLCanvasElement;
    const video = document.querySelector<HTMLVideoElement>('[data-testid=video]') as HTMLVideoElement;
    const grab = document.createElement('canvas');
    grab.width = video.videoWidth;
    grab.height = video.videoHeight;
    const g = grab.getContext('2d') as CanvasRenderingContext2D;
    g.drawImage(video, 0, 0);
    const c = canvas.getContext('2d') as CanvasRenderingContext2D;
    return {
      frameUs: Number((document.querySelector('[data-testid=preview]') as HTMLElement).dataset.frameUs),
      canvas: b64(c.getImageData(0, 0, canvas.width, canvas.height).data),
      video: b64(g.getImageData(0, 0, grab.width, grab.height).data),
    };
  });
  return { frameUs: r.frameUs, canvas: new Uint8Array(Buffer.from(r.canvas, 'base64')), video: new Uint8Array(Buffer.from(r.video, 'base64')) };
}

/** Checks a paused still against ffmpeg's frames: the right one (≥ 30 dB, closer than its neighbours), and the video shows the same. */
function checkStill(name: string, g: { frameUs: number; canvas: Uint8Array; video: Uint8Array }): number {
  const ref = references.get(name) as { pts: number[]; frames: Uint8Array[] };
  const i = presentedIndex(ref.pts, g.frameUs / 1e6);
  expect(Math.abs((ref.pts[i] as number) - g.frameUs / 1e6), `${name}: the still is a source frame`).toBeLessThan(0.001);
  const at = psnr(g.canvas, ref.frames[i] as Uint8Array);
  expect(at, `${name}: still at ${g.frameUs / 1e6} s vs ffmpeg`).toBeGreaterThanOrEqual(30);
  for (const j of [i - 1, i + 1])
    if (ref.frames[j] !== undefined) expect(at, `${name}: closer to frame ${i} than to ${j}`).toBeGreaterThan(psnr(g.canvas, ref.frames[j] as Uint8Array));
  // The paused <video>'s picture (colour as chromium converts it) best matches the same source frame:
  // playback is not shifted, and pausing seeks the element onto the frame it painted last. Searched
  // within ±12 frames: the looped demo clip repeats itself every 100 frames.
  let best = i;
  for (let j = Math.max(0, i - 12); j <= Math.min(ref.frames.length - 1, i + 12); j++) {
    if (psnr(g.video, ref.frames[j] as Uint8Array) > psnr(g.video, ref.frames[best] as Uint8Array)) best = j;
  }
  expect(best, `${name}: the paused <video> shows source frame ${best}, the still frame ${i}`).toBe(i);
  videoOffsets.push(best - i);
  return at;
}

async function typeTime(page: Page, seconds: number): Promise<void> {
  await page.fill('[data-testid=time-input]', String(seconds));
  await page.press('[data-testid=time-input]', 'Enter');
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}

describe('inspector player', () => {
  for (const s of SOURCES) {
    it(`${s.name}: plays with sound, pauses on the source's frames`, async () => {
      const page = await context.newPage();
      try {
        await open(page, `${s.name}.h4mk`);
        await page.click('[data-testid=play]');
        const started = await until(page, 'playing', (c) => c.state === 'playing' && c.t > 0);
        const from = started.t;
        const played = await until(page, 'playing on 5 s', (c) => c.t >= from + 5);
        expect(played.maxStallMs, 'longest stall while playing').toBeLessThanOrEqual(1000);
        expect(played.audio, 'audio decoded (webkitAudioDecodedByteCount)').toBeGreaterThan(0);
        const psnrs: number[] = [];
        // 1. Paused after playing on.
        psnrs.push(checkStill(s.name, await pauseAndGrab(page)));
        // 2. A seek while paused (the still), then play from there and pause.
        await typeTime(page, 1.2);
        await page.click('[data-testid=play]');
        await until(page, 'playing from 1.2 s', (c) => c.state === 'playing' && c.t - Number(c.shift) >= 2.0);
        psnrs.push(checkStill(s.name, await pauseAndGrab(page)));
        // 3. A seek while playing, then pause.
        await page.click('[data-testid=play]');
        await until(page, 'playing again', (c) => c.state === 'playing' && !c.paused);
        await typeTime(page, 5.5);
        const seeked = await until(page, 'playing after the seek to 5.5 s', (c) => c.seekMs !== '' && c.t - Number(c.shift) >= 6.2);
        if (s.name === 'h264-aac') await page.screenshot({ path: join(SCREENSHOTS, 'player.png') });
        psnrs.push(checkStill(s.name, await pauseAndGrab(page)));
        const end = await clock(page);
        expect(end.maxStallMs, 'longest stall while playing').toBeLessThanOrEqual(1000);
        figures.push(
          `  ${s.name}: first frame ${played.ttff} ms after play, seek while playing ${seeked.seekMs} ms, ` +
            `longest stall ${Math.round(end.maxStallMs)} ms, audio ${played.audio} B, MSE shift ${played.shift} s, paused stills ${psnrs.map((p) => p.toFixed(1)).join(' / ')} dB`,
        );
      } finally {
        await page.close();
      }
    });
  }

  it('an encrypted container plays after its key file is chosen; no request carries the key', async () => {
    const page = await context.newPage();
    try {
      await open(page, 'encrypted.h4mk');
      expect(await page.getAttribute('[data-testid=preview]', 'data-state')).toBe('locked');
      await page.setInputFiles('[data-testid=key-file]', join(work, 'player.key'));
      await page.waitForSelector('[data-testid=key-status][data-state=secret]', { timeout: 15_000 });
      await page.click('[data-testid=play]');
      const started = await until(page, 'playing', (c) => c.state === 'playing' && c.t > 0);
      const played = await until(page, 'playing on 3 s', (c) => c.t >= started.t + 3);
      expect(played.audio).toBeGreaterThan(0);
      expect(played.maxStallMs).toBeLessThanOrEqual(1000);
      const p = checkStill('h264-aac', await pauseAndGrab(page));
      figures.push(`  encrypted (key file, decrypted in the page): first frame ${played.ttff} ms, still ${p.toFixed(1)} dB`);
    } finally {
      await page.close();
    }
    const line = readFileSync(join(work, 'player.key'), 'utf8').trim();
    const secret = Buffer.from(line.split(' ')[1] as string, 'base64');
    for (const r of sent)
      for (const n of [line, secret.toString('base64'), secret.toString('base64url'), secret.toString('hex')])
        expect(r.includes(n), 'a request carries the key').toBe(false);
  });

  it('an audio-only container: waveform, playback, seeking; no video box or frame buttons', async () => {
    const page = await context.newPage();
    try {
      await open(page, 'audio-only.h4mk');
      await page.waitForSelector('[data-testid=waveform][data-state=drawn]', { timeout: 15_000 });
      expect(await page.locator('[data-testid=preview]').count()).toBe(0);
      expect(await page.locator('[data-testid=next-frame]').count()).toBe(0);
      expect(Number(await page.getAttribute('[data-testid=waveform]', 'data-samples'))).toBeGreaterThan(1000);
      await page.click('[data-testid=play]');
      const started = await until(page, 'playing', (c) => c.state === 'playing' && c.t > 0);
      const played = await until(page, 'playing on 2 s', (c) => c.t >= started.t + 2);
      expect(played.audio).toBeGreaterThan(0);
      // Seek while playing with the scrub bar.
      await page.$eval('[data-testid=seek-slider]', (el) => {
        const input = el as HTMLInputElement;
        input.value = '6000000';
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });
      const after = await until(page, 'playing after the seek to 6 s', (c) => c.seekMs !== '' && c.t - Number(c.shift) >= 6.3);
      // The waveform follows the clock while playing.
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-testid=waveform]')?.dataset.centerUs) > 6_000_000, undefined, {
        timeout: 10_000,
      });
      await page.screenshot({ path: join(SCREENSHOTS, 'player-audio.png') });
      await page.click('[data-testid=play]');
      const paused = await until(page, 'paused', (c) => c.paused && c.state === 'paused');
      const at = Math.round((paused.t - Number(paused.shift)) * 1e6);
      await page.waitForFunction((us) => Number(document.querySelector<HTMLElement>('[data-testid=waveform]')?.dataset.centerUs) === us, at, {
        timeout: 10_000,
      });
      expect(await page.getAttribute('[data-testid=waveform]', 'data-state')).toBe('drawn');
      expect(await page.locator('[data-testid=seek-stats] h3').textContent()).toBe('Audio only');
      figures.push(`  audio-only: first sound ${played.ttff} ms, seek while playing ${after.seekMs} ms`);
    } finally {
      await page.close();
    }
  });

  it("frame steps share the page's cache: the second step to the next frame costs 0 requests", async () => {
    const page = await context.newPage();
    try {
      await open(page, 'h264-aac.h4mk');
      // Reads the page started at open (timelines, the first still's neighbours) must not land in the cache
      // after it is dropped: wait until the network has been quiet for 500 ms first.
      await page.waitForLoadState('networkidle');
      await page.click('[data-testid=drop-cache]');
      const step = async (): Promise<{ requests: string; frameUs: string }> => {
        const seq = Number(await page.getAttribute('[data-testid=preview]', 'data-seq'));
        await page.click('[data-testid=next-frame]');
        await page.waitForFunction(
          (n) => {
            const p = document.querySelector<HTMLElement>('[data-testid=preview]') as HTMLElement;
            return Number(p.dataset.seq) > n && p.dataset.done === p.dataset.seq;
          },
          seq,
          { timeout: 15_000 },
        );
        return {
          requests: (await page.getAttribute('[data-testid=seek-stats]', 'data-requests')) ?? '',
          frameUs: (await page.getAttribute('[data-testid=preview]', 'data-frame-us')) ?? '',
        };
      };
      const first = await step();
      const second = await step();
      expect(first.requests, 'the first step after dropping the cache goes to the server').toBe('1');
      expect(second.requests, 'the second step').toBe('0');
      expect(Number(second.frameUs) - Number(first.frameUs)).toBe(40_000);
      figures.push(`  frame steps: first ${first.requests} request, second ${second.requests}`);
    } finally {
      await page.close();
    }
  });

  it('at 390×844 the list and the container page do not scroll sideways', async () => {
    const phone = await newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    try {
      const overflow = () => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      await page.goto(`${base}/`);
      await page.waitForSelector('[data-testid=container-list][data-complete=true]', { timeout: 15_000 });
      const list = await overflow();
      expect(list.scroll, 'list page').toBeLessThanOrEqual(list.client);
      await open(page, 'h264-aac.h4mk');
      await page.waitForSelector('#app[data-detail=blocks]', { timeout: 15_000 });
      const view = await overflow();
      expect(view.scroll, 'container page').toBeLessThanOrEqual(view.client);
      await page.screenshot({ path: join(SCREENSHOTS, 'player-phone.png') });
    } finally {
      await phone.close();
    }
  });
});
