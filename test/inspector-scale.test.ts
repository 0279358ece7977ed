/**
 * The inspector at scale, when things go wrong, and on a private server, in
 * Debian chromium against `h4mk serve` (child processes):
 *
 * - a 2-hour container (3,600 segments, ~520,000 blocks) opens with one
 *   request (the 512 KiB suffix) and draws its overview from the index;
 *   zooming (keys, wheel) reads the block tables of the window alone, in a
 *   few coalesced requests; hover names the block under the pointer; drag
 *   pans; a click seeks;
 * - a file that is not an H4MK container says what it looks like and that
 *   `h4mk import` converts it (served, and as a local file); a cut-short
 *   container suggests `h4mk recover`; both show the server's error code,
 *   not "HTTP 422";
 * - behind a read token the list asks for it and then lists; a signed URL
 *   from `h4mk share` opens its container, and no request carries the token
 *   in a URL.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from './support/h4mk-serve.js';
import { writeLongContainer } from './support/long-container.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const CLIP = join(ROOT, 'assets/demo-clip.mp4');
const SCREENSHOTS = join(ROOT, 'docs/screenshots');
const CHROMIUM = process.env.H4MK_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'read-token-for-the-inspector-test-0123456789';
const SECRET = 'signing-secret-for-the-inspector-test-0123456789';

let work = '';
let browser: Browser;
const servers: ChildProcess[] = [];

function run(args: string[]): string {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`h4mk ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Starts `h4mk serve DIR …` and resolves its base URL. */
function serve(dir: string, extra: string[] = []): Promise<string> {
  const started = startServe(MAIN, dir, extra);
  servers.push(started.child);
  return started.base;
}

/** A page that logs every request (URL, range header) of its own. */
async function newPage(width = 1280, height = 900): Promise<{ page: Page; requests: { url: string; range: string; auth: string }[] }> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const requests: { url: string; range: string; auth: string }[] = [];
  page.on('request', (r) => {
    const headers = r.headers();
    requests.push({ url: r.url(), range: headers.range ?? '', auth: headers.authorization ?? '' });
  });
  return { page, requests };
}

/** Fraction of the canvas's columns with any pixel that is not the background (#f6f8fa). */
async function drawnColumns(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let x = 0; x < canvas.width; x++) {
      for (let y = 0; y < canvas.height; y++) {
        const i = (y * canvas.width + x) * 4;
        if (data[i] !== 0xf6 || data[i + 1] !== 0xf8 || data[i + 2] !== 0xfa) {
          drawn++;
          break;
        }
      }
    }
    return drawn / canvas.width;
  });
}

async function timelineWindow(page: Page): Promise<{ mode: string; fromUs: number; toUs: number }> {
  return page.$eval('[data-testid=timelines]', (e) => {
    const d = (e as HTMLElement).dataset;
    return { mode: d.mode ?? '', fromUs: Number(d.fromUs), toUs: Number(d.toUs) };
  });
}

