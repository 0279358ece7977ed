/**
 * HLS/DASH delivery behind caches and origins, and under hostile requests:
 *
 * a. A caching proxy (a real nginx with `proxy_cache`) in front of
 *    `h4mk serve`: the entry points (master playlist, MPD) are `no-cache`
 *    and go back to the server for every viewer; everything under the
 *    versioned directory `hls/v-{version}/` is immutable, so a second
 *    viewer's playlists and segments come from the cache alone and the
 *    server sees each of those URLs once. Both viewers get the same bytes
 *    (and the bytes of the static package). A cache that stores the entry
 *    points revalidates them: the server answers 304 without a body.
 * b. Request economy of `h4mk serve --origin`: a 2-hour container on a plain
 *    nginx; the master costs the index open alone (one suffix request), the
 *    other playlists nothing, each media segment one range request (counted
 *    in nginx's access log).
 * c. Hostile requests on the stream routes: every refusal is the documented
 *    JSON error with its status, never a stack trace and never cacheable;
 *    a URL of another version (the container was replaced under its name) is
 *    a 404, never bytes of the current recording; encrypted containers are
 *    403 E_KEY, a data-only container says why.
 *
 * Counts come from logs (nginx's access log, the server's request log), not
 * from timing, so a busy machine slows the tests down but does not fail them.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { copyFile, link, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryPlan, FileSink, FileSource, H4mkReader, H4mkWriter, versionDir } from '../dist/node.js';
import { build } from '../dist/server/index.js';
import { packageContainer } from '../dist/tools/package.js';
import { requireFfmpeg, SKIP_FFMPEG } from './media/ffmpeg.js';
import { writeLongContainer } from './support/long-container.js';
import { NGINX_BINARY, NGINX_SKIPPED, type Nginx, requireNginx, startNginx } from './support/nginx.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const BIG = { maxBuffer: 64 * 1024 * 1024 };
const CLIP = 'clip.h4mk';

let work: string;
/** Served by the local-mode server: clip.h4mk, secret.h4mk (encrypted), data.h4mk (one 'data' track). */
let served: string;
/** Another recording (not served): put under a served name to replace a container. */
let other: string;

beforeAll(async () => {
  if (SKIP_FFMPEG) return;
  requireFfmpeg();
  work = await mkdtemp(join(tmpdir(), 'h4mk-delivery-cache-'));
  served = join(work, 'served');
  await mkdir(served);
  const source = join(work, 'clip.mp4');
  // 10 s of H.264 (B-frames, a keyframe every 2 s) and AAC.
  await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x180:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      '10',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-g',
      '50',
      '-bf',
      '2',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      source,
    ],
    BIG,
  );
  await run(process.execPath, [MAIN, 'import', source, '-o', join(served, CLIP)], BIG);
  // A different recording (another picture and tone, 6 s): what replaces a container in c.
  const otherSource = join(work, 'other.mp4');
  await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x180:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=880:sample_rate=48000',
      '-t',
      '6',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-g',
      '50',
      '-bf',
      '2',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      otherSource,
    ],
    BIG,
  );
  other = join(work, 'other.h4mk');
  await run(process.execPath, [MAIN, 'import', otherSource, '-o', other], BIG);
  await run(process.execPath, [MAIN, 'keygen', '-o', join(work, 'k.key')], BIG);
  await run(process.execPath, [MAIN, 'import', source, '-o', join(served, 'secret.h4mk'), '--encrypt', '--key-file', join(work, 'k.key')], BIG);
  const sink = await FileSink.create(join(served, 'data.h4mk'));
  const writer = await H4mkWriter.create(sink, { compression: 'none' });
  writer.addTrack({ id: 'telemetry', kind: 'data', codec: 'application/octet-stream' });
  for (let i = 0; i < 50; i++)
    await writer.writeBlock({ track: 'telemetry', ptsUs: i * 100_000, durationUs: 100_000, keyframe: true, payload: Uint8Array.of(i, i + 1, i + 2) });
  await writer.finish();
}, 180_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/* ------------------------------------------------------------------ helpers */

type Got = { status: number; headers: Record<string, string>; body: Buffer };

/**
 * GET with node:http and the path sent exactly as given (no URL
 * normalisation: `..`, `%2f` and friends reach the server as written).
 */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : String(v);
        resolve({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`GET ${path.slice(0, 120)}: no answer in 60 s`)));
    req.on('error', reject);
    req.end();
  });
}

function portOf(base: string): number {
  return Number(new URL(base).port);
}

/** URIs of a playlist (lines that are not tags, and URI="…" attributes), in order. */
function playlistUris(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (!line.startsWith('#')) out.push(line);
    for (const m of line.matchAll(/URI="([^"]+)"/g)) out.push(m[1] as string);
  }
  return out;
}

/** The versioned directory (`v-{16 hex}`) a master playlist points into; fails when its URIs do not all name one. */
function versionOf(master: string): string {
  const dirs = new Set(playlistUris(master).map((u) => /^(v-[0-9a-f]{16})\/t\d+\/(index|iframes)\.m3u8(\?|$)/.exec(u)?.[1]));
  expect([...dirs], master).toHaveLength(1);
  const dir = [...dirs][0];
  expect(dir, master).toBeDefined();
  return dir as string;
}

/** The versioned directory of a container file, as the library computes it (DeliveryPlan.version). */
async function versionOfFile(path: string): Promise<string> {
  const reader = await H4mkReader.open(await FileSource.open(path));
  try {
    return versionDir(deliveryPlan(reader));
  } finally {
    await reader.close();
  }
}

/** The master playlist and the MPD: `no-cache` entry points, revalidated with their ETag. */
function isEntryPoint(path: string): boolean {
  return /\/(hls\/master\.m3u8|dash\/manifest\.mpd)(\?|$)/.test(path);
}

/** Lines of a server's pino log with `msg === 'request completed'`: method, path, status. */
type Served = { method: string; path: string; status: number };
function requestLog(lines: string[]): Served[] {
  const out: Served[] = [];
  for (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; req?: { method: string; path: string }; res?: { statusCode: number } };
    if (entry.msg === 'request completed' && entry.req !== undefined && entry.res !== undefined)
      out.push({ method: entry.req.method, path: entry.req.path, status: entry.res.statusCode });
  }
  return out;
}

