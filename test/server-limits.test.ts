/**
 * The server's memory and connections stay bounded under attack, and the
 * protocol edges that go with it.
 *
 * The attacks run against `h4mk serve` in a child process (built:
 * dist/cli/main.js), so its resident memory can be measured: VmRSS from
 * /proc/PID/status, sampled every 100 ms by a worker thread (its own event
 * loop: the attack traffic in this process does not delay the samples).
 * Each attack must keep the peak at or under 300 MiB:
 *
 *   - 20 concurrent slow 60 MB POST /video/manifest bodies (each under
 *     --max-body, 64 MiB): the body budget (128 MiB) admits at most two,
 *     503 E_BUSY with Retry-After for the rest, before their bodies;
 *   - 30 concurrent GET …/blocks/{i}?decompress=true of a zstd container
 *     whose blocks decompress to 64 MiB each (a 66 KB file), read slowly:
 *     the block-memory budget (128 MiB) admits one such block at a time,
 *     503 E_BUSY for the rest;
 *   - 500 slow idle connections (slowloris): the connection cap (200 here)
 *     holds, the headers timeout closes the rest with a 408 in the one
 *     error format, and /healthz answers again.
 *
 * Then, in-process: `Expect: 100-continue` answered only after
 * authorisation (and the body budget), canonical signed-URL signatures,
 * 400/408/431 from Node's parser as JSON, strict decimal integers in query
 * strings and paths, PUT with any Content-Type, the Host check and no CORS
 * by default (`h4mk serve`), the upload-temporary sweeper, and E_BUSY
 * logged without a stack trace.
 *
 * H4MK_LIMITS_CLI=/path/to/main.js H4MK_LIMITS_BASELINE=1 runs only the
 * attacks against another build (e.g. one from before these limits) and
 * prints its figures without asserting them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSink, H4mkWriter, MemorySink } from '../src/node.js';
import { build } from '../src/server/app.js';
import { checkSignature, signName } from '../src/server/signed-url.js';

const MiB = 1024 * 1024;
const RSS_LIMIT_MIB = 300;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = process.env.H4MK_LIMITS_CLI ?? join(ROOT, 'dist/cli/main.js');
const BASELINE = process.env.H4MK_LIMITS_BASELINE === '1';
const LINUX = existsSync('/proc/self/status');
const WRITE_TOKEN = 'write-token-0123456789abcdef';
const READ_TOKEN = 'read-token-0123456789abcdef';
const SECRET = 'share-secret-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The child runs dist/ (kept fresh by test/support/fresh-build.ts, vitest's global setup). */
function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -p tsconfig.json)`);
}

// ---------------------------------------------------------------------------
// The server in a child process, and its memory.

type Child = { child: ChildProcess; port: number; base: string; stdout: () => string; stop(): Promise<void> };

function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'serve', ...args, '--host', '127.0.0.1', '--port', '0'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m !== null) {
        const base = m[1] as string;
        resolve({
          child,
          base,
          port: Number(new URL(base).port),
          stdout: () => stdout,
          stop: async () => {
            child.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`h4mk serve exited: ${stderr}`)));
  });
}

/** VmRSS of `pid` sampled every 100 ms in a worker thread; `peak()` is the highest since the last `reset()`, MiB. */
class RssSampler {
  private readonly worker: Worker;
  private readonly shared = new Int32Array(new SharedArrayBuffer(8));

  constructor(pid: number) {
    this.worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const { readFileSync } = require('node:fs');
       const shared = new Int32Array(workerData.buffer);
       const read = () => { const m = /VmRSS:\\s+(\\d+) kB/.exec(readFileSync('/proc/' + workerData.pid + '/status', 'utf8')); return m ? Number(m[1]) : 0; };
       const tick = () => { try { const kb = read(); Atomics.store(shared, 1, kb); if (kb > Atomics.load(shared, 0)) Atomics.store(shared, 0, kb); } catch {} };
       tick();
       setInterval(tick, 100);`,
      { eval: true, workerData: { pid, buffer: this.shared.buffer } },
    );
    this.worker.unref();
  }

  /** RSS now, MiB. */
  current(): number {
    return Atomics.load(this.shared, 1) / 1024;
  }

  reset(): void {
    Atomics.store(this.shared, 0, Atomics.load(this.shared, 1));
  }

  peak(): number {
    return Atomics.load(this.shared, 0) / 1024;
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Waits until the sampler has a first reading. */
async function settled(rss: RssSampler): Promise<number> {
  for (let i = 0; i < 50 && rss.current() === 0; i++) await sleep(20);
  return rss.current();
}

// ---------------------------------------------------------------------------
// Raw HTTP clients.

type RawAnswer = { status: number | null; code: string | null; headers: string; body: string; error: string | null };

/** The status, headers and (small) body of the first complete response in `text`, or null if it is not complete yet. */
function parseResponse(text: string): { status: number; headers: string; body: string; rest: string } | null {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = text.slice(0, end);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? Number.NaN);
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  if (status === 100) return { status, headers: head, body: '', rest: text.slice(end + 4) };
  if (text.length < end + 4 + length) return null;
  return { status, headers: head, body: text.slice(end + 4, end + 4 + length), rest: text.slice(end + 4 + length) };
}

