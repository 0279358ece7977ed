/**
 * Delivery benchmark: CMAF media segments made on the fly by `h4mk serve`
 * (HLS/DASH routes) against nginx serving the static package of the same
 * segments (`packageContainer`, i.e. `h4mk package`), measured in the same run.
 *
 *   node bench/delivery.mjs [--minutes M] [--payload-scale P] [--seconds S] [--connections C] [--rounds R] [--ttfb N] [--keep]
 *   node bench/run.mjs --only delivery [-- ARGS]
 *
 * --minutes M        container length (default 5: 150 two-second segments per track)
 * --payload-scale P  payload size factor of the workload (default 1: ~2 Mbit/s video, ~500 KB per video segment)
 * --seconds S        duration of each autocannon run (default 10)
 * --connections C    concurrent keep-alive connections (default 50)
 * --rounds R         rounds; each runs both subjects once, in rotated order (default 3)
 * --ttfb N           sequential requests timed for time to first byte, per subject (default 300)
 *
 * The container is the benchmark movie (bench/lib/workload.mjs: 30 fps H.264-shaped
 * video with 2 s GOPs and B-frames, 48 kHz AAC-shaped audio, a 10 Hz JSON control
 * track), its tracks declared with real codec configurations (an avcC of a
 * 1280×720 High 3.1 stream, an AAC-LC AudioSpecificConfig) so the delivery plan
 * carries video and audio (the control track is left out, as it is in real use).
 *
 * Subjects, each over the same list of every media segment URL of both tracks
 * (`t0/{k}.m4s`, `t1/{k}.m4s`), rotated by autocannon's setupRequest:
 *   nginx              the static package in nginx's root (Debian nginx, the test suite's
 *                      config: 1 worker, sendfile, keep-alive, access log)
 *   h4mk serve         GET /v1/containers/movie.h4mk/hls/v-{version}/t{N}/{k}.m4s: each segment
 *                      read from the container (one read), every block's SHA-256 checked, the
 *                      moof/mdat written; built segments kept in the server's segment LRU
 *                      (128 MiB, frequency admission), so a working set larger than it is
 *                      partly rebuilt; info-level logs
 * Figures: requests/s (autocannon's mean of per-second counts), p50/p99 latency
 * under load, server CPU per request (/proc), and time to first byte of one
 * segment on an otherwise idle server (sequential requests on one keep-alive
 * connection: request sent → response head received), median and p99.
 * Ratio = h4mk ÷ nginx requests/s; goal ≥ 0.5.
 * A JSON summary on stdout; bench/out/delivery.json with `rows` for bench/report.mjs.
 *
 * The load generator: autocannon 9 appends every response body to a string
 * (`PipelinedRequestsQueue.addBody`, for its expectBody/verifyBody options),
 * which caps it at ~150 responses/s of ~280 KB whatever the server (measured:
 * nginx 163 req/s with it, 4,241 req/s without it, same file, same machine).
 * Nothing here uses those options (the bytes are compared before timing), so
 * this script turns the accumulation off for its own runs.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { FileSink, FileSource, H4mkReader, H4mkWriter } from '../dist/node.js';
import { deliveryPlan, timelineOf } from '../dist/delivery/index.js';
import { packageContainer } from '../dist/tools/package.js';
import { cannon, cannonFigures, loadNginxSupport, procCpuMs, procStats, startServe } from './lib/serve.mjs';
import { fmtBytes, fmtInt, fmtNum, median, percentile, table } from './lib/stats.mjs';
import { AUDIO_TIMESCALE, blockInputAt, CONTROL_TIMESCALE, materialise, VIDEO_TIMESCALE } from './lib/workload.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// See the header: autocannon's per-response body string, unused here, is what would be measured otherwise.
const PipelinedRequestsQueue = createRequire(join(here, 'lib', 'serve.mjs'))('autocannon/lib/pipelinedRequestsQueue.js');
PipelinedRequestsQueue.prototype.addBody = () => {};
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    'payload-scale': { type: 'string', default: '1' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    ttfb: { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
  },
});
const MINUTES = Number(args.minutes);
const PAYLOAD_SCALE = Number(args['payload-scale']);
const SECONDS = Math.max(1, Number(args.seconds));
const CONNECTIONS = Math.max(1, Number(args.connections));
const ROUNDS = Math.max(1, Number(args.rounds));
const TTFB_REQUESTS = Math.max(10, Number(args.ttfb));

const started = Date.now();
const log = (msg) => process.stderr.write(`[delivery ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
const dir = mkdtempSync(join(tmpdir(), 'h4mk-delivery-bench-'));
const out = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
  args: { minutes: MINUTES, payloadScale: PAYLOAD_SCALE, seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, ttfbRequests: TTFB_REQUESTS },
  loadGenerator: 'autocannon 9, response-body accumulation turned off (see bench/delivery.mjs)',
};

/** avcC of a 1280×720 H.264 High@3.1 stream (x264), and AAC-LC 48 kHz stereo. */
const AVCC = Buffer.from('AWQAH//hABpnZAAfrNlAUAW7ARAAAAMAEAAAAwPA8YMZYAEABGjvj8v9+PgA', 'base64');
const TRACKS = [
  {
    id: 'video_main',
    kind: 'video',
    codec: 'avc1.64001f',
    timescale: VIDEO_TIMESCALE,
    name: 'Main video',
    language: 'und',
    config: new Uint8Array(AVCC),
    extra: { media_codec: 'avc', video: { width: 1280, height: 720 } },
  },
  {
    id: 'audio_main',
    kind: 'audio',
    codec: 'mp4a.40.2',
    timescale: AUDIO_TIMESCALE,
    name: 'Main audio',
    language: 'en',
    config: Uint8Array.of(0x11, 0x90),
    extra: { media_codec: 'aac', audio: { sample_rate: 48_000, channels: 2 } },
  },
  { id: 'control', kind: 'control', codec: 'application/json', timescale: CONTROL_TIMESCALE, name: 'Control' },
];