/** A server in local mode over `served`, listening on loopback, with its request log collected. */
async function localServer(dir: string, options: { revalidateMs?: number } = {}): Promise<{ app: FastifyInstance; base: string; log: string[] }> {
  const log: string[] = [];
  const app = await build({ dir, ...options, logger: { level: 'info', stream: { write: (line: string) => void log.push(line) } } });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base, log };
}

/** Waits until `count()` holds still for 100 ms (log lines land just after the answer is sent). */
async function settled<T>(count: () => Promise<T[]> | T[], atLeast = 0): Promise<T[]> {
  const deadline = Date.now() + 5000;
  let last = (await count()).length;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const now = (await count()).length;
    if ((now === last && now >= atLeast) || Date.now() > deadline) return count();
    last = now;
  }
}

/* ------------------------------------------------------- nginx with a cache */

/** `upstreamStatus`/`upstreamBytes`: the origin's status and body length ('' when the origin was not asked). */
type CacheLogEntry = { status: number; cache: string; uri: string; bytes: number; upstreamStatus: string; upstreamBytes: string };
type CachingProxy = { port: number; log(): Promise<CacheLogEntry[]>; errorLog(): Promise<string>; stop(): Promise<void> };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * nginx as a shared cache in front of `upstreamPort`: `proxy_cache` in a
 * temp dir (`proxy_cache_revalidate on`: an expired entry is revalidated
 * with its ETag), keep-alive upstream, `X-Cache-Status` on every answer and
 * one JSON log line per request with `$upstream_cache_status`, the URI and
 * what the origin answered. One process (`master_process off`) that we own
 * and stop by its pid.
 *
 * nginx does not store a `Cache-Control: no-cache` answer at all (nor
 * `no-store`, `private`, `max-age=0`): as configured by default the entry
 * points go to the origin every time (a MISS, a 200 with the body).
 * `storeEntryPoints` makes it behave as an RFC 9111 cache does with
 * `no-cache` (store, revalidate before reuse) as closely as nginx can: it
 * ignores the entry points' Cache-Control and keeps them for 1 s, after
 * which each use is a conditional request to the origin.
 */