function errorCode(body: string): string | null {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? null;
  } catch {
    return null;
  }
}

/**
 * Sends `head`, waits `holdMs` (the server may refuse at once), then a body of
 * `total` zero bytes in `chunk`-sized writes `pauseMs` apart, unless the server
 * has answered or closed. Resolves with the (first non-100) answer.
 */
function slowBody(port: number, head: string, total: number, options: { chunk?: number; pauseMs?: number; holdMs?: number } = {}): Promise<RawAnswer> {
  const chunkLength = options.chunk ?? MiB;
  const zeros = Buffer.alloc(chunkLength);
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (answer: RawAnswer) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(answer);
    };
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      text += c;
      for (let r = parseResponse(text); r !== null; r = parseResponse(text)) {
        text = r.rest;
        if (r.status !== 100) return finish({ status: r.status, code: errorCode(r.body), headers: r.headers, body: r.body, error: null });
      }
    });
    socket.on('error', (e: Error & { code?: string }) => finish({ status: null, code: null, headers: '', body: '', error: e.code ?? e.message }));
    socket.on('close', () => finish({ status: null, code: null, headers: '', body: '', error: 'closed' }));
    socket.on('connect', async () => {
      socket.write(head);
      await sleep(options.holdMs ?? 300);
      for (let sent = 0; sent < total && !done && socket.writable; ) {
        const n = Math.min(chunkLength, total - sent);
        if (!socket.write(n === chunkLength ? zeros : zeros.subarray(0, n))) await new Promise((r) => socket.once('drain', r));
        sent += n;
        await sleep(options.pauseMs ?? 50);
      }
    });
  });
}

/** One request as raw bytes; resolves with the first complete answer (or what came before the connection closed). */
function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 10_000): Promise<RawAnswer & { all: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (error: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const r = parseResponse(text);
      resolve({ status: r?.status ?? null, code: r === null ? null : errorCode(r.body), headers: r?.headers ?? '', body: r?.body ?? '', error, all: text });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: string) => {
      text += c;
      const r = parseResponse(text);
      if (r !== null && r.status !== 100) finish(null);
    });
    socket.on('error', (e: Error & { code?: string }) => finish(e.code ?? e.message));
    socket.on('close', () => finish('closed'));
  });
}

