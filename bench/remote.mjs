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
 * wall time through the proxy.
 *
 * Peers, same packets (bench/peers/formats.mjs writers), same nginx + proxy,
 * same targets: mediabunny Input(UrlSource, ALL_FORMATS) on an MP4 with moov
 * first (fastStart 'reserve': moov in reserved space at the start, media
 * streamed — 'in-memory' would hold ~2 GB) and with moov last (fastStart
 * false), open = getTracks + video decoder config + EncodedPacketSink, frame
 * = getKeyPacket(T) then getNextPacket up to T; @mcap/core
 * McapIndexedReader over an HttpSource-backed IReadable, open = Initialize,
 * frame = first video message ≥ T (MCAP has no keyframe notion). Peer
 * requests and bytes are counted at the proxy (request lines, bytes back incl.
 * headers); for mediabunny, whose open-ended ranges are aborted after nginx
 * has pushed megabytes on loopback, also the body bytes the client read.
 * Table on stdout (ANCHORS.md figures as reference lines only);
 * bench/out/remote.json with `rows`: h4mk against each measured peer.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { McapIndexedReader } from '@mcap/core';
import { ALL_FORMATS, EncodedPacketSink, Input, UrlSource } from 'mediabunny';
import { FileSink, FileSource, H4mkReader, HttpSource } from '../dist/node.js';
import { optimizeContainer } from '../dist/tools/optimize.js';
import { packH4mk } from './lib/pack.mjs';
import { fmtBytes, fmtInt, fmtNum, median, table } from './lib/stats.mjs';
import { rng } from './lib/workload.mjs';
import { pack as packPeer } from './peers/formats.mjs';
import { synthetic } from './peers/workloads.mjs';

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
  /** Request lines seen client→server, bytes (headers + bodies) forwarded server→client. */
  const stats = { requests: 0, bytesDown: 0 };
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      stats.requests += (chunk.toString('latin1').match(/(?:^|\r\n)(?:GET|HEAD) \S+ HTTP\/1\.[01]\r\n/g) ?? []).length;
      setTimeout(() => upstream.write(chunk), delayMs);
    });
    upstream.on('data', (chunk) => {
      stats.bytesDown += chunk.length;
      client.write(chunk);
    });
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
        stats,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    );
  });
}