async function startCachingProxy(upstreamPort: number, options: { storeEntryPoints?: boolean } = {}): Promise<CachingProxy> {
  await requireNginx();
  const dir = await mkdtemp(join(tmpdir(), 'h4mk-nginx-cache-'));
  await mkdir(join(dir, 'tmp'));
  await mkdir(join(dir, 'cache'));
  const format =
    '{"status":$status,"cache":"$upstream_cache_status","uri":"$request_uri","bytes":$body_bytes_sent,"upstreamStatus":"$upstream_status","upstreamBytes":"$upstream_response_length"}';
  const proxying = (valid: string, extra = '') => `proxy_pass http://h4mk;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache h4mk;
      proxy_cache_valid 200 ${valid};
      proxy_cache_lock on;
      proxy_cache_revalidate on;${extra}
      add_header X-Cache-Status $upstream_cache_status always;`;
  const entryPoints =
    options.storeEntryPoints === true
      ? `location ~ /(hls/master\\.m3u8|dash/manifest\\.mpd)$ {\n      ${proxying('1s', '\n      proxy_ignore_headers Cache-Control;')}\n    }`
      : '';
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    await writeFile(
      join(dir, 'nginx.conf'),
      `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=h4mk:4m max_size=256m inactive=60m use_temp_path=off;
  log_format cache escape=json '${format}';
  access_log ${dir}/access.log cache;
  keepalive_timeout 60s;
  upstream h4mk { server 127.0.0.1:${upstreamPort}; keepalive 8; }
  server {
    listen 127.0.0.1:${port};
    location / {
      ${proxying('10m')}
    }
    ${entryPoints}
  }
}
`,
    );
    const child: ChildProcess = spawn(NGINX_BINARY, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await canConnect(port))) await new Promise((r) => setTimeout(r, 20));
    if (exited || !(await canConnect(port))) {
      if (!exited) child.kill('SIGKILL');
      lastError = new Error(`caching nginx did not start: ${stderr}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`);
      continue;
    }
    const log = async () =>
      (await readFile(join(dir, 'access.log'), 'utf8').catch(() => ''))
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as CacheLogEntry);
    return {
      port,
      log,
      errorLog: () => readFile(join(dir, 'error.log'), 'utf8').catch(() => ''),
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGQUIT');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await gone;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/* ------------------------------------------------------------ a. the cache */

type Fetched = { path: string; status: number; cacheStatus: string; etag: string; cacheControl: string; body: Buffer };

/**
 * One viewer playing everything through `port`: the master playlist, every
 * media playlist it names (I-frames playlists included), each one's init
 * segment and every segment, then the DASH manifest. Sequential, as a
 * player fetches.
 */
async function viewer(port: number, prefix: string): Promise<Fetched[]> {
  const out: Fetched[] = [];
  const fetchOne = async (path: string): Promise<Fetched> => {
    const r = await get(port, path);
    const f = {
      path,
      status: r.status,
      cacheStatus: r.headers['x-cache-status'] ?? '',
      etag: r.headers.etag ?? '',
      cacheControl: r.headers['cache-control'] ?? '',
      body: r.body,
    };
    out.push(f);
    return f;
  };
  const master = await fetchOne(`${prefix}/hls/master.m3u8`);
  for (const uri of playlistUris(master.body.toString('utf8'))) {
    const playlist = await fetchOne(`${prefix}/hls/${uri}`);
    const dir = uri.slice(0, uri.lastIndexOf('/') + 1);
    for (const child of playlistUris(playlist.body.toString('utf8'))) {
      // The init segment is named by every playlist of a track: fetched once, as a player caches it.
      if (out.some((f) => f.path === `${prefix}/hls/${dir}${child}`)) continue;
      await fetchOne(`${prefix}/hls/${dir}${child}`);
    }
  }
  await fetchOne(`${prefix}/dash/manifest.mpd`);
  return out;
}

describe.skipIf(NGINX_SKIPPED || SKIP_FFMPEG)('a. h4mk serve behind a caching nginx (proxy_cache)', () => {
  let server: Awaited<ReturnType<typeof localServer>>;
  let proxy: CachingProxy;
  /** The same nginx, storing the entry points and revalidating them (see startCachingProxy). */
  let storing: CachingProxy;
  const prefix = `/v1/containers/${CLIP}`;

  beforeAll(async () => {
    server = await localServer(served);
    proxy = await startCachingProxy(portOf(server.base));
    storing = await startCachingProxy(portOf(server.base), { storeEntryPoints: true });
  });

  afterAll(async () => {
    await proxy?.stop();
    await storing?.stop();
    await server?.app.close();
  });

  it('viewer 2 gets the entry points from the server again, every track playlist and segment from the cache; the server saw each of those once, same bytes', async () => {
    const one = await viewer(proxy.port, prefix);
    const afterOne = await settled(() => proxy.log(), one.length);
    const two = await viewer(proxy.port, prefix);
    const log = await settled(() => proxy.log(), one.length + two.length);
    const origin = await settled(() => requestLog(server.log), one.length + 2);

    const paths = one.map((f) => f.path);
    const version = versionOf((one[0] as Fetched).body.toString('utf8'));
    expect(version).toBe(await versionOfFile(join(served, CLIP)));
    const entries = paths.filter(isEntryPoint);
    const versioned = paths.filter((p) => !isEntryPoint(p));
    // What a player of this clip fetches: master, video + audio + I-frames playlists, 2 inits, 5 + 5 + 5 segments, the MPD.
    expect(new Set(paths).size, paths.join('\n')).toBe(paths.length);
    expect(entries).toEqual([`${prefix}/hls/master.m3u8`, `${prefix}/dash/manifest.mpd`]);
    expect(paths.filter((p) => p.endsWith('.m3u8'))).toHaveLength(4);
    expect(paths.filter((p) => p.endsWith('init.mp4'))).toHaveLength(2);
    const segments = paths.filter((p) => /\/\d+(\.key)?\.m4s$/.test(p));
    expect(segments).toHaveLength(15);
    // Every other file is under the versioned directory the master names.
    for (const p of versioned) expect(p).toMatch(new RegExp(`^${prefix.replace(/\./g, '\\.')}/hls/${version}/t\\d+/[^/]+$`));
    expect(versioned).toHaveLength(paths.length - 2);
    expect(two.map((f) => f.path)).toEqual(paths);
    // The MPD's segments are the same files: its BaseURL is the versioned directory.
    expect((one.at(-1) as Fetched).body.toString('utf8')).toContain(`<BaseURL>../hls/${version}/</BaseURL>`);

    // Every answer: 200 with a strong ETag; the entry points revalidated on every use, the rest public immutable.
    for (const f of [...one, ...two]) {
      expect(f.status, f.path).toBe(200);
      expect(f.etag, f.path).toMatch(/^"[0-9a-f]{32}"$/);
      expect(f.cacheControl, f.path).toMatch(isEntryPoint(f.path) ? /^public, no-cache$/ : /^public, max-age=\d+, immutable$/);
    }
    // Viewer 1 filled the cache (every request a MISS) …
    expect(one.map((f) => f.cacheStatus)).toEqual(one.map(() => 'MISS'));
    // … viewer 2 read every track playlist, init and segment from it. nginx does not store a `no-cache`
    // answer (proxy_cache_revalidate only applies to stored, expired ones): its entry points are MISSes
    // again, answered 200 by the server (see the next test for a cache that keeps and revalidates them).
    expect(two.map((f) => f.cacheStatus)).toEqual(two.map((f) => (isEntryPoint(f.path) ? 'MISS' : 'HIT')));
    const twoLog = log.slice(afterOne.length);
    expect(twoLog.map((e) => e.uri)).toEqual(paths);
    expect(twoLog.filter((e) => segments.includes(e.uri)).map((e) => e.cache)).toEqual(segments.map(() => 'HIT'));
    // No upstream was contacted for anything under the versioned directory ($upstream_status empty) …
    expect(twoLog.filter((e) => !isEntryPoint(e.uri) && (e.cache !== 'HIT' || (e.upstreamStatus !== '' && e.upstreamStatus !== '-')))).toEqual([]);
    // … and only for the entry points, each answered 200.
    expect(twoLog.filter((e) => isEntryPoint(e.uri)).map((e) => [e.uri, e.cache, e.upstreamStatus])).toEqual(entries.map((p) => [p, 'MISS', '200']));

    // The origin answered each versioned URL exactly once (viewer 1's MISSes), the entry points once per viewer.
    const misses = log.filter((e) => e.cache === 'MISS').map((e) => e.uri);
    expect(misses).toEqual([...paths, ...entries]);
    const originPaths = origin.filter((e) => e.path.startsWith(prefix)).map((e) => e.path);
    expect(originPaths).toEqual([...paths, ...entries]);
    for (const p of versioned)
      expect(
        originPaths.filter((q) => q === p),
        p,
      ).toHaveLength(1);
    expect(origin.every((e) => e.status === 200)).toBe(true);

    // Same bytes and validators for both viewers …
    one.forEach((f, i) => {
      const g = two[i] as Fetched;
      expect(g.body.equals(f.body), f.path).toBe(true);
      expect(g.etag, f.path).toBe(f.etag);
    });
    // … and the bytes of the static package (`h4mk package`) of the same container.
    const out = join(work, 'package-a');
    const reader = await H4mkReader.open(await FileSource.open(join(served, CLIP)));
    try {
      await packageContainer(reader, out, { force: true });
    } finally {
      await reader.close();
    }
    for (const f of one) {
      // The served MPD carries a BaseURL (../hls/v-…/) the package's does not; the HLS files are identical,
      // the served master's URIs with the versioned directory in front.
      if (f.path.endsWith('manifest.mpd')) continue;
      if (f.path.endsWith('/hls/master.m3u8')) {
        expect(f.body.toString('utf8').replaceAll(`${version}/`, '')).toBe(await readFile(join(out, 'master.m3u8'), 'utf8'));
        continue;
      }
      const file = f.path.slice(`${prefix}/hls/${version}/`.length);
      expect(f.body.equals(await readFile(join(out, file))), file).toBe(true);
    }

    // A conditional request with the ETag is answered 304 from the cache: the origin is not asked.
    const seg = one.find((f) => f.path.endsWith('/t0/2.m4s')) as Fetched;
    const before = origin.length;
    const revalidated = await get(proxy.port, seg.path, { 'if-none-match': seg.etag });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers['x-cache-status']).toBe('HIT');
    expect(await settled(() => requestLog(server.log))).toHaveLength(before);

    // Errors are `no-store`: the cache keeps none, each one goes to the origin. That includes a URL of
    // another version (a replaced recording): the cache gets a 404, never the current version's bytes.
    const errors = [`${prefix}/hls/${version}/t0/99.m4s`, `${prefix}/hls/v-0123456789abcdef/t0/0.m4s`];
    for (const path of errors) {
      for (let i = 0; i < 2; i++) {
        const missing = await get(proxy.port, path);
        expect(missing.status, path).toBe(404);
        expect(missing.headers['x-cache-status'], path).toBe('MISS');
        expect(missing.headers['cache-control'], path).toBe('no-store');
      }
    }
    const after = await settled(() => requestLog(server.log), before + 4);
    expect(after.slice(before).map((e) => [e.path, e.status])).toEqual(
      errors.flatMap((p) => [
        [p, 404],
        [p, 404],
      ]),
    );
  });

  it('a cache that keeps the entry points revalidates them: the server answers 304 without a body; the rest are HITs', async () => {
    const mark = (await settled(() => requestLog(server.log))).length;
    const one = await viewer(storing.port, prefix);
    const afterOne = await settled(() => storing.log(), one.length);
    // The entry points are kept 1 s (nginx counts whole seconds): after 2.2 s they have expired, so nginx
    // revalidates them with If-None-Match. A slow machine only makes this wait longer.
    await new Promise((r) => setTimeout(r, 2200));
    const two = await viewer(storing.port, prefix);
    const log = await settled(() => storing.log(), one.length + two.length);
    const origin = (await settled(() => requestLog(server.log), mark + one.length + 2)).slice(mark);

    const paths = one.map((f) => f.path);
    const entries = paths.filter(isEntryPoint);
    expect(entries).toHaveLength(2);
    expect(two.map((f) => f.path)).toEqual(paths);
    expect(one.map((f) => f.cacheStatus)).toEqual(one.map(() => 'MISS'));
    // Viewer 2: the entry points REVALIDATED (the server said 304 and sent no body), everything else a HIT.
    expect(two.map((f) => f.cacheStatus)).toEqual(two.map((f) => (isEntryPoint(f.path) ? 'REVALIDATED' : 'HIT')));
    const twoLog = log.slice(afterOne.length);
    expect(twoLog.map((e) => e.uri)).toEqual(paths);
    expect(twoLog.filter((e) => isEntryPoint(e.uri)).map((e) => [e.uri, e.cache, e.upstreamStatus, e.upstreamBytes])).toEqual(
      entries.map((p) => [p, 'REVALIDATED', '304', '0']),
    );
    expect(twoLog.filter((e) => !isEntryPoint(e.uri) && (e.cache !== 'HIT' || (e.upstreamStatus !== '' && e.upstreamStatus !== '-')))).toEqual([]);
    // The server: every URL once with a 200 for viewer 1, then two 304s.
    expect(origin.filter((e) => e.path.startsWith(prefix)).map((e) => [e.path, e.status])).toEqual([
      ...paths.map((p) => [p, 200]),
      ...entries.map((p) => [p, 304]),
    ]);
    // Viewer 2 got the full entry points from the cache, the same bytes and ETags as viewer 1.
    one.forEach((f, i) => {
      const g = two[i] as Fetched;
      expect(g.status, f.path).toBe(200);
      expect(g.body.equals(f.body), f.path).toBe(true);
      expect(g.etag, f.path).toBe(f.etag);
    });

    // The same conditional request straight to the server: 304, no body, the validators again.
    for (const f of one.filter((e) => isEntryPoint(e.path))) {
      const r = await get(portOf(server.base), f.path, { 'if-none-match': f.etag });
      expect(r.status, f.path).toBe(304);
      expect(r.body.length, f.path).toBe(0);
      expect(r.headers.etag, f.path).toBe(f.etag);
      expect(r.headers['cache-control'], f.path).toBe('public, no-cache');
    }
  });
});