/** GET with node:http; the body is counted, not kept, and read only after `readAfterMs`. */
function slowGet(
  base: string,
  path: string,
  readAfterMs: number,
): Promise<{ status: number; code: string | null; retryAfter: string | null; bytes: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(new URL(path, base), { agent: false }, (res) => {
      res.pause();
      let bytes = 0;
      let small = '';
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (small.length < 4096) small += c.toString('latin1');
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          code: (res.statusCode ?? 0) >= 400 ? errorCode(small) : null,
          retryAfter: (res.headers['retry-after'] as string | undefined) ?? null,
          bytes,
        }),
      );
      res.on('error', (e: Error) => resolve({ error: e.message }));
      setTimeout(() => res.resume(), readAfterMs);
    });
    req.on('error', (e: Error & { code?: string }) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

/** Tallies answers: "503 E_BUSY" × 18, "422 E_MAGIC" × 2, … */
function tally(answers: { status: number | null; code: string | null; error?: string | null }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const key = a.status === null ? `error ${a.error}` : `${a.status}${a.code === null ? '' : ` ${a.code}`}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------

/** A zstd container of `blocks` blocks, each 64 MiB of zeros once decompressed (a few KB stored). */
async function writeZeroContainer(path: string, blocks: number): Promise<void> {
  const writer = await H4mkWriter.create(await FileSink.create(path), { compression: 'zstd' });
  writer.addTrack({ id: 'zeros', kind: 'data' });
  const payload = new Uint8Array(64 * MiB);
  for (let i = 0; i < blocks; i++) await writer.writeBlock({ track: 'zeros', pts: i, keyframe: true, payload });
  await writer.finish();
}

/** A small valid container. */
async function smallContainer(): Promise<Buffer> {
  const sink = new MemorySink();
  const writer = await H4mkWriter.create(sink, {});
  writer.addTrack({ id: 'data', kind: 'data' });
  for (let i = 0; i < 5; i++)
    await writer.writeBlock({ track: 'data', pts: i * 1000, keyframe: true, payload: new TextEncoder().encode(`block ${i} `.repeat(50)) });
  await writer.finish();
  return Buffer.from(sink.bytes());
}

const figures: { attack: string; idle: number; peak: number; answers: string }[] = [];
const notes: string[] = [];

describe.skipIf(!LINUX)('memory and connections under attack (h4mk serve in a child process)', () => {
  let dir = '';
  let server: Child;
  let rss: RssSampler;
  const CAP = 200;

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'h4mk-limits-'));
    await writeZeroContainer(join(dir, 'zeros.h4mk'), 30);
    const limits = BASELINE ? [] : ['--max-connections', String(CAP), '--headers-timeout', '3', '--idle-timeout', '10'];
    server = await startServe([dir, '--log-level', 'warn', ...limits]);
    rss = new RssSampler(server.child.pid as number);
    await settled(rss);
    // Warm: the container opened, the code paths compiled.
    for (let i = 0; i < 3; i++) await slowGet(server.base, `/v1/containers/zeros.h4mk/blocks/${i}?decompress=true`, 0);
    await fetch(`${server.base}/healthz`).then((r) => r.text());
  });

  afterAll(async () => {
    await rss?.stop();
    await server?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
    if (figures.length > 0) {
      const lines = figures.map(
        (f) => `  ${f.attack.padEnd(46)} idle ${f.idle.toFixed(0).padStart(5)} MiB   peak ${f.peak.toFixed(0).padStart(5)} MiB   ${f.answers}`,
      );
      console.log(
        `h4mk serve resident memory (VmRSS, limit ${RSS_LIMIT_MIB} MiB)${BASELINE ? ' [baseline build, not asserted]' : ''}:\n${[...lines, ...notes.map((n) => `  ${n}`)].join('\n')}`,
      );
    }
  });

  /** Runs `attack` with the sampler reset first; records and checks the peak. */
  async function measured<T>(name: string, attack: () => Promise<T>, describeAnswers: (result: T) => string): Promise<T> {
    await sleep(300);
    const idle = rss.current();
    rss.reset();
    const result = await attack();
    await sleep(200);
    const peak = rss.peak();
    figures.push({ attack: name, idle, peak, answers: describeAnswers(result) });
    if (!BASELINE) expect(peak, `${name}: peak RSS ${peak.toFixed(0)} MiB`).toBeLessThanOrEqual(RSS_LIMIT_MIB);
    return result;
  }

  it('20 concurrent slow 60 MB POST bodies: at most two admitted, 503 E_BUSY with Retry-After for the rest', async () => {
    const head = `POST /video/manifest HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/octet-stream\r\nContent-Length: 60000000\r\n\r\n`;
    const answers = await measured(
      '20 × slow 60 MB POST /video/manifest',
      // Each waits a second before its body: a refusal comes first (and the connection closes).
      () => Promise.all(Array.from({ length: 20 }, () => slowBody(server.port, head, 60_000_000, { chunk: MiB, pauseMs: 40, holdMs: 1000 }))),
      (a) => JSON.stringify(tally(a)),
    );
    if (BASELINE) return;
    // Zeros are not a container: the admitted ones are read in full and refused as such (422).
    const admitted = answers.filter((a) => a.status === 422).length;
    const busy = answers.filter((a) => a.status === 503 && a.code === 'E_BUSY').length;
    // On a loaded machine a refusal can be late: the client's first body bytes then meet the closed
    // connection (EPIPE, reset) before it reads the 503. Still a refusal, never an admission.
    const cut = answers.filter((a) => a.status === null && a.error !== null && /EPIPE|ECONNRESET|closed/.test(a.error)).length;
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThanOrEqual(2);
    expect(busy).toBeGreaterThanOrEqual(1);
    expect(admitted + busy + cut).toBe(20);
    for (const a of answers.filter((x) => x.status === 503)) expect(a.headers).toMatch(/\r\nretry-after: 1/i);
    // The budget is back: one more body is taken.
    const again = await slowBody(server.port, head.replace('60000000', '1000'), 1000, { holdMs: 50, pauseMs: 0 });
    expect(again.status).toBe(422);
  });

  it('30 concurrent decompress=true fetches of 64 MiB blocks: a bounded number in flight, 503 E_BUSY for the rest', async () => {
    const answers = await measured(
      '30 × GET blocks/{i}?decompress=true (64 MiB each)',
      () => Promise.all(Array.from({ length: 30 }, (_, i) => slowGet(server.base, `/v1/containers/zeros.h4mk/blocks/${i}?decompress=true`, 1000))),
      (a) => JSON.stringify(tally(a.map((x) => ('error' in x ? { status: null, code: null, error: x.error } : x)))),
    );
    if (BASELINE) return;
    const ok = answers.filter((a) => 'status' in a && a.status === 200);
    const busy = answers.filter((a) => 'status' in a && a.status === 503);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length + busy.length).toBe(30);
    for (const a of ok) expect('bytes' in a && a.bytes).toBe(64 * MiB);
    for (const a of busy) expect(a).toMatchObject({ code: 'E_BUSY', retryAfter: '1' });
    // Afterwards the budget is free again, and one block is shared by concurrent requests for it.
    const same = await Promise.all(Array.from({ length: 6 }, () => slowGet(server.base, '/v1/containers/zeros.h4mk/blocks/7?decompress=true', 500)));
    expect(same.every((a) => 'status' in a && a.status === 200 && a.bytes === 64 * MiB)).toBe(true);
  });

  it('500 slow idle connections: the cap holds, the headers timeout closes them (408, JSON), /healthz answers', async () => {
    type Held = { socket: Socket; closedAt: number | null; text: string };
    const held: Held[] = [];
    const start = Date.now();
    await measured(
      '500 slow idle connections (slowloris)',
      async () => {
        for (let i = 0; i < 500; i++) {
          const socket = connect(server.port, '127.0.0.1');
          const h: Held = { socket, closedAt: null, text: '' };
          socket.setEncoding('latin1');
          socket.on('data', (c: string) => {
            h.text += c;
          });
          socket.on('error', () => {});
          socket.on('close', () => {
            h.closedAt = Date.now();
          });
          // A request line, then a header now and then, never the end of the headers.
          socket.on('connect', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n`));
          held.push(h);
          if (i % 50 === 49) await sleep(20);
        }
        const trickle = setInterval(() => {
          for (const h of held) if (h.closedAt === null && h.socket.writable) h.socket.write('X-Slow: 1\r\n');
        }, 500);
        try {
          await sleep(1500);
          const open = held.filter((h) => h.closedAt === null).length;
          notes.push(`slowloris: ${open} of 500 connections open after 1.5 s (cap ${BASELINE ? 'none' : CAP})`);
          if (!BASELINE) expect(open, 'connections held open at once').toBeLessThanOrEqual(CAP);
          // The headers timeout (3 s, checked every 0.75 s) closes the rest.
          for (let t = 0; t < 100 && held.some((h) => h.closedAt === null); t++) await sleep(100);
        } finally {
          clearInterval(trickle);
        }
      },
      () => `${held.filter((h) => h.closedAt !== null).length} closed by the server within ${((Date.now() - start) / 1000).toFixed(1)} s`,
    );
    if (BASELINE) {
      for (const h of held) h.socket.destroy();
      return;
    }
    expect(held.every((h) => h.closedAt !== null)).toBe(true);
    // Those let in were told why, in the one error format.
    const timedOut = held.filter((h) => h.text.startsWith('HTTP/1.1 408'));
    expect(timedOut.length).toBeGreaterThanOrEqual(1);
    const answer = parseResponse(timedOut[0]?.text ?? '');
    expect(JSON.parse(answer?.body ?? '{}')).toEqual({ error: { code: 'E_TIMEOUT', message: expect.any(String), request_id: expect.any(String) } });
    const health = await fetch(`${server.base}/healthz`);
    expect(health.status).toBe(200);
    expect((await health.json()).status).toBe('ok');
    // Load shedding is logged as what it is: warn, no stack trace.
    const lines = server
      .stdout()
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; err?: unknown });
    const busy = lines.filter((l) => l.code === 'E_BUSY');
    expect(busy.length).toBeGreaterThanOrEqual(1);
    for (const l of busy) {
      expect(l.level).toBe(40);
      expect(l.err).toBeUndefined();
    }
    expect(server.stdout()).not.toMatch(/"stack"/);
    expect(lines.some((l) => l.msg === 'connection limit reached: new connections closed')).toBe(true);
  });

  it.skipIf(BASELINE)('defaults of h4mk serve on a loopback address: Host checked, no CORS, the inspector page works', async () => {
    const get = (host: string, extra = '') => rawRequest(server.port, `GET /v1/containers HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`, 'localhost', 'LOCALHOST:1']) {
      expect((await get(host)).status, host).toBe(200);
    }
    // DNS rebinding: a page on attacker.example whose name now resolves to 127.0.0.1.
    for (const host of [
      `attacker.example:${server.port}`,
      'attacker.example',
      '127.0.0.1.attacker.example',
      'localhost.attacker.example',
      '0.0.0.0',
      `[::ffff:7f00:1]:${server.port}`,
    ]) {
      const r = await get(host);
      expect({ host, status: r.status, code: r.code }).toEqual({ host, status: 421, code: 'E_HOST' });
      expect(JSON.parse(r.body).error.request_id).toEqual(expect.any(String));
    }
    // No CORS: a cross-origin page cannot read the answer, and a preflight is not granted.
    const cross = await get(`127.0.0.1:${server.port}`, 'Origin: https://attacker.example\r\n');
    expect(cross.status).toBe(200);
    expect(cross.headers).not.toMatch(/access-control-allow-origin/i);
    const preflight = await rawRequest(
      server.port,
      `OPTIONS /v1/containers/zeros.h4mk HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nOrigin: https://attacker.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: range\r\nConnection: close\r\n\r\n`,
    );
    expect(preflight.headers).not.toMatch(/access-control-allow-origin/i);
    // The inspector is same-origin: its page and its reads need no CORS.
    if (existsSync(join(ROOT, 'dist-web/index.html'))) {
      const page = await fetch(`${server.base}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const list = await fetch(`${server.base}/v1/containers`, { headers: { origin: server.base } });
      expect(list.status).toBe(200);
    }
  });

  it.skipIf(BASELINE)('h4mk serve --cors ORIGIN --allowed-host NAME: that origin may read, that Host is answered', async () => {
    const other = await startServe([dir, '--log-level', 'warn', '--cors', 'https://app.example', '--allowed-host', 'media.example']);
    try {
      const r = await rawRequest(
        other.port,
        `GET /v1/containers HTTP/1.1\r\nHost: media.example:${other.port}\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n`,
      );
      expect(r.status).toBe(200);
      expect(r.headers).toMatch(/\r\naccess-control-allow-origin: https:\/\/app\.example/i);
      const evil = await rawRequest(other.port, `GET /v1/containers HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
      expect(evil.status).toBe(421);
      const local = await rawRequest(
        other.port,
        `GET /v1/containers HTTP/1.1\r\nHost: localhost:${other.port}\r\nOrigin: https://attacker.example\r\nConnection: close\r\n\r\n`,
      );
      expect(local.status).toBe(200);
      // Only the configured origin is ever named: a browser on another origin cannot read the answer.
      expect(local.headers).not.toMatch(/access-control-allow-origin: *(\*|https:\/\/attacker)/i);
    } finally {
      await other.stop();
    }
  });
});

