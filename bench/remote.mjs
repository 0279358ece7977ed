/**
 * Remote benchmark (issue 4): the 2-hour-movie container over HTTP.
 *
 *   node bench/remote.mjs [--payload-scale P] [--scale F] [--targets N] [--rtt-ms MS] [--keep]
 *   node bench/run.mjs --only remote [-- ARGS]
 *
 * --payload-scale P  payload size factor (1 = real sizes, ~2 GB; the index does not depend on it)
 * --scale F          duration factor (1 = 2 hours)
 * --targets N        random target times (default 20), each with a fresh open
 * --rtt-ms MS        delay added to every client→server chunk (default 20)
 *
 * nginx (Debian's /usr/sbin/nginx, our own config: tcp_nopush off, sendfile,
 * keep-alive) serves a tail and a faststart container on 127.0.0.1; a small
 * TCP proxy in this process delays each client→server chunk by MS, so every
 * request pays one extra round trip. For each layout and each of N random
 * times: a fresh HttpSource opens the container (faststart with the layout
 * hint) and reads everything needed to decode the video frame at that time
 * (readSpan: keyframe … target, one read). Requests and bytes are the
 * source's own counters (cross-checked against nginx's access log), ms is
 * wall time through the proxy. Table on stdout; bench/out/remote.json with
 * `rows` against the ANCHORS.md figures (measured on a machine like this one,
 * not in this run).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FileSink, FileSource, H4mkReader, HttpSource } from '../dist/index.js';
import { optimizeContainer } from '../dist/tools/optimize.js';
import { packH4mk } from './lib/pack.mjs';
import { fmtBytes, fmtInt, fmtNum, median, table } from './lib/stats.mjs';
import { materialise, rng } from './lib/workload.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    'payload-scale': { type: 'string', default: '1' },
    scale: { type: 'string', default: '1' },
    targets: { type: 'string', default: '20' },
    'rtt-ms': { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
});
const PAYLOAD_SCALE = Number(args['payload-scale']);
const SCALE = Number(args.scale);
const TARGETS = Math.max(1, Number(args.targets));
const RTT_MS = Number(args['rtt-ms']);
const DURATION_US = Math.round(2 * 3600e6 * SCALE);
const NGINX = process.env.H4MK_NGINX ?? '/usr/sbin/nginx';

const started = Date.now();
const log = (msg) => process.stderr.write(`[remote ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
const dir = mkdtempSync(join(tmpdir(), 'h4mk-remote-bench-'));
const root = join(dir, 'root');
mkdirSync(root);
mkdirSync(join(dir, 'tmp'));

/** A port that was free a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startNginx() {
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  log_format ranges '$status $body_bytes_sent "$http_range"';
  access_log ${dir}/access.log ranges;
  sendfile on; tcp_nopush off; tcp_nodelay on; keepalive_timeout 60s; keepalive_requests 100000; etag on;
  server { listen 127.0.0.1:${port}; root ${root}; location / { } }
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore' });
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return { port, child };
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not start: ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
}

/** A TCP proxy that delays every client→server chunk by `delayMs` (server→client is immediate). */
function startDelayProxy(targetPort, delayMs) {
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    );
  });
}

const accessLogLines = () => readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter((l) => l !== '');

/** One open plus one decodable span, on a fresh source. */
async function probe(url, layout, targetUs) {
  const source = await HttpSource.open(url);
  const t0 = performance.now();
  const reader = await H4mkReader.open(source, { layout });
  const openMs = performance.now() - t0;
  const open = { requests: source.stats.requests, bytes: source.stats.bytesRead, ms: openMs };
  const t1 = performance.now();
  const span = await reader.readSpan('video_main', targetUs);
  const spanMs = performance.now() - t1;
  if (span === null || span.blocks.length === 0) throw new Error(`no decodable span at ${targetUs} µs`);
  const frame = { requests: source.stats.requests - open.requests, bytes: source.stats.bytesRead - open.bytes, ms: spanMs, blocks: span.blocks.length };
  await reader.close();
  return { open, frame, indexLength: reader.indexLength, fileSize: reader.fileSize };
}

