/**
 * Live ingest from standard input: `ffmpeg -re -i SRC -c copy -f matroska - |
 * h4mk import - -o X --live`. While ffmpeg plays the source in real time, a
 * live reader sees the block count grow; at the end the file verifies and
 * `h4mk export X -o Y.mkv` gives the source's packets (ffmpeg framemd5 -c
 * copy: sizes and hashes per stream). The test relays ffmpeg's output to
 * h4mk itself, so it knows when each byte arrived and can measure how long a
 * packet takes from the pipe to a durable checkpoint (printed, loosely
 * bounded). Also: the stream importer gives the file importer's tracks and
 * blocks (Matroska, MPEG-TS), laced blocks, SIGTERM, one-line errors, and the
 * online decode times against decodeOrderTimes.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, H4mkReader, importMedia, MemorySink, MemorySource } from '../src/node.js';
import { ByteReader } from '../src/media/byte-reader.js';
import { concat, element, floatElement, Id, idBytes, intBytes, stringElement, uintElement } from '../src/media/matroska/ebml.js';
import { importStream } from '../src/media/live-import.js';
import { MkvDemuxer } from '../src/media/matroska/scan.js';
import { StreamRetimer } from '../src/media/stream-timing.js';
import { decodeOrderTimes } from '../src/media/timing.js';
import { packetHashes, requireFfmpeg, SKIP_FFMPEG } from './media/ffmpeg.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const CHECKPOINT_MS = 500;
const POLL_MS = 50;
let dir: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function h4mk(args: string[], input?: Uint8Array): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, input, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args]);
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr.toString()}`);
}

type Seen = { t: number; blocks: number };
type LiveRun = {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The bytes ffmpeg wrote, as h4mk received them. */
  stream: Uint8Array;
  /** When the byte ending at `end` arrived (ms, performance.now()). */
  arrivals: { end: number; t: number }[];
  /** Live opens: block count by time. */
  seen: Seen[];
  /** First time each block (core_index) was visible to a live reader, with its track and pts. */
  visible: { t: number; track: string }[];
  ffmpegStart: number;
};

/**
 * Plays `source` with `ffmpeg -re … -f matroska -`, relays its output to
 * `h4mk import - -o out --live`, and follows `out` with live opens until h4mk
 * exits. `stopAfterMs`: SIGTERM to h4mk that long after the first visible block.
 */
