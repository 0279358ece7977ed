/**
 * `npm run bench`: the core benchmark of the H4MK container (issue 2).
 *
 *   node bench/run.mjs [--scale F] [--payload-scale P] [--runs N] [--opens N] [--seeks N] [--skip-rss] [--keep]
 *   node bench/run.mjs --only core|crypto|remote|server|delivery|inspector|peers|format|report [-- SECTION ARGS]
 *   (without --only: core, then each other section, then bench/report.mjs → bench/results.md + .svg)
 *
 * --scale F          content duration factor (1 = the 2-hour movie; the seek container is 3.5 h × F)
 * --payload-scale P  payload size factor of the 2-hour container (1 = real sizes, ~2 GB)
 * --runs N           pack repetitions per variant (median reported), default 3
 * --opens N          opens timed, default 21
 * --seeks N          random seek targets per pass, default 100000
 *
 * Measures (all ratios against baselines measured in the same run, medians
 * over repetitions, workloads from a fixed-seed PRNG):
 *   1. the 2-hour-shaped container: blocks, size, index length, bytes read to
 *      open (a counting source records every read), open time, seek span sizes;
 *   2. seek latency at ≥ 1,000,000 blocks, video and audio, cold and warm;
 *   3. pack throughput against a plain buffered copy of the same payload bytes;
 *   4. writer peak RSS in a child process, and RSS growth per block.
 * A table goes to stdout; the same figures to bench/out/core.json.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { FileSource, H4mkReader } from '../dist/node.js';
import { CountingSource } from './lib/counting-source.mjs';
import { packH4mk, packPlain } from './lib/pack.mjs';
import { fmtBytes, fmtInt, fmtNum, median, percentile, summary, table } from './lib/stats.mjs';
import { materialise, rng, TRACKS } from './lib/workload.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args, positionals } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    'payload-scale': { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    opens: { type: 'string', default: '21' },
    seeks: { type: 'string', default: '100000' },
    'skip-rss': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
  allowPositionals: true,
});
const SCALE = Number(args.scale);
const PAYLOAD_SCALE = Number(args['payload-scale']);
const RUNS = Math.max(1, Number(args.runs));
const OPENS = Math.max(1, Number(args.opens));
const SEEKS = Math.max(1000, Number(args.seeks));
const BATCH = 1000;
const HOUR_US = 3_600_000_000;
const MOVIE_US = Math.round(2 * HOUR_US * SCALE);
const SEEK_US = Math.round(3.5 * HOUR_US * SCALE);
const OPEN_BUDGET = 512 * 1024;
const HEADER_LENGTH = 32;
const FOOTER_LENGTH = 36;

/*
 * Sections (issue 8). `--only NAME` runs one of them (arguments after `--` go
 * to it: `npm run bench -- --only peers -- --scale 0.1`); without `--only`,
 * core runs here, then every other section whose script exists, then the report.
 * Each other section is a script of its own, run as a child process.
 */
const SECTIONS = {
  crypto: 'crypto.mjs',
  remote: 'remote.mjs',
  server: 'server.mjs',
  delivery: 'delivery.mjs',
  inspector: 'inspector.mjs',
  peers: 'peers/run.mjs',
  format: 'format-v2.mjs',
};
const sectionSeconds = {};
const benchCommand = `${process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node bench/run.mjs'}${process.argv.length > 2 ? `${process.env.npm_lifecycle_event === 'bench' ? ' --' : ''} ${process.argv.slice(2).join(' ')}` : ''}`;
async function runSection(name, extra = []) {
  const file = name === 'report' ? 'report.mjs' : SECTIONS[name];
  if (file === undefined) throw new Error(`unknown section ${name}: one of core, ${Object.keys(SECTIONS).join(', ')}, report`);
  if (!existsSync(join(here, file))) {
    console.log(`\n[bench] section ${name}: bench/${file} not present, skipped`);
    return;
  }
  const t0 = Date.now();
  console.log(`\n[bench] section ${name}: node bench/${file} ${extra.join(' ')}`);
  const code = await new Promise((resolve) => spawn(process.execPath, ['--expose-gc', join(here, file), ...extra], { stdio: 'inherit' }).on('exit', resolve));
  sectionSeconds[name] = (Date.now() - t0) / 1000;
  console.log(`[bench] section ${name}: ${fmtNum(sectionSeconds[name], 1)} s${code === 0 ? '' : `, exit code ${code}`}`);
  if (code !== 0) process.exitCode = 1;
}
if (args.only !== undefined && args.only !== 'core') {
  await runSection(args.only, args.only === 'report' ? ['--command', benchCommand, ...positionals] : positionals);
  process.exit();
}

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'h4mk-bench-'));
const out = {
  date: new Date().toISOString(),
  machine: machine(),
  loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
  args: { scale: SCALE, payloadScale: PAYLOAD_SCALE, runs: RUNS, opens: OPENS, seeks: SEEKS },
  tmpdir: dir,
};
const log = (msg) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);