let plain = '';
let privateBase = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set H4MK_CHROMIUM`);
  if (!existsSync(join(ROOT, 'dist-web/index.html'))) throw new Error('dist-web/ is missing: run npm run build');
  work = mkdtempSync(join(tmpdir(), 'h4mk-scale-'));
  const served = join(work, 'served');
  mkdirSync(served);
  run(['import', CLIP, '-o', join(work, 'clip.h4mk')]);
  await writeLongContainer(join(work, 'clip.h4mk'), join(served, 'long.h4mk'), 2 * 3600);
  // Not an H4MK file (an MP4 under a container's name), and a container cut short.
  copyFileSync(CLIP, join(served, 'movie.h4mk'));
  const clip = readFileSync(join(work, 'clip.h4mk'));
  writeFileSync(join(served, 'cut.h4mk'), clip.subarray(0, Math.floor(clip.length * 0.7)));
  plain = await serve(served);
  // A private server: a read token and a signing secret.
  const privateDir = join(work, 'private');
  mkdirSync(privateDir);
  copyFileSync(join(work, 'clip.h4mk'), join(privateDir, 'clip.h4mk'));
  writeFileSync(join(work, 'token'), TOKEN);
  writeFileSync(join(work, 'secret'), SECRET);
  privateBase = await serve(privateDir, ['--read-token-file', join(work, 'token'), '--secret-file', join(work, 'secret')]);
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
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  for (const child of servers) if (child.exitCode === null) child.kill('SIGKILL');
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('inspector at scale', () => {
  it('a 2-hour container opens with one request and draws its overview; zoom reads the window alone; hover, drag and click', async () => {
    const { page, requests } = await newPage();
    const container = (r: { url: string }) => new URL(r.url).pathname === '/v1/containers/long.h4mk';
    try {
      await page.goto(`${plain}/#container=long.h4mk`);
      await page.waitForSelector('[data-testid=timelines][data-mode=index]', { timeout: 30_000 });
      expect(await page.getAttribute('[data-testid=summary]', 'data-open-requests')).toBe('1');
      expect(requests.filter(container)[0]?.range).toBe('bytes=-524288');
      // The overview: bars across the whole width of both tracks, from the index summaries.
      for (const track of ['video_0', 'audio_0']) expect(await drawnColumns(page, `canvas.timeline[data-track=${track}]`), track).toBeGreaterThan(0.95);
      const whole = await timelineWindow(page);
      expect(whole.toUs - whole.fromUs).toBeGreaterThan(7_100_000_000);
      await page.waitForSelector('[data-testid=preview][data-done]', { timeout: 30_000 });
      await page.screenshot({ path: join(SCREENSHOTS, 'inspector-2h.png') });
      // No block table read while the window holds 3,600 segments.
      await page.waitForTimeout(400);
      expect((await timelineWindow(page)).mode).toBe('index');
      const beforeZoom = requests.filter(container).length;

      // Keys on a focused timeline: + halves the window around the cursor (the page's frame keys do not fire).
      await page.focus('canvas.timeline[data-track=video_0]');
      for (let i = 0; i < 5; i++) await page.keyboard.press('+');
      const zoomed = await timelineWindow(page);
      expect(zoomed.toUs - zoomed.fromUs).toBeLessThan(whole.toUs / 30);
      await page.waitForSelector('[data-testid=timelines][data-mode=blocks]', { timeout: 15_000 });
      const tableReads = requests.filter(container).slice(beforeZoom);
      expect(tableReads.length, 'block tables of the window, coalesced').toBeGreaterThan(0);
      expect(tableReads.length).toBeLessThanOrEqual(12);
      // Hover: the block under the pointer.
      const box = (await page.locator('canvas.timeline[data-track=video_0]').boundingBox()) as { x: number; y: number; width: number; height: number };
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.6);
      await expect.poll(() => page.textContent('[data-testid=hover-info]'), { timeout: 15_000 }).toMatch(/video_0 at .* block [\d\u202f\u00a0,.]+: pts/);
      // Drag pans by the distance dragged.
      const before = await timelineWindow(page);
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      const panned = await timelineWindow(page);
      const width = before.toUs - before.fromUs;
      expect(panned.toUs - panned.fromUs).toBe(width);
      expect(Math.abs(panned.fromUs - before.fromUs - width * 0.2)).toBeLessThan(width * 0.02);
      // The wheel zooms out around the pointer.
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.wheel(0, 400);
      const out = await timelineWindow(page);
      expect(out.toUs - out.fromUs).toBeGreaterThan(width * 1.5);
      // A click (no drag) seeks there.
      await page.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
      const clicked = await timelineWindow(page);
      const target = clicked.fromUs + (clicked.toUs - clicked.fromUs) * 0.25;
      await expect
        .poll(async () => Number(await page.inputValue('[data-testid=seek-slider]')), { timeout: 15_000 })
        .toBeGreaterThan(target - (clicked.toUs - clicked.fromUs) * 0.01);
      expect(Number(await page.inputValue('[data-testid=seek-slider]'))).toBeLessThan(target + (clicked.toUs - clicked.fromUs) * 0.01);
      // Key 0: the whole container again, from the index.
      await page.focus('canvas.timeline[data-track=video_0]');
      await page.keyboard.press('0');
      expect(await timelineWindow(page)).toEqual({ ...whole, mode: 'index' });
    } finally {
      await page.context().close();
    }
  }, 120_000);
});