async function liveRun(source: string, out: string, options: { format?: string; stopAfterMs?: number } = {}): Promise<LiveRun> {
  const importer = spawn(process.execPath, [MAIN, 'import', '-', '-o', out, '--live', '--checkpoint-ms', String(CHECKPOINT_MS), '--json'], {
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  importer.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  importer.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  importer.stdin.on('error', () => {}); // EPIPE once h4mk has stopped reading (SIGTERM)
  const done = new Promise<number | null>((resolve) => importer.once('close', (code) => resolve(code)));
  const ffmpegStart = performance.now();
  const producer: ChildProcess = spawn(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-re', '-i', source, '-map', '0', '-c', 'copy', '-f', options.format ?? 'matroska', '-'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const chunks: Buffer[] = [];
  const arrivals: { end: number; t: number }[] = [];
  let offset = 0;
  producer.stdout?.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    offset += chunk.length;
    arrivals.push({ end: offset, t: performance.now() });
    if (importer.stdin.writable) importer.stdin.write(chunk);
  });
  producer.stdout?.on('end', () => importer.stdin.end());
  let exited = false;
  void done.then(() => {
    exited = true;
  });
  const seen: Seen[] = [];
  const visible: { t: number; track: string }[] = [];
  let stopAt = Number.POSITIVE_INFINITY;
  for (;;) {
    // One more open after h4mk exits: the final index shows the last blocks.
    const finished = exited;
    const t = performance.now();
    if (t >= stopAt) {
      importer.kill('SIGTERM');
      stopAt = Number.POSITIVE_INFINITY;
    }
    let source: FileSource | undefined;
    try {
      source = await FileSource.open(out);
      const reader = await H4mkReader.open(source, { live: true });
      seen.push({ t, blocks: reader.blockCount });
      for (let i = visible.length; i < reader.blockCount; i++) visible.push({ t, track: (await reader.blockInfo(i)).trackId });
      if (options.stopAfterMs !== undefined && visible.length > 0 && stopAt === Number.POSITIVE_INFINITY && !importer.killed) stopAt = t + options.stopAfterMs;
    } catch (error) {
      // Before the file exists, and before its first checkpoint, there is nothing to open yet.
      const code = (error as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'E_TRUNCATED') throw error;
    } finally {
      await source?.close();
    }
    if (finished) break;
    await sleep(POLL_MS);
  }
  producer.kill('SIGKILL');
  return { code: await done, stdout, stderr, stream: Buffer.concat(chunks), arrivals, seen, visible, ffmpegStart };
}

/** Milliseconds from a block's bytes arriving on the pipe to a live reader seeing it, per block: median, p95, max. */
async function pipeToCheckpoint(run: LiveRun): Promise<{ median: number; p95: number; max: number; n: number }> {
  const reader = await ByteReader.open(new MemorySource(run.stream), 'stream');
  const demuxer = await MkvDemuxer.open(reader);
  // The k-th block of video_0 / audio_0 is the k-th frame of the first video / audio TrackEntry.
  const kinds = new Map(demuxer.tracks.map((t) => [t.number, t.type === 1 ? 'video' : t.type === 2 ? 'audio' : 'other']));
  const ends = new Map<string, number[]>();
  for await (const b of demuxer.blocks({ payloads: false })) {
    const id = `${kinds.get(b.track)}_0`;
    if (!ends.has(id)) ends.set(id, []);
    for (const _ of b.frames) ends.get(id)?.push(b.offset + 1);
  }
  const counters = new Map<string, number>();
  const delays: number[] = [];
  for (const v of run.visible) {
    const k = counters.get(v.track) ?? 0;
    counters.set(v.track, k + 1);
    const at = ends.get(v.track)?.[k];
    if (at === undefined) continue;
    const arrival = run.arrivals.find((a) => a.end >= at);
    if (arrival !== undefined) delays.push(v.t - arrival.t);
  }
  delays.sort((a, b) => a - b);
  const q = (p: number) => Math.round(delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] ?? Number.NaN);
  return { median: q(0.5), p95: q(0.95), max: q(1), n: delays.length };
}

/** Per-track blocks of a container: pts, dts, duration, keyframe, kind, md5. */
async function blockLists(bytesOrPath: Uint8Array | string): Promise<{ tracks: unknown[]; blocks: Record<string, string[]> }> {
  const source = typeof bytesOrPath === 'string' ? await FileSource.open(bytesOrPath) : new MemorySource(bytesOrPath);
  try {
    const reader = await H4mkReader.open(source);
    const blocks: Record<string, string[]> = {};
    for await (const b of reader.blocks({})) {
      if (!('payload' in b)) continue;
      blocks[b.trackId] ??= [];
      blocks[b.trackId]?.push([b.pts, b.dts, b.duration, b.keyframe, b.frameKind, createHash('md5').update(b.payload).digest('hex')].join(','));
    }
    const tracks = reader.tracks().map((t) => {
      const m = { ...(t.extra.matroska as Record<string, unknown> | undefined) };
      // What only a whole file tells (BlockGroups, BlockDurations, lacing) is not known to a live import.
      for (const k of ['block_groups', 'block_durations', 'discard_padding', 'invisible', 'laced']) delete m[k];
      return {
        id: t.id,
        kind: t.kind,
        codec: t.codec,
        config: Buffer.from(t.config).toString('hex'),
        timescale: t.timescale,
        language: t.language,
        extra: { ...t.extra, matroska: m },
      };
    });
    return { tracks, blocks };
  } finally {
    await source.close?.();
  }
}