function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1),
  };
}

const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1e3);

/* ------------------------------------------------------------------ 3. pack */

async function benchPack() {
  log(`generating the ${fmtNum(MOVIE_US / HOUR_US, 2)} h workload (payload scale ${PAYLOAD_SCALE})`);
  const cols = materialise({ durationUs: MOVIE_US, payloadScale: PAYLOAD_SCALE });
  const variants = {
    plain: (p) => packPlain(cols, p),
    none: (p) => packH4mk(cols, p, { compression: 'none' }),
    zstd: (p) => packH4mk(cols, p, { compression: 'zstd' }),
  };
  const names = Object.keys(variants);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  let container = null;
  let zstdSummary = null;
  for (let r = 0; r < RUNS; r++) {
    // Rotate the order so no variant always runs first (or right after another's writeback).
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const name of order) {
      const path = join(dir, `pack-${name}.out`);
      const result = await variants[name](path);
      const size = statSync(path).size;
      runs[name].push({ ms: result.ms, cpuMs: result.cpuMs, size });
      log(`pack ${name.padEnd(5)} run ${r + 1}/${RUNS}: ${fmtNum(result.ms, 0)} ms, ${fmtNum(mbps(cols.payloadBytes, result.ms), 1)} MB/s`);
      if (name === 'none' && r === RUNS - 1) {
        container = { path: join(dir, 'movie.h4mk'), summary: result.summary };
        await rename(path, container.path);
      } else await unlink(path);
      if (name === 'zstd') zstdSummary = result.summary;
    }
  }
  const payloadBytes = cols.payloadBytes;
  const stat = (name) => {
    const ms = median(runs[name].map((x) => x.ms));
    const cpuMs = median(runs[name].map((x) => x.cpuMs));
    return {
      medianMs: ms,
      mbPerS: mbps(payloadBytes, ms),
      cpuMs,
      cpuMsPerGB: cpuMs / (payloadBytes / 1e9),
      fileBytes: runs[name][0].size,
      runsMs: runs[name].map((x) => x.ms),
    };
  };
  const result = {
    blocks: cols.count,
    payloadBytes,
    plain: stat('plain'),
    none: stat('none'),
    zstd: { ...stat('zstd'), storedBytes: zstdSummary.storedBytes },
  };
  result.ratioNone = result.none.mbPerS / result.plain.mbPerS;
  result.ratioZstd = result.zstd.mbPerS / result.plain.mbPerS;
  // Per-run ratios against the baseline of the same repetition: a check on the noise.
  result.ratioNoneRuns = runs.none.map((x, i) => runs.plain[i].ms / x.ms);
  result.ratioNonePairedMedian = median(result.ratioNoneRuns);
  // CPU time is less sensitive to other tenants than wall time: the CPU cost ratio.
  result.cpuRatioNone = result.plain.cpuMs / result.none.cpuMs;
  return { pack: result, container };
}

/* ------------------------------------------------------ 1. the 2-hour container */