async function writeContainer(path) {
  const cols = materialise({ durationUs: Math.round(MINUTES * 60e6), payloadScale: PAYLOAD_SCALE });
  const writer = await H4mkWriter.create(await FileSink.create(path), {
    compression: 'none',
    meta: { title: 'delivery bench', generator: 'bench/delivery.mjs' },
  });
  for (const t of TRACKS) writer.addTrack({ ...t });
  for (let i = 0; i < cols.count; i++) await writer.writeBlock(blockInputAt(cols, i));
  return writer.finish();
}

/** Sequential GETs on one keep-alive connection: ms from sending each request to its response head. */
async function ttfb(base, paths, n) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  try {
    for (let i = 0; i < n; i++) {
      const url = new URL(paths[i % paths.length], base);
      times.push(
        await new Promise((resolve, reject) => {
          const t0 = process.hrtime.bigint();
          const req = request(url, { agent }, (res) => {
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            if (res.statusCode !== 200) reject(new Error(`${url}: status ${res.statusCode}`));
            res.resume();
            res.on('end', () => resolve(ms));
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end();
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return { medianMs: median(times), p99Ms: percentile(times, 99), minMs: percentile(times, 0), maxMs: percentile(times, 100), n: times.length };
}

let nginx;
let server;
try {
  const containers = join(dir, 'containers');
  mkdirSync(containers);
  const path = join(containers, 'movie.h4mk');
  log(`writing a ${MINUTES}-minute container`);
  const summary = await writeContainer(path);
  mkdirSync(join(here, 'out'), { recursive: true });
  const { startNginx } = await loadNginxSupport();
  nginx = await startNginx();
  log('writing the static package (packageContainer) into nginx root');
  const reader = await H4mkReader.open(await FileSource.open(path));
  const t0 = Date.now();
  const pkg = await packageContainer(reader, join(nginx.root, 'pkg'), { force: true });
  const packageMs = Date.now() - t0;
  const plan = deliveryPlan(reader);
  const delivered = plan.tracks.filter((t) => t.carriage === 'cmaf');
  const segmentPaths = [];
  for (const t of delivered) {
    const count = timelineOf(plan, t).cuts.length;
    for (let k = 0; k < count; k++) segmentPaths.push(`t${t.info.number}/${k}.m4s`);
  }
  await reader.close();
  // Interleave the tracks (video 0, audio 0, video 1, …) as players fetch them; then a fixed-seed shuffle would
  // add nothing: both subjects get the same order.
  const perTrack = delivered.map((t) => segmentPaths.filter((p) => p.startsWith(`t${t.info.number}/`)));
  const order = [];
  for (let k = 0; k < Math.max(...perTrack.map((l) => l.length)); k++) for (const l of perTrack) if (l[k] !== undefined) order.push(l[k]);
  const sizes = order.map((p) => statSync(join(nginx.root, 'pkg', p)).size);
  out.container = {
    bytes: statSync(path).size,
    blocks: summary.blockCount,
    tracks: plan.tracks.map((t) => ({ id: t.info.id, codecs: t.codecs, carriage: t.carriage, reason: t.reason })),
    segmentUrls: order.length,
    meanSegmentBytes: sizes.reduce((a, b) => a + b, 0) / sizes.length,
    package: { files: pkg.files, bytes: pkg.bytes, ms: packageMs },
  };
  log(
    `${fmtInt(summary.blockCount)} blocks, ${fmtBytes(out.container.bytes)}; package ${pkg.files} files, ${fmtBytes(pkg.bytes)} in ${packageMs} ms; ${order.length} segment URLs, mean ${fmtBytes(out.container.meanSegmentBytes)}`,
  );

  server = await startServe(containers, ['--log-level', 'info']);
  const nginxPid = Number(readFileSync(join(dirname(nginx.root), 'nginx.pid'), 'utf8'));
  log(`nginx on ${nginx.url('')} (pid ${nginxPid}), h4mk serve on ${server.url} (pid ${server.pid})`);

  // The server's segments live in the versioned directory its master playlist points into.
  const master = await (await fetch(new URL('/v1/containers/movie.h4mk/hls/master.m3u8', `${server.url}/`))).text();
  const version = /^(v-[0-9a-f]+)\//m.exec(master)?.[1];
  if (version === undefined) throw new Error(`no versioned directory in the master playlist:\n${master}`);
  const subjects = {
    nginx: { base: nginx.url(''), path: (p) => `/pkg/${p}`, pid: nginxPid },
    'h4mk serve': { base: `${server.url}/`, path: (p) => `/v1/containers/movie.h4mk/hls/${version}/${p}`, pid: server.pid },
  };
  // Byte for byte the same segments from both, every one of them, before timing anything.
  for (const p of order) {
    const a = Buffer.from(await (await fetch(new URL(subjects.nginx.path(p), subjects.nginx.base))).arrayBuffer());
    const b = Buffer.from(await (await fetch(new URL(subjects['h4mk serve'].path(p), subjects['h4mk serve'].base))).arrayBuffer());
    if (!a.equals(b)) throw new Error(`${p}: the package and h4mk serve disagree (${a.length} vs ${b.length} bytes)`);
  }
  log(`all ${order.length} segments byte-identical`);

  const cycle = (s) => {
    let i = 0;
    return () => ({ path: s.path(order[i++ % order.length]) });
  };
  const names = Object.keys(subjects);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  out.serverRssKiB = { before: procStats(server.pid).rssKiB };
  // Warm-up: page cache, JIT, the reader's segment tables.
  for (const name of names) await cannon({ url: subjects[name].base, next: cycle(subjects[name]), connections: CONNECTIONS, seconds: Math.min(3, SECONDS) });
  for (let round = 0; round < ROUNDS; round++) {
    const rotated = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of rotated) {
      const s = subjects[name];
      const cpu0 = procCpuMs(s.pid);
      const figures = cannonFigures(await cannon({ url: s.base, next: cycle(s), connections: CONNECTIONS, seconds: SECONDS }));
      figures.serverCpuUsPerRequest = ((procCpuMs(s.pid) - cpu0) * 1000) / figures.requests;
      if (figures.errors + figures.timeouts + figures.non2xx > 0)
        throw new Error(`${name}: ${figures.errors} errors, ${figures.timeouts} timeouts, ${figures.non2xx} non-2xx`);
      runs[name].push(figures);
      log(
        `round ${round + 1}/${ROUNDS} ${name.padEnd(10)} ${fmtInt(figures.requestsPerSecond)} req/s, ${fmtBytes(figures.bytesPerSecond)}/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, server CPU ${fmtNum(figures.serverCpuUsPerRequest, 1)} µs/request`,
      );
    }
  }
  out.serverRssKiB.after = procStats(server.pid).rssKiB;
  out.serverRssKiB.peak = procStats(server.pid).hwmKiB;
  // Time to first byte on idle servers: one connection, the same rotation, video and audio segments.
  out.ttfb = {};
  for (const name of names) {
    const s = subjects[name];
    await ttfb(s.base, order.slice(0, 20).map(s.path), 20);
    out.ttfb[name] = await ttfb(s.base, order.map(s.path), TTFB_REQUESTS);
    log(
      `TTFB ${name.padEnd(10)} median ${fmtNum(out.ttfb[name].medianMs, 3)} ms, p99 ${fmtNum(out.ttfb[name].p99Ms, 3)} ms over ${out.ttfb[name].n} sequential requests`,
    );
  }
  out.subjects = Object.fromEntries(
    names.map((n) => [
      n,
      {
        requestsPerSecond: median(runs[n].map((x) => x.requestsPerSecond)),
        bytesPerSecond: median(runs[n].map((x) => x.bytesPerSecond)),
        p50Ms: median(runs[n].map((x) => x.p50Ms)),
        p99Ms: median(runs[n].map((x) => x.p99Ms)),
        serverCpuUsPerRequest: median(runs[n].map((x) => x.serverCpuUsPerRequest)),
        ttfb: out.ttfb[n],
        runs: runs[n],
      },
    ]),
  );
} finally {
  await server?.stop();
  await nginx?.stop();
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}
out.elapsedS = (Date.now() - started) / 1000;
out.loadAverageAtEnd = loadavg().map((x) => +x.toFixed(2));

const S = out.subjects;
const H = S['h4mk serve'];
const N = S.nginx;
out.ratio = H.requestsPerSecond / N.requestsPerSecond;
out.cpuRatio = N.serverCpuUsPerRequest / H.serverCpuUsPerRequest;
const ok = (b) => (b ? 'MET' : 'MISSED');
out.goals = { 'segments/s ≥ 0.5 × nginx serving the package': { status: ok(out.ratio >= 0.5), value: fmtNum(out.ratio, 3) } };

table(
  `delivery: media segments, ${CONNECTIONS} connections × ${SECONDS} s, median of ${ROUNDS} rounds; ${out.container.segmentUrls} segment URLs (mean ${fmtBytes(out.container.meanSegmentBytes)}) of a ${MINUTES}-minute container`,
  [
    ...Object.entries(S).map(([name, s]) => [
      name,
      `${fmtInt(s.requestsPerSecond)} req/s`,
      `${fmtBytes(s.bytesPerSecond)}/s, p50 ${fmtNum(s.p50Ms, 1)} ms, p99 ${fmtNum(s.p99Ms, 1)} ms, server CPU ${fmtNum(s.serverCpuUsPerRequest, 1)} µs/req; runs ${s.runs.map((r) => fmtInt(r.requestsPerSecond)).join(', ')}`,
    ]),
    ...Object.entries(S).map(([name, s]) => [
      `TTFB ${name}`,
      `${fmtNum(s.ttfb.medianMs, 3)} ms`,
      `median; p99 ${fmtNum(s.ttfb.p99Ms, 3)} ms, max ${fmtNum(s.ttfb.maxMs, 3)} ms over ${s.ttfb.n} sequential requests, idle server`,
    ]),
    ['ratio h4mk serve / nginx', fmtNum(out.ratio, 3), `goal ≥ 0.5: ${out.goals['segments/s ≥ 0.5 × nginx serving the package'].status}`],
    ['server CPU per request, nginx / h4mk', fmtNum(out.cpuRatio, 3), 'capacity ratio if the server, not autocannon, were the limit'],
    [
      'h4mk serve RSS',
      `${fmtNum(out.serverRssKiB.after / 1024, 1)} MiB`,
      `before ${fmtNum(out.serverRssKiB.before / 1024, 1)} MiB, peak ${fmtNum(out.serverRssKiB.peak / 1024, 1)} MiB`,
    ],
  ],
);
console.log(
  `load average ${out.loadAverageAtStart.join(' ')} at start, ${out.loadAverageAtEnd.join(' ')} at end (autocannon, nginx and the server share ${out.machine.cores} cores)`,
);

const baseline = 'nginx serving the static package, same run';
out.rows = [
  {
    section: 'delivery',
    metric: 'media segment throughput',
    unit: 'req/s',
    better: 'higher',
    subject: 'h4mk serve (on the fly)',
    value: H.requestsPerSecond,
    baseline,
    baselineValue: N.requestsPerSecond,
    ratio: out.ratio,
    note: `goal ≥ 0.5; ${CONNECTIONS} connections; mean segment ${fmtBytes(out.container.meanSegmentBytes)}`,
  },
  {
    section: 'delivery',
    metric: 'media segment p99 latency under load',
    unit: 'ms',
    better: 'lower',
    subject: 'h4mk serve (on the fly)',
    value: H.p99Ms,
    baseline,
    baselineValue: N.p99Ms,
    ratio: H.p99Ms / N.p99Ms,
    note: `${CONNECTIONS} connections`,
  },
  {
    section: 'delivery',
    metric: 'media segment TTFB, median',
    unit: 'ms',
    better: 'lower',
    subject: 'h4mk serve (on the fly)',
    value: H.ttfb.medianMs,
    baseline,
    baselineValue: N.ttfb.medianMs,
    ratio: H.ttfb.medianMs / N.ttfb.medianMs,
    note: `sequential, idle server, ${H.ttfb.n} requests`,
  },
  {
    section: 'delivery',
    metric: 'media segment TTFB, p99',
    unit: 'ms',
    better: 'lower',
    subject: 'h4mk serve (on the fly)',
    value: H.ttfb.p99Ms,
    baseline,
    baselineValue: N.ttfb.p99Ms,
    ratio: H.ttfb.p99Ms / N.ttfb.p99Ms,
    note: `sequential, idle server, ${H.ttfb.n} requests`,
  },
  {
    section: 'delivery',
    metric: 'server CPU per media segment',
    unit: 'µs',
    better: 'lower',
    subject: 'h4mk serve (on the fly)',
    value: H.serverCpuUsPerRequest,
    baseline,
    baselineValue: N.serverCpuUsPerRequest,
    ratio: H.serverCpuUsPerRequest / N.serverCpuUsPerRequest,
    note: 'user+system CPU of the server process ÷ requests (/proc)',
  },
];
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'delivery.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(
  JSON.stringify(
    {
      segmentsPerSecond: { h4mk: Math.round(H.requestsPerSecond), nginx: Math.round(N.requestsPerSecond) },
      ratio: +out.ratio.toFixed(3),
      goal: out.goals['segments/s ≥ 0.5 × nginx serving the package'].status,
      ttfbMs: {
        h4mk: { median: +H.ttfb.medianMs.toFixed(3), p99: +H.ttfb.p99Ms.toFixed(3) },
        nginx: { median: +N.ttfb.medianMs.toFixed(3), p99: +N.ttfb.p99Ms.toFixed(3) },
      },
      p99UnderLoadMs: { h4mk: H.p99Ms, nginx: N.p99Ms },
      serverCpuUsPerRequest: { h4mk: +H.serverCpuUsPerRequest.toFixed(1), nginx: +N.serverCpuUsPerRequest.toFixed(1) },
      meanSegmentBytes: Math.round(out.container.meanSegmentBytes),
      segmentUrls: out.container.segmentUrls,
    },
    null,
    2,
  ),
);
console.log(`JSON: ${join(here, 'out', 'delivery.json')}`);