/** The file importer's container of `path`, in memory. */
async function importFile(path: string): Promise<Uint8Array> {
  const sink = new MemorySink();
  await importMedia(path, sink);
  return sink.bytes();
}

function expectSamePackets(a: string, b: string): void {
  const x = packetHashes(a);
  const y = packetHashes(b);
  expect([...y.keys()]).toEqual([...x.keys()]);
  for (const [stream, packets] of x) {
    expect(y.get(stream)?.length, `stream ${stream} packet count`).toBe(packets.length);
    expect(y.get(stream), `stream ${stream} sizes and hashes`).toEqual(packets);
  }
}

describe('StreamRetimer: decode times as packets arrive', () => {
  it('equals decodeOrderTimes (dts and gaps) for B-frame patterns, short tracks and announced depths', () => {
    for (let n = 1; n < 40; n++) {
      const pyramid = [0];
      for (let g = 1; g + 3 < n; g += 4) pyramid.push((g + 3) * 33, (g + 1) * 33, g * 33, (g + 2) * 33);
      for (const announced of [null, 1, 2, 4]) {
        const want = decodeOrderTimes(Float64Array.from(pyramid), true, announced);
        const r = new StreamRetimer<number>(true, Math.max(want.delay, announced ?? 0));
        const got = pyramid.flatMap((pts, i) => r.push(i, pts, true)).concat(r.end());
        expect(got.map((g) => g.item)).toEqual(pyramid.map((_, i) => i));
        expect(got.map((g) => g.dts)).toEqual([...want.dts]);
        expect(got.map((g) => g.gap)).toEqual([...want.gap]);
      }
    }
  });
});