async function benchOpen(path, opens) {
  const times = [];
  const timesWithFile = [];
  let reads = null;
  let bytes = 0;
  let reader = null;
  for (let i = 0; i < opens; i++) {
    const t0 = process.hrtime.bigint();
    const file = await FileSource.open(path);
    const source = new CountingSource(file);
    const t1 = process.hrtime.bigint();
    const r = await H4mkReader.open(source);
    const t2 = process.hrtime.bigint();
    times.push(Number(t2 - t1) / 1e6);
    timesWithFile.push(Number(t2 - t0) / 1e6);
    reads = source.reads;
    bytes = source.bytes;
    if (i === opens - 1) reader = { reader: r, source };
    else await r.close();
  }
  const size = statSync(path).size;
  const isHeader = (x) => x.offset === 0 && x.length === HEADER_LENGTH;
  const isFooter = (x) => x.offset === size - FOOTER_LENGTH && x.length === FOOTER_LENGTH;
  const others = reads.filter((x) => !isHeader(x) && !isFooter(x));
  const largest = Math.max(0, ...others.map((x) => x.length));
  return {
    fileBytes: size,
    reads: reads.map((x) => ({ offset: x.offset, length: x.length })),
    readCount: reads.length,
    bytesRead: bytes,
    regionReads: others.length,
    regionBytes: others.reduce((a, x) => a + x.length, 0),
    meetsOpenGoal: others.length === 1 && largest <= OPEN_BUDGET,
    openMs: summary(times),
    openWithFileOpenMs: summary(timesWithFile),
    reader,
  };
}

/** Span sizes of seeks to random times, and the reads a fresh reader makes to answer them. */
async function benchSpans(path, durationUs, n) {
  const r = rng(0x5eed);
  const targets = Array.from({ length: n }, () => r.int(0, durationUs - 1));
  const result = {};
  for (const t of TRACKS.slice(0, 2)) {
    const source = new CountingSource(await FileSource.open(path));
    const reader = await H4mkReader.open(source);
    source.reset();
    const lengths = [];
    let nulls = 0;
    for (const target of targets) {
      const s = await reader.seek(t.id, target);
      if (s === null) {
        nulls++;
        continue;
      }
      if (s.ptsUs > target) throw new Error(`seek returned pts ${s.ptsUs} after target ${target}`);
      lengths.push(s.span.length);
    }
    result[t.id] = {
      seeks: n,
      nullAnswers: nulls,
      spanBytes: summary(lengths),
      spanMeanBytes: lengths.reduce((a, b) => a + b, 0) / lengths.length,
      readsPerSeek: source.reads.length / n,
      bytesReadPerSeek: source.bytes / n,
    };
    await reader.close();
  }
  return result;
}

/* ------------------------------------------------------------- 2. seek latency */

async function seekPass(reader, track, targets) {
  const perCall = [];
  let acc = 0;
  for (let b = 0; b < targets.length; b += BATCH) {
    const end = Math.min(targets.length, b + BATCH);
    const t0 = process.hrtime.bigint();
    for (let j = b; j < end; j++) {
      const s = await reader.seek(track, targets[j]);
      if (s !== null) acc += s.coreIndex;
    }
    perCall.push(Number(process.hrtime.bigint() - t0) / (end - b));
  }
  return { perCallNs: perCall, acc };
}

async function noop() {
  return null;
}

/** The floor: an awaited async call that does nothing, timed the same way. */
async function awaitFloor(n) {
  const perCall = [];
  for (let b = 0; b < n; b += BATCH) {
    const t0 = process.hrtime.bigint();
    for (let j = 0; j < BATCH; j++) await noop();
    perCall.push(Number(process.hrtime.bigint() - t0) / BATCH);
  }
  return perCall;
}

const nsStats = (xs) => ({ medianNs: median(xs), p99Ns: percentile(xs, 99), batches: xs.length, batchSize: BATCH });

