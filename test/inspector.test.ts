/**
 * The browser inspector end to end, in Debian's headless chromium driven by
 * playwright-core (never a downloaded browser): a real `h4mk demo --serve`
 * (the demo container imported from the committed clip, plus its encrypted
 * and sealed copy) on 127.0.0.1, the page built by `npm run build`.
 *
 * - Seeking: for three times, the canvas matches the frame ffmpeg decodes
 *   from the original clip at that time (PSNR ≥ 30 dB, and closer to it
 *   than to the next frame), and the page's own counter says one request
 *   when the page's byte cache is dropped first (a cold seek).
 * - Encryption: without a key the index and timelines show and frames do
 *   not; a grant shows frames inside its window only; the full key shows
 *   them all; no request ever carries the key or the grant.
 * - A local file opened through the file input works with the network
 *   blocked.
 * - Screenshots of the list and the container view go to docs/screenshots/.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const CLIP = join(ROOT, 'assets/demo-clip.mp4');
const SCREENSHOTS = join(ROOT, 'docs/screenshots');
const CHROMIUM = process.env.H4MK_CHROMIUM ?? '/usr/bin/chromium';
const WIDTH = 320;
const HEIGHT = 180;
/** The clip's frame interval (25 fps), µs. */
const FRAME_US = 40_000;

let dir = '';
let server: ChildProcess | null = null;
let base = '';
let context: BrowserContext;
/** Every request any page of the browser sent: URL, headers, body. */
const sent: { url: string; headers: Record<string, string>; body: string }[] = [];

/** `ffmpeg -ss T -i clip -frames:v 1 -f rawvideo -pix_fmt rgba`: the frame at T seconds. */
function ffmpegFrame(seconds: number): Uint8Array {
  const r = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-ss', seconds.toFixed(6), '-i', CLIP, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.toString()}`);
  const frame = new Uint8Array(r.stdout);
  if (frame.length !== WIDTH * HEIGHT * 4) throw new Error(`ffmpeg gave ${frame.length} bytes, expected ${WIDTH}x${HEIGHT} RGBA`);
  return frame;
}

/** PSNR of the RGB channels of two RGBA images, dB. */
function psnr(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = (a[i + c] as number) - (b[i + c] as number);
      sum += d * d;
      n++;
    }
  }
  const mse = sum / n;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

/** The canvas's pixels (RGBA), read in the page. */
async function canvasPixels(page: Page): Promise<{ width: number; height: number; rgba: Uint8Array }> {
  const r = await page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid=frame-canvas]');
    if (canvas === null) throw new Error('no canvas');
    const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
    let binary = '';
    for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: canvas.width, height: canvas.height, b64: btoa(binary) };
  });
  return { width: r.width, height: r.height, rgba: new Uint8Array(Buffer.from(r.b64, 'base64')) };
}

type PreviewState = { state: string; targetUs: string; frameUs?: string; requests: string; bytes: string; requestList: string[] };

/** The preview's seek counter (each seek the page starts increments it). */
async function currentSeq(page: Page): Promise<number> {
  return Number((await page.getAttribute('[data-testid=preview]', 'data-seq')) ?? 0);
}

/** Types `seconds` into the time entry, presses Enter, waits for that seek to finish. */
async function seekTo(page: Page, seconds: number): Promise<PreviewState> {
  const after = await currentSeq(page);
  await page.fill('[data-testid=time-input]', String(seconds));
  await page.press('[data-testid=time-input]', 'Enter');
  return waitForSeek(page, String(Math.round(seconds * 1e6)), after);
}

/** Runs `action` and waits for the seek to `targetUs` it starts. */
async function seekBy(page: Page, targetUs: string, action: () => Promise<unknown>): Promise<PreviewState> {
  const after = await currentSeq(page);
  await action();
  return waitForSeek(page, targetUs, after);
}