const accessLogLines = () =>
  readFileSync(join(dir, 'access.log'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

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

/** Lets responses still streaming when a call returned (aborted or read-ahead bodies) reach the counters. */
const settle = () => new Promise((r) => setTimeout(r, 40));

/** Proxy-side counters since `from`: request lines, bytes back (headers included). */
const since = (from) => ({ requests: proxy.stats.requests - from.requests, bytes: proxy.stats.bytesDown - from.bytesDown });
const snap = () => ({ ...proxy.stats });

/**
 * mediabunny over HTTP: open = Input(UrlSource, ALL_FORMATS).getTracks() + the
 * first video track's decoder config and packet sink; first frame =
 * getKeyPacket(T) (with data) then getNextPacket until timestamp ≥ T.
 * Requests and bytes are counted at the proxy.
 */
/*
 * mediabunny's UrlSource asks for open-ended ranges (`bytes=N-`) and aborts
 * the body once it has what it wants; on loopback nginx pushes megabytes into
 * the socket before the abort lands, all counted at the proxy. The body bytes
 * the client actually read are counted too (a fetch wrapper), as `clientBytes`.
 */
const clientRead = { bytes: 0, on: false };
const realFetch = globalThis.fetch;
globalThis.fetch = async (...a) => {
  const response = await realFetch(...a);
  if (!clientRead.on || response.body === null) return response; // only the MP4 probes are wrapped
  const reader = response.body.getReader();
  const body = new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else {
        clientRead.bytes += value.length;
        controller.enqueue(value);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
};

async function probeMp4(url, targetUs) {
  const s0 = snap();
  const c0 = clientRead.bytes;
  const t0 = performance.now();
  const input = new Input({ source: new UrlSource(url), formats: ALL_FORMATS });
  const video = (await input.getTracks()).find((t) => t.type === 'video');
  await video.getDecoderConfig();
  const sink = new EncodedPacketSink(video);
  const openMs = performance.now() - t0;
  await settle();
  const open = { ...since(s0), ms: openMs, clientBytes: clientRead.bytes - c0 };
  const s1 = snap();
  const c1 = clientRead.bytes;
  const t1 = performance.now();
  const T = targetUs / 1e6;
  let packet = await sink.getKeyPacket(T);
  if (packet === null) throw new Error(`mp4: no key packet at ${T} s`);
  let packets = 1;
  while (packet !== null && packet.timestamp < T - 1e-9) {
    const next = await sink.getNextPacket(packet);
    if (next === null) break;
    packet = next;
    packets++;
  }
  const frameMs = performance.now() - t1;
  input.dispose();
  await settle();
  return { open, frame: { ...since(s1), ms: frameMs, blocks: packets, clientBytes: clientRead.bytes - c1 }, indexLength: null, fileSize: null };
}

/**
 * @mcap/core over HTTP: McapIndexedReader.Initialize over an IReadable backed
 * by the library's HttpSource; first frame = first message of readMessages({
 * topics: ['video_main'], startTime: T }) (MCAP has no keyframe notion: this
 * is the first message at or after T, not a decodable span from a keyframe).
 */
async function probeMcap(url, targetUs) {
  const source = await HttpSource.open(url);
  const readable = { size: async () => BigInt(await source.size()), read: (offset, length) => source.read(Number(offset), Number(length)) };
  const s0 = snap();
  const t0 = performance.now();
  const reader = await McapIndexedReader.Initialize({ readable });
  const openMs = performance.now() - t0;
  await settle();
  const open = { ...since(s0), ms: openMs, sourceRequests: source.stats.requests, sourceBytes: source.stats.bytesRead };
  const s1 = snap();
  const r1 = source.stats.requests;
  const t1 = performance.now();
  let first = null;
  for await (const message of reader.readMessages({ topics: ['video_main'], startTime: BigInt(targetUs) * 1000n })) {
    first = message;
    break;
  }
  const frameMs = performance.now() - t1;
  if (first === null) throw new Error(`mcap: no message at ${targetUs} µs`);
  await settle();
  const frame = { ...since(s1), ms: frameMs, blocks: 1, sourceRequests: source.stats.requests - r1 };
  const fileSize = await source.size();
  await source.close?.();
  return { open, frame, indexLength: null, fileSize };
}

const out = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  loadAverageAtStart: loadavg(),
  args: { payloadScale: PAYLOAD_SCALE, scale: SCALE, targets: TARGETS, rttMs: RTT_MS },
};
let nginx;
let proxy;
try {
  log(`packing the ${fmtNum(DURATION_US / 3600e6, 2)} h workload (payload scale ${PAYLOAD_SCALE})`);
  const workload = synthetic({ durationUs: DURATION_US, payloadScale: PAYLOAD_SCALE });
  const { cols } = workload;
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
  // The peers: the same packets, written by bench/peers/formats.mjs (MP4: video + audio only, no control track).
  const packetCounts = workload.tracks.map((_, i) => cols.track.reduce((a, t) => a + (t === i ? 1 : 0), 0));
  out.peerFiles = {};
  for (const [name, format, options] of [
    ['movie-moovfirst.mp4', 'mp4', { fastStart: 'reserve', packetCounts }],
    ['movie-moovlast.mp4', 'mp4', { fastStart: false }],
    ['movie.mcap', 'mcap', { compression: 'none' }],
  ]) {
    const w = await packPeer(format, workload, join(root, name), options);
    out.peerFiles[name] = { bytes: w.bytes, blocks: w.blocks, writeMs: w.ms };
    log(`${name}: ${fmtInt(w.blocks)} packets, ${fmtBytes(w.bytes)}, written in ${fmtNum(w.ms / 1000, 1)} s`);
  }
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
      open: {
        requests: m((x) => x.open.requests),
        maxRequests: Math.max(...runs.map((x) => x.open.requests)),
        bytes: m((x) => x.open.bytes),
        ms: m((x) => x.open.ms),
        p90Ms: runs.map((x) => x.open.ms).sort((a, b) => a - b)[Math.floor(runs.length * 0.9)],
      },
      frame: {
        requests: m((x) => x.frame.requests),
        maxRequests: Math.max(...runs.map((x) => x.frame.requests)),
        bytes: m((x) => x.frame.bytes),
        ms: m((x) => x.frame.ms),
        blocks: m((x) => x.frame.blocks),
      },
      totalMs: m((x) => x.open.ms + x.frame.ms),
      requestsPerProbe: sum((x) => x.open.requests + x.frame.requests) / runs.length,
      nginxRequestsPerProbe: logged / runs.length,
    };
    out.layouts[layout] = result;
    log(
      `h4mk ${layout}: open ${result.open.requests} req, ${fmtBytes(result.open.bytes)}, ${fmtNum(result.open.ms, 1)} ms; first frame ${result.frame.requests} req, ${fmtBytes(result.frame.bytes)}, ${fmtNum(result.frame.ms, 1)} ms`,
    );
  }
  out.peers = {};
  for (const [key, label, name, probeFn] of [
    ['mp4-moov-first', 'MP4, moov first (mediabunny)', 'movie-moovfirst.mp4', probeMp4],
    ['mp4-moov-last', 'MP4, moov last (mediabunny)', 'movie-moovlast.mp4', probeMp4],
    ['mcap', 'MCAP (@mcap/core)', 'movie.mcap', probeMcap],
  ]) {
    const url = `http://127.0.0.1:${proxy.port}/${name}`;
    clientRead.on = probeFn === probeMp4;
    await probeFn(url, targets[0]); // warm-up
    const logBefore = accessLogLines().length;
    const runs = [];
    for (const t of targets) runs.push(await probeFn(url, t));
    const lines = accessLogLines().slice(logBefore);
    const m = (f) => median(runs.map(f));
    const result = {
      label,
      fileBytes: out.peerFiles[name].bytes,
      open: {
        requests: m((x) => x.open.requests),
        maxRequests: Math.max(...runs.map((x) => x.open.requests)),
        bytes: m((x) => x.open.bytes),
        ms: m((x) => x.open.ms),
        p90Ms: runs.map((x) => x.open.ms).sort((a, b) => a - b)[Math.floor(runs.length * 0.9)],
      },
      frame: {
        requests: m((x) => x.frame.requests),
        maxRequests: Math.max(...runs.map((x) => x.frame.requests)),
        bytes: m((x) => x.frame.bytes),
        ms: m((x) => x.frame.ms),
        blocks: m((x) => x.frame.blocks),
      },
      totalMs: m((x) => x.open.ms + x.frame.ms),
      ...(runs[0].open.clientBytes === undefined ? {} : { clientBytes: { open: m((x) => x.open.clientBytes), frame: m((x) => x.frame.clientBytes) } }),
      nginxRequestsPerProbe: lines.length / runs.length,
      nginxBodyBytesPerProbe: lines.reduce((a, l) => a + Number(l.split(' ')[1] ?? 0), 0) / runs.length,
    };
    out.peers[key] = result;
    log(
      `${label}: open ${result.open.requests} req, ${fmtBytes(result.open.bytes)}, ${fmtNum(result.open.ms, 1)} ms; first frame ${result.frame.requests} req, ${fmtBytes(result.frame.bytes)}, ${fmtNum(result.frame.ms, 1)} ms`,
    );
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
const P = out.peers;
const row = (name, x) => [
  name,
  `${fmtNum(x.open.requests, 0)} · ${fmtBytes(x.open.bytes)} · ${fmtNum(x.open.ms, 1)} ms`,
  `first frame ${fmtNum(x.frame.requests, 0)} · ${fmtBytes(x.frame.bytes)} · ${fmtNum(x.frame.ms, 1)} ms; open + frame ${fmtNum(x.totalMs, 1)} ms; ${x.indexLength ? `index ${fmtBytes(x.indexLength)}; ` : `file ${fmtBytes(x.fileBytes)}; `}nginx logged ${fmtNum(x.nginxRequestsPerProbe, 2)} req/probe${x.clientBytes ? `; body bytes the client read: open ${fmtBytes(x.clientBytes.open)}, frame ${fmtBytes(x.clientBytes.frame)}` : ''}`,
];
console.log(`H4MK remote benchmark — ${out.date}; node ${process.version}; load ${out.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}`);
table(
  `remote: ${fmtNum(DURATION_US / 3600e6, 2)}-hour container (${fmtBytes(L.tail.fileBytes)}) over HTTP, nginx on loopback, +${RTT_MS} ms per request; medians of ${TARGETS} fresh opens, each then decoding at a random time (requests · bytes · ms). h4mk: the source's counters; peers: request lines and bytes back (headers included) at the proxy`,
  [
    row('h4mk, tail (suffix read)', L.tail),
    row('h4mk, faststart (prefix read, --layout)', L.faststart),
    ...Object.values(P).map((x) => row(`${x.label}, measured`, x)),
    ...ANCHORS.map(([name, oq, ob, oms, fq, fb]) => [
      `  reference: ${name} [ANCHORS.md, not this run]`,
      `${oq} · ${fmtBytes(ob)} · ${oms} ms`,
      `first frame ${fq} · ${fmtBytes(fb)}`,
    ]),
  ],
);

// Rows for bench/report.mjs: h4mk against each peer measured in this run, over the same nginx + proxy.
out.rows = [];
for (const [layout, x] of Object.entries(L)) {
  for (const p of Object.values(P)) {
    const add = (metric, unit, value, baselineValue) =>
      out.rows.push({
        section: `remote, +${RTT_MS} ms RTT`,
        metric,
        unit,
        better: 'lower',
        subject: `h4mk ${layout}`,
        value,
        baseline: p.label,
        baselineValue,
        note: `measured in this run, same nginx + ${RTT_MS} ms proxy, same packets; medians of ${TARGETS} fresh opens${p.label.startsWith('MCAP') ? '; MCAP first frame = first video message ≥ T (no keyframe notion)' : `; MP4 first frame = key packet ≤ T then packets up to T; bytes = sent back through the proxy (open-ended ranges aborted by mediabunny), of which the client read ${fmtBytes(p.clientBytes.open)} to open, ${fmtBytes(p.clientBytes.frame)} to the frame`}`,
      });
    add('requests to open', 'requests', x.open.requests, p.open.requests);
    add('ms to open', 'ms', x.open.ms, p.open.ms);
    add('bytes to open', 'bytes', x.open.bytes, p.open.bytes);
    add('requests to the first frame', 'requests', x.frame.requests, p.frame.requests);
    add('bytes to the first frame', 'bytes', x.frame.bytes, p.frame.bytes);
    add('ms to open + first frame', 'ms', x.totalMs, p.totalMs);
    if (p.clientBytes) {
      // What the client consumed: stable, unlike the bytes nginx pushes on loopback before mediabunny's abort lands.
      add('body bytes the client read to open', 'bytes', x.open.bytes, p.clientBytes.open);
      add('body bytes the client read to the first frame', 'bytes', x.frame.bytes, p.clientBytes.frame);
    }
  }
}
out.anchors = ANCHORS.map(([name, openRequests, openBytes, openMs, frameRequests, frameBytes]) => ({
  name,
  openRequests,
  openBytes,
  openMs,
  frameRequests,
  frameBytes,
  source: 'ANCHORS.md (reference only, not this run)',
}));
out.elapsedS = (Date.now() - started) / 1000;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'remote.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nelapsed ${fmtNum(out.elapsedS, 1)} s; JSON: ${join(here, 'out', 'remote.json')}`);
