/**
 * §14 Live append end to end: a live writer in a child process
 * (test/support/writer-child.mjs) writes slowly, in place, into nginx's root,
 * while readers follow it locally and over HTTP, and `h4mk tail` follows it
 * as a file and as a URL. Readers see every block within one checkpoint,
 * never a block that was not written yet, and can seek in what is written.
 * Also `h4mk pack --live` fed slowly on stdin, and finished by SIGINT.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, H4mkReader, H4mkWriter, MemorySink, type RandomAccessSource } from '../src/node.js';
import { decodeChunk } from '../src/format/chunk.js';
import { openAppendOnlyHttpSource } from '../src/io/growing-http.js';
import { Rng } from './helpers.js';
import { NGINX_SKIPPED, type Nginx, startNginx } from './support/nginx.js';
// @ts-expect-error: a plain .mjs shared with the child process
import { blockAt } from './support/writer-child.mjs';

const CHILD = fileURLToPath(new URL('./support/writer-child.mjs', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const expectedBlock = blockAt as (i: number, seed: number) => { track: string; pts: number; payload: Uint8Array };

const BLOCKS = 180;
const DELAY_MS = 15;
const CHECKPOINT_MS = 150;
const POLL_MS = 40;
const SEED = 77;

type Observation = { at: number; blocks: number; checkedSpans: number };
type Proc = { child: ChildProcess; stdout: () => string; stderr: () => string; done: Promise<number | null> };

function start(args: string[], options: { stdin?: boolean } = {}): Proc {
  const child = spawn(process.execPath, args, { stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, done };
}

/** Log entries of the writer: when each block was begun and done. */
function writerLog(path: string): { begun: Map<number, number>; done: Map<number, number> } {
  const begun = new Map<number, number>();
  const done = new Map<number, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as { b?: number; d?: number; t: number };
    if (e.b !== undefined) begun.set(e.b, e.t);
    if (e.d !== undefined) done.set(e.d, e.t);
  }
  return { begun, done };
}

/**
 * Follows the growing file until `stop()`: every POLL_MS a fresh live open,
 * its block count, and a decodable span at a random visible time checked
 * against the writer's blocks.
 */