/** Waits until a seek numbered above `after` to `targetUs` has finished; returns what the page shows. */
async function waitForSeek(page: Page, targetUs: string, after: number): Promise<PreviewState> {
  await page.waitForFunction(
    ([t, a]) => {
      const p = document.querySelector<HTMLElement>('[data-testid=preview]');
      return p !== null && Number(p.dataset.seq) > Number(a) && p.dataset.targetUs === t && p.dataset.done === p.dataset.seq;
    },
    [targetUs, String(after)] as const,
    { timeout: 15_000 },
  );
  return page.evaluate(() => {
    const p = document.querySelector<HTMLElement>('[data-testid=preview]') as HTMLElement;
    const s = document.querySelector<HTMLElement>('[data-testid=seek-stats]') as HTMLElement;
    return {
      state: p.dataset.state ?? '',
      targetUs: p.dataset.targetUs ?? '',
      ...(p.dataset.frameUs === undefined ? {} : { frameUs: p.dataset.frameUs }),
      requests: s.dataset.requests ?? '',
      bytes: s.dataset.bytes ?? '',
      requestList: [...document.querySelectorAll('[data-testid=seek-request-list] li code')].map((e) => e.textContent ?? ''),
    };
  });
}

/** Opens `#container=NAME` and waits for the first frame attempt and the block tables. */
async function openContainer(page: Page, name: string): Promise<void> {
  await page.goto(`${base}/#container=${encodeURIComponent(name)}`);
  await page.waitForSelector('[data-testid=preview][data-done]', { timeout: 15_000 });
  await page.waitForSelector('#app[data-detail=blocks]', { timeout: 15_000 });
}

/** Frames of the clip at `seconds` and one frame later. */
const reference = (seconds: number) => ({ at: ffmpegFrame(seconds), next: ffmpegFrame(seconds + FRAME_US / 1e6) });

