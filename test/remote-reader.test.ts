/**
 * The reader and the CLI over HTTP against a real nginx (test/support/nginx.ts):
 * one-request opens in both layouts, one more request per decodable span,
 * plan() = the requests range() makes, and the failure cases (200 instead of
 * 206, a file replaced mid-read, 404, 416) as typed errors and exit codes.
 * Request counts are checked by the reader's stats and by nginx's access log.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { rename, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H4mkError, H4mkReader, HttpSource, MemorySource, type RangeQuery } from '../src/node.js';
import { caught, makeSample, Rng, writeSample } from './helpers.js';
import { type AccessLogEntry, NGINX_SKIPPED, type Nginx, startNginx } from './support/nginx.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const KiB = 1024;

function expectCode(error: unknown, code: string): H4mkError {
  expect(error).toBeInstanceOf(H4mkError);
  expect((error as H4mkError).code, (error as H4mkError).message).toBe(code);
  return error as H4mkError;
}

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs the CLI without blocking this process (which may be serving the requests, and must answer vitest). */
function h4mkAsync(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: work, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let work: string;

describe.skipIf(NGINX_SKIPPED)('reader and CLI over HTTP (nginx)', () => {
  let nginx: Nginx;
  const files = new Map<string, Uint8Array>();
  const sample = makeSample({ seed: 17, gops: 120, scale: 12 });

  async function put(name: string, bytes: Uint8Array): Promise<void> {
    await writeFile(join(nginx.root, name), bytes);
    files.set(name, bytes);
  }
  /** Write aside with another mtime (nginx's ETag is mtime-size), then rename over the served file. */
  async function replace(name: string, bytes: Uint8Array): Promise<void> {
    const aside = join(nginx.root, `.${name}.new`);
    await writeFile(aside, bytes);
    const later = new Date(Date.now() + 5000);
    await utimes(aside, later, later);
    await rename(aside, join(nginx.root, name));
  }
  const bytesOf = (name: string): Uint8Array => files.get(name) as Uint8Array;
  const rangeOf = (offset: number, length: number): string => `bytes=${offset}-${offset + length - 1}`;

  beforeAll(async () => {
    nginx = await startNginx();
    work = mkdtempSync(join(tmpdir(), 'h4mk-remote-'));
    await put('tail.h4mk', await writeSample(sample, { layout: 'tail', compression: 'zstd' }));
    await put('fast.h4mk', await writeSample(sample, { layout: 'faststart', compression: 'zstd' }));
    await put('empty.bin', new Uint8Array(0));
  });

  afterAll(async () => {
    await nginx?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('a tail container opens with exactly one request: a suffix range', async () => {
    const before = await nginx.mark();
    const source = await HttpSource.open(nginx.url('tail.h4mk'));
    const reader = await H4mkReader.open(source);
    expect(reader.stats.requests).toBe(1);
    const log = await nginx.logSince(before, 1);
    expect(log.map((e) => [e.status, e.range])).toEqual([[206, `bytes=-${512 * KiB}`]]);
    expect(reader.blockCount).toBe(sample.inputs.length);
    await reader.close();
  });

  it('a faststart container opens with one prefix request when hinted (two without the hint)', async () => {
    let before = await nginx.mark();
    const hinted = await H4mkReader.open(await HttpSource.open(nginx.url('fast.h4mk')), { layout: 'faststart' });
    expect(hinted.stats.requests).toBe(1);
    expect((await nginx.logSince(before, 1)).map((e) => [e.status, e.range])).toEqual([[206, `bytes=0-${512 * KiB - 1}`]]);
    expect(hinted.layout).toBe('faststart');
    before = await nginx.mark();
    const unhinted = await H4mkReader.open(await HttpSource.open(nginx.url('fast.h4mk')));
    expect(unhinted.stats.requests).toBe(2);
    expect(await nginx.logSince(before, 2)).toHaveLength(2);
  });

  for (const [name, layout] of [
    ['tail.h4mk', 'tail'],
    ['fast.h4mk', 'faststart'],
  ] as const) {
    it(`${layout}: readSpan (video and audio) at 25 random times costs exactly one more request each, the span itself`, async () => {
      const local = await H4mkReader.open(new MemorySource(bytesOf(name)));
      const reader = await H4mkReader.open(await HttpSource.open(nginx.url(name), { cacheBudget: 0 }), { layout });
      const video = reader.track('video_main');
      const rng = new Rng(layout === 'tail' ? 1 : 2);
      for (let k = 0; k < 25; k++) {
        const t = rng.int(0, video.lastPtsUs ?? 0);
        // Video (one keyframe per segment) and audio (every block a keyframe: the exact keyframe
        // is only known from the segment's table, which arrives with the span).
        const track = k % 2 === 0 ? 'video_main' : 'audio_main';
        const before = await nginx.mark();
        const requests = reader.stats.requests ?? 0;
        const got = await reader.readSpan(track, t);
        const want = await local.readSpan(track, t);
        expect((reader.stats.requests ?? 0) - requests, `t = ${t}`).toBe(1);
        const log = await nginx.logSince(before, 1);
        expect(log).toHaveLength(1);
        const span = want?.keyframe.span;
        expect(log[0]?.range).toBe(rangeOf(span?.offset ?? 0, span?.length ?? 0));
        expect(got?.blocks.map((b) => b.coreIndex)).toEqual(want?.blocks.map((b) => b.coreIndex));
        expect(got?.blocks.every((b, i) => Buffer.from(b.payload).equals(Buffer.from(want?.blocks[i]?.payload ?? [])))).toBe(true);
      }
    });
  }

  it('plan() gives exactly the ranges that range() then requests', async () => {
    const size = bytesOf('tail.h4mk').length;
    const queries: RangeQuery[] = [
      { fromUs: 0, toUs: 2_000_000 },
      { tracks: ['audio_main'], fromUs: 5_000_000, toUs: 9_000_000 },
      { tracks: ['video_main'], fromUs: 12_000_000, toUs: 15_000_000, keyframesOnly: true },
      { tracks: ['video_main', 'control'], fromUs: 20_000_000, toUs: 23_000_000, fromKeyframe: true },
    ];
    for (const query of queries) {
      const reader = await H4mkReader.open(await HttpSource.open(nginx.url('tail.h4mk')));
      const plan = await reader.plan(query);
      expect(plan.length).toBeGreaterThan(0);
      // Clear of the tail the open cached, so every planned byte has to be fetched.
      expect(Math.max(...plan.map((p) => p.offset + p.length))).toBeLessThan(size - 512 * KiB);
      const before = await nginx.mark();
      const requests = reader.stats.requests ?? 0;
      let n = 0;
      for await (const _ of reader.blocks(query)) n++;
      expect(n).toBeGreaterThan(0);
      expect((reader.stats.requests ?? 0) - requests).toBe(plan.length);
      const log = await nginx.logSince(before, plan.length);
      expect(log.map((e) => e.range)).toEqual(plan.map((p) => rangeOf(p.offset, p.length)));
    }
  });

  it('200 instead of 206: a container within the budget is read whole by the open, then served from memory', async () => {
    const before = await nginx.mark();
    const source = await HttpSource.open(nginx.noRangesUrl('tail.h4mk'));
    const reader = await H4mkReader.open(source);
    await reader.readSpan('video_main', 3_000_000);
    expect((await reader.verify()).ok).toBe(true);
    expect(source.stats.requests).toBe(1);
    expect(source.rangesSupported).toBe(false);
    const log = await nginx.logSince(before, 1);
    expect(log.map((e) => [e.port, e.status])).toEqual([[nginx.noRangesPort, 200]]);
  });

  it('200 instead of 206: a container over the budget fails the open with E_IO, clearly', async () => {
    const source = await HttpSource.open(nginx.noRangesUrl('tail.h4mk'), { fullBodyBudget: 256 * KiB });
    const error = expectCode(await caught(() => H4mkReader.open(source)), 'E_IO');
    expect(error.message).toMatch(/does not support range requests/);
  });

  it('a container replaced mid-read: E_CHANGED from the reader, never bytes of two files', async () => {
    await put('changing.h4mk', bytesOf('tail.h4mk'));
    const reader = await H4mkReader.open(await HttpSource.open(nginx.url('changing.h4mk')));
    await reader.readSpan('video_main', 1_000_000);
    await replace('changing.h4mk', await writeSample(makeSample({ seed: 99, gops: 120, scale: 12 }), { compression: 'zstd' }));
    // 10 s: a span before the index suffix the open read (and keeps), so it needs a new request.
    expectCode(await caught(() => reader.readSpan('video_main', 10_000_000)), 'E_CHANGED');
    expectCode(await caught(() => reader.readBlock(0)), 'E_CHANGED');
  });

  it('404 is E_NOT_FOUND; an empty file is E_TRUNCATED; a 416 (the file shrank under the reader) is E_CHANGED', async () => {
    expectCode(await caught(async () => H4mkReader.open(await HttpSource.open(nginx.url('missing.h4mk')))), 'E_NOT_FOUND');
    // nginx answers any range on an empty file with an empty 200.
    expectCode(await caught(async () => H4mkReader.open(await HttpSource.open(nginx.url('empty.bin')))), 'E_TRUNCATED');
    expectCode(await caught(async () => H4mkReader.open(await HttpSource.open(nginx.url('empty.bin')), { layout: 'faststart' })), 'E_TRUNCATED');
    // The reader's own reads never start past the end it was told; a 416 means the file shrank.
    await put('shrinks.h4mk', bytesOf('tail.h4mk'));
    const reader = await H4mkReader.open(await HttpSource.open(nginx.url('shrinks.h4mk'), { conditional: 'none' }));
    await replace('shrinks.h4mk', bytesOf('tail.h4mk').subarray(0, 1000));
    const before = await nginx.mark();
    const error = expectCode(await caught(() => reader.readBlock(Math.floor(reader.blockCount / 3))), 'E_CHANGED');
    expect(error.message).toMatch(/size went from \d+ to 1000 bytes/);
    expect((await nginx.logSince(before, 1)).map((e) => e.status)).toEqual([416]);
  });

  describe('CLI with URLs (dist/cli/main.js)', () => {
    it('manifest, seek, range, block, verify and dump read a URL like a file', async () => {
      const url = nginx.url('tail.h4mk');
      const local = join(work, 'tail.h4mk');
      await writeFile(local, bytesOf('tail.h4mk'));
      for (const args of [
        ['manifest'],
        ['seek', '--track', 'video_main', '--pts-us', '4000000'],
        ['range', '--from-us', '1000000', '--to-us', '3000000'],
        ['verify'],
      ]) {
        const remote = await h4mkAsync([args[0] as string, url, ...args.slice(1), '--json']);
        const file = await h4mkAsync([args[0] as string, local, ...args.slice(1), '--json']);
        expect(remote.code, remote.stderr).toBe(0);
        const a = JSON.parse(remote.stdout) as Record<string, unknown>;
        const b = JSON.parse(file.stdout) as Record<string, unknown>;
        delete a.file;
        delete b.file;
        expect(a).toEqual(b);
      }
      const block = await h4mkAsync(['block', url, '--index', '77', '-o', join(work, 'b77.bin')]);
      expect(block.code, block.stderr).toBe(0);
      const want = await (await H4mkReader.open(new MemorySource(bytesOf('tail.h4mk')))).readBlock(77);
      expect(Buffer.from(readFileSync(join(work, 'b77.bin'))).equals(Buffer.from(want.payload))).toBe(true);
      const before = await nginx.mark();
      const dump = await h4mkAsync(['dump', url, '--json', '--stats']);
      expect(dump.code, dump.stderr).toBe(0);
      const doc = JSON.parse(dump.stdout) as { counts: Record<string, number>; stats: { requests: number } };
      // Version 2 (§6.5): one SEGT and one SEGD chunk per segment, no CORE chunk.
      expect(doc.counts.CORE).toBeUndefined();
      expect(doc.counts.SEGT).toBeGreaterThan(0);
      expect(doc.counts.SEGD).toBe(doc.counts.SEGT);
      // Read-ahead: a few 4 MiB requests, not two per chunk.
      expect(doc.stats.requests).toBe((await nginx.logSince(before, 1)).length);
      expect(doc.stats.requests).toBeLessThanOrEqual(Math.ceil(bytesOf('tail.h4mk').length / (4 * 1024 * KiB)) + 1);
    });

    it('--stats: one request to open a tail container, and with --layout faststart a faststart one', async () => {
      const text = await h4mkAsync(['seek', nginx.url('tail.h4mk'), '--track', 'video_main', '--pts-us', '7000000', '--stats']);
      expect(text.code).toBe(0);
      expect(text.stderr).toMatch(/^h4mk: stats: 1 request, \d+ bytes read in \d+ reads, \d+ from cache\n$/);
      const json = JSON.parse(
        (await h4mkAsync(['seek', nginx.url('fast.h4mk'), '--track', 'video_main', '--pts-us', '1000000', '--layout', 'faststart', '--stats', '--json']))
          .stdout,
      ) as {
        stats: { source: string; requests: number; bytes: number };
      };
      expect(json.stats).toMatchObject({ source: 'http', requests: 1 });
      const unhinted = JSON.parse(
        (await h4mkAsync(['seek', nginx.url('fast.h4mk'), '--track', 'video_main', '--pts-us', '1000000', '--stats', '--json'])).stdout,
      ) as { stats: { requests: number } };
      expect(unhinted.stats.requests).toBe(2);
      const file = JSON.parse((await h4mkAsync(['manifest', join(work, 'tail.h4mk'), '--stats', '--json'])).stdout) as {
        stats: { source: string; requests: number };
      };
      expect(file.stats).toMatchObject({ source: 'file', requests: 0 });
    });

    it('404, 416 and 200-over-budget are input errors (exit 2) with typed codes; a file replaced mid-read is E_CHANGED', async () => {
      const missing = await h4mkAsync(['manifest', nginx.url('missing.h4mk')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^h4mk: error: E_NOT_FOUND: http:\/\/127\.0\.0\.1:\d+\/missing\.h4mk was not found \(HTTP 404\)/);
      const empty = JSON.parse((await h4mkAsync(['verify', nginx.url('empty.bin'), '--json'])).stdout) as { ok: boolean; failures: { code: string }[] };
      expect(empty.ok).toBe(false);
      const emptyText = await h4mkAsync(['manifest', nginx.url('empty.bin'), '--layout', 'faststart']);
      expect(emptyText.code, emptyText.stderr).toBe(2);
      expect(emptyText.stderr).toMatch(/E_TRUNCATED: file of 0 bytes/);
      // 200 instead of 206 within the budget works (one request)…
      const whole = await h4mkAsync(['manifest', nginx.noRangesUrl('tail.h4mk'), '--stats']);
      expect(whole.code).toBe(0);
      expect(whole.stderr).toMatch(/stats: 1 request/);

      // A file replaced between two requests of one run, made deterministic by a proxy that swaps it after the first answer.
      await put('swap.h4mk', bytesOf('tail.h4mk'));
      const other = await writeSample(makeSample({ seed: 5, gops: 120, scale: 12 }), { compression: 'zstd' });
      let answered = 0;
      let stripIfRange = false;
      const proxy: Server = createServer(async (req, res) => {
        const headers: Record<string, string> = {};
        for (const h of ['range', 'if-range', 'if-match'])
          if (typeof req.headers[h] === 'string' && !(h === 'if-range' && stripIfRange)) headers[h] = req.headers[h] as string;
        const upstream = await fetch(`http://127.0.0.1:${nginx.port}${req.url}`, { headers });
        const body = Buffer.from(await upstream.arrayBuffer());
        const out: Record<string, string> = {};
        upstream.headers.forEach((v, k) => {
          if (k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = v;
        });
        res.writeHead(upstream.status, out);
        res.end(body);
        if (++answered === 1) await replace('swap.h4mk', swapTo);
      });
      let swapTo = other;
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const port = (proxy.address() as { port: number }).port;
      try {
        const swapped = await h4mkAsync(['range', `http://127.0.0.1:${port}/swap.h4mk`, '--from-us', '0', '--to-us', '2000000']);
        expect(swapped.code).toBe(2);
        expect(swapped.stderr).toMatch(/^h4mk: error: E_CHANGED: .*swap\.h4mk changed while being read/);
        expect(swapped.stderr).toMatch(/h4mk: hint: the file changed on the server/);
        // Without If-Range (a proxy that drops it), a file that shrank answers 416: still E_CHANGED, exit 2.
        await put('swap.h4mk', bytesOf('tail.h4mk'));
        answered = 0;
        stripIfRange = true;
        swapTo = bytesOf('tail.h4mk').subarray(0, 5000);
        const shrunk = await h4mkAsync(['range', `http://127.0.0.1:${port}/swap.h4mk`, '--from-us', '0', '--to-us', '2000000']);
        expect(shrunk.code).toBe(2);
        expect(shrunk.stderr).toMatch(/^h4mk: error: E_CHANGED: .*its size went from \d+ to 5000 bytes/);
      } finally {
        proxy.close();
      }
    });

    it('no request of this suite used an open-ended range', async () => {
      const log: AccessLogEntry[] = await nginx.log();
      expect(log.filter((e) => !/^bytes=(\d+-\d+|-\d+)$/.test(e.range))).toEqual([]);
    });
  });
});
