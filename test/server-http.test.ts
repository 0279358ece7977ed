/**
 * The service over real sockets:
 * - ranges checked with curl against our server and against a real nginx
 *   serving the same file: same status, same Content-Range, Content-Length
 *   and Accept-Ranges, same bytes (multipart parts compared part by part);
 * - clients that disconnect mid-body (downloads and uploads) leak no file
 *   handle (/proc/self/fd) and leave nothing on disk;
 * - `h4mk serve` as a process: SIGTERM drains in-flight requests, then exit 0;
 *   `h4mk share` URLs open exactly one container until they expire.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../src/server/app.js';
import { NGINX_SKIPPED, type Nginx, startNginx } from './support/nginx.js';
import { makeServerFixture, parseMultipart, type ServerFixture, SHARE_SECRET, snapshot, WRITE_TOKEN } from './support/server-fixtures.js';

const execFileAsync = promisify(execFile);
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fx: ServerFixture;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  fx = await makeServerFixture();
  app = await build({ dir: fx.dir, writeToken: WRITE_TOKEN, maxUploadBytes: 1024 * 1024, revalidateMs: 0 });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await fx?.cleanup();
});

type CurlResult = { status: number; headers: Record<string, string>; body: Buffer };

/**
 * One request with Debian's curl; `--path-as-is` so dot segments reach the
 * server verbatim. Asynchronous: the server under test runs in this process.
 */