/* ------------------------------------------------ b. request economy, --origin */

describe.skipIf(NGINX_SKIPPED || SKIP_FFMPEG)('b. request economy of h4mk serve --origin (2-hour container on a static nginx)', () => {
  const SECONDS = 2 * 3600;
  const NAME = 'long.h4mk';
  let nginx: Nginx;
  let app: FastifyInstance;
  let base: string;
  let segments: number;

  beforeAll(async () => {
    nginx = await startNginx();
    const path = join(work, NAME);
    ({ segments } = await writeLongContainer(join(served, CLIP), path, SECONDS));
    await link(path, join(nginx.root, NAME)).catch(() => copyFile(path, join(nginx.root, NAME)));
    // No re-open during the test: the default (5 s) would re-open the origin file (one more suffix request) on a slow run.
    app = await build({ origin: nginx.url(''), revalidateMs: 3_600_000 });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await nginx?.stop();
  });

  const path = (p: string) => `/v1/containers/${NAME}/${p}`;
  /** Fetches `paths` in order; returns the origin requests they caused (nginx log lines). */
  async function originRequests(paths: string[]): Promise<{ answers: Got[]; ranges: string[] }> {
    const mark = await nginx.mark();
    const answers: Got[] = [];
    for (const p of paths) answers.push(await get(portOf(base), path(p)));
    const log = await nginx.logSince(mark);
    for (const e of log) expect([e.status, e.range]).toEqual([206, expect.stringMatching(/^bytes=(\d+-\d+|-\d+)$/)]);
    return { answers, ranges: log.map((e) => e.range) };
  }

  it('the master costs the index open alone (one request); the media, I-frames playlists and the MPD of 2 hours nothing more', async () => {
    const master = await originRequests(['hls/master.m3u8']);
    expect(master.answers[0]?.status).toBe(200);
    // The reader opens the tail container with one suffix request (index + footer). The server's strong
    // ETag (containerEtag) hashes the header as the reader decoded it, not its bytes: no 32-byte request
    // for the head of an 80 MB file. Exactly one request.
    expect(master.ranges).toEqual(['bytes=-524288']);

    const text = master.answers[0]?.body.toString('utf8') ?? '';
    const version = versionOf(text);
    expect(version).toBe(await versionOfFile(join(work, NAME)));
    const uris = playlistUris(text);
    expect(uris).toEqual([`${version}/t1/index.m3u8`, `${version}/t0/index.m3u8`, `${version}/t0/iframes.m3u8`]);
    const playlists = await originRequests([...uris.map((u) => `hls/${u}`), 'dash/manifest.mpd']);
    expect(playlists.ranges).toEqual([]);
    for (const a of playlists.answers) expect(a.status).toBe(200);
    // Each playlist lists the whole 2 hours: 3,600 two-second segments.
    for (const a of playlists.answers.slice(0, 3)) {
      const text = a.body.toString('utf8');
      expect(text.match(/^#EXTINF:/gm)).toHaveLength(segments);
      expect(text).toContain(`\n${segments - 1}.${text.includes('I-FRAMES-ONLY') ? 'key.' : ''}m4s\n#EXT-X-ENDLIST\n`);
    }
    expect(playlists.answers[3]?.body.toString('utf8')).toContain(`r="${segments - 1}"`);
    expect(playlists.answers[3]?.body.toString('utf8')).toContain(`<BaseURL>../hls/${version}/</BaseURL>`);
    // The entry points again (a player reloading, a cache revalidating): nothing from the origin.
    const again = await originRequests(['hls/master.m3u8', 'dash/manifest.mpd']);
    expect(again.ranges).toEqual([]);
    expect(again.answers.map((a) => a.status)).toEqual([200, 200]);
  });

  it('each media segment costs exactly one origin range request; the init segments at most two', async () => {
    const version = versionOf((await originRequests(['hls/master.m3u8'])).answers[0]?.body.toString('utf8') ?? '');
    const track = (p: string) => `hls/${version}/${p}`;
    // Init: the first keyframe's block (its segment's table, then the block; the second track's table is cached by then).
    for (const dir of ['t0', 't1']) {
      const init = await originRequests([track(`${dir}/init.mp4`)]);
      expect(init.answers[0]?.status).toBe(200);
      expect(init.answers[0]?.body.subarray(4, 8).toString('latin1')).toBe('ftyp');
      expect(init.ranges.length, dir).toBeLessThanOrEqual(2);
    }

    // Segments far apart (no byte of one is in another's request, none in the open's tail read): one request each.
    const picks: [string, number][] = [
      ['t0', 1],
      ['t0', 250],
      ['t0', 1200],
      ['t0', 2400],
      ['t1', 100],
      ['t1', 1800],
      ['t1', 3000],
    ];
    const perSegment: Record<string, string[]> = {};
    for (const [dir, k] of picks) {
      const r = await originRequests([track(`${dir}/${k}.m4s`)]);
      expect(r.answers[0]?.status, `${dir}/${k}.m4s`).toBe(200);
      expect(r.answers[0]?.body.subarray(4, 8).toString('latin1')).toBe('styp');
      perSegment[`${dir}/${k}.m4s`] = r.ranges;
    }
    for (const [name, ranges] of Object.entries(perSegment)) expect(ranges, name).toHaveLength(1);
    // Asking again (another viewer, no cache in front): the server keeps built segments (a 64 MiB LRU),
    // so no request at all, and the same bytes.
    for (const [dir, k] of picks.slice(0, 3)) {
      const r = await originRequests([track(`${dir}/${k}.m4s`)]);
      expect(r.answers[0]?.status).toBe(200);
      expect(r.ranges, `${dir}/${k}.m4s again`).toEqual([]);
    }
    // An I-frame segment: one request.
    expect((await originRequests([track('t0/600.key.m4s')])).ranges).toHaveLength(1);
    // Out of range, another version, no version directory: 404 without touching the origin.
    for (const p of [track(`t0/${segments}.m4s`), 'hls/v-0123456789abcdef/t0/1.m4s', 'hls/t0/1.m4s']) {
      const missing = await originRequests([p]);
      expect(missing.answers[0]?.status, p).toBe(404);
      expect(missing.ranges, p).toEqual([]);
    }
  });
});

/* ------------------------------------------------------ c. hostile requests */

/** The one error shape, the status its code documents, nothing internal, never cached. */
function expectError(r: Got, status: number, code: string, label: string): { code: string; message: string; request_id: string } {
  const text = r.body.toString('utf8');
  expect(r.status, `${label}: ${text}`).toBe(status);
  expect(r.headers['content-type'], label).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string; request_id: string } };
  expect(Object.keys(body), label).toEqual(['error']);
  expect(Object.keys(body.error).sort(), label).toEqual(['code', 'message', 'request_id']);
  expect(body.error.code, `${label}: ${text}`).toBe(code);
  expect(typeof body.error.message, label).toBe('string');
  expect(body.error.request_id, label).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
  // Echoed in X-Request-Id, except by the router's own refusals (bad escapes, over-long parameters),
  // which are answered before the server's onRequest hook runs.
  if (r.headers['x-request-id'] !== undefined) expect(body.error.request_id, label).toBe(r.headers['x-request-id']);
  // No stack trace, no source path, no server path.
  expect(text, label).not.toMatch(/\n\s+at |\.ts:\d|\.js:\d|node_modules|\/work\/|\/tmp\//);
  expect(text, label).not.toContain('root:x:0:0');
  // An error must not be kept by a cache as if it were the immutable segment.
  expect(r.headers['cache-control'], label).toBe('no-store');
  expect(r.headers.etag, label).toBeUndefined();
  return body.error;
}

describe.skipIf(SKIP_FFMPEG)('c. hostile requests on the stream routes', () => {
  let server: Awaited<ReturnType<typeof localServer>>;
  let port: number;
  /** The versioned directories (`v-…`) of clip.h4mk, secret.h4mk and data.h4mk, as the library computes them. */
  let version: string;
  let secretVersion: string;
  let dataVersion: string;
  const clip = (p: string) => `/v1/containers/${CLIP}/${p}`;
  /** A file of the clip under its versioned directory. */
  const file = (p: string) => clip(`hls/${version}/${p}`);
  const ANOTHER_VERSION = /another version of the container/;

  beforeAll(async () => {
    // Revalidated on every request: a container replaced under its name is seen at once (no waiting).
    server = await localServer(served, { revalidateMs: 0 });
    port = portOf(server.base);
    version = await versionOfFile(join(served, CLIP));
    secretVersion = await versionOfFile(join(served, 'secret.h4mk'));
    dataVersion = await versionOfFile(join(served, 'data.h4mk'));
  });

  afterAll(async () => {
    await server?.app.close();
  });

  it('unknown containers, track directories and segment names: 404 E_NOT_FOUND', async () => {
    // The master points into the library's versioned directory.
    const master = await get(port, clip('hls/master.m3u8'));
    expect(master.status).toBe(200);
    expect(versionOf(master.body.toString('utf8'))).toBe(version);
    expect(version).toMatch(/^v-[0-9a-f]{16}$/);
    // Under the right version: the track and segment checks refuse them (not the version check).
    const versioned = [
      '/v1/containers/nope.h4mk/hls/master.m3u8',
      `/v1/containers/nope.h4mk/hls/${version}/t0/index.m3u8`,
      `/v1/containers/nope.h4mk/hls/${version}/t0/0.m4s`,
      '/v1/containers/nope.h4mk/dash/manifest.mpd',
      file('t99/index.m3u8'),
      file('t99/init.mp4'),
      file('t99/0.m4s'),
      file('t99/iframes.m3u8'),
      file('t100000/0.m4s'),
      file('x1/index.m3u8'),
      file('x1/0.m4s'),
      file('t01/0.m4s'),
      file('T0/0.m4s'),
      file('t-1/0.m4s'),
      file('t1e3/0.m4s'),
      file('t0x1/0.m4s'),
      file('t0/5.m4s'),
      file('t1/5.m4s'),
      file('t0/5.key.m4s'),
      file('t0/-1.m4s'),
      file('t0/1e3.m4s'),
      file('t0/0x10.m4s'),
      file('t0/00.m4s'),
      file('t0/+1.m4s'),
      file('t0/1.5.m4s'),
      file('t0/%201.m4s'),
      file('t0/1.m4s%00'),
      file('t0/0.mp4'),
      file('t0/0.key.vtt'),
      file('t0/0.vtt'),
      file('t0/all.vtt'),
      file('t1/0.key.m4s'),
      file('t1/iframes.m3u8'),
      file('t0/999999999.m4s'),
      file('t0/9999999999.m4s'),
      file('t0/9007199254740993.m4s'),
      file(`t0/${'9'.repeat(250)}.m4s`),
      file('t0/'),
      file('t0'),
      clip(`hls/${version}/`),
      clip(`hls/${version}`),
      clip('hls/'),
      file('t0/0.m4s/extra'),
      clip('dash/t0/0.m4s'),
      clip(`dash/${version}/t0/0.m4s`),
    ];
    for (const path of versioned) {
      const label = `GET ${path.slice(0, 100)}`;
      // A malformed percent-escape (the %00 case stays well-formed) would be 400; all of these are 404.
      const e = expectError(await get(port, path), 404, 'E_NOT_FOUND', label);
      expect(e.message, label).not.toMatch(ANOTHER_VERSION);
    }
    // The same paths without a version directory (the layout before versions): no route, or (three
    // levels under hls/) a first level that is not this version. Never a file.
    const unversioned = [
      clip('hls/t0/index.m3u8'),
      clip('hls/t0/iframes.m3u8'),
      clip('hls/t0/init.mp4'),
      clip('hls/t0/0.m4s'),
      clip('hls/t0/0.key.m4s'),
      clip('hls/t1/0.m4s'),
      clip('hls/t99/index.m3u8'),
      clip('hls/t99/0.m4s'),
      clip('hls/x1/0.m4s'),
      clip('hls/t0/5.m4s'),
      clip('hls/t0/-1.m4s'),
      clip('hls/t0/%201.m4s'),
      clip('hls/t0/1.m4s%00'),
      clip('hls/t0/all.vtt'),
      clip(`hls/t0/${'9'.repeat(250)}.m4s`),
      clip('hls/t0/'),
      clip('hls/t0'),
      clip('hls/t0/0.m4s/extra'),
    ];
    for (const path of unversioned) {
      const label = `GET ${path.slice(0, 100)}`;
      const e = expectError(await get(port, path), 404, 'E_NOT_FOUND', label);
      expect(e.message, label).toMatch(/^no route GET |another version of the container/);
    }
    expect(expectError(await get(port, clip('hls/t0/0.m4s')), 404, 'E_NOT_FOUND', 'unversioned segment').message).toBe(`no route GET ${clip('hls/t0/0.m4s')}`);
    // A path parameter over the router's limit (300 characters) is refused by the router itself
    // (Fastify's FST_ERR_MAX_PARAM_LENGTH, a 414, which the error table maps to 400 E_BAD_REQUEST).
    for (const path of [
      file(`t0/${'9'.repeat(5000)}.m4s`),
      file(`t${'1'.repeat(5000)}/0.m4s`),
      clip(`hls/v-${'0'.repeat(5000)}/t0/0.m4s`),
      clip(`hls/t0/${'9'.repeat(5000)}.m4s`),
      clip(`hls/t${'1'.repeat(5000)}/0.m4s`),
      `/v1/containers/${'a'.repeat(400)}/hls/master.m3u8`,
    ]) {
      expectError(await get(port, path), 400, 'E_BAD_REQUEST', `GET ${path.slice(0, 100)}…`);
    }
  });

  it('a URL of another version: 404 E_NOT_FOUND saying so, never the bytes of this version', async () => {
    const flip = (v: string) => `${v.slice(0, -1)}${v.endsWith('0') ? '1' : '0'}`;
    const others = [
      'v-0123456789abcdef',
      flip(version),
      version.toUpperCase(),
      `V-${version.slice(2)}`,
      version.slice(0, -1),
      `${version}0`,
      version.slice(2),
      'v-',
      'latest',
      'current',
      '%2e%2e',
      `..%2f${version}`,
      `${version}%2f..%2f${version}`,
      secretVersion,
      dataVersion,
    ];
    expect(others.filter((v) => v === version)).toEqual([]);
    const files = [
      't0/index.m3u8',
      't0/iframes.m3u8',
      't1/index.m3u8',
      't0/init.mp4',
      't1/init.mp4',
      't0/0.m4s',
      't1/0.m4s',
      't0/0.key.m4s',
      't0/4.m4s',
      't0/99.m4s',
      't9/0.m4s',
    ];
    for (const v of others) {
      for (const f of files) {
        const label = `GET hls/${v.slice(0, 40)}/${f}`;
        const e = expectError(await get(port, clip(`hls/${v}/${f}`)), 404, 'E_NOT_FOUND', label);
        expect(e.message, label).toMatch(ANOTHER_VERSION);
      }
    }
    // Revalidating another version's URL with a validator of this version's file: still a 404, not a 304.
    const current = await get(port, file('t0/0.m4s'));
    expect(current.status).toBe(200);
    const stale = await get(port, clip('hls/v-0123456789abcdef/t0/0.m4s'), { 'if-none-match': current.headers.etag as string });
    expect(expectError(stale, 404, 'E_NOT_FOUND', 'conditional request on another version').message).toMatch(ANOTHER_VERSION);
  });

  it('a container replaced under its name (another recording): the old version is 404, the new master points to a new version', async () => {
    const name = 'swap.h4mk';
    const at = (p: string) => `/v1/containers/${name}/${p}`;
    const files = ['t0/index.m3u8', 't0/iframes.m3u8', 't1/index.m3u8', 't0/init.mp4', 't1/init.mp4', 't0/0.m4s', 't0/1.m4s', 't1/0.m4s', 't0/0.key.m4s'];
    await copyFile(join(served, CLIP), join(served, name));
    const firstMaster = await get(port, at('hls/master.m3u8'));
    expect(firstMaster.status).toBe(200);
    const old = versionOf(firstMaster.body.toString('utf8'));
    expect(old).toBe(await versionOfFile(join(served, name)));
    const before = new Map<string, Got>();
    for (const f of files) {
      const r = await get(port, at(`hls/${old}/${f}`));
      expect(r.status, f).toBe(200);
      before.set(f, r);
    }

    // Another recording published under the same name (a rename, as an upload publishes).
    const temporary = join(work, 'swap.tmp');
    await copyFile(other, temporary);
    await rename(temporary, join(served, name));

    const master = await get(port, at('hls/master.m3u8'));
    expect(master.status).toBe(200);
    expect(master.headers.etag).not.toBe(firstMaster.headers.etag);
    const fresh = versionOf(master.body.toString('utf8'));
    expect(fresh).not.toBe(old);
    expect(fresh).toBe(await versionOfFile(other));
    const mpd = await get(port, at('dash/manifest.mpd'));
    expect(mpd.status).toBe(200);
    expect(mpd.body.toString('utf8')).toContain(`<BaseURL>../hls/${fresh}/</BaseURL>`);

    // Every URL of the old version: a 404 that says why (no cache can mix the two recordings) …
    for (const f of files) {
      const label = `old ${old}/${f}`;
      expect(expectError(await get(port, at(`hls/${old}/${f}`)), 404, 'E_NOT_FOUND', label).message, label).toMatch(ANOTHER_VERSION);
      // … also to a cache revalidating what it holds.
      const revalidation = await get(port, at(`hls/${old}/${f}`), { 'if-none-match': before.get(f)?.headers.etag as string });
      expect(expectError(revalidation, 404, 'E_NOT_FOUND', `${label} (If-None-Match)`).message, label).toMatch(ANOTHER_VERSION);
    }
    // The new version's files: the other recording (6 s: three segments, other pictures), with new validators.
    for (const f of files) {
      const r = await get(port, at(`hls/${fresh}/${f}`));
      expect(r.status, f).toBe(200);
      expect(r.headers['cache-control'], f).toMatch(/^public, max-age=\d+, immutable$/);
      expect(r.headers.etag, f).not.toBe(before.get(f)?.headers.etag);
      if (!f.endsWith('init.mp4')) expect(r.body.equals(before.get(f)?.body as Buffer), f).toBe(false);
    }
    expect((await get(port, at(`hls/${fresh}/t0/index.m3u8`))).body.toString('utf8').match(/^#EXTINF:/gm)).toHaveLength(3);
    expect(expectError(await get(port, at(`hls/${fresh}/t0/3.m4s`)), 404, 'E_NOT_FOUND', 'new t0/3.m4s').message).not.toMatch(ANOTHER_VERSION);
    // clip.h4mk, next to it, is untouched.
    expect((await get(port, file('t0/0.m4s'))).status).toBe(200);
  });

  it('traversal attempts never leave the directory: 400 E_BAD_NAME or 404', async () => {
    const cases: [string, number, string][] = [
      ['/v1/containers/..%2f..%2f..%2fetc%2fpasswd/hls/master.m3u8', 400, 'E_BAD_NAME'],
      [`/v1/containers/..%2F..%2Fetc%2Fpasswd/hls/${version}/t0/0.m4s`, 400, 'E_BAD_NAME'],
      [`/v1/containers/..%2F..%2Fetc%2Fpasswd/hls/${version}/t0/index.m3u8`, 400, 'E_BAD_NAME'],
      // Without a version directory no route matches: 404 before any name is looked at.
      ['/v1/containers/..%2F..%2Fetc%2Fpasswd/hls/t0/0.m4s', 404, 'E_NOT_FOUND'],
      ['/v1/containers/%2e%2e/hls/master.m3u8', 400, 'E_BAD_NAME'],
      [`/v1/containers/%2e%2e/hls/${version}/t0/0.m4s`, 400, 'E_BAD_NAME'],
      ['/v1/containers/.h4mk/hls/master.m3u8', 400, 'E_BAD_NAME'],
      ['/v1/containers/clip.h4mk%00.txt/hls/master.m3u8', 400, 'E_BAD_NAME'],
      [`/v1/containers/clip.h4mk%00.txt/hls/${version}/t0/0.m4s`, 400, 'E_BAD_NAME'],
      ['/v1/containers/..%5c..%5cetc%5cpasswd/dash/manifest.mpd', 400, 'E_BAD_NAME'],
      [file('..%2f..%2f..%2f..%2fetc%2fpasswd'), 404, 'E_NOT_FOUND'],
      [file('t0/..%2f..%2f..%2f..%2fetc%2fpasswd'), 404, 'E_NOT_FOUND'],
      [file('t0/..%2f0.m4s'), 404, 'E_NOT_FOUND'],
      [file('..%2ft0/0.m4s'), 404, 'E_NOT_FOUND'],
      [file('t0/%2e%2e%2f%2e%2e%2fclip.h4mk'), 404, 'E_NOT_FOUND'],
      [file('t0/../../../../../../etc/passwd'), 404, 'E_NOT_FOUND'],
      [file('t0/..\\..\\..\\etc\\passwd'), 404, 'E_NOT_FOUND'],
      [file('%2e%2e/%2e%2e/master.m3u8'), 404, 'E_NOT_FOUND'],
      [clip(`hls/%2e%2e/t0/0.m4s`), 404, 'E_NOT_FOUND'],
      [clip(`hls/..%2f..%2f${version}/t0/0.m4s`), 404, 'E_NOT_FOUND'],
      [clip('hls/..%2f..%2f..%2f..%2fetc%2fpasswd'), 404, 'E_NOT_FOUND'],
      [clip('hls/t0/..%2f..%2f..%2f..%2fetc%2fpasswd'), 404, 'E_NOT_FOUND'],
      [clip('hls/t0/..%2f0.m4s'), 404, 'E_NOT_FOUND'],
      [clip('hls/..%2ft0/0.m4s'), 404, 'E_NOT_FOUND'],
      [clip('hls/t0/%2e%2e%2f%2e%2e%2fclip.h4mk'), 404, 'E_NOT_FOUND'],
      [clip('hls/t0/../../../../../../etc/passwd'), 404, 'E_NOT_FOUND'],
      [clip('hls/t0/..\\..\\..\\etc\\passwd'), 404, 'E_NOT_FOUND'],
      [clip('hls/%2e%2e/%2e%2e/master.m3u8'), 404, 'E_NOT_FOUND'],
    ];
    for (const [path, status, code] of cases) expectError(await get(port, path), status, code, `GET ${path}`);
    // A malformed escape is a bad request, in the same format.
    expectError(await get(port, file('t0/%ZZ.m4s')), 400, 'E_BAD_REQUEST', 'bad escape in the segment');
    expectError(await get(port, clip('hls/%ZZ/t0/0.m4s')), 400, 'E_BAD_REQUEST', 'bad escape in the version');
    expectError(await get(port, clip('hls/t0/%ZZ.m4s')), 400, 'E_BAD_REQUEST', 'bad escape in an unversioned path');
    expectError(await get(port, '/v1/containers/%E0%A4%A/hls/master.m3u8'), 400, 'E_BAD_REQUEST', 'bad escape in the name');
  });

  it('hostile query strings: ignored or carried encoded, never injected into a playlist', async () => {
    const plain = await get(port, clip('hls/master.m3u8'));
    expect(plain.status).toBe(200);
    const plainLines = plain.body.toString('utf8').split('\n');
    const uriPattern = new RegExp(`^${version}/t\\d+/(index|iframes)\\.m3u8(\\?expires=[^&\\s"#]*&sig=[^&\\s"#]*)?$`);
    const queries = [
      '?expires=1&sig=%0A%23EXT-X-ENDLIST%0Ahttp%3A%2F%2Fevil.example%2Fx.m3u8',
      '?expires=%22%0D%0A%23EXT-X-KEY%3AMETHOD%3DAES-128%2CURI%3D%22http%3A%2F%2Fevil%22&sig=%22',
      '?sig=%3Cscript%3Ealert(1)%3C%2Fscript%3E&expires=9999999999',
      '?sig=a&sig=b&expires=1&expires=2',
      '?__proto__%5Bpolluted%5D=1&constructor%5Bprototype%5D%5Bx%5D=1',
      '?a=%ZZ&b=%',
      `?sig=${'x'.repeat(6000)}&expires=1`,
      '?;;;&&&===',
      '?version=v-0123456789abcdef&v=0',
    ];
    for (const q of queries) {
      for (const p of [clip('hls/master.m3u8'), file('t0/index.m3u8'), file('t0/iframes.m3u8'), clip('dash/manifest.mpd')]) {
        const r = await get(port, p + q);
        const label = `${p.slice(`/v1/containers/${CLIP}/`.length)}${q.slice(0, 60)}`;
        // A malformed signed-URL field is refused like on every other route (the schema's pattern); else 200.
        expect([200, 400], label).toContain(r.status);
        const text = r.body.toString('utf8');
        if (r.status === 400) {
          expect(JSON.parse(text), label).toMatchObject({ error: { code: 'E_BAD_REQUEST' } });
          continue;
        }
        expect(text, label).not.toMatch(/[<>"]script|evil\.example\/x\.m3u8\n|\r/);
        if (p.endsWith('/hls/master.m3u8')) {
          const lines = text.split('\n');
          // The same lines as without a query, a carried signature appended to URIs only (percent-encoded);
          // the versioned directory is the container's, whatever the query says.
          expect(lines.length, label).toBe(plainLines.length);
          lines.forEach((line, i) => {
            expect(line.startsWith((plainLines[i] as string).split('.m3u8')[0] as string), label).toBe(true);
          });
          for (const uri of playlistUris(text)) expect(uri, label).toMatch(uriPattern);
        }
        if (p.endsWith('/dash/manifest.mpd')) {
          expect(text, label).not.toContain('<script');
          expect(text, label).toContain(`<BaseURL>../hls/${version}/</BaseURL>`);
        }
      }
      // Segments ignore the query.
      const seg = await get(port, file('t0/0.m4s') + q);
      expect([200, 400], q.slice(0, 60)).toContain(seg.status);
    }
    expect({}).not.toHaveProperty('polluted');
    // A request line larger than Node accepts is refused before any route runs (431), without a stack trace.
    const huge = await get(port, `${clip('hls/master.m3u8')}?sig=${'x'.repeat(20_000)}`);
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
    expect(huge.body.toString('utf8')).not.toMatch(/\n\s+at |node_modules|\/work\//);
  });

  it('an encrypted container: 403 E_KEY on every stream route', async () => {
    for (const p of [
      'hls/master.m3u8',
      't0/index.m3u8',
      't1/index.m3u8',
      't0/iframes.m3u8',
      't0/init.mp4',
      't1/init.mp4',
      't0/0.m4s',
      't1/0.m4s',
      't0/0.key.m4s',
      't0/99.m4s',
      'dash/manifest.mpd',
    ]) {
      const path = p.startsWith('t') ? `hls/${secretVersion}/${p}` : p;
      const e = expectError(await get(port, `/v1/containers/secret.h4mk/${path}`), 403, 'E_KEY', `secret ${path}`);
      expect(e.message, p).toMatch(/encrypted/);
    }
  });

  it('a container with only a data track: 422 E_UNSUPPORTED saying nothing can be delivered', async () => {
    for (const p of ['hls/master.m3u8', 't0/index.m3u8', 't0/init.mp4', 't0/0.m4s', 't0/iframes.m3u8', 'dash/manifest.mpd']) {
      const path = p.startsWith('t') ? `hls/${dataVersion}/${p}` : p;
      const e = expectError(await get(port, `/v1/containers/data.h4mk/${path}`), 422, 'E_UNSUPPORTED', `data ${path}`);
      expect(e.message, p).toMatch(/no track .*can be delivered.*video or audio/);
    }
  });

  it('the server logged no 5xx and stayed up', async () => {
    const log = requestLog(server.log);
    expect(log.length).toBeGreaterThan(100);
    expect(log.filter((e) => e.status >= 500)).toEqual([]);
    expect((await get(port, file('t0/1.m4s'))).status).toBe(200);
  });
});