describe.skipIf(SKIP_FFMPEG)('import - --live: a Matroska stream from ffmpeg -re', () => {
  beforeAll(() => {
    requireFfmpeg();
    dir = mkdtempSync(join(tmpdir(), 'h4mk-live-import-'));
    const picture = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6'];
    ffmpeg([...picture, '-c:v', 'libx264', '-g', '30', '-bf', '2', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', join(dir, 'h264-aac.mp4')]);
    ffmpeg([
      ...picture,
      '-c:v',
      'libvpx-vp9',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-g',
      '30',
      '-c:a',
      'libopus',
      '-shortest',
      join(dir, 'vp9-opus.webm'),
    ]);
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['h264-aac.mp4', 'vp9-opus.webm']) {
    it(`${name}: readers see the file grow; it verifies; export gives the source's packets`, async () => {
      const out = join(dir, `${name}.h4mk`);
      const run = await liveRun(join(dir, name), out);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const summary = JSON.parse(run.stdout) as { blocks: number; live: { checkpoints: number }; tracks: { kind: string }[] };
      expect(summary.tracks.map((t) => t.kind)).toEqual(['video', 'audio']);
      expect(summary.live.checkpoints).toBeGreaterThanOrEqual(3);

      // The block count grew while ffmpeg was still playing the source in real time.
      const counts = run.seen.map((s) => s.blocks);
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1] as number);
      const distinct = new Set(counts.filter((c) => c > 0 && c < summary.blocks));
      expect(distinct.size).toBeGreaterThanOrEqual(3);

      const latency = await pipeToCheckpoint(run);
      const first = run.seen.find((s) => s.blocks > 0);
      console.log(
        `${name}: ${summary.blocks} blocks, ${summary.live.checkpoints} checkpoints; pipe → durable checkpoint (seen by a live reader, poll ${POLL_MS} ms): ` +
          `median ${latency.median} ms, p95 ${latency.p95} ms, max ${latency.max} ms over ${latency.n} blocks; first block visible ${Math.round((first?.t ?? 0) - run.ffmpegStart)} ms after ffmpeg started`,
      );
      expect(latency.n).toBe(summary.blocks);
      expect(latency.median).toBeLessThan(5000);

      expect(h4mk(['verify', out]).code).toBe(0);
      const streamFile = join(dir, `${name}.stream.mkv`);
      writeFileSync(streamFile, run.stream);
      const exported = join(dir, `${name}.export.mkv`);
      const e = h4mk(['export', out, '-o', exported]);
      expect(e.stderr).toBe('');
      expect(e.code).toBe(0);
      expectSamePackets(join(dir, name), exported);

      // The file importer on the same bytes: the same tracks and blocks.
      expect(await blockLists(out)).toEqual(await blockLists(await importFile(streamFile)));
    });
  }

  it('SIGTERM ends the input and finishes the file; what arrived verifies', async () => {
    const out = join(dir, 'stopped.h4mk');
    const run = await liveRun(join(dir, 'h264-aac.mp4'), out, { stopAfterMs: 600 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { blocks: number };
    expect(summary.blocks).toBeGreaterThan(0);
    const all = [...packetHashes(join(dir, 'h264-aac.mp4')).values()].reduce((n, p) => n + p.length, 0);
    expect(summary.blocks).toBeLessThan(all);
    expect(h4mk(['verify', out]).code).toBe(0);
  });

  it("MPEG-TS on stdin: the file importer's tracks and blocks", async () => {
    const ts = join(dir, 'h264-aac.ts');
    ffmpeg(['-i', join(dir, 'h264-aac.mp4'), '-c', 'copy', '-f', 'mpegts', ts]);
    const r = h4mk(['import', '-', '-o', 'ts.h4mk', '--live', '--json'], readFileSync(ts));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { format: string }).format).toBe('mpegts');
    expect(await blockLists(join(dir, 'ts.h4mk'))).toEqual(await blockLists(await importFile(ts)));
  });

  it('laced blocks (Xiph, fixed, EBML) are split, each frame at its DefaultDuration step', async () => {
    const mka = join(dir, 'cbr.mka');
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000', '-t', '2', '-c:a', 'libopus', '-b:a', '48k', '-vbr', 'off', mka]);
    const source = await MkvDemuxer.open(await ByteReader.open(new MemorySource(readFileSync(mka)), mka));
    const opus = source.tracks[0];
    const frames: Uint8Array[] = [];
    for await (const b of source.blocks({ payloads: true })) frames.push(...b.frames);
    const laced = syntheticOpus(frames, opus?.codecPrivate ?? new Uint8Array(0), true);
    const plain = syntheticOpus(frames, opus?.codecPrivate ?? new Uint8Array(0), false);
    const imported = async (bytes: Uint8Array) => {
      const sink = new MemorySink();
      const summary = await importStream(chunked(bytes), sink, { name: 'synthetic' });
      expect(summary.blocks).toBe(frames.length);
      return blockLists(sink.bytes());
    };
    const a = await imported(laced);
    expect(a).toEqual(await imported(plain));
    expect(a.blocks.audio_0?.slice(0, 3).map((l) => Number(l.split(',')[0]))).toEqual([0, 20, 40]);
  });

  it('refuses an existing output and a stream that is not media, in one line, exit 2', () => {
    writeFileSync(join(dir, 'exists.h4mk'), 'x');
    const exists = h4mk(['import', '-', '-o', 'exists.h4mk', '--live'], readFileSync(join(dir, 'vp9-opus.webm')));
    expect(exists.code).toBe(2);
    expect(exists.stderr.trimEnd().split('\n')[0]).toMatch(/^h4mk: error: exists\.h4mk:? (file )?exists/);
    expect(readFileSync(join(dir, 'exists.h4mk'), 'utf8')).toBe('x');

    const garbage = h4mk(['import', '-', '-o', 'garbage.h4mk', '--live'], new TextEncoder().encode('hello, this is not a media stream\n'.repeat(40)));
    expect(garbage.code).toBe(2);
    const lines = garbage.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^h4mk: error: <stdin>: the input is neither Matroska\/WebM .* nor MPEG-TS/);
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(existsSync(join(dir, 'garbage.h4mk'))).toBe(false);

    const flags = h4mk(['import', '-', '-o', 'x.h4mk', '--checkpoint-ms', '100'], new Uint8Array(0));
    expect(flags.code).toBe(2);
    expect(flags.stderr).toMatch(/^h4mk: error: --checkpoint-blocks and --checkpoint-ms need --live/);
  });
});