async function curl(url: string, args: string[] = []): Promise<CurlResult> {
  const dir = mkdtempSync(join(tmpdir(), 'h4mk-curl-'));
  try {
    await execFileAsync('curl', ['-s', '-S', '--path-as-is', '-D', join(dir, 'h'), '-o', join(dir, 'b'), ...args, url]);
    const blocks = readFileSync(join(dir, 'h'), 'latin1')
      .trim()
      .split(/\r\n\r\n/);
    const lines = (blocks[blocks.length - 1] ?? '').split('\r\n');
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? '')?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let body = Buffer.alloc(0);
    try {
      body = readFileSync(join(dir, 'b'));
    } catch {
      // HEAD or an empty body: curl wrote no file.
    }
    return { status, headers, body };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(NGINX_SKIPPED)('ranges: curl against our server and against nginx, same file', () => {
  let nginx: Nginx;
  let size = 0;
  const ours = () => `${base}/v1/containers/movie.h4mk`;
  const theirs = () => nginx.url('movie.h4mk');

  beforeAll(async () => {
    nginx = await startNginx();
    await copyFile(join(fx.dir, 'movie.h4mk'), join(nginx.root, 'movie.h4mk'));
    size = fx.files.get('movie.h4mk')?.length ?? 0;
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  function compare(a: CurlResult, b: CurlResult, label: string, head = false): void {
    expect(a.status, `${label}: status`).toBe(b.status);
    expect(a.headers['content-range'], `${label}: Content-Range`).toBe(b.headers['content-range']);
    expect(a.headers['accept-ranges'], `${label}: Accept-Ranges`).toBe(b.headers['accept-ranges']);
    // Error bodies are each server's own document; everything else has the same length.
    if (a.status < 400) expect(a.headers['content-length'], `${label}: Content-Length`).toBe(b.headers['content-length']);
    const multipart = (a.headers['content-type'] ?? '').startsWith('multipart/byteranges');
    if (multipart) {
      expect(b.headers['content-type'], label).toMatch(/^multipart\/byteranges; boundary=/);
      const pa = parseMultipart(a.body, a.headers['content-type'] ?? '');
      const pb = parseMultipart(b.body, b.headers['content-type'] ?? '');
      expect(
        pa.map((p) => p.contentRange),
        label,
      ).toEqual(pb.map((p) => p.contentRange));
      for (let i = 0; i < pa.length; i++) expect(pa[i]?.bytes.equals(pb[i]?.bytes ?? Buffer.alloc(0)), `${label}: part ${i}`).toBe(true);
    } else if (a.status < 400 && !head) {
      expect(a.body.equals(b.body), `${label}: body bytes`).toBe(true);
    }
  }

  const RANGES = [
    null,
    'bytes=0-0',
    'bytes=0-99',
    'bytes=1000-1999',
    'bytes=100-',
    'bytes=-500',
    'bytes=-1',
    'LAST',
    'bytes=0-99999999999',
    'bytes=-99999999',
    'bytes=0-9,20-29',
    'bytes=0-0,-1',
    'bytes=500-599, 100-199',
    'bytes=0-9,99999999-',
    'bytes= 10-19',
    'PAST',
    'bytes=99999999-99999999',
    'bytes=-0',
    'bytes=0-0,-0',
    'bytes=5-2',
    'bytes=abc',
    'items=0-5',
  ];

  it.each(RANGES.map((r) => [r ?? '(none)', r] as const))('GET with Range %s', async (_label, range) => {
    const value = range === 'LAST' ? `bytes=${size - 1}-` : range === 'PAST' ? `bytes=${size}-` : range;
    const args = value === null ? [] : ['-H', `Range: ${value}`];
    compare(await curl(ours(), args), await curl(theirs(), args), `Range ${value}`);
  });

  it.each([null, 'bytes=0-9', 'bytes=-10'])('HEAD with Range %s', async (range) => {
    const args = ['--head', ...(range === null ? [] : ['-H', `Range: ${range}`])];
    // curl --head writes the header block where the body would go: bodies are not compared.
    compare(await curl(ours(), args), await curl(theirs(), args), `HEAD ${range}`, true);
  });

  it("If-None-Match with each server's own ETag: 304 from both", async () => {
    const a = await curl(ours(), ['--head']);
    const b = await curl(theirs(), ['--head']);
    const a304 = await curl(ours(), ['-H', `If-None-Match: ${a.headers.etag}`]);
    const b304 = await curl(theirs(), ['-H', `If-None-Match: ${b.headers.etag}`]);
    expect(a304.status).toBe(304);
    compare(a304, b304, 'If-None-Match');
    expect(a304.body.length).toBe(0);
  });

  it('If-Range: a stale validator gives the whole file, the current one the range, on both', async () => {
    const stale = ['-H', 'Range: bytes=0-99', '-H', 'If-Range: "stale-etag"'];
    const ourStale = await curl(ours(), stale);
    compare(ourStale, await curl(theirs(), stale), 'If-Range stale');
    expect(ourStale.status).toBe(200);
    const a = (await curl(ours(), ['--head'])).headers.etag ?? '';
    const b = (await curl(theirs(), ['--head'])).headers.etag ?? '';
    compare(
      await curl(ours(), ['-H', 'Range: bytes=0-99', '-H', `If-Range: ${a}`]),
      await curl(theirs(), ['-H', 'Range: bytes=0-99', '-H', `If-Range: ${b}`]),
      'If-Range current',
    );
  });

  it('our extras over curl: strong ETag from the chain head, immutable caching, dot segments refused', async () => {
    const a = await curl(ours(), ['--head']);
    expect(a.headers.etag).toMatch(/^"[0-9a-f]{16}-[0-9a-f]{24}"$/);
    expect(a.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await curl(`${base}/v1/containers/%2E%2E/manifest`)).status).toBe(400);
    expect((await curl(`${base}/v1/containers/%2e%2e%2f%2e%2e%2fetc%2fpasswd`)).status).toBe(400);
    // Unencoded dot segments (sent as-is) never match a route with a name in it.
    expect([400, 404]).toContain((await curl(`${base}/v1/containers/../../etc/passwd`)).status);
  });
});

/** Open file descriptors of this process (the server runs in it). */
function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Waits until `fdCount()` is at most `target` (the server closes sockets asynchronously). */
async function settleFds(target: number): Promise<number> {
  for (let i = 0; i < 100 && fdCount() > target; i++) await sleep(20);
  return fdCount();
}

/** Sends `head` (+ `body`) on a raw socket, reads until `readAtLeast` response bytes, then destroys the socket. */
function abortAfter(head: string, readAtLeast: number, body?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const socket = connect(Number(url.port), url.hostname);
    let received = 0;
    socket.on('connect', () => {
      socket.write(head);
      if (body !== undefined) socket.write(body);
      if (readAtLeast === 0) setTimeout(() => socket.destroy(), 30);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= readAtLeast) socket.destroy();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('clients that go away mid-body', () => {
  it('downloads cut off mid-body leak no file handle and no lease', async () => {
    // Warm: the entry (one open file) is cached before counting.
    for (const name of ['big.h4mk', 'movie.h4mk']) await fetch(`${base}/v1/containers/${name}`).then((r) => r.arrayBuffer());
    const before = await settleFds(fdCount());
    const heads = [
      'GET /v1/containers/big.h4mk HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /v1/containers/big.h4mk HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-9000000\r\n\r\n',
      'GET /v1/containers/big.h4mk HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3000000,5000000-9000000\r\n\r\n',
      'GET /v1/containers/big.h4mk/verify HTTP/1.1\r\nHost: x\r\n\r\n',
    ];
    const runs: Promise<number>[] = [];
    for (let i = 0; i < 40; i++) runs.push(abortAfter(heads[i % heads.length] as string, i % 4 === 3 ? 0 : 64 * 1024 * (1 + (i % 3))));
    await Promise.all(runs);
    // The verify the aborted /verify requests asked for runs once, for whoever asks next too, and
    // each of those requests holds the entry until it ends (on a busy machine, after the clients left).
    const lease = await app.store.acquire('big.h4mk');
    try {
      await lease.entry.verify?.catch(() => undefined);
      // No request still holds the entry once that work is over: a new lease is the only one.
      const deadline = Date.now() + 10_000;
      while (lease.entry.refs > 1 && Date.now() < deadline) await sleep(20);
      expect(lease.entry.refs).toBe(1);
    } finally {
      lease.release();
    }
    expect(await settleFds(before)).toBe(before);
    // And the server still answers in full.
    const full = Buffer.from(await (await fetch(`${base}/v1/containers/big.h4mk`)).arrayBuffer());
    expect(full.equals(Buffer.from(fx.files.get('big.h4mk') as Uint8Array))).toBe(true);
  });

  it('uploads cut off mid-body leave nothing on disk and no file handle', async () => {
    const movie = Buffer.from(fx.files.get('movie.h4mk') as Uint8Array);
    const before = await snapshot(fx.dir);
    const fds = await settleFds(fdCount());
    const runs: Promise<number>[] = [];
    for (let i = 0; i < 12; i++) {
      const cut = movie.subarray(0, 1000 + i * 20_000);
      const head = `PUT /v1/containers/cut-${i}.h4mk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WRITE_TOKEN}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${movie.length}\r\n\r\n`;
      runs.push(abortAfter(head, 0, cut));
    }
    await Promise.all(runs);
    await sleep(200);
    expect(await settleFds(fds)).toBe(fds);
    expect(await snapshot(fx.dir)).toBe(before);
  });

  it('uploads beyond the concurrency limit get 503 E_BUSY; a stalled one holds its slot until it goes away', async () => {
    const busy = await build({ dir: fx.dir, writeToken: WRITE_TOKEN, maxConcurrentUploads: 1 });
    const busyBase = await busy.listen({ host: '127.0.0.1', port: 0 });
    try {
      const before = await snapshot(fx.dir);
      const url = new URL(busyBase);
      const stalled = connect(Number(url.port), url.hostname);
      await new Promise<void>((resolve) => stalled.on('connect', () => resolve()));
      stalled.write(`PUT /v1/containers/stalled.h4mk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${WRITE_TOKEN}\r\nContent-Length: 100000\r\n\r\n`);
      stalled.write(Buffer.alloc(1000));
      await sleep(100);
      const second = await fetch(`${busyBase}/v1/containers/second.h4mk`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${WRITE_TOKEN}` },
        body: Buffer.from(fx.files.get('movie.h4mk') as Uint8Array),
      });
      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('1');
      expect((await second.json()).error.code).toBe('E_BUSY');
      stalled.destroy();
      await sleep(100);
      const third = await fetch(`${busyBase}/v1/containers/third.h4mk`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${WRITE_TOKEN}` },
        body: Buffer.from(fx.files.get('movie.h4mk') as Uint8Array),
      });
      expect(third.status).toBe(201);
      rmSync(join(fx.dir, 'third.h4mk'));
      expect(await snapshot(fx.dir)).toBe(before);
    } finally {
      await busy.close();
    }
  });

  it('a chunked upload (no Content-Length) over the limit is cut at the limit: 413, nothing on disk', async () => {
    const before = await snapshot(fx.dir);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(64 * 1024));
        controller.close();
      },
    });
    const r = await fetch(`${base}/v1/containers/chunked.h4mk`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${WRITE_TOKEN}`, 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit).catch((error: unknown) => error);
    // The server answers 413 and closes; depending on timing the client sees the answer or a reset.
    if (r instanceof Response) {
      expect(r.status).toBe(413);
      expect((await r.json()).error.code).toBe('E_TOO_LARGE');
    }
    await sleep(100);
    expect(await snapshot(fx.dir)).toBe(before);
  });
});

/** Starts `h4mk serve` and resolves with its base URL once it listens. */
function startServe(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; url: string; stdout: () => string; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m !== null) resolve({ child, url: m[1] as string, stdout: () => stdout, exited });
    });
    void exited.then((code) => reject(new Error(`h4mk serve exited ${code}: ${stderr}`)));
  });
}

describe('h4mk serve and h4mk share (the CLI)', () => {
  it('serves, takes an upload with the token from the environment, and drains on SIGTERM', async () => {
    const { child, url, stdout, exited } = await startServe([fx.dir, '--port', '0', '--log-level', 'info'], { H4MK_WRITE_TOKEN: WRITE_TOKEN });
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const put = await fetch(`${url}/v1/containers/cli-upload.h4mk`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${WRITE_TOKEN}` },
        body: Buffer.from(fx.files.get('movie.h4mk') as Uint8Array),
      });
      expect(put.status).toBe(201);
      // A slow download in flight when SIGTERM arrives: it must complete.
      const big = fx.files.get('big.h4mk') as Uint8Array;
      const download = new Promise<Buffer>((resolve, reject) => {
        httpGet(`${url}/v1/containers/big.h4mk`, (res) => {
          const chunks: Buffer[] = [];
          res.pause();
          let first = true;
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            if (first) {
              first = false;
              child.kill('SIGTERM');
              // Read slowly for a while after the signal.
              res.pause();
              setTimeout(() => res.resume(), 300);
            }
          });
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
          res.resume();
        }).on('error', reject);
      });
      const got = await download;
      expect(got.length).toBe(big.length);
      expect(got.equals(Buffer.from(big))).toBe(true);
      expect(await exited).toBe(0);
      const log = stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; reqId?: string });
      expect(log.map((l) => l.msg)).toEqual(expect.arrayContaining(['listening', 'draining', 'stopped', 'container published']));
      expect(stdout()).not.toContain(WRITE_TOKEN);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
      rmSync(join(fx.dir, 'cli-upload.h4mk'), { force: true });
    }
  });

  it('share prints URLs that open one container until they expire', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'h4mk-share-'));
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `${SHARE_SECRET}\n`);
    const { child, url, exited } = await startServe([fx.dir, '--port', '0', '--secret-file', secretFile, '--log-level', 'warn'], {});
    try {
      const share = (args: string[]) => spawnSync(process.execPath, [MAIN, 'share', ...args], { encoding: 'utf8' });
      const made = share(['movie.h4mk', '--expires', '1h', '--base', url, '--secret-file', secretFile]);
      expect(made.status).toBe(0);
      const link = made.stdout.trim();
      expect(link).toMatch(new RegExp(`^${url}/v1/containers/movie\\.h4mk\\?expires=\\d+&sig=[A-Za-z0-9_-]{43}$`));
      const ok = await fetch(link, { headers: { range: 'bytes=0-3' } });
      expect(ok.status).toBe(206);
      expect(Buffer.from(await ok.arrayBuffer()).equals(Buffer.from(fx.files.get('movie.h4mk')?.subarray(0, 4) ?? []))).toBe(true);
      const signed = new URL(link);
      expect((await fetch(`${url}/v1/containers/movie.h4mk/manifest${signed.search}`)).status).toBe(200);
      expect((await fetch(`${url}/v1/containers/movie.h4mk`)).status).toBe(401);
      expect((await fetch(`${url}/v1/containers/secret.h4mk${signed.search}`)).status).toBe(403);
      const forged = new URL(link);
      forged.searchParams.set('expires', String(Number(forged.searchParams.get('expires')) + 1));
      expect((await fetch(forged)).status).toBe(403);

      const json = spawnSync(process.execPath, [MAIN, 'share', 'movie.h4mk', '--expires', '1s', '--base', url, '--json'], {
        encoding: 'utf8',
        env: { ...process.env, H4MK_SHARE_SECRET: SHARE_SECRET },
      });
      expect(json.status).toBe(0);
      const doc = JSON.parse(json.stdout) as { url: string; expires: number; expires_at: string };
      await sleep(Math.max(0, doc.expires * 1000 - Date.now()) + 1100);
      const expired = await fetch(doc.url);
      expect(expired.status).toBe(403);
      expect((await expired.json()).error.code).toBe('E_URL_EXPIRED');

      const noSecret = share(['movie.h4mk', '--expires', '1h']);
      expect(noSecret.status).toBe(2);
      expect(noSecret.stderr).toMatch(/^h4mk: error: no signing secret\nh4mk: hint: /);
      expect(share(['../etc', '--expires', '1h', '--secret-file', secretFile]).status).toBe(2);
      expect(share(['movie.h4mk', '--expires', '10y', '--secret-file', secretFile]).status).toBe(2);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad arguments with exit 2 and one error line', () => {
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, [MAIN, 'serve', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 10_000 });
    for (const [args, pattern, env] of [
      [[], /give a directory or --origin/, {}],
      [[fx.dir, '--origin', 'http://x/'], /give a directory or --origin/, {}],
      [[fx.dir, '--port', '99999'], /port/, {}],
      [[join(fx.dir, 'absent')], /absent/, {}],
      [[fx.dir, '--write-token-file', join(fx.dir, 'absent')], /secret file/, {}],
      [[fx.dir], /at least 16 bytes/, { H4MK_WRITE_TOKEN: 'short' }],
      [[fx.dir, '--max-upload', 'lots'], /size/, {}],
    ] as const) {
      const r = run([...args], env);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^h4mk: error: /);
      expect(r.stderr, args.join(' ')).toMatch(pattern);
    }
  });
});
