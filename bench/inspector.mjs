/**
 * Inspector benchmark (issue 14): the browser inspector served by `h4mk
 * serve` against a plain `<video>` element playing the same clip as MP4 from
 * a static server, measured in the same run, in Debian's headless chromium
 * (playwright-core, no browser download).
 *
 *   node bench/inspector.mjs [--runs N] [--seeks N] [--steps N] [--keep]
 *   node bench/run.mjs --only inspector [-- ARGS]
 *
 * --runs N   cold first-frame runs per subject (default 7; median and p90), after one untimed warm-up each
 * --seeks N  random seek targets on a warm page (default 20, fixed seed)
 * --steps N  consecutive frame steps (→) after a seek to 5.0 s (default 10)
 *
 * The clip: 20 s of ffmpeg testsrc2, 1280×720, 25 fps, H.264 (libx264
 * veryfast, -g 50: a keyframe every 2 s) + AAC sine, imported with `h4mk
 * import` into the served directory; the same MP4 goes into the static
 * server's root (a ~40-line node:http server with Range support, in this
 * process; `h4mk serve` is a child process).
 *
 * Figures (times are the page's own performance.now(): navigation start is
 * its zero; no CDP round trip is in them):
 *   1. cold first frame: a new browser context per run (empty HTTP cache,
 *      empty page cache), goto → the still frame drawn (h4mk: a
 *      MutationObserver installed before the page's scripts sees
 *      [data-testid=preview] data-state="frame", set right after the canvas
 *      is drawn; <video>: its first requestVideoFrameCallback, and
 *      'loadeddata'). Subjects alternate run by run. Container requests and
 *      bytes come from Resource Timing at that moment.
 *   2. seek to frame on a warm page (after the first frame and the block
 *      tables, the page idle): type seconds into [data-testid=time-input],
 *      Enter; from the Enter keydown (a capturing listener) to the seek's
 *      data-done (the frame at that time drawn). <video>: from setting
 *      currentTime to both 'seeked' and the next requestVideoFrameCallback.
 *      Same targets for both.
 *   3. N consecutive frame steps (→) after a seek to 5.0 s, in a fresh
 *      context: the requests and bytes that went out for them (the page's
 *      seek stats, and Resource Timing, which also sees block-table reads),
 *      against the clip's mean GOP (MP4 file size ÷ video keyframes), which
 *      is what a GOP-granular reader would fetch per step with no cache.
 * A table on stdout; bench/out/inspector.json with `rows` for bench/report.mjs.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startServe } from './lib/serve.mjs';
import { fmtBytes, fmtInt, fmtNum, median, percentile, table } from './lib/stats.mjs';
import { rng } from './lib/workload.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const MAIN = join(root, 'dist', 'cli', 'main.js');
const CHROMIUM = process.env.H4MK_CHROMIUM ?? '/usr/bin/chromium';
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    seeks: { type: 'string', default: '20' },
    steps: { type: 'string', default: '10' },
    keep: { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(1, Number(args.runs));
const SEEKS = Math.max(1, Number(args.seeks));
const STEPS = Math.max(1, Number(args.steps));
const DURATION_S = 20;
const FPS = 25;
const GOAL_FIRST_MS = 300;
const GOAL_SEEK_MS = 100;
const TIMEOUT = 20_000;

const started = Date.now();
const log = (msg) => process.stderr.write(`[inspector ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
const dir = mkdtempSync(join(tmpdir(), 'h4mk-inspector-bench-'));
const out = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1),
  },
  loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
  args: { runs: RUNS, seeks: SEEKS, steps: STEPS },
};
const stat = (xs) => ({
  median: median(xs),
  p90: percentile(xs, 90),
  min: percentile(xs, 0),
  max: percentile(xs, 100),
  n: xs.length,
  runs: xs.map((x) => +x.toFixed(1)),
});
const run = (cmd, argv) => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/* ------------------------------------------------------------ the clip */