async function benchSeek() {
  log(`generating the ${fmtNum(SEEK_US / HOUR_US, 2)} h seek container (tiny payloads)`);
  const cols = materialise({ durationUs: SEEK_US, tiny: true });
  const path = join(dir, 'seek.h4mk');
  const packed = await packH4mk(cols, path, { compression: 'none' });
  log(`seek container: ${fmtInt(packed.summary.blockCount)} blocks, ${fmtBytes(packed.summary.bytes)}, written in ${fmtNum(packed.ms, 0)} ms`);
  const open = await benchOpen(path, 5);
  await open.reader.reader.close();
  delete open.reader;
  const r = rng(0xc0ffee);
  const targets = new Float64Array(SEEKS);
  for (let i = 0; i < SEEKS; i++) targets[i] = r.int(0, SEEK_US - 1);
  const result = {
    blocks: packed.summary.blockCount,
    segments: packed.summary.segmentCount,
    writeMs: packed.ms,
    fileBytes: packed.summary.bytes,
    indexLength: packed.summary.indexLength,
    open: { bytesRead: open.bytesRead, readCount: open.readCount, openMs: open.openMs, meetsOpenGoal: open.meetsOpenGoal },
    targets: SEEKS,
    tracks: {},
  };
  result.awaitFloor = nsStats(await awaitFloor(SEEKS));
  for (const t of TRACKS.slice(0, 2)) {
    const source = new CountingSource(await FileSource.open(path));
    const reader = await H4mkReader.open(source);
    source.reset();
    log(`seek latency ${t.id}: cold pass`);
    const cold = await seekPass(reader, t.id, targets);
    const coldReads = source.reads.length;
    source.reset();
    log(`seek latency ${t.id}: warm pass`);
    const warm = await seekPass(reader, t.id, targets);
    const warmReads = source.reads.length;
    await reader.close();
    result.tracks[t.id] = {
      cold: { ...nsStats(cold.perCallNs), reads: coldReads },
      warm: { ...nsStats(warm.perCallNs), reads: warmReads },
    };
    if (t.kind === 'audio') {
      // What a cache holding every segment table would buy (memory: one table per segment).
      const s2 = new CountingSource(await FileSource.open(path));
      const big = await H4mkReader.open(s2, { cacheSegments: packed.summary.segmentCount });
      await seekPass(big, t.id, targets);
      s2.reset();
      log(`seek latency ${t.id}: warm pass, cache = all ${packed.summary.segmentCount} segments`);
      const all = await seekPass(big, t.id, targets);
      result.tracks[t.id].warmFullCache = { ...nsStats(all.perCallNs), reads: s2.reads.length, cacheSegments: packed.summary.segmentCount };
      await big.close();
    }
  }
  await unlink(path);
  return result;
}

/* ------------------------------------------------------------------ 4. memory */

const execFileP = promisify(execFile);