describe.skipIf(BASELINE)('protocol edges (in process)', () => {
  let dir = '';
  let app: FastifyInstance;
  let locked: FastifyInstance;
  let port = 0;
  let lockedPort = 0;
  let container: Buffer;
  const logLines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'h4mk-edges-'));
    container = await smallContainer();
    await writeFile(join(dir, 'small.h4mk'), container);
    app = await build({ dir, writeToken: WRITE_TOKEN, revalidateMs: 0, logger: { level: 'info', stream: { write: (line) => void logLines.push(line) } } });
    locked = await build({ dir, writeToken: WRITE_TOKEN, readToken: READ_TOKEN, shareSecret: SECRET, revalidateMs: 0 });
    port = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
    lockedPort = Number(new URL(await locked.listen({ host: '127.0.0.1', port: 0 })).port);
  });

  afterAll(async () => {
    await app?.close();
    await locked?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  /** Sends `head`, then the body only if the server answers 100 first; returns every status line seen. */
  function expectContinue(to: number, head: string, body: Buffer): Promise<{ statuses: number[]; last: RawAnswer }> {
    return new Promise((resolve) => {
      const socket = connect(to, '127.0.0.1');
      const statuses: number[] = [];
      let text = '';
      let done = false;
      const finish = (last: RawAnswer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve({ statuses, last });
      };
      // Long enough that a server waiting for the body (instead of answering) shows as a timeout.
      const timer = setTimeout(() => finish({ status: null, code: null, headers: '', body: '', error: 'timeout' }), 3000);
      socket.setEncoding('latin1');
      socket.on('connect', () => socket.write(head));
      socket.on('data', (c: string) => {
        text += c;
        for (let r = parseResponse(text); r !== null; r = parseResponse(text)) {
          text = r.rest;
          statuses.push(r.status);
          if (r.status === 100) socket.write(body);
          else return finish({ status: r.status, code: errorCode(r.body), headers: r.headers, body: r.body, error: null });
        }
      });
      socket.on('error', () => finish({ status: null, code: null, headers: '', body: '', error: 'error' }));
    });
  }

  it('Expect: 100-continue is answered only after authorisation (and the size, slot and memory checks)', async () => {
    const put = (token: string, name: string, extra = '') =>
      `PUT /v1/containers/${name} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${container.length}\r\nExpect: 100-continue\r\n${extra}\r\n`;
    const refused = await expectContinue(port, put('wrong-token-wrong-token', 'continued.h4mk'), container);
    expect(refused.statuses).toEqual([401]);
    expect(refused.last.code).toBe('E_UNAUTHORIZED');
    expect(refused.last.headers).toMatch(/\r\nconnection: close/i);
    const tooLarge = await expectContinue(
      port,
      put(WRITE_TOKEN, 'continued.h4mk').replace(`Content-Length: ${container.length}`, 'Content-Length: 99999999999'),
      container,
    );
    expect(tooLarge.statuses).toEqual([413]);
    const precondition = await expectContinue(port, put(WRITE_TOKEN, 'small.h4mk', 'If-None-Match: *\r\n'), container);
    expect(precondition.statuses).toEqual([412]);
    const accepted = await expectContinue(port, put(WRITE_TOKEN, 'continued.h4mk'), container);
    expect(accepted.statuses).toEqual([100, 201]);
    // Seed bodies on a server with private reads: no 100 without the read token.
    const seed = (token: string | null) =>
      `POST /video/manifest HTTP/1.1\r\nHost: 127.0.0.1\r\n${token === null ? '' : `Authorization: Bearer ${token}\r\n`}Content-Length: ${container.length}\r\nExpect: 100-continue\r\n\r\n`;
    expect((await expectContinue(lockedPort, seed(null), container)).statuses).toEqual([401]);
    const read = await expectContinue(lockedPort, seed(READ_TOKEN), container);
    expect(read.statuses).toEqual([100, 200]);
    // No room in the body budget: 503 before the body, and no 100.
    const taken = locked.h4mk.bodies.limit;
    locked.h4mk.bodies.take(taken);
    try {
      const busy = await expectContinue(lockedPort, seed(READ_TOKEN), container);
      expect(busy.statuses).toEqual([503]);
      expect(busy.last.code).toBe('E_BUSY');
      expect(busy.last.headers).toMatch(/\r\nretry-after: 1/i);
    } finally {
      locked.h4mk.bodies.give(taken);
    }
  });

  it('a chunked seed body (no Content-Length) reserves memory as it grows: 503 E_BUSY once the budget is spent', async () => {
    const chunked = (body: Buffer, pieces: number) => {
      const size = Math.ceil(body.length / pieces);
      const parts: Buffer[] = [];
      for (let at = 0; at < body.length; at += size) {
        const piece = body.subarray(at, at + size);
        parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
      }
      return Buffer.concat([
        Buffer.from(`POST /video/manifest HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`),
        ...parts,
        Buffer.from('0\r\n\r\n'),
      ]);
    };
    const whole = await rawRequest(port, chunked(container, 4));
    expect(whole.status).toBe(200);
    expect(JSON.parse(whole.body).block_count).toBe(5);
    expect(app.h4mk.bodies.used).toBe(0);
    // Leave less room than the body needs: it is refused part-way, and the memory is given back.
    const budget = app.h4mk.bodies;
    const taken = budget.limit - Math.floor(container.length / 2);
    budget.take(taken);
    try {
      const refused = await rawRequest(port, chunked(container, 8));
      // The answer may be cut by the close that follows it on a loaded machine; if it arrives, it is 503.
      if (refused.status !== null) expect({ status: refused.status, code: refused.code }).toEqual({ status: 503, code: 'E_BUSY' });
      for (let i = 0; i < 20 && budget.used !== taken; i++) await sleep(25);
      expect(budget.used).toBe(taken);
    } finally {
      budget.give(taken);
    }
  });

  it('signed URLs: only the canonical spelling of a signature is accepted', async () => {
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const sig = signName(SECRET, 'small.h4mk', expires);
    expect(sig).toMatch(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.slice(-1));
    // The three other spellings that decode to the same 32 bytes (the 2 unused low bits set).
    const variants = [1, 2, 3].map((bits) => sig.slice(0, -1) + alphabet[last + bits]);
    for (const v of variants) {
      expect(Buffer.from(v, 'base64url').equals(Buffer.from(sig, 'base64url'))).toBe(true);
      expect(checkSignature(SECRET, 'small.h4mk', String(expires), v, expires - 10)).toBe('invalid');
    }
    expect(checkSignature(SECRET, 'small.h4mk', String(expires), sig, expires - 10)).toBe('ok');
    const ok = await locked.inject({ url: `/v1/containers/small.h4mk/manifest?expires=${expires}&sig=${sig}` });
    expect(ok.statusCode).toBe(200);
    for (const v of variants) {
      const r = await locked.inject({ url: `/v1/containers/small.h4mk/manifest?expires=${expires}&sig=${v}` });
      expect(r.statusCode).toBe(403);
      expect(r.json().error.code).toBe('E_FORBIDDEN');
    }
  });

  it("what Node's parser refuses is answered in the one error format: 431, 400", async () => {
    const big = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big.status).toBe(431);
    expect(big.headers).toMatch(/\r\ncontent-type: application\/json/i);
    expect(JSON.parse(big.body)).toEqual({ error: { code: 'E_HEADERS_TOO_LARGE', message: expect.any(String), request_id: expect.any(String) } });
    expect(big.headers).toMatch(new RegExp(`\\r\\nx-request-id: ${JSON.parse(big.body).error.request_id}`, 'i'));
    for (const bad of [
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'NOT A REQUEST\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n',
    ]) {
      const r = await rawRequest(port, bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(JSON.parse(r.body)).toEqual({ error: { code: 'E_BAD_REQUEST', message: expect.any(String), request_id: expect.any(String) } });
      expect(r.all).not.toMatch(/stack|node_modules|\bat \w/);
    }
  });

  it('numbers in query strings and paths are plain decimals: no hex, exponents, signs or spaces', async () => {
    const seek = (pts: string) => app.inject({ url: `/v1/containers/small.h4mk/seek?track=data&pts_us=${pts}` });
    for (const good of ['16', '0', '-5', '0016']) expect((await seek(good)).statusCode, good).toBe(200);
    for (const bad of ['0x10', '1e1', '1E1', '%2B16', '%2016', '16%20', '16.0', '0b1', '0o7', 'Infinity', '', '%0916', '%EF%BC%91%EF%BC%96']) {
      const r = await seek(bad);
      expect({ bad, status: r.statusCode, code: r.json().error?.code }).toEqual({ bad, status: 400, code: 'E_BAD_REQUEST' });
    }
    for (const url of [
      '/v1/containers/small.h4mk/blocks/0x1',
      '/v1/containers/small.h4mk/blocks/1e0',
      '/v1/containers/small.h4mk/blocks/+1',
      '/v1/containers/small.h4mk/range?limit=0x10',
      '/video/block?core_index=0x0&file=small.h4mk',
    ]) {
      const r = await app.inject({ method: url.startsWith('/video') ? 'POST' : 'GET', url });
      expect({ url, status: r.statusCode }).toEqual({ url, status: 400 });
    }
    expect((await app.inject({ url: '/v1/containers/small.h4mk/blocks/1' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/containers/small.h4mk/range?limit=2' })).json().count).toBe(2);
  });

  it('PUT accepts any Content-Type (curl --data-binary sends a form type): the bytes are verified anyway', async () => {
    for (const [i, type] of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'video/x-h4mk'].entries()) {
      const r = await app.inject({
        method: 'PUT',
        url: `/v1/containers/typed-${i}.h4mk`,
        headers: { authorization: `Bearer ${WRITE_TOKEN}`, 'content-type': type },
        payload: container,
      });
      expect({ type, status: r.statusCode }).toEqual({ type, status: 201 });
    }
    const garbage = await app.inject({
      method: 'PUT',
      url: '/v1/containers/typed-x.h4mk',
      headers: { authorization: `Bearer ${WRITE_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=1&b=2',
    });
    expect(garbage.statusCode).toBe(422);
  });

  it('the Host check of build(): loopback names only, plus allowedHosts; off unless asked for', async () => {
    const checked = await build({ dir, hostCheck: true, allowedHosts: ['media.example', 'cdn.example:8443'] });
    const unchecked = await build({ dir });
    try {
      const to = Number(new URL(await checked.listen({ host: '127.0.0.1', port: 0 })).port);
      const plain = Number(new URL(await unchecked.listen({ host: '127.0.0.1', port: 0 })).port);
      const status = async (p: number, host: string) => (await rawRequest(p, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).status;
      for (const [host, expected] of [
        [`127.0.0.1:${to}`, 200],
        ['media.example', 200],
        ['MEDIA.EXAMPLE:80', 200],
        ['cdn.example:8443', 200],
        ['cdn.example', 421],
        ['evil.example', 421],
        ['media.example.evil.example', 421],
        ['user@media.example', 421],
      ] as const) {
        expect({ host, status: await status(to, host) }).toEqual({ host, status: expected });
      }
      expect(await status(plain, 'evil.example')).toBe(200);
    } finally {
      await checked.close();
      await unchecked.close();
    }
    // Listening on every address: a browser on this machine comes in over loopback and is checked;
    // another machine (a non-loopback address of this one) is not.
    const everywhere = await build({ dir, hostCheck: true });
    try {
      const to = Number(new URL(await everywhere.listen({ host: '0.0.0.0', port: 0 })).port);
      const get = (address: string) =>
        new Promise<number | null>((resolve) => {
          const socket = connect(to, address);
          let text = '';
          socket.setEncoding('latin1');
          socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n'));
          socket.on('data', (c: string) => {
            text += c;
          });
          socket.on('close', () => resolve(parseResponse(text)?.status ?? null));
          socket.on('error', () => resolve(null));
        });
      expect(await get('127.0.0.1')).toBe(421);
      const lan = Object.values(networkInterfaces())
        .flat()
        .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
      if (lan !== undefined) expect(await get(lan.address)).toBe(200);
    } finally {
      await everywhere.close();
    }
  });

  it('upload temporaries: leftovers swept at start and periodically (by mtime), uploads in progress kept', async () => {
    const sweepDir = await mkdtemp(join(tmpdir(), 'h4mk-sweep-'));
    const temp = (n: number) => join(sweepDir, `.h4mk-upload-00000000-0000-4000-8000-${String(n).padStart(12, '0')}.tmp`);
    try {
      await writeFile(temp(1), 'old leftover');
      const old = new Date(Date.now() - 11 * 60_000);
      await utimes(temp(1), old, old);
      await writeFile(temp(2), 'written a minute ago');
      const recent = new Date(Date.now() - 60_000);
      await utimes(temp(2), recent, recent);
      await mkdir(join(sweepDir, 'sub'));
      const swept = await build({ dir: sweepDir, writeToken: WRITE_TOKEN, tempSweepMs: 100, staleTempMs: 600_000 });
      try {
        // At start: the 11-minute-old one goes, the 1-minute-old one stays.
        expect((await readdir(sweepDir)).sort()).toEqual([temp(2).split('/').pop(), 'sub'].sort());
        // Ten minutes later (its mtime moved back): the periodic sweep takes it.
        await utimes(temp(2), old, old);
        for (let i = 0; i < 40 && existsSync(temp(2)); i++) await sleep(50);
        expect(existsSync(temp(2))).toBe(false);
        // A temporary of an upload in progress here is never swept, however old.
        const own = swept.store.temporaryPath();
        await writeFile(own, 'in progress');
        await utimes(own, old, old);
        await sleep(400);
        expect(existsSync(own)).toBe(true);
        await swept.store.discardTemporary(own);
        expect(existsSync(own)).toBe(false);
      } finally {
        await swept.close();
      }
    } finally {
      await rm(sweepDir, { recursive: true, force: true });
    }
  });

  it('E_BUSY is logged at warn with its code, without a stack trace; the client gets the one error format', async () => {
    const taken = app.h4mk.payloads.limit;
    app.h4mk.payloads.take(taken);
    try {
      const r = await app.inject({ url: '/v1/containers/small.h4mk/blocks/2?decompress=true' });
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      expect(r.json()).toEqual({ error: { code: 'E_BUSY', message: expect.any(String), request_id: expect.any(String) } });
    } finally {
      app.h4mk.payloads.give(taken);
    }
    const line = logLines.map((l) => JSON.parse(l) as { level: number; code?: string; err?: unknown; msg: string }).find((l) => l.code === 'E_BUSY');
    expect(line).toMatchObject({ level: 40, msg: 'request refused' });
    expect(line?.err).toBeUndefined();
    expect(logLines.join('\n')).not.toMatch(/"stack"/);
    expect((await app.inject({ url: '/v1/containers/small.h4mk/blocks/2?decompress=true' })).statusCode).toBe(200);
  });

  it('one block read, decompressed and reserved once for concurrent requests', async () => {
    const before = app.h4mk.payloads.used;
    const answers = await Promise.all(Array.from({ length: 8 }, () => app.inject({ url: '/v1/containers/small.h4mk/blocks/4?decompress=true' })));
    expect(answers.every((r) => r.statusCode === 200 && r.rawPayload.equals(answers[0]?.rawPayload as Buffer))).toBe(true);
    expect(app.h4mk.blocks.sharedCount).toBe(0);
    expect(app.h4mk.payloads.used).toBe(before);
  });
});