const out = { date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, loadAverageAtStart: loadavg(), args: { payloadScale: PAYLOAD_SCALE, scale: SCALE, targets: TARGETS, rttMs: RTT_MS } };
let nginx;
let proxy;
try {
  log(`packing the ${fmtNum(DURATION_US / 3600e6, 2)} h workload (payload scale ${PAYLOAD_SCALE})`);
  const cols = materialise({ durationUs: DURATION_US, payloadScale: PAYLOAD_SCALE });
  const tailPath = join(root, 'movie-tail.h4mk');
  const packed = await packH4mk(cols, tailPath, { compression: 'none' });
  log(`tail container: ${fmtInt(packed.summary.blockCount)} blocks, ${fmtBytes(packed.summary.bytes)}, index ${fmtBytes(packed.summary.indexLength)}`);
  const fastPath = join(root, 'movie-faststart.h4mk');
  {
    const reader = await H4mkReader.open(await FileSource.open(tailPath));
    await optimizeContainer(reader, await FileSink.create(fastPath), { layout: 'faststart' });
    await reader.close();
  }
  log(`faststart container: ${fmtBytes(statSync(fastPath).size)} (optimize, segments copied)`);
  nginx = await startNginx();
  proxy = await startDelayProxy(nginx.port, RTT_MS);
  const r = rng(0xfeed);
  const targets = Array.from({ length: TARGETS }, () => r.int(0, DURATION_US - 1));
  out.targetsUs = targets;
  out.layouts = {};
  for (const [layout, name] of [
    ['tail', 'movie-tail.h4mk'],
    ['faststart', 'movie-faststart.h4mk'],
  ]) {
    const url = `http://127.0.0.1:${proxy.port}/${name}`;
    await probe(url, layout, targets[0]); // warm-up: the keep-alive connection and the page cache
    const logBefore = accessLogLines().length;
    const runs = [];
    for (const t of targets) runs.push(await probe(url, layout, t));
    const logged = accessLogLines().length - logBefore;
    const sum = (f) => runs.reduce((a, x) => a + f(x), 0);
    const m = (f) => median(runs.map(f));
    const result = {
      fileBytes: runs[0].fileSize,
      indexLength: runs[0].indexLength,
      open: { requests: m((x) => x.open.requests), maxRequests: Math.max(...runs.map((x) => x.open.requests)), bytes: m((x) => x.open.bytes), ms: m((x) => x.open.ms), p90Ms: runs.map((x) => x.open.ms).sort((a, b) => a - b)[Math.floor(runs.length * 0.9)] },
      frame: { requests: m((x) => x.frame.requests), maxRequests: Math.max(...runs.map((x) => x.frame.requests)), bytes: m((x) => x.frame.bytes), ms: m((x) => x.frame.ms), blocks: m((x) => x.frame.blocks) },
      totalMs: m((x) => x.open.ms + x.frame.ms),
      requestsPerProbe: sum((x) => x.open.requests + x.frame.requests) / runs.length,
      nginxRequestsPerProbe: logged / runs.length,
    };
    out.layouts[layout] = result;
    log(`${layout}: open ${result.open.requests} req, ${fmtBytes(result.open.bytes)}, ${fmtNum(result.open.ms, 1)} ms; first frame ${result.frame.requests} req, ${fmtBytes(result.frame.bytes)}, ${fmtNum(result.frame.ms, 1)} ms`);
  }
} finally {
  proxy?.close();
  if (nginx) {
    nginx.child.kill('SIGQUIT');
    await new Promise((r) => nginx.child.once('exit', r));
  }
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}

/* ------------------------------------------------------------------ report */

const ANCHORS = [
  // format, open requests, open bytes, open ms (+RTT), first frame requests, first frame bytes
  ['MCAP (@mcap/core)', 5, 6.4 * 1024, 110, 2, 1.05 * 1024 * 1024],
  ['MP4, moov first (mediabunny)', 1, 7.09 * 1024 * 1024, 45, 1, 160 * 1024],
  ['MP4, moov last (mediabunny)', 2, 7.67 * 1024 * 1024, 71, 1, 128 * 1024],
  ['fragmented MP4 (mediabunny)', 3, 869 * 1024, 73, 1, 111 * 1024],
];
const L = out.layouts;
const row = (name, x) => [
  name,
  `${fmtNum(x.open.requests, 0)} · ${fmtBytes(x.open.bytes)} · ${fmtNum(x.open.ms, 1)} ms`,
  `first frame ${fmtNum(x.frame.requests, 0)} · ${fmtBytes(x.frame.bytes)} · ${fmtNum(x.frame.ms, 1)} ms; open + frame ${fmtNum(x.totalMs, 1)} ms; index ${fmtBytes(x.indexLength)}; nginx logged ${fmtNum(x.nginxRequestsPerProbe, 2)} req/probe`,
];
console.log(`H4MK remote benchmark — ${out.date}; node ${process.version}; load ${out.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}`);
table(`remote: ${fmtNum(DURATION_US / 3600e6, 2)}-hour container (${fmtBytes(L.tail.fileBytes)}) over HTTP, nginx on loopback, +${RTT_MS} ms per request; medians of ${TARGETS} fresh opens, each then decoding at a random time (requests · bytes · ms)`, [
  ['h4mk, tail (suffix read)', ...row('', L.tail).slice(1)],
  ['h4mk, faststart (prefix read, --layout)', ...row('', L.faststart).slice(1)],
  ...ANCHORS.map(([name, oq, ob, oms, fq, fb]) => [`${name} [ANCHORS.md]`, `${oq} · ${fmtBytes(ob)} · ${oms} ms`, `first frame ${fq} · ${fmtBytes(fb)}`]),
]);

// Rows for bench/report.mjs: h4mk against each ANCHORS figure (not measured in this run).
out.rows = [];
for (const [layout, x] of Object.entries(L)) {
  for (const [name, oq, ob, oms, fq, fb] of ANCHORS) {
    const add = (metric, unit, value, baselineValue) =>
      out.rows.push({ section: `remote, +${RTT_MS} ms RTT`, metric, unit, better: 'lower', subject: `h4mk ${layout}`, value, baseline: `${name} (ANCHORS.md)`, baselineValue, note: 'baseline from ANCHORS.md, not this run' });
    add('requests to open', 'requests', x.open.requests, oq);
    add('ms to open', 'ms', x.open.ms, oms);
    add('bytes to open', 'bytes', x.open.bytes, ob);
    add('requests to the first frame', 'requests', x.frame.requests, fq);
    add('bytes to the first frame', 'bytes', x.frame.bytes, fb);
  }
}
out.elapsedS = (Date.now() - started) / 1000;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'remote.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nelapsed ${fmtNum(out.elapsedS, 1)} s; JSON: ${join(here, 'out', 'remote.json')}`);