/** Checks the canvas shows the clip's frame at `seconds` (and not the next one). */
async function expectFrame(page: Page, seconds: number): Promise<number> {
  const { width, height, rgba } = await canvasPixels(page);
  expect([width, height]).toEqual([WIDTH, HEIGHT]);
  const ref = reference(seconds);
  const match = psnr(rgba, ref.at);
  const next = psnr(rgba, ref.next);
  expect(match, `PSNR at ${seconds} s`).toBeGreaterThanOrEqual(30);
  expect(match, `closer to the frame at ${seconds} s than to the next`).toBeGreaterThan(next);
  return match;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set H4MK_CHROMIUM`);
  if (!existsSync(join(ROOT, 'dist-web/index.html'))) throw new Error('dist-web/ is missing: run npm run build');
  dir = mkdtempSync(join(tmpdir(), 'h4mk-inspector-'));
  // A real server: `h4mk demo --serve` imports the committed clip, writes the encrypted and sealed copy, serves.
  const child = spawn(process.execPath, [MAIN, 'demo', '--out', dir, '--serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
  let output = '';
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`h4mk demo --serve printed no URL: ${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const m = /^inspector: (http:\/\/127\.0\.0\.1:\d+)\/#container=demo\.h4mk$/m.exec(output);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`h4mk demo --serve exited (${code}): ${output}`)));
  });
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'h4mk-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
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
  context.on('request', (request) => {
    void request.allHeaders().then(
      (headers) => sent.push({ url: request.url(), headers, body: request.postData() ?? '' }),
      () => sent.push({ url: request.url(), headers: request.headers(), body: request.postData() ?? '' }),
    );
  });
  await mkdir(SCREENSHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await context?.close();
  const child = server;
  if (child !== null && child.exitCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('inspector', () => {
  it('lists the served containers with tracks, duration, encryption and seal', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector('[data-testid=container-list][data-complete=true]');
    const rows = await page.$$eval('[data-testid=container-list] tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(rows.map((r) => r[0])).toEqual(['demo-encrypted.h4mk', 'demo.h4mk']);
    const [encrypted, plain] = rows as [string[], string[]];
    expect(plain[2]).toContain('video avc1.');
    expect(plain[2]).toContain('audio mp4a.40.2');
    expect(plain[3]).toMatch(/^4\.0\d\d s$/);
    expect(plain.slice(4)).toEqual(['no', 'no']);
    expect(encrypted[4]).toBe('encrypted');
    expect(encrypted[5]).toBe('valid · h4mk demo');
    await page.screenshot({ path: join(SCREENSHOTS, 'inspector-list.png') });
    await page.close();
  });

  it('seeks over range requests: one request per seek, frames match ffmpeg (PSNR ≥ 30 dB)', async () => {
    const page = await context.newPage();
    await openContainer(page, 'demo.h4mk');
    const seen: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/v1/containers/demo.h4mk')) seen.push(r.headers().range ?? '');
    });
    const results: { seconds: number; psnr: number; bytes: number }[] = [];
    // Three times: a B-frame in the first GOP, a P-frame late in it, and a frame in the second GOP.
    for (const seconds of [0.52, 1.64, 2.84]) {
      // Cold: the page's cache (shared by frames, playback and the waveform) is dropped first.
      await page.click('[data-testid=drop-cache]');
      const s = await seekTo(page, seconds);
      expect(s.state).toBe('frame');
      expect(s.frameUs).toBe(String(Math.round(seconds * 1e6)));
      expect(s.requests, `requests of the seek to ${seconds} s`).toBe('1');
      expect(s.requestList).toHaveLength(1);
      const range = (s.requestList[0] as string).replace(/^GET /, '');
      expect(seen, 'the request the page reports is one the browser sent').toContain(range);
      results.push({ seconds, psnr: await expectFrame(page, seconds), bytes: Number(s.bytes) });
    }
    // The fragment keeps the container and the time.
    expect(new URL(page.url()).hash).toBe('#container=demo.h4mk&t=2.840000');
    // Keyboard: → next frame, shift+← previous keyframe, shift+→ next keyframe.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    expect((await seekBy(page, '2880000', () => page.keyboard.press('ArrowRight'))).state).toBe('frame');
    await expectFrame(page, 2.88);
    await page.click('[data-testid=drop-cache]');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    expect((await seekBy(page, '2000000', () => page.keyboard.press('Shift+ArrowLeft'))).requests).toBe('1');
    await seekBy(page, '0', () => page.keyboard.press('Shift+ArrowLeft'));
    await seekBy(page, '2000000', () => page.keyboard.press('Shift+ArrowRight'));
    // A shared link opens at its time.
    await page.goto(`${base}/#container=demo.h4mk&t=1.64`);
    await page.reload();
    expect((await waitForSeek(page, '1640000', 0)).state).toBe('frame');
    await expectFrame(page, 1.64);
    // Timelines, GOP statistics and VERI came from the index and segment tables.
    await page.waitForSelector('[data-testid=waveform-stats]:not(:empty)');
    expect(await page.locator('[data-testid=timelines] canvas').count()).toBe(3);
    expect(await page.textContent('[data-testid=gop-stats]')).toContain('50 / 50 / 50');
    expect(await page.textContent('[data-testid=veri-status]')).toContain('313 blocks');
    expect(await page.getAttribute('[data-testid=seal-status]', 'data-state')).toBe('none');
    // Verify every block in the page: the whole file through range requests, every digest and the chain.
    await page.click('[data-testid=verify]');
    await page.waitForSelector('[data-testid=verify-result][data-ok]', { timeout: 15_000 });
    expect(await page.getAttribute('[data-testid=verify-result]', 'data-ok')).toBe('true');
    await page.screenshot({ path: join(SCREENSHOTS, 'inspector-container.png'), fullPage: true });
    console.log(`inspector seeks: ${results.map((r) => `${r.seconds} s: 1 request, ${r.bytes} bytes, PSNR ${r.psnr.toFixed(1)} dB`).join('; ')}`);
    await page.close();
  });

  it('encrypted: index without a key, frames only inside a grant, all with the key, and no request carries them', async () => {
    const keyLine = readFileSync(join(dir, 'keys/demo.key'), 'utf8').trim();
    const grantText = readFileSync(join(dir, 'keys/demo-grant.json'), 'utf8');
    const grant = JSON.parse(grantText) as { from_us: number; to_us: number; keys: { key: string }[] };
    expect([grant.from_us, grant.to_us]).toEqual([2_000_000, 4_000_000]);
    const page = await context.newPage();
    await openContainer(page, 'demo-encrypted.h4mk');
    // No key: the index, the track table and the timelines show; frames do not.
    expect((await waitForSeek(page, '0', 0)).state).toBe('locked');
    expect(await page.locator('[data-testid=track-table] tbody tr').count()).toBe(3);
    expect(await page.getAttribute('[data-testid=timelines]', 'data-mode')).toBe('blocks');
    expect(await page.getAttribute('[data-testid=seal-status]', 'data-state')).toBe('valid');
    let s = await seekTo(page, 2.84);
    expect(s.state).toBe('locked');
    expect(s.requests).toBe('0');
    expect(await page.$eval('[data-testid=frame-canvas]', (c) => c.classList.contains('stale'))).toBe(true);
    // A grant for video 2–4 s: frames inside the window, none outside.
    await page.fill('[data-testid=key-input]', grantText);
    s = await seekBy(page, '2840000', () => page.click('[data-testid=unlock]'));
    expect(await page.getAttribute('[data-testid=key-status]', 'data-state')).toBe('grant');
    expect(await page.inputValue('[data-testid=key-input]')).toBe('');
    expect(s.state).toBe('frame');
    expect(s.requests).toBe('1');
    await expectFrame(page, 2.84);
    s = await seekTo(page, 3.52);
    expect(s.state).toBe('frame');
    await expectFrame(page, 3.52);
    await page.screenshot({ path: join(SCREENSHOTS, 'inspector-encrypted.png'), fullPage: true });
    s = await seekTo(page, 1.2);
    expect(s.state).toBe('no-key');
    expect(await page.textContent('[data-testid=frame-message]')).toContain('Outside the grant');
    // The refusal is decided from the index: it cost no request.
    expect(s.requests).toBe('0');
    // The page names the window whose frames decode: from the keyframe at 2 s.
    expect(await page.getAttribute('[data-testid=key-status]', 'data-effective-from-us')).toBe('2000000');
    expect(await page.textContent('[data-testid=key-status]')).toContain('frames decode from');
    // The container key: every frame.
    await page.fill('[data-testid=key-input]', keyLine);
    s = await seekBy(page, '1200000', () => page.click('[data-testid=unlock]'));
    expect(await page.getAttribute('[data-testid=key-status]', 'data-state')).toBe('secret');
    expect(s.state).toBe('frame');
    await expectFrame(page, 1.2);
    // A wrong key is refused by the key check.
    await page.fill('[data-testid=key-input]', `h4mk-secret-v1 ${Buffer.alloc(32, 7).toString('base64')}`);
    await page.click('[data-testid=unlock]');
    await page.waitForSelector('[data-testid=key-status][data-state=error]');
    expect(await page.textContent('[data-testid=key-status]')).toContain('wrong key');
    expect(page.url()).not.toContain('key');
    await page.close();

    // Nothing the browser sent carried the key, the grant or any of its epoch keys, in any spelling.
    const secret = Buffer.from(keyLine.split(' ')[1] as string, 'base64');
    const needles = [
      keyLine,
      secret.toString('base64'),
      secret.toString('base64url'),
      secret.toString('hex'),
      encodeURIComponent(secret.toString('base64')),
      ...grant.keys.flatMap((k) => [k.key, encodeURIComponent(k.key), Buffer.from(k.key, 'base64').toString('hex')]),
      grantText.trim(),
    ];
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sent.length).toBeGreaterThan(10);
    for (const r of sent) {
      const text = `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`;
      for (const n of needles) expect(text.includes(n), `a request to ${r.url} carries key material`).toBe(false);
    }
  });

  it('opens a local file through the file input with the network blocked', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready=true]');
    const blocked: string[] = [];
    await page.route('**/*', (route) => {
      blocked.push(route.request().url());
      return route.abort();
    });
    await page.setInputFiles('[data-testid=file-input]', join(dir, 'demo.h4mk'));
    expect((await waitForSeek(page, '0', 0)).state).toBe('frame');
    await page.waitForSelector('#app[data-detail=blocks]');
    const s = await seekTo(page, 2.84);
    expect(s.state).toBe('frame');
    await expectFrame(page, 2.84);
    expect(await page.textContent('[data-testid=container-name]')).toBe('demo.h4mk');
    expect(new URL(page.url()).hash).toBe('#local=demo.h4mk&t=2.840000');
    expect(blocked, 'requests attempted with the network blocked').toEqual([]);
    await page.close();
  });
});
