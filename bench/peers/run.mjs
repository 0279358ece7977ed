/**
 * Peer comparison (issue 8): h4mk against @mcap/core and mediabunny's MP4, on
 * the same data, in the same run. Run by `node bench/run.mjs` (all sections)
 * or `node bench/run.mjs --only peers`, or directly:
 *
 *   node bench/peers/run.mjs [--scale F] [--clip-seconds S] [--runs N] [--opens N]
 *                            [--seeks N] [--mcap-seeks N] [--blocks N] [--small-blocks N] [--skip-rss] [--keep]
 *
 * --scale F         synthetic workload = F × the 2-hour movie (default 0.2: 24 min, ~390 MiB)
 * --clip-seconds S  the demo clip's real packets looped to S seconds (default 1200)
 * --runs N          pack repetitions per variant, median reported (default 3)
 * --opens N         open + first seek repetitions (default 11)
 * --seeks N         random seek targets per track for h4mk and MP4 (default 2000)
 * --mcap-seeks N    the first N of the same targets for MCAP, ~1–6 ms each (default 500)
 * --blocks N        the "large" container: memory and seek latency (default 1,000,000)
 * --small-blocks N  the "small" container of the memory growth (default 100,000)
 * --skip-rss        no reader-memory children (the writer children still make the seek files)
 * --keep            keep the temporary directory
 * --json PATH       where the figures go (default bench/out/peers.json; smoke runs: elsewhere)
 *
 * Sections, each with its elapsed time:
 *   1. pack MB/s of (a) the synthetic stream and (b) the demo clip: plain copy
 *      (the limit), h4mk none / zstd / encrypted, mcap uncompressed / zstd, MP4;
 *      then importing real MP4 (the 4 s clip, and the looped clip's MP4) with
 *      h4mk's importMedia against mediabunny's own remux (Conversion);
 *   2. open + first keyframe (with payload) on the movie-shaped files;
 *   3. memory: peak RSS of each writer and reader, alone in a child process,
 *      at small and large block counts, and the growth per block;
 *   4. open + first seek and seek latency (median / p99 per call) at the
 *      large block count, on the files the writer children made.
 * Figures go to stdout and bench/out/peers.json (with `rows` for bench/report.mjs).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { fmtBytes, fmtInt, fmtNum, median, percentile, table } from '../lib/stats.mjs';
import { rng } from '../lib/workload.mjs';
import { importH4mk, MCAP_CHUNK_SIZE, OPENERS, PACKERS, remuxMp4 } from './formats.mjs';
import { peerRows } from './rows.mjs';
import { demoClip, synthetic } from './workloads.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: '0.2' },
    'clip-seconds': { type: 'string', default: '1200' },
    runs: { type: 'string', default: '3' },
    opens: { type: 'string', default: '11' },
    seeks: { type: 'string', default: '2000' },
    'mcap-seeks': { type: 'string', default: '500' },
    blocks: { type: 'string', default: '1000000' },
    'small-blocks': { type: 'string', default: '100000' },
    'skip-rss': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const SCALE = Number(args.scale);
const CLIP_SECONDS = Number(args['clip-seconds']);
const RUNS = Math.max(1, Number(args.runs));
const OPENS = Math.max(1, Number(args.opens));
const SEEKS = Math.max(10, Number(args.seeks));
const MCAP_SEEKS = Math.min(SEEKS, Math.max(10, Number(args['mcap-seeks'])));
/** Untimed seeks per track and mode on a separate reader before each format's timed passes. */
const WARM_SEEKS = Math.min(SEEKS, 1000);
const LARGE = Math.max(1000, Number(args.blocks));
const SMALL = Math.min(LARGE - 1, Math.max(100, Number(args['small-blocks'])));
const MOVIE_US = Math.round(2 * 3600e6 * SCALE);
const FORMATS = ['h4mk', 'mcap', 'mp4'];
const SEEK_TRACKS = ['video_main', 'audio_main'];

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'h4mk-peers-'));
const log = (msg) => process.stderr.write(`[peers ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
const out = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1),
  },
  command: `node ${process.argv
    .slice(1)
    .map((a) => a.replace(/^.*\/bench\//, 'bench/'))
    .join(' ')}`,
  loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
  args: { scale: SCALE, clipSeconds: CLIP_SECONDS, runs: RUNS, opens: OPENS, seeks: SEEKS, mcapSeeks: MCAP_SEEKS, blocks: LARGE, smallBlocks: SMALL },
  options: {
    h4mk: 'H4mkWriter + FileSink (tail layout, default segment policy); zstd level 3; encryption { secret } = AES-256-GCM per block. Reader: FileSource + H4mkReader.open defaults (256 cached segment tables, each block read checked against its SHA-256).',
    mcap: `@mcap/core McapWriter over @mcap/nodejs FileHandleWritable, defaults (chunked, chunkSize ${fmtBytes(MCAP_CHUNK_SIZE)}, message and chunk indexes, statistics, summary offsets, CRCs); compressChunk none or zstd level 3 (zstd-napi). One schemaless channel per track, logTime = dts, publishTime = pts. Reader: McapIndexedReader.Initialize over FileHandleReadable (defaults: CRCs checked, no message-index cache), readMessages({ topics, startTime }), first message.`,
    mp4: 'mediabunny Output + Mp4OutputFormat({ fastStart: false }) + FilePathTarget (default chunked writes); EncodedVideoPacketSource / EncodedAudioPacketSource, decoder config with the first packet, packets in decode order. Reader: Input(FilePathSource, [MP4]) + EncodedPacketSink.getKeyPacket(t) (metadataOnly for index-only seeks). The JSON control track has no MP4 track type: MP4 files carry video + audio only. Decoder configs: synthetic stream, codec avc with a minimal avcC (no SPS/PPS: random payloads, a muxing-throughput test) and the AAC AudioSpecificConfig; demo clip, its real avcC and AudioSpecificConfig (the looped MP4 decodes with ffmpeg).',
    import:
      "h4mk importMedia(path, FileSink, { compression: 'none' }) (what `h4mk import` runs) against mediabunny Conversion.init({ input: Input(FilePathSource, ALL_FORMATS), output: Output(Mp4OutputFormat({ fastStart: false }), FilePathTarget) }).execute() (no transcoding: packets copied), then fsync.",
    seeks:
      'h4mk and MP4 return the keyframe at or before t (audio: the packet at t); MCAP returns the first message with logTime ≥ t (it has no keyframe notion). Each call is timed alone (process.hrtime), on a reader that has made one seek, in a process warmed by up to 1,000 seeks per track and mode (MCAP 50) at other targets on a separate reader of the same format; payload = the packet bytes in hand (h4mk readBlock, verified; MCAP message data; mediabunny packet data).',
    plain: 'the same payload bytes in the same order through a 1 MiB buffer into a file, datasync, close, rename (bench/lib/pack.mjs).',
    durability: 'every pack is timed from create to a durable file: data synced, closed, renamed into place (MP4: fsync through a new handle after finalize).',
  },
  sections: {},
};

const sectionStart = new Map();
function begin(name) {
  sectionStart.set(name, Date.now());
  log(`== ${name}`);
}
function end(name) {
  const s = (Date.now() - sectionStart.get(name)) / 1000;
  out.sections[name] = +s.toFixed(1);
  log(`== ${name}: ${s.toFixed(1)} s`);
}

const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1e3);
const nsSince = (t0) => Number(process.hrtime.bigint() - t0);

/* ------------------------------------------------------------ 1. pack */

async function benchPack(workload, keepFiles) {
  const names = Object.keys(PACKERS);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  const kept = {};
  for (let r = 0; r < RUNS; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const name of order) {
      const path = join(dir, `${workload.name}-${name}.out`);
      globalThis.gc?.();
      const result = await PACKERS[name].run(workload, path);
      runs[name].push(result);
      log(`pack ${workload.name} ${name.padEnd(9)} run ${r + 1}/${RUNS}: ${fmtNum(result.ms, 0)} ms, ${fmtNum(mbps(result.payloadBytes, result.ms), 1)} MB/s`);
      if (r === RUNS - 1 && keepFiles.includes(name)) kept[name] = path;
      else await unlink(path);
    }
  }
  const variants = {};
  for (const name of names) {
    const xs = runs[name];
    const ms = median(xs.map((x) => x.ms));
    const { payloadBytes, blocks, bytes } = xs[0];
    variants[name] = {
      label: PACKERS[name].label,
      medianMs: ms,
      mbPerS: mbps(payloadBytes, ms),
      cpuMs: median(xs.map((x) => x.cpuMs)),
      runsMs: xs.map((x) => +x.ms.toFixed(1)),
      payloadBytes,
      blocks,
      fileBytes: bytes,
      overheadBytesPerBlock: (bytes - payloadBytes) / blocks,
    };
  }
  return {
    workload: { description: workload.description, blocks: workload.cols.count, payloadBytes: workload.cols.payloadBytes, durationUs: workload.durationUs },
    variants,
    kept,
  };
}

/* ----------------------------------------- 1b. import from real MP4 */

/** MP4 → h4mk with the library's importer against mediabunny's own remux (MP4 → MP4, packets copied). */
async function benchImport(inputs) {
  const result = {};
  for (const [label, { path, runs }] of Object.entries(inputs)) {
    const times = { h4mk: [], mp4: [] };
    let blocks = 0;
    let bytes = 0;
    for (let r = 0; r < runs; r++) {
      for (const [name, fn] of r % 2
        ? [
            ['mp4', remuxMp4],
            ['h4mk', importH4mk],
          ]
        : [
            ['h4mk', importH4mk],
            ['mp4', remuxMp4],
          ]) {
        const to = join(dir, `import.${name}`);
        const x = await fn(path, to);
        times[name].push(x.ms);
        if (name === 'h4mk') ({ blocks, bytes } = x);
        await unlink(to);
      }
    }
    result[label] = {
      sourceBytes: statSync(path).size,
      blocks,
      payloadBytes: bytes,
      runs,
      h4mkMs: median(times.h4mk),
      mp4Ms: median(times.mp4),
      h4mkRunsMs: times.h4mk.map((x) => +x.toFixed(1)),
      mp4RunsMs: times.mp4.map((x) => +x.toFixed(1)),
    };
    log(`import ${label}: h4mk ${fmtNum(result[label].h4mkMs, 1)} ms, mediabunny remux ${fmtNum(result[label].mp4Ms, 1)} ms`);
  }
  return result;
}

/* ------------------------------------------- 2. open + first keyframe */

/** Open (fresh file handle) and the first seek with its payload, `OPENS` times, targets from a fixed seed. */
async function benchOpen(files, durationUs) {
  const result = {};
  for (const [format, path] of Object.entries(files)) {
    const r = rng(0x0bea);
    const open = [];
    const first = [];
    const total = [];
    for (let i = 0; i < OPENS; i++) {
      const target = r.int(0, durationUs - 1);
      const t0 = process.hrtime.bigint();
      const reader = await OPENERS[format](path);
      const t1 = process.hrtime.bigint();
      const got = await reader.seek('video_main', target);
      const t2 = process.hrtime.bigint();
      if (got === null) throw new Error(`${format}: no keyframe at ${target} µs`);
      open.push(Number(t1 - t0) / 1e6);
      first.push(Number(t2 - t1) / 1e6);
      total.push(Number(t2 - t0) / 1e6);
      await reader.close();
    }
    result[format] = {
      fileBytes: statSync(path).size,
      openMs: median(open),
      firstSeekMs: median(first),
      openFirstMs: median(total),
      openFirstP99Ms: percentile(total, 99),
      n: OPENS,
    };
  }
  return result;
}

/* -------------------------------------------------------- 3. memory */

const execFileP = promisify(execFile);

async function child(extra) {
  const { stdout } = await execFileP(process.execPath, ['--expose-gc', join(here, 'rss-child.mjs'), ...extra], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** Growth per block between the small and the large run: of the peak RSS, and of the memory retained after GC. */
function growth({ small, large }) {
  const d = large.blocks - small.blocks;
  return {
    peakGrowthBytesPerBlock: ((large.peakRssKiB - small.peakRssKiB) * 1024) / d,
    retainedGrowthBytesPerBlock: (large.retainedGrowth - small.retainedGrowth) / d,
  };
}

async function benchMemory() {
  const files = {};
  const writer = {};
  const reader = {};
  for (const format of FORMATS) {
    const w = {};
    for (const [size, n] of [
      ['small', SMALL],
      ['large', LARGE],
    ]) {
      const path = join(dir, `${size}.${format}`);
      log(`writer RSS ${format} ${fmtInt(n)} blocks`);
      w[size] = await child(['--format', format, '--role', 'write', '--out', path, '--blocks', String(n)]);
      files[size] ??= {};
      files[size][format] = { path, blocks: w[size].blocks, durationUs: w[size].durationUs };
    }
    Object.assign(w, growth(w));
    writer[format] = w;
  }
  if (!args['skip-rss']) {
    for (const format of FORMATS) {
      const r = {};
      for (const size of ['small', 'large']) {
        const f = files[size][format];
        log(`reader RSS ${format} ${fmtInt(f.blocks)} blocks`);
        r[size] = await child(['--format', format, '--role', 'read', '--out', f.path, '--duration-us', String(f.durationUs), '--seeks', '100']);
        r[size].blocks = f.blocks;
      }
      Object.assign(r, growth(r));
      reader[format] = r;
    }
  }
  for (const format of FORMATS) await unlink(files.small[format].path);
  return { writer, reader, files: files.large };
}

/* ------------------------------------------------- 4. seek latency */

async function seekPass(reader, track, targets, options) {
  const ns = new Float64Array(targets.length);
  for (let i = 0; i < targets.length; i++) {
    const t0 = process.hrtime.bigint();
    const got = await reader.seek(track, targets[i], options);
    ns[i] = nsSince(t0);
    if (got === null) throw new Error(`no answer for ${track} at ${targets[i]} µs`);
  }
  return { medianNs: median(ns), p99Ns: percentile(ns, 99), n: targets.length };
}

async function benchSeek(files) {
  const durationUs = Math.min(...Object.values(files).map((f) => f.durationUs));
  const r = rng(0xc0ffee);
  const targets = Array.from({ length: SEEKS }, () => r.int(0, durationUs - 1));
  // Warm-up targets (another seed): each format's code is compiled and its allocator sized on a reader of
  // its own, closed before the timed reader opens, so no format's first pass pays for its JIT warm-up.
  const w = rng(0xbeef);
  const warmTargets = Array.from({ length: WARM_SEEKS }, () => w.int(0, durationUs - 1));
  const result = { durationUs, blocks: Object.fromEntries(Object.entries(files).map(([f, x]) => [f, x.blocks])), tracks: {} };
  for (const format of FORMATS) {
    const warm = await OPENERS[format](files[format].path);
    const n = format === 'mcap' ? Math.min(50, WARM_SEEKS) : WARM_SEEKS;
    log(`seek ${format}: ${n} warm-up seeks per track and mode on a separate reader`);
    for (const track of SEEK_TRACKS) {
      await seekPass(warm, track, warmTargets.slice(0, n), { payload: true });
      if (format !== 'mcap') await seekPass(warm, track, warmTargets.slice(0, n), { payload: false });
    }
    await warm.close();
    const reader = await OPENERS[format](files[format].path);
    if (format === 'h4mk') result.h4mkSegments = reader.reader.segmentCount;
    await reader.seek('video_main', targets[0]); // first seek (timed in the open section)
    const t = {};
    for (const track of SEEK_TRACKS) {
      const n = format === 'mcap' ? MCAP_SEEKS : SEEKS;
      log(`seek ${format} ${track}: ${n} targets`);
      t[track] = { payload: await seekPass(reader, track, targets.slice(0, n), { payload: true }) };
      // Index-only seeks: MCAP always returns the message with its data.
      if (format !== 'mcap') t[track].index = await seekPass(reader, track, targets.slice(0, n), { payload: false });
    }
    result.tracks[format] = t;
    await reader.close();
  }
  return result;
}

/* ------------------------------------------------------------ main */

try {
  begin('pack (a) synthetic');
  const movie = synthetic({ durationUs: MOVIE_US });
  log(`synthetic: ${fmtInt(movie.cols.count)} blocks, ${fmtBytes(movie.cols.payloadBytes)}`);
  const packA = await benchPack(movie, ['h4mk-none', 'mcap-none', 'mp4']);
  end('pack (a) synthetic');

  begin('open + first keyframe (a)');
  const openA = await benchOpen({ h4mk: packA.kept['h4mk-none'], mcap: packA.kept['mcap-none'], mp4: packA.kept.mp4 }, MOVIE_US);
  for (const p of Object.values(packA.kept)) await unlink(p);
  delete packA.kept;
  end('open + first keyframe (a)');

  begin('pack (b) demo clip');
  const clip = await demoClip({ seconds: CLIP_SECONDS });
  log(`${clip.description}: ${fmtInt(clip.cols.count)} blocks, ${fmtBytes(clip.cols.payloadBytes)}`);
  const packB = await benchPack(clip, ['mp4']);
  end('pack (b) demo clip');

  begin('import from real MP4');
  try {
    out.import = await benchImport({
      'demo clip (4 s)': { path: clip.path, runs: OPENS },
      [`looped clip MP4 (${fmtNum(CLIP_SECONDS / 60, 0)} min, written by mediabunny above)`]: { path: packB.kept.mp4, runs: RUNS },
    });
  } catch (error) {
    out.import = { error: String(error?.message ?? error) };
    log(`import: ${out.import.error}`);
  }
  await unlink(packB.kept.mp4);
  clip.cleanup();
  delete packB.kept;
  end('import from real MP4');
  out.pack = { synthetic: packA, clip: packB };
  out.open = { synthetic: openA };

  begin('memory (child processes)');
  const memory = await benchMemory();
  out.memory = { writer: memory.writer, reader: memory.reader };
  end('memory (child processes)');

  begin(`open + seek latency at ${fmtInt(LARGE)} blocks`);
  out.open.large = await benchOpen(
    Object.fromEntries(FORMATS.map((f) => [f, memory.files[f].path])),
    Math.min(...FORMATS.map((f) => memory.files[f].durationUs)),
  );
  out.seek = await benchSeek(memory.files);
  end(`open + seek latency at ${fmtInt(LARGE)} blocks`);
} finally {
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
out.elapsedS = (Date.now() - started) / 1000;
out.loadAverageAtEnd = loadavg().map((x) => +x.toFixed(2));

/* --------------------------------------------------- rows and tables */

const rows = peerRows(out);
out.rows = rows;

const jsonPath = args.json ?? join(here, '..', 'out', 'peers.json');
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify(out, null, 2)}\n`);

/* ---------------------------------------------------------- stdout */

console.log(`H4MK peer comparison — ${out.date}`);
console.log(
  `machine: ${out.machine.cpu}, ${out.machine.cores} cores, node ${out.machine.node}, ${out.machine.platform}; load ${out.loadAverageAtStart.join(' ')} → ${out.loadAverageAtEnd.join(' ')}`,
);
for (const [key, p] of Object.entries(out.pack)) {
  table(
    `pack: ${p.workload.description} — ${fmtInt(p.workload.blocks)} blocks, ${fmtBytes(p.workload.payloadBytes)}; median of ${RUNS}, to a durable file`,
    Object.entries(p.variants).map(([n, v]) => [
      v.label,
      `${fmtNum(v.mbPerS, 1)} MB/s`,
      `${fmtNum(v.medianMs, 0)} ms (runs ${v.runsMs.map((x) => x.toFixed(0)).join(', ')}); CPU ${fmtNum(v.cpuMs, 0)} ms; file ${fmtBytes(v.fileBytes)}; ${fmtNum(v.overheadBytesPerBlock, 1)} B/block over payload${n === 'mp4' && key === 'synthetic' ? ` (${fmtInt(v.blocks)} packets: no control track)` : ''}`,
    ]),
  );
}
if (out.import && !out.import.error) {
  table(
    'import from real MP4 (median, to a durable file)',
    Object.entries(out.import).map(([label, x]) => [
      label,
      `h4mk ${fmtNum(x.h4mkMs, 1)} ms`,
      `mediabunny remux ${fmtNum(x.mp4Ms, 1)} ms; ${fmtInt(x.blocks)} packets, ${fmtBytes(x.sourceBytes)}; ${x.runs} runs`,
    ]),
  );
}
for (const [label, o] of [
  ['movie-shaped', out.open.synthetic],
  [`${fmtInt(LARGE)} blocks`, out.open.large],
]) {
  table(
    `open + first keyframe with payload (${label}; median of ${OPENS}, page cache warm)`,
    Object.entries(o).map(([f, x]) => [
      f,
      `${fmtNum(x.openFirstMs, 2)} ms`,
      `open ${fmtNum(x.openMs, 2)} ms + first seek ${fmtNum(x.firstSeekMs, 2)} ms; p99 ${fmtNum(x.openFirstP99Ms, 2)} ms; file ${fmtBytes(x.fileBytes)}`,
    ]),
  );
}
const s = out.seek;
const mem = out.memory;
const mib = (kib) => kib / 1024;
table(
  `seek latency per call (fresh reader after one seek, the process warmed by 1,000 seeks per track and mode on another reader; random targets over ${fmtNum(s.durationUs / 3600e6, 2)} h; blocks ${Object.entries(
    s.blocks,
  )
    .map(([f, n]) => `${f} ${fmtInt(n)}`)
    .join(', ')})`,
  FORMATS.flatMap((f) =>
    SEEK_TRACKS.flatMap((t) =>
      Object.entries(s.tracks[f][t]).map(([kind, x]) => [
        `${f} ${t} ${kind}`,
        `${fmtNum(x.medianNs / 1e3, 2)} µs`,
        `p99 ${fmtNum(x.p99Ns / 1e3, 2)} µs over ${fmtInt(x.n)}`,
      ]),
    ),
  ),
);
const memRow = (role, f, x) => [
  `${role} ${f}`,
  `${fmtNum(mib(x.large.peakRssKiB), 1)} MiB`,
  `peak RSS at ${fmtInt(x.large.blocks)} blocks (${fmtNum(mib(x.small.peakRssKiB), 1)} MiB at ${fmtInt(x.small.blocks)}): ${fmtNum(x.peakGrowthBytesPerBlock, 1)} B/block; retained after GC ${fmtBytes(x.small.retainedGrowth)} → ${fmtBytes(x.large.retainedGrowth)}: ${fmtNum(x.retainedGrowthBytesPerBlock, 1)} B/block`,
];
table('memory: one child process per role; peak = VmHWM since set-up, retained = heap + external after a full GC', [
  ...FORMATS.map((f) => memRow('writer', f, mem.writer[f])),
  ...Object.entries(mem.reader).map(([f, r]) => memRow('reader', f, r)),
]);
table(
  'h4mk against each baseline (ratio = h4mk ÷ baseline; advantage > 1 = h4mk better)',
  rows.map((r) => [
    `${r.section}: ${r.metric} — ${r.subject} vs ${r.baseline}`,
    `×${fmtNum(r.advantage, 2)}`,
    `${fmtNum(r.value, 2)} vs ${fmtNum(r.baselineValue, 2)} ${r.unit}${r.cpuRatio ? `; CPU-time ratio ×${fmtNum(r.cpuRatio, 2)}` : ''}`,
  ]),
);
console.log(
  `\nsections: ${Object.entries(out.sections)
    .map(([k, v]) => `${k} ${v} s`)
    .join('; ')}`,
);
console.log(`elapsed ${fmtNum(out.elapsedS, 1)} s; JSON: ${jsonPath}`);