async function follow(open: () => Promise<RandomAccessSource>, stop: () => boolean, seed: number): Promise<Observation[]> {
  const rng = new Rng(seed);
  const seen: Observation[] = [];
  let checkedSpans = 0;
  for (;;) {
    const finished = stop();
    const source = await open();
    try {
      const reader = await H4mkReader.open(source, { live: true });
      const at = Date.now();
      const video = reader.track('video_main');
      if (video.lastPtsUs !== null) {
        const t = rng.int(0, video.lastPtsUs);
        const span = await reader.readSpan('video_main', t);
        for (const b of span?.blocks ?? []) {
          const want = expectedBlock(b.coreIndex, SEED);
          expect(b.pts).toBe(want.pts);
          expect(Buffer.from(b.payload).equals(Buffer.from(want.payload))).toBe(true);
        }
        checkedSpans++;
      }
      seen.push({ at, blocks: reader.blockCount, checkedSpans });
    } catch (error) {
      // Before the first checkpoint there is nothing durable to open yet.
      if (!(error instanceof Error && 'code' in error && (error as { code: string }).code === 'E_TRUNCATED')) throw error;
    } finally {
      await source.close?.();
    }
    if (finished) return seen;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

describe.skipIf(NGINX_SKIPPED)('live append: a slow writer followed locally and over nginx', () => {
  let nginx: Nginx;
  let work: string;

  beforeAll(async () => {
    nginx = await startNginx();
    work = mkdtempSync(join(tmpdir(), 'h4mk-live-'));
  });
  afterAll(async () => {
    await nginx?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('readers see the file grow checkpoint by checkpoint, never a block not yet written, and can seek in what is written', async () => {
    const path = join(nginx.root, 'live.h4mk');
    const log = join(work, 'live.log');
    const url = nginx.url('live.h4mk');
    const writer = start([
      CHILD,
      '--out',
      path,
      '--log',
      log,
      '--live',
      '--blocks',
      String(BLOCKS),
      '--delay-ms',
      String(DELAY_MS),
      '--checkpoint-ms',
      String(CHECKPOINT_MS),
      '--seed',
      String(SEED),
    ]);
    while (!writer.stdout().includes('"ready"')) {
      if (writer.child.exitCode !== null) throw new Error(writer.stderr());
      await new Promise((r) => setTimeout(r, 5));
    }
    let writerDone = false;
    const finished = writer.done.then((code) => {
      writerDone = true;
      return code;
    });
    const tailFile = start([MAIN, 'tail', path, '--json', '--from-start', '--exit-on-finish', '--interval-ms', '50']);
    const tailUrl = start([MAIN, 'tail', url, '--json', '--from-start', '--exit-on-finish', '--interval-ms', '50', '--stats']);
    const [local, remote] = await Promise.all([
      follow(
        () => FileSource.open(path),
        () => writerDone,
        1,
      ),
      follow(
        () => openAppendOnlyHttpSource(url),
        () => writerDone,
        2,
      ),
    ]);
    expect(await finished, writer.stderr()).toBe(0);
    const { begun, done } = writerLog(log);
    expect(done.size).toBe(BLOCKS);

    for (const [name, seen] of [
      ['local', local],
      ['http', remote],
    ] as const) {
      // The reader followed the file while it grew: several opens saw part of it (how many depends on the machine's speed).
      const partial = new Set(seen.filter((o) => o.blocks > 0 && o.blocks < BLOCKS).map((o) => o.blocks));
      expect(partial.size, name).toBeGreaterThanOrEqual(3);
      // Block counts only grow, and never include a block the writer had not begun.
      for (let k = 1; k < seen.length; k++) expect((seen[k] as Observation).blocks).toBeGreaterThanOrEqual((seen[k - 1] as Observation).blocks);
      for (const o of seen) if (o.blocks > 0) expect(begun.get(o.blocks - 1) ?? Infinity, name).toBeLessThanOrEqual(o.at);
      // The last open, after the writer finished, sees everything.
      expect(seen[seen.length - 1]?.blocks).toBe(BLOCKS);
      // Latency: from a block's durable write to the first open that shows it.
      const latencies: number[] = [];
      for (let i = 0; i < BLOCKS; i++) {
        const first = seen.find((o) => o.blocks > i);
        latencies.push((first?.at ?? Infinity) - (done.get(i) as number));
      }
      latencies.sort((a, b) => a - b);
      const max = latencies[latencies.length - 1] as number;
      console.info(
        `live ${name}: ${seen.length} opens, ${seen[seen.length - 1]?.checkedSpans} spans checked; block visible after median ` +
          `${latencies[Math.floor(latencies.length / 2)]} ms, p90 ${latencies[Math.floor(latencies.length * 0.9)]} ms, max ${max} ms ` +
          `(checkpoint every ${CHECKPOINT_MS} ms, opens every ${POLL_MS} ms + open time)`,
      );
      // The latency is a figure, not an assertion (a timed bound failed on a loaded machine: 2.4 s there,
      // 0.3 s quiet); what is asserted is exact: counts only grow, no block before it was begun, the
      // file seen while growing, everything at the end.
      expect(Number.isFinite(max), name).toBe(true);
    }

    // The finished live file is an ordinary tail container; dump shows its checkpoints, without calling them damage.
    const reader = await H4mkReader.open(await FileSource.open(path));
    expect(reader.blockCount).toBe(BLOCKS);
    expect((await reader.verify()).ok).toBe(true);
    await reader.close();
    const dump = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const p = start([MAIN, 'dump', url, '--json']);
      void p.done.then((code) => resolve({ code, stdout: p.stdout() }));
    });
    expect(dump.code).toBe(0);
    const doc = JSON.parse(dump.stdout) as { problems: number; counts: Record<string, number>; chunks: { type: string; footer?: unknown }[] };
    expect(doc.problems).toBe(0);
    expect(doc.counts.FOOT).toBeGreaterThan(3);
    expect(doc.chunks.filter((c) => c.type === 'FOOT').every((c) => c.footer !== undefined)).toBe(true);
    expect(doc.counts.TRAK).toBe(doc.counts.FOOT);

    // h4mk tail, on the file and on the URL: every block once, in order, then exits by itself.
    for (const [name, tail] of [
      ['file', tailFile],
      ['url', tailUrl],
    ] as const) {
      expect(await tail.done, `${name}: ${tail.stderr()}`).toBe(0);
      const lines = tail
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { core_index?: number; stats?: { requests: number } });
      const blocks = lines.filter((l) => l.core_index !== undefined).map((l) => l.core_index);
      expect(blocks, name).toEqual(Array.from({ length: BLOCKS }, (_, i) => i));
      // It followed the growth (more than one open); how many polls fit in the run depends on the machine's speed,
      // and since tail stops at the final FOOT it no longer spends a confirming poll at the end.
      if (name === 'url') expect(lines[lines.length - 1]?.stats?.requests).toBeGreaterThan(1);
    }
  }, 60_000);

  it('h4mk pack --live on a slow stdin: tail sees blocks as they come; closing stdin finishes the file', async () => {
    const out = join(nginx.root, 'packed-live.h4mk');
    const pack = start([MAIN, 'pack', '-', '-o', out, '--live', '--checkpoint-ms', '100', '--json'], { stdin: true });
    const stdin = pack.child.stdin;
    if (stdin === null) throw new Error('no stdin');
    stdin.write(`${JSON.stringify({ track: { id: 'v', kind: 'video', codec: 'opaque', timescale: 1000 } })}\n`);
    const line = (i: number) =>
      `${JSON.stringify({ track: 'v', pts: i * 40, keyframe: i % 10 === 0, payload_b64: Buffer.from(`frame ${i}`.repeat(20)).toString('base64') })}\n`;
    stdin.write(line(0));
    while (!existsSync(out)) await new Promise((r) => setTimeout(r, 5));
    const tail = start([MAIN, 'tail', nginx.url('packed-live.h4mk'), '--from-start', '--exit-on-finish', '--interval-ms', '40']);
    const N = 120;
    for (let i = 1; i < N; i++) {
      stdin.write(line(i));
      await new Promise((r) => setTimeout(r, 5));
    }
    // Before the end: a live open sees a durable prefix of what was sent.
    const mid = await H4mkReader.open(await FileSource.open(out), { live: true });
    expect(mid.blockCount).toBeGreaterThan(0);
    expect(mid.blockCount).toBeLessThan(N);
    await mid.close();
    stdin.end();
    expect(await pack.done, pack.stderr()).toBe(0);
    const summary = JSON.parse(pack.stdout()) as { block_count?: number; live: { checkpoints: number } };
    expect(summary.live.checkpoints).toBeGreaterThan(1);
    expect(await tail.done, tail.stderr()).toBe(0);
    const rows = tail.stdout().trim().split('\n');
    expect(rows[0]).toMatch(/^core_index track pts_us/);
    expect(rows.slice(1).map((r) => Number(r.split(' ')[0]))).toEqual(Array.from({ length: N }, (_, i) => i));
    const reader = await H4mkReader.open(await FileSource.open(out));
    expect(reader.blockCount).toBe(N);
    expect((await reader.verify()).ok).toBe(true);
    await reader.close();
  }, 60_000);

  it('tail --exit-on-finish waits through a writer paused right after a checkpoint for many polls, and ends exactly at the final FOOT', async () => {
    // The writer's bytes, made ahead: a checkpoint after every segment, 10 segments.
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { live: { checkpointMs: 0 } });
    writer.addTrack({ id: 'v', kind: 'video', codec: 'opaque' });
    for (let i = 0; i < 10; i++)
      await writer.writeBlock({ track: 'v', ptsUs: i * 40_000, durationUs: 40_000, keyframe: true, payload: new TextEncoder().encode(`frame ${i}`) });
    await writer.finish();
    const bytes = sink.bytes();
    // Where the fifth checkpoint's FOOT ends: the file a writer paused right after it leaves behind.
    let cut = 0;
    let feet = 0;
    for (let p = 32; p < bytes.length && feet < 5; ) {
      const c = decodeChunk(bytes, p);
      if (c.type === 'FOOT') {
        feet++;
        cut = c.end;
      }
      p = c.end;
    }
    const out = join(work, 'paused-live.h4mk');
    writeFileSync(out, bytes.subarray(0, cut));
    const tail = start([MAIN, 'tail', out, '--from-start', '--exit-on-finish', '--interval-ms', '20']);
    let exited = false;
    void tail.done.then(() => {
      exited = true;
    });
    // 1.5 s of a file that ends with a FOOT and does not change: ~75 polls.
    await new Promise((r) => setTimeout(r, 1500));
    expect(exited, tail.stdout()).toBe(false);
    appendFileSync(out, bytes.subarray(cut));
    expect(await tail.done, tail.stderr()).toBe(0);
    const rows = tail.stdout().trim().split('\n');
    expect(rows.slice(1).map((r) => Number(r.split(' ')[0]))).toEqual(Array.from({ length: 10 }, (_, i) => i));
  }, 60_000);

  it('h4mk pack --live: SIGINT ends the input and finishes the container', async () => {
    const out = join(work, 'interrupted.h4mk');
    const pack = start([MAIN, 'pack', '-', '-o', out, '--live'], { stdin: true });
    const stdin = pack.child.stdin;
    if (stdin === null) throw new Error('no stdin');
    stdin.write(`${JSON.stringify({ track: { id: 'v', kind: 'video', codec: 'opaque', timescale: 1000 } })}\n`);
    for (let i = 0; i < 50; i++) stdin.write(`${JSON.stringify({ track: 'v', pts: i * 40, keyframe: i % 10 === 0, payload_b64: 'AAAA' })}\n`);
    while (!existsSync(out)) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 300));
    pack.child.kill('SIGINT');
    expect(await pack.done, pack.stderr()).toBe(0);
    const reader = await H4mkReader.open(await FileSource.open(out));
    expect(reader.blockCount).toBe(50);
    expect((await reader.verify()).ok).toBe(true);
    await reader.close();
    // Refuses to overwrite: a live file is written in place (with --force it would be removed first).
    const again = start([MAIN, 'pack', '-', '-o', out, '--live'], { stdin: true });
    again.child.stdin?.end();
    expect(await again.done).toBe(2);
    expect(again.stderr()).toMatch(/exists; refusing to replace it/);
  }, 60_000);
});