describe('errors that help', () => {
  it('an MP4 under a container name: "it looks like an MP4 … h4mk import converts it", with the server\'s code', async () => {
    const { page } = await newPage();
    try {
      await page.goto(`${plain}/#container=movie.h4mk`);
      const text = await page.textContent('[data-testid=open-error]', { timeout: 15_000 });
      expect(text).toContain('E_MAGIC');
      expect(text).toContain('it looks like an MP4');
      expect(text).toContain('h4mk import');
      expect(text).not.toContain('invalid chunk type');
    } finally {
      await page.context().close();
    }
  });

  it('a local MP4 file says the same, with no server', async () => {
    const { page } = await newPage();
    try {
      await page.goto(`${plain}/`);
      await page.setInputFiles('[data-testid=file-input]', CLIP);
      const text = await page.textContent('[data-testid=open-error]', { timeout: 15_000 });
      expect(text).toContain('it looks like an MP4');
      expect(text).toContain('h4mk import');
    } finally {
      await page.context().close();
    }
  });

  it('a container cut short suggests h4mk recover, with the code', async () => {
    const { page } = await newPage();
    try {
      await page.goto(`${plain}/#container=cut.h4mk`);
      const text = await page.textContent('[data-testid=open-error]', { timeout: 15_000 });
      expect(text).toMatch(/E_TRUNCATED|E_FORMAT/);
      expect(text).toContain('h4mk recover');
      expect(text).not.toMatch(/HTTP 422$/);
    } finally {
      await page.context().close();
    }
  });
});

describe('a private server', () => {
  it('asks for the read token, then lists and opens; the token travels in a header only', async () => {
    const { page, requests } = await newPage();
    try {
      await page.goto(`${privateBase}/`);
      await page.waitForSelector('[data-testid=access][open]', { timeout: 15_000 });
      expect(await page.textContent('[data-testid=list-status]')).toContain('E_UNAUTHORIZED');
      await page.fill('[data-testid=read-token]', TOKEN);
      await page.click('[data-testid=use-token]');
      await page.waitForSelector('[data-testid=container-list][data-complete=true]', { timeout: 15_000 });
      await page.click('a[href="#container=clip.h4mk"]');
      await page.waitForSelector('[data-testid=preview][data-state=frame]', { timeout: 30_000 });
      expect(requests.some((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
      expect(requests.filter((r) => r.url.includes(TOKEN))).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('a signed URL from h4mk share opens its container in the page', async () => {
    const signed = run(['share', 'clip.h4mk', '--expires', '1h', '--base', privateBase, '--secret-file', join(work, 'secret')])
      .trim()
      .split('\n')
      .pop() as string;
    expect(signed).toMatch(/\/v1\/containers\/clip\.h4mk\?expires=\d+&sig=/);
    const { page, requests } = await newPage();
    try {
      await page.goto(`${privateBase}/`);
      await page.waitForSelector('[data-testid=access]', { timeout: 15_000 });
      await page.fill('[data-testid=signed-url]', signed);
      await page.click('[data-testid=open-url]');
      await page.waitForSelector('[data-testid=preview][data-state=frame]', { timeout: 30_000 });
      const reads = requests.filter((r) => new URL(r.url).pathname === '/v1/containers/clip.h4mk');
      expect(reads.length).toBeGreaterThan(0);
      for (const r of reads) expect(new URL(r.url).searchParams.get('sig')).toBe(new URL(signed).searchParams.get('sig'));
      expect(requests.every((r) => r.auth === '')).toBe(true);
    } finally {
      await page.context().close();
    }
  });
});