async function child(name, extra) {
  const file = join(dir, `rss-${name}.h4mk`);
  const { stdout } = await execFileP(process.execPath, ['--expose-gc', join(here, 'rss-child.mjs'), '--out', file, ...extra], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function benchRss() {
  log('writer RSS: 2-hour workload');
  const movie = await child('movie', ['--duration-us', String(MOVIE_US), '--payload-scale', String(PAYLOAD_SCALE)]);
  const n1 = Math.round(100_000 * Math.min(1, SCALE));
  const n2 = Math.round(1_000_000 * Math.min(1, SCALE));
  log(`writer RSS: ${fmtInt(n1)} blocks`);
  // Growth is about the index, not payload sizes: tiny payloads keep these runs short.
  const long = String(Math.max(SEEK_US, 4 * HOUR_US));
  const small = await child('small', ['--duration-us', long, '--max-blocks', String(n1), '--tiny']);
  log(`writer RSS: ${fmtInt(n2)} blocks`);
  const large = await child('large', ['--duration-us', long, '--max-blocks', String(n2), '--tiny']);
  const dBlocks = large.blocks - small.blocks;
  const writePeak = (x) => x.writePeakRssKiB ?? x.peakRssKiB;
  return {
    movie,
    small,
    large,
    peakGrowthBytesPerBlock: ((writePeak(large) - writePeak(small)) * 1024) / dBlocks,
    heapGrowthBytesPerBlock: (large.heapUsedBeforeFinish - large.startHeapUsed - (small.heapUsedBeforeFinish - small.startHeapUsed)) / dBlocks,
  };
}

/* -------------------------------------------------------------------- main */

const ok = (b) => (b ? 'MET' : 'MISSED');
const writePeakOf = (x) => x.writePeakRssKiB ?? x.peakRssKiB;

try {
  const { pack, container } = await benchPack();
  out.pack = pack;

  log('opening the 2-hour container');
  const open = await benchOpen(container.path, OPENS);
  const { reader } = open.reader;
  out.movie = {
    durationUs: MOVIE_US,
    blocks: reader.blockCount,
    blocksPerTrack: Object.fromEntries(reader.tracks().map((t) => [t.id, t.blockCount])),
    segments: reader.segmentCount,
    fileBytes: open.fileBytes,
    indexLength: reader.indexLength,
    open: { ...open, reader: undefined },
  };
  await reader.close();
  log('seek spans on the 2-hour container');
  out.movie.spans = await benchSpans(container.path, MOVIE_US, 10_000);
  if (!args.keep) await unlink(container.path);

  out.seek = await benchSeek();
  if (!args['skip-rss']) out.rss = await benchRss();
} finally {
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
out.elapsedS = (Date.now() - started) / 1000;
out.loadAverageAtEnd = loadavg().map((x) => +x.toFixed(2));

/* ------------------------------------------------------------------ report */

const m = out.movie;
console.log(`H4MK core benchmark — ${out.date}`);
console.log(`machine: ${out.machine.cpu}, ${out.machine.cores} cores, node ${out.machine.node}, ${out.machine.platform}, ${out.machine.totalMemGiB} GiB`);
console.log(`load average (1/5/15 min): ${out.loadAverageAtStart.join(' ')} at start, ${out.loadAverageAtEnd.join(' ')} at end (other tenants add noise)`);
console.log(`args: scale ${SCALE}, payload scale ${PAYLOAD_SCALE}, ${RUNS} pack runs, ${OPENS} opens, ${fmtInt(SEEKS)} seek targets; tmp ${dir}`);

table(`1. ${fmtNum(MOVIE_US / HOUR_US, 2)}-hour container (tail layout, compression none)`, [
  [
    'blocks',
    fmtInt(m.blocks),
    Object.entries(m.blocksPerTrack)
      .map(([k, v]) => `${k} ${fmtInt(v)}`)
      .join(', '),
  ],
  ['segments', fmtInt(m.segments)],
  ['file size', fmtBytes(m.fileBytes), `${fmtInt(m.fileBytes)} B`],
  ['index length', fmtBytes(m.indexLength), `${fmtInt(m.indexLength)} B`],
  [
    'bytes read to open',
    fmtBytes(m.open.bytesRead),
    `${m.open.readCount} reads: ${m.open.reads.map((x) => `${fmtInt(x.length)}@${fmtInt(x.offset)}`).join(', ')}`,
  ],
  ['open: one region ≤ 512 KiB', ok(m.open.meetsOpenGoal), `${m.open.regionReads} read(s) besides header/footer, ${fmtBytes(m.open.regionBytes)}`],
  ['open time (H4mkReader.open)', `${fmtNum(m.open.openMs.median, 2)} ms`, `median of ${OPENS}; p99 ${fmtNum(m.open.openMs.p99, 2)} ms; page cache warm`],
  ['open time incl. FileSource.open', `${fmtNum(m.open.openWithFileOpenMs.median, 2)} ms`],
  ...Object.entries(m.spans).flatMap(([id, s]) => [
    [
      `seek span ${id}`,
      fmtBytes(s.spanBytes.median),
      `median; p99 ${fmtBytes(s.spanBytes.p99)}, max ${fmtBytes(s.spanBytes.max)}, mean ${fmtBytes(s.spanMeanBytes)} over ${fmtInt(s.seeks)} random times`,
    ],
    [`  reads inside seek() ${id}`, fmtNum(s.readsPerSeek, 3), `per seek (fresh reader, default cache), ${fmtBytes(s.bytesReadPerSeek)} per seek`],
  ]),
]);

const s = out.seek;
const seekRows = [
  ['container', `${fmtInt(s.blocks)} blocks`, `${fmtInt(s.segments)} segments, ${fmtBytes(s.fileBytes)}, written in ${fmtNum(s.writeMs, 0)} ms`],
  [
    '  its index / bytes read to open',
    fmtBytes(s.indexLength),
    `open reads ${fmtBytes(s.open.bytesRead)} in ${fmtNum(s.open.openMs.median, 2)} ms; one region ≤ 512 KiB: ${ok(s.open.meetsOpenGoal)} (${fmtNum(s.indexLength / s.segments, 1)} B of index per segment)`,
  ],
  ['await floor (empty async fn)', `${fmtNum(s.awaitFloor.medianNs, 0)} ns`, `p99 ${fmtNum(s.awaitFloor.p99Ns, 0)} ns`],
];
for (const [id, t] of Object.entries(s.tracks)) {
  for (const [pass, v] of Object.entries(t)) {
    seekRows.push([
      `${id} ${pass}`,
      `${fmtNum(v.medianNs, 0)} ns`,
      `p99 ${fmtNum(v.p99Ns, 0)} ns; ${fmtInt(v.reads)} source reads over ${fmtInt(s.targets)} seeks${v.cacheSegments ? `; cacheSegments ${v.cacheSegments}` : ''}`,
    ]);
  }
}
const videoWarm = s.tracks.video_main.warm.medianNs;
seekRows.push(['goal: video warm median ≤ 1 µs', ok(videoWarm <= 1000), `${fmtNum(videoWarm / 1000, 3)} µs`]);
table(`2. seek latency per call (batches of ${BATCH}, median / p99 of per-call averages; cold = 1st pass on a fresh reader, warm = 2nd pass)`, seekRows);

const p = out.pack;
table(`3. pack throughput (${fmtInt(p.blocks)} blocks, ${fmtBytes(p.payloadBytes)} payload, median of ${RUNS}, incl. datasync + rename)`, [
  [
    'plain copy (1 MiB buffer)',
    `${fmtNum(p.plain.mbPerS, 1)} MB/s`,
    `${fmtNum(p.plain.medianMs, 0)} ms; CPU ${fmtNum(p.plain.cpuMsPerGB, 0)} ms/GB; runs ${p.plain.runsMs.map((x) => x.toFixed(0)).join(', ')} ms`,
  ],
  [
    'h4mk none',
    `${fmtNum(p.none.mbPerS, 1)} MB/s`,
    `${fmtNum(p.none.medianMs, 0)} ms; CPU ${fmtNum(p.none.cpuMsPerGB, 0)} ms/GB; runs ${p.none.runsMs.map((x) => x.toFixed(0)).join(', ')} ms; file ${fmtBytes(p.none.fileBytes)}`,
  ],
  [
    'h4mk zstd',
    `${fmtNum(p.zstd.mbPerS, 1)} MB/s`,
    `${fmtNum(p.zstd.medianMs, 0)} ms; CPU ${fmtNum(p.zstd.cpuMsPerGB, 0)} ms/GB; stored ${fmtBytes(p.zstd.storedBytes)}`,
  ],
  [
    'ratio none / plain',
    fmtNum(p.ratioNone, 3),
    `ratio of medians; paired per-run ratios ${p.ratioNoneRuns.map((x) => x.toFixed(2)).join(', ')} (median ${fmtNum(p.ratioNonePairedMedian, 2)})`,
  ],
  ['CPU-time ratio none / plain', fmtNum(p.cpuRatioNone, 3), 'plain CPU ÷ h4mk CPU (less sensitive to other tenants)'],
  ['ratio zstd / plain', fmtNum(p.ratioZstd, 3)],
  ['goal: none/plain ≥ 0.8', ok(p.ratioNone >= 0.8)],
]);

if (out.rss) {
  const r = out.rss;
  const mib = (kib) => `${fmtNum(kib / 1024, 1)} MiB`;
  table('4. writer memory (child process, FileSink, tail, none; peak = VmHWM)', [
    [
      `peak RSS, movie workload`,
      mib(r.movie.peakRssKiB),
      `${fmtInt(r.movie.blocks)} blocks, payload scale ${PAYLOAD_SCALE}; RSS ${mib(r.movie.startRssKiB)} before the first block; heap ${fmtBytes(r.movie.startHeapUsed)} → ${fmtBytes(r.movie.heapUsedBeforeFinish)} (after gc)`,
    ],
    [`  resourceUsage().maxRSS`, mib(r.movie.resourceUsageMaxRssKiB), 'Linux carries ru_maxrss over fork+exec: includes the parent bench process'],
    [
      `peak RSS, ${fmtInt(r.small.blocks)} blocks (tiny)`,
      mib(r.small.peakRssKiB),
      `writing phase ${mib(writePeakOf(r.small))}; heap after gc ${fmtBytes(r.small.heapUsedBeforeFinish)}`,
    ],
    [
      `peak RSS, ${fmtInt(r.large.blocks)} blocks (tiny)`,
      mib(r.large.peakRssKiB),
      `writing phase ${mib(writePeakOf(r.large))}; heap after gc ${fmtBytes(r.large.heapUsedBeforeFinish)}`,
    ],
    [
      'peak RSS growth per block',
      `${fmtNum(r.peakGrowthBytesPerBlock, 1)} B`,
      `(writing-phase peaks, ${fmtInt(r.large.blocks)} − ${fmtInt(r.small.blocks)} blocks)`,
    ],
    ['heap growth per block (after gc)', `${fmtNum(r.heapGrowthBytesPerBlock, 1)} B`, 'goal: ≤ 64 B per block of index'],
  ]);
}

const goals = [
  ['open reads one region ≤ 512 KiB (2-hour container)', ok(m.open.meetsOpenGoal), fmtBytes(m.open.regionBytes)],
  ['seek median ≤ 1 µs (video, warm, ≥ 1M blocks)', ok(videoWarm <= 1000), `${fmtNum(videoWarm, 0)} ns at ${fmtInt(s.blocks)} blocks`],
  ['pack none ≥ 0.8 × plain copy', ok(p.ratioNone >= 0.8), fmtNum(p.ratioNone, 3)],
];
if (out.rss)
  goals.push([
    'writer memory ≤ 64 B per block (+ bounded buffers)',
    ok(out.rss.heapGrowthBytesPerBlock <= 64 && out.rss.peakGrowthBytesPerBlock <= 64),
    `heap ${fmtNum(out.rss.heapGrowthBytesPerBlock, 1)} B, peak RSS ${fmtNum(out.rss.peakGrowthBytesPerBlock, 1)} B per block`,
  ]);
out.goals = Object.fromEntries(goals.map(([k, v, n]) => [k, { status: v, value: n }]));
table('goals', goals);

mkdirSync(join(here, 'out'), { recursive: true });
const jsonPath = join(here, 'out', 'core.json');
writeFileSync(jsonPath, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nelapsed ${fmtNum(out.elapsedS, 1)} s; JSON: ${jsonPath}`);

if (args.only === undefined) {
  for (const name of Object.keys(SECTIONS)) await runSection(name);
  await runSection('report', ['--command', benchCommand, '--elapsed', JSON.stringify({ core: +out.elapsedS.toFixed(1), ...sectionSeconds })]);
  console.log(
    `\n[bench] elapsed per section: core ${fmtNum(out.elapsedS, 1)} s, ${Object.entries(sectionSeconds)
      .map(([k, v]) => `${k} ${fmtNum(v, 1)} s`)
      .join(', ')}; total ${fmtNum((Date.now() - started) / 1000, 1)} s`,
  );
}