function makeClip(mp4) {
  run('ffmpeg', [
    '-v',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=1280x720:rate=${FPS}:duration=${DURATION_S}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${DURATION_S}`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    '50',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-shortest',
    '-movflags',
    '+faststart',
    mp4,
  ]);
  const flags = run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', mp4])
    .split('\n')
    .filter((l) => l.trim() !== '');
  const keyframes = flags.filter((f) => f.startsWith('K')).length;
  return { bytes: statSync(mp4).size, videoFrames: flags.length, keyframes };
}

/* ---------------------------------------------- the baseline's static server */

const BASELINE_PAGE = `<!doctype html><meta charset="utf-8"><title>baseline: video element</title>
<style>body{margin:0;background:#111}video{display:block;width:1280px;height:720px}</style>
<video id="v" muted preload="auto" playsinline src="clip.mp4"></video>
<script>
const v = document.getElementById('v');
window.__t = {};
v.addEventListener('loadedmetadata', () => { window.__t.loadedmetadata = performance.now(); });
v.addEventListener('loadeddata', () => { window.__t.loadeddata = performance.now(); });
v.requestVideoFrameCallback(() => { window.__t.frame = performance.now(); });
</script>
`;

/** A static server with single-range support (what a CDN or nginx gives a <video>), counting the bytes it sends. */
function startStatic(files) {
  const counters = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    counters.requests++;
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1) || 'index.html';
    const file = files[name];
    if (file === undefined) return void res.writeHead(404).end();
    if (typeof file === 'string' && name.endsWith('.html'))
      return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(file);
    const size = statSync(file).size;
    const headers = { 'content-type': 'video/mp4', 'accept-ranges': 'bytes', 'cache-control': 'no-cache' };
    let start = 0;
    let end = size - 1;
    let status = 200;
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (m !== null && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') start = Math.max(0, size - Number(m[2]));
      else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start > end) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    res.writeHead(status, { ...headers, 'content-length': end - start + 1 });
    if (req.method === 'HEAD') return void res.end();
    const stream = createReadStream(file, { start, end });
    stream.on('data', (chunk) => {
      counters.bytes += chunk.length;
    });
    stream.pipe(res);
    res.on('close', () => stream.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        counters,
        stop: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(r);
          }),
      }),
    ),
  );
}

/* ------------------------------------------------------- in-page probes */

/**
 * Installed before the inspector's scripts: records when the preview first
 * shows a frame (with the container reads Resource Timing has seen by then),
 * every finished seek (data-done catching up with data-seq) with the page's
 * own stats, and when the last Enter/arrow keydown was dispatched.
 */
function h4mkProbe() {
  const sum = (xs, k) => xs.reduce((a, e) => a + (e[k] || 0), 0);
  const state = { first: null, done: [], key: null, lastDone: null };
  window.__h4 = state;
  document.addEventListener(
    'keydown',
    (e) => {
      if (e.key === 'Enter' || e.key === 'ArrowRight' || e.key === 'ArrowLeft') state.key = performance.now();
    },
    true,
  );
  new MutationObserver(() => {
    const p = document.querySelector('[data-testid=preview]');
    if (p === null) return;
    const at = performance.now();
    if (state.first === null && p.dataset.state === 'frame') {
      const res = performance.getEntriesByType('resource');
      const c = res.filter((e) => e.name.includes('/v1/containers/'));
      const nav = performance.getEntriesByType('navigation')[0];
      state.first = {
        ms: at,
        containerRequests: c.length,
        containerBytes: sum(c, 'encodedBodySize'),
        pageRequests: res.length + 1,
        pageTransferBytes: sum(res, 'transferSize') + (nav?.transferSize ?? 0),
        scriptsMs: Math.max(0, ...res.filter((e) => /\.(js|wasm)(\?|$)/.test(e.name)).map((e) => e.responseEnd)),
        containerStartMs: Math.min(...c.map((e) => e.startTime)),
        containerEndMs: Math.max(...c.map((e) => e.responseEnd)),
      };
    }
    if (p.dataset.done !== undefined && p.dataset.done === p.dataset.seq && p.dataset.done !== state.lastDone) {
      state.lastDone = p.dataset.done;
      const s = document.querySelector('[data-testid=seek-stats]');
      // The page's own account of the seek (its text): frames decoded, read and decode times.
      const text = s?.textContent ?? '';
      const num = (re) => Number(re.exec(text)?.[1] ?? Number.NaN);
      state.done.push({
        seq: Number(p.dataset.seq),
        targetUs: p.dataset.targetUs,
        frameUs: p.dataset.frameUs ?? null,
        state: p.dataset.state,
        at,
        key: state.key,
        requests: Number(s?.dataset.requests ?? 0),
        bytes: Number(s?.dataset.bytes ?? 0),
        cacheBytes: Number(s?.dataset.cacheBytes ?? 0),
        decoded: num(/(\d+) frames decoded/),
        readMs: num(/read (\d+) ms/),
        decodeMs: num(/decode (\d+) ms/),
      });
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state', 'data-done'] });
}

/** Container reads Resource Timing has recorded so far (index, bytes). */
const containerReads = (page) =>
  page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => e.name.includes('/v1/containers/'))
      .map((e) => e.encodedBodySize),
  );

async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1300, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}

/** Opens the inspector on a fresh context; resolves once the first frame is drawn. */
async function openInspector(browser, base) {
  const p = await newPage(browser);
  await p.page.addInitScript(h4mkProbe);
  await p.page.goto(`${base}/#container=clip.h4mk`);
  await p.page.waitForFunction(() => window.__h4?.first !== null && window.__h4?.first !== undefined);
  const first = await p.page.evaluate(() => window.__h4.first);
  const state = await p.page.evaluate(() => window.__h4.done[0]?.state ?? document.querySelector('[data-testid=preview]')?.dataset.state);
  if (state !== 'frame') throw new Error(`inspector: first seek ended in state ${state}: ${p.errors.join('; ')}`);
  return { ...p, first };
}

async function openBaseline(browser, base) {
  const p = await newPage(browser);
  await p.page.goto(`${base}/index.html`);
  await p.page.waitForFunction(() => window.__t?.frame !== undefined && window.__t?.loadeddata !== undefined);
  return { ...p, first: await p.page.evaluate(() => window.__t) };
}

/** Settles: waits until no container read has completed for `quietMs` (waveform, block tables), at most 3 s. */
async function settle(page, quietMs = 250) {
  const t0 = Date.now();
  let n = (await containerReads(page)).length;
  let since = Date.now();
  while (Date.now() - t0 < 3000) {
    await page.waitForTimeout(50);
    const m = (await containerReads(page)).length;
    if (m !== n) {
      n = m;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) break;
  }
}

/** Runs `action` and waits for the next finished seek; returns it with its time from the key press. */
async function h4mkSeek(page, action) {
  const after = await page.evaluate(() => window.__h4.done.length);
  await action();
  await page.waitForFunction(
    (n) => window.__h4.done.length > n && window.__h4.done.at(-1).seq === Number(document.querySelector('[data-testid=preview]').dataset.seq),
    after,
  );
  const d = await page.evaluate(() => window.__h4.done.at(-1));
  return { ...d, ms: d.at - d.key };
}

async function typeTime(page, seconds) {
  await page.fill('[data-testid=time-input]', String(seconds));
  await page.press('[data-testid=time-input]', 'Enter');
}

/* ---------------------------------------------------------------- main */

let serve;
let stat0;
let browser;
try {
  const served = join(dir, 'served');
  const statics = join(dir, 'static');
  mkdirSync(served);
  mkdirSync(statics);
  const mp4 = join(statics, 'clip.mp4');
  log('making the 20 s 1280×720 H.264 + AAC clip (ffmpeg testsrc2)');
  out.clip = makeClip(mp4);
  run(process.execPath, [MAIN, 'import', mp4, '-o', join(served, 'clip.h4mk')]);
  out.clip.h4mkBytes = statSync(join(served, 'clip.h4mk')).size;
  out.clip.meanGopBytes = out.clip.bytes / out.clip.keyframes;
  out.clip.description = `${DURATION_S} s testsrc2 1280×720 ${FPS} fps, libx264 veryfast -g 50 (${out.clip.keyframes} keyframes), AAC 48 kHz sine`;
  log(
    `clip: MP4 ${fmtBytes(out.clip.bytes)}, ${out.clip.videoFrames} video frames, ${out.clip.keyframes} keyframes (mean GOP ${fmtBytes(out.clip.meanGopBytes)}); h4mk ${fmtBytes(out.clip.h4mkBytes)}`,
  );

  serve = await startServe(served, ['--host', '127.0.0.1']);
  stat0 = await startStatic({ 'index.html': BASELINE_PAGE, 'clip.mp4': mp4 });
  log(`h4mk serve ${serve.url} (pid ${serve.pid}); static baseline ${stat0.url}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
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
  out.browser = `chromium ${browser.version()} (headless, --disable-gpu, playwright-core)`;

  /* 1. cold first frame */
  const h4First = [];
  const videoFirst = [];
  for (let r = -1; r < RUNS; r++) {
    const order = r % 2 === 0 ? ['h4mk', 'video'] : ['video', 'h4mk'];
    for (const subject of order) {
      const p = subject === 'h4mk' ? await openInspector(browser, serve.url) : await openBaseline(browser, stat0.url);
      await p.context.close();
      if (r < 0) continue; // the warm-up: browser processes started, nothing cached (contexts share no cache)
      if (subject === 'h4mk') h4First.push(p.first);
      else videoFirst.push(p.first);
      log(
        `cold run ${r + 1}/${RUNS} ${subject.padEnd(5)} first frame ${fmtNum(p.first.ms ?? p.first.frame, 1)} ms${subject === 'h4mk' ? `, ${p.first.containerRequests} container requests, ${fmtBytes(p.first.containerBytes)}` : `, loadeddata ${fmtNum(p.first.loadeddata, 1)} ms`}`,
      );
    }
  }
  out.firstFrame = {
    h4mk: {
      ms: stat(h4First.map((x) => x.ms)),
      containerRequests: median(h4First.map((x) => x.containerRequests)),
      containerBytes: median(h4First.map((x) => x.containerBytes)),
      pageRequests: median(h4First.map((x) => x.pageRequests)),
      pageTransferBytes: median(h4First.map((x) => x.pageTransferBytes)),
      // Where the time goes (medians): page scripts loaded; first container request sent; last container byte in; then decode + draw.
      scriptsLoadedMs: median(h4First.map((x) => x.scriptsMs)),
      containerStartMs: median(h4First.map((x) => x.containerStartMs)),
      containerEndMs: median(h4First.map((x) => x.containerEndMs)),
      afterLastByteMs: median(h4First.map((x) => x.ms - x.containerEndMs)),
    },
    video: {
      ms: stat(videoFirst.map((x) => x.frame)),
      loadeddataMs: stat(videoFirst.map((x) => x.loadeddata)),
      loadedmetadataMs: stat(videoFirst.map((x) => x.loadedmetadata)),
    },
  };
  out.firstFrame.ratio = out.firstFrame.h4mk.ms.median / out.firstFrame.video.ms.median;

  /* 2. seek to frame, warm pages */
  const r = rng(0x14);
  const targets = Array.from({ length: SEEKS }, () => r.int(0, DURATION_S * 1000 - 1000 / FPS) / 1000);
  const h4 = await openInspector(browser, serve.url);
  await h4.page.waitForSelector('#app[data-detail=blocks]');
  await settle(h4.page);
  const h4Seeks = [];
  for (const s of targets) {
    const d = await h4mkSeek(h4.page, () => typeTime(h4.page, s));
    if (d.targetUs !== String(Math.round(s * 1e6)) || d.state !== 'frame') throw new Error(`seek to ${s} s: target ${d.targetUs}, state ${d.state}`);
    h4Seeks.push(d);
    await settle(h4.page);
  }
  await h4.context.close();
  const vid = await openBaseline(browser, stat0.url);
  // The baseline as it stands after preload=auto: whatever it chose to buffer.
  await vid.page.waitForFunction(() => document.getElementById('v').readyState >= 4, null, { timeout: 10_000 }).catch(() => undefined);
  const buffered = await vid.page.evaluate(() => {
    const v = document.getElementById('v');
    return { readyState: v.readyState, bufferedEndS: v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0 };
  });
  const videoSeeks = [];
  for (const s of targets) {
    videoSeeks.push(
      await vid.page.evaluate(async (t) => {
        const v = document.getElementById('v');
        const t0 = performance.now();
        let framed = false;
        const frame = new Promise((resolve) => v.requestVideoFrameCallback(() => resolve((framed = true))));
        const seeked = new Promise((resolve) => v.addEventListener('seeked', () => resolve(performance.now() - t0), { once: true }));
        v.currentTime = t;
        const seekedMs = await seeked;
        await Promise.race([frame, new Promise((resolve) => setTimeout(resolve, 2000))]);
        return { seekedMs, ms: performance.now() - t0, framed };
      }, s),
    );
    await vid.page.waitForTimeout(100);
  }
  await vid.context.close();
  out.seek = {
    targetsS: targets,
    h4mk: {
      ms: stat(h4Seeks.map((x) => x.ms)),
      requests: stat(h4Seeks.map((x) => x.requests)),
      bytes: stat(h4Seeks.map((x) => x.bytes)),
      // The page's cache (48 MiB) ends up holding the whole 6 MiB clip: seeks into a GOP not read before, and the others.
      missMs: stat(h4Seeks.filter((x) => x.requests > 0).map((x) => x.ms)),
      hitMs: stat(h4Seeks.filter((x) => x.requests === 0).map((x) => x.ms)),
      decoded: stat(h4Seeks.map((x) => x.decoded)),
      pageReadMs: stat(h4Seeks.map((x) => x.readMs)),
      pageDecodeMs: stat(h4Seeks.map((x) => x.decodeMs)),
      totalBytes: h4Seeks.reduce((a, x) => a + x.bytes, 0),
      cacheBytesTotal: h4Seeks.reduce((a, x) => a + x.cacheBytes, 0),
    },
    video: {
      ms: stat(videoSeeks.map((x) => x.ms)),
      seekedMs: stat(videoSeeks.map((x) => x.seekedMs)),
      framesSeen: videoSeeks.filter((x) => x.framed).length,
      ...buffered,
    },
  };
  out.seek.ratio = out.seek.h4mk.ms.median / out.seek.video.ms.median;
  log(
    `seeks: h4mk median ${fmtNum(out.seek.h4mk.ms.median, 1)} ms (p90 ${fmtNum(out.seek.h4mk.ms.p90, 1)}), <video> median ${fmtNum(out.seek.video.ms.median, 1)} ms (p90 ${fmtNum(out.seek.video.ms.p90, 1)})`,
  );

  /* 3. consecutive frame steps after a seek to 5.0 s, fresh context */
  const st = await openInspector(browser, serve.url);
  await st.page.waitForSelector('#app[data-detail=blocks]');
  await settle(st.page);
  const at5 = await h4mkSeek(st.page, () => typeTime(st.page, 5));
  if (at5.state !== 'frame') throw new Error(`seek to 5 s: state ${at5.state}`);
  await settle(st.page);
  await st.page.evaluate(() => document.activeElement?.blur());
  const readsBefore = await containerReads(st.page);
  const steps = [];
  let prev = Number(at5.frameUs);
  for (let i = 0; i < STEPS; i++) {
    const d = await h4mkSeek(st.page, () => st.page.keyboard.press('ArrowRight'));
    if (d.state !== 'frame' || !(Number(d.frameUs) > prev)) throw new Error(`step ${i + 1}: state ${d.state}, frame ${d.frameUs} after ${prev}`);
    prev = Number(d.frameUs);
    steps.push(d);
    await settle(st.page, 150);
  }
  const readsAfter = await containerReads(st.page);
  await st.context.close();
  const during = readsAfter.slice(readsBefore.length);
  const seekStatsBytes = steps.reduce((a, x) => a + x.bytes, 0);
  out.steps = {
    from: { targetUs: at5.targetUs, frameUs: at5.frameUs, requests: at5.requests, bytes: at5.bytes },
    frames: steps.map((x) => ({
      frameUs: Number(x.frameUs),
      ms: +x.ms.toFixed(1),
      requests: x.requests,
      bytes: x.bytes,
      cacheBytes: x.cacheBytes,
      decoded: x.decoded,
      readMs: x.readMs,
      decodeMs: x.decodeMs,
    })),
    decodedPerStep: median(steps.map((x) => x.decoded)),
    seekStatsRequests: steps.reduce((a, x) => a + x.requests, 0),
    seekStatsBytes,
    cacheBytesPerStep: median(steps.map((x) => x.cacheBytes)),
    networkRequests: during.length,
    networkBytes: during.reduce((a, b) => a + b, 0),
    ms: stat(steps.map((x) => x.ms)),
  };
  out.steps.bytesPerStep = out.steps.networkBytes / STEPS;
  out.steps.ratio = out.steps.bytesPerStep / out.clip.meanGopBytes;
  log(
    `${STEPS} steps from 5 s: ${out.steps.networkRequests} requests, ${fmtBytes(out.steps.networkBytes)} (seek stats: ${out.steps.seekStatsRequests} requests, ${fmtBytes(seekStatsBytes)}); mean GOP ${fmtBytes(out.clip.meanGopBytes)}`,
  );
  out.serverRequestsStatic = stat0.counters.requests;
} finally {
  await browser?.close();
  await serve?.stop();
  await stat0?.stop();
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}
out.elapsedS = (Date.now() - started) / 1000;
out.loadAverageAtEnd = loadavg().map((x) => +x.toFixed(2));

const F = out.firstFrame;
const S = out.seek;
const T = out.steps;
const ok = (b) => (b ? 'MET' : 'MISSED');
out.goals = {
  [`cold first frame ≤ ${GOAL_FIRST_MS} ms (median)`]: {
    status: ok(F.h4mk.ms.median <= GOAL_FIRST_MS),
    value: `${fmtNum(F.h4mk.ms.median, 1)} ms (p90 ${fmtNum(F.h4mk.ms.p90, 1)} ms)`,
  },
  [`seek to frame ≤ ${GOAL_SEEK_MS} ms (median)`]: {
    status: ok(S.h4mk.ms.median <= GOAL_SEEK_MS),
    value: `${fmtNum(S.h4mk.ms.median, 1)} ms (p90 ${fmtNum(S.h4mk.ms.p90, 1)} ms)`,
  },
};

table(`inspector: ${out.clip.description}; ${out.browser}`, [
  [
    'cold first frame, h4mk inspector',
    `${fmtNum(F.h4mk.ms.median, 1)} ms`,
    `median of ${RUNS}, p90 ${fmtNum(F.h4mk.ms.p90, 1)} ms; runs ${F.h4mk.ms.runs.join(', ')}; ${F.h4mk.containerRequests} container requests, ${fmtBytes(F.h4mk.containerBytes)}; page ${F.h4mk.pageRequests} requests, ${fmtBytes(F.h4mk.pageTransferBytes)}; scripts in at ${fmtNum(F.h4mk.scriptsLoadedMs, 0)} ms, container reads ${fmtNum(F.h4mk.containerStartMs, 0)}–${fmtNum(F.h4mk.containerEndMs, 0)} ms, decode + draw ${fmtNum(F.h4mk.afterLastByteMs, 0)} ms`,
  ],
  [
    'cold first frame, <video> (rVFC)',
    `${fmtNum(F.video.ms.median, 1)} ms`,
    `p90 ${fmtNum(F.video.ms.p90, 1)} ms; loadeddata ${fmtNum(F.video.loadeddataMs.median, 1)} ms; runs ${F.video.ms.runs.join(', ')}`,
  ],
  ['ratio h4mk / <video>', fmtNum(F.ratio, 3), `goal ≤ ${GOAL_FIRST_MS} ms: ${out.goals[`cold first frame ≤ ${GOAL_FIRST_MS} ms (median)`].status}`],
  [
    'seek to frame, h4mk (warm page)',
    `${fmtNum(S.h4mk.ms.median, 1)} ms`,
    `median of ${SEEKS}, p90 ${fmtNum(S.h4mk.ms.p90, 1)} ms; ${fmtNum(S.h4mk.requests.median, 0)} requests, ${fmtBytes(S.h4mk.bytes.median)} per seek (median); ${S.h4mk.missMs.n} seeks sent requests (median ${fmtNum(S.h4mk.missMs.median, 1)} ms), ${S.h4mk.hitMs.n} were answered by the page's cache (median ${fmtNum(S.h4mk.hitMs.median, 1)} ms); page's read ${fmtNum(S.h4mk.pageReadMs.median, 0)} ms + decode ${fmtNum(S.h4mk.pageDecodeMs.median, 0)} ms of ${fmtNum(S.h4mk.decoded.median, 0)} frames (medians)`,
  ],
  [
    'seek to frame, <video>',
    `${fmtNum(S.video.ms.median, 1)} ms`,
    `p90 ${fmtNum(S.video.ms.p90, 1)} ms; 'seeked' ${fmtNum(S.video.seekedMs.median, 1)} ms; rVFC seen ${S.video.framesSeen}/${SEEKS}; buffered to ${fmtNum(S.video.bufferedEndS, 2)} s`,
  ],
  ['ratio h4mk / <video>', fmtNum(S.ratio, 3), `goal ≤ ${GOAL_SEEK_MS} ms: ${out.goals[`seek to frame ≤ ${GOAL_SEEK_MS} ms (median)`].status}`],
  [
    `${STEPS} frame steps after 5.0 s`,
    fmtBytes(T.networkBytes),
    `${T.networkRequests} requests (seek stats: ${T.seekStatsRequests} requests, ${fmtBytes(T.seekStatsBytes)}); from the page's cache ${fmtBytes(T.cacheBytesPerStep)} and ${fmtNum(T.decodedPerStep, 0)} frames decoded per step; step median ${fmtNum(T.ms.median, 1)} ms; the seek to 5.0 s read ${fmtBytes(T.from.bytes)}`,
  ],
  [
    'bytes per step / mean GOP',
    fmtNum(T.ratio, 4),
    `${fmtBytes(T.bytesPerStep)} per step vs ${fmtBytes(out.clip.meanGopBytes)} (MP4 ${fmtBytes(out.clip.bytes)} ÷ ${out.clip.keyframes} keyframes)`,
  ],
]);
console.log(`load average ${out.loadAverageAtStart.join(' ')} at start, ${out.loadAverageAtEnd.join(' ')} at end; ${fmtNum(out.elapsedS, 1)} s`);

const vBase = '<video> + static server with ranges, same clip, same run';
out.rows = [
  {
    section: 'inspector (20 s 720p clip)',
    metric: 'cold time to first frame, median',
    unit: 'ms',
    better: 'lower',
    subject: 'h4mk inspector (h4mk serve)',
    value: F.h4mk.ms.median,
    baseline: vBase,
    baselineValue: F.video.ms.median,
    ratio: F.ratio,
    note: `goal ≤ ${GOAL_FIRST_MS} ms; new browser context per run; navigation start → frame drawn; <video>: first requestVideoFrameCallback`,
  },
  {
    section: 'inspector (20 s 720p clip)',
    metric: 'cold time to first frame, p90',
    unit: 'ms',
    better: 'lower',
    subject: 'h4mk inspector (h4mk serve)',
    value: F.h4mk.ms.p90,
    baseline: vBase,
    baselineValue: F.video.ms.p90,
    note: `${RUNS} runs each`,
  },
  {
    section: 'inspector (20 s 720p clip)',
    metric: 'seek to frame, warm page, median',
    unit: 'ms',
    better: 'lower',
    subject: 'h4mk inspector (h4mk serve)',
    value: S.h4mk.ms.median,
    baseline: vBase,
    baselineValue: S.video.ms.median,
    ratio: S.ratio,
    note: `goal ≤ ${GOAL_SEEK_MS} ms; ${SEEKS} fixed-seed targets; Enter keydown → frame drawn (decode from the keyframe: median ${fmtNum(S.h4mk.decoded.median, 0)} frames); ${S.h4mk.missMs.n} of ${SEEKS} sent a request (median ${fmtNum(S.h4mk.missMs.median, 0)} ms), the others read the page's cache; <video>: currentTime set → seeked + rVFC`,
  },
  {
    section: 'inspector (20 s 720p clip)',
    metric: 'seek to frame, warm page, p90',
    unit: 'ms',
    better: 'lower',
    subject: 'h4mk inspector (h4mk serve)',
    value: S.h4mk.ms.p90,
    baseline: vBase,
    baselineValue: S.video.ms.p90,
  },
  {
    section: 'inspector (20 s 720p clip)',
    metric: `bytes read per frame step (${STEPS} consecutive)`,
    unit: 'bytes',
    better: 'lower',
    subject: 'h4mk inspector (page cache)',
    value: T.bytesPerStep,
    baseline: 'mean GOP of the clip (MP4 bytes ÷ keyframes)',
    baselineValue: out.clip.meanGopBytes,
    ratio: T.ratio,
    note: `${T.networkRequests} requests, ${fmtInt(T.networkBytes)} B in all (Resource Timing): the seek to 5.0 s read the GOP (${fmtInt(T.from.bytes)} B) and each step re-reads ${fmtInt(T.cacheBytesPerStep)} B from the page's cache and decodes ${fmtNum(T.decodedPerStep, 0)} frames from the keyframe (step median ${fmtNum(T.ms.median, 0)} ms)`,
  },
];
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'inspector.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`JSON: ${join(here, 'out', 'inspector.json')}`);