/** `bytes` in chunks of 1 to 997 bytes, so elements straddle them. */
async function* chunked(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = 1 + ((i * 7919) % 997);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

/**
 * A Matroska stream (unknown-size Segment and Clusters, as a live muxer
 * writes) of one Opus track with DefaultDuration 20 ms: one frame per
 * SimpleBlock, or four per block laced Xiph, fixed and EBML in turn.
 */
function syntheticOpus(frames: Uint8Array[], opusHead: Uint8Array, lace: boolean): Uint8Array {
  const unknown = (id: number) => concat([idBytes(id), Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)]);
  const parts: Uint8Array[] = [
    element(Id.EBML, [
      uintElement(Id.EBMLVersion, 1),
      stringElement(Id.DocType, 'matroska'),
      uintElement(Id.DocTypeVersion, 4),
      uintElement(Id.DocTypeReadVersion, 2),
    ]),
    unknown(Id.Segment),
    element(Id.Info, [uintElement(Id.TimestampScale, 1_000_000), stringElement(Id.MuxingApp, 'test')]),
    element(Id.Tracks, [
      element(Id.TrackEntry, [
        uintElement(Id.TrackNumber, 1),
        uintElement(Id.TrackUID, 1),
        uintElement(Id.TrackType, 2),
        stringElement(Id.CodecID, 'A_OPUS'),
        element(Id.CodecPrivate, opusHead),
        uintElement(Id.DefaultDuration, 20_000_000),
        element(Id.Audio, [floatElement(Id.SamplingFrequency, 48000), uintElement(Id.Channels, 1)]),
      ]),
    ]),
  ];
  const per = lace ? 4 : 1;
  for (let i = 0, n = 0; i < frames.length; i += per, n++) {
    if (i % 100 === 0) parts.push(unknown(Id.Cluster), uintElement(Id.Timestamp, i * 20));
    const group = frames.slice(i, i + per);
    const lacing = group.length === 1 ? 0 : ([1, 2, 3][n % 3] as number);
    const sizes = group.map((f) => f.length);
    let head: number[] = [];
    if (lacing === 1) for (const s of sizes.slice(0, -1)) head.push(...Array(Math.floor(s / 255)).fill(255), s % 255);
    if (lacing === 3) {
      head = [...sizeVint(sizes[0] as number)];
      for (let j = 1; j < sizes.length - 1; j++) head.push(...signedVint((sizes[j] as number) - (sizes[j - 1] as number)));
    }
    if (lacing === 2 && new Set(sizes).size > 1) throw new Error('fixed lacing needs equal frame sizes (CBR Opus)');
    const relative = intBytes((i % 100) * 20);
    const header = Uint8Array.of(0x81, 0, 0, 0x80 | (lacing << 1));
    header.set(relative.length === 1 ? [0, relative[0] as number] : relative, 1);
    parts.push(element(Id.SimpleBlock, [header, ...(lacing === 0 ? [] : [Uint8Array.of(group.length - 1, ...head)]), ...group]));
  }
  return concat(parts);
}

function sizeVint(v: number): number[] {
  return v < 127 ? [0x80 | v] : [0x40 | (v >> 8), v & 0xff];
}

function signedVint(d: number): number[] {
  const raw = d + 8191; // 2-byte signed vint: bias 2^13 - 1
  return [0x40 | (raw >> 8), raw & 0xff];
}
