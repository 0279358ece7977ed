/**
 * Format v2 benchmark (issue 12): what the container costs and how it opens.
 *
 *   node bench/format-v2.mjs [--hours-long H] [--out FILE] [--keep]
 *   node bench/run.mjs --only format [-- ARGS]
 *
 * 1. Bytes per block on the same packets: h4mk v1 and v2 against Matroska,
 *    MP4 and MCAP, on two shapes:
 *    - clip: a 120 s H.264 + AAC file made by ffmpeg (testsrc2 at 200 kb/s,
 *      AAC 64 kb/s); MP4 and Matroska are ffmpeg's own (`-c copy`), h4mk is
 *      `h4mk import` of the MP4, MCAP is @mcap/core fed the same packets;
 *    - movie: the 2-hour movie workload (bench/lib/workload.mjs: 30 fps video
 *      with 2 s GOPs, 48 kHz audio packets; the control track left out, which
 *      MP4 and Matroska cannot carry) at payload scale 0.02 (~64 B per block,
 *      the movie-shaped stream); MP4 and Matroska by mediabunny.
 *    Overhead per block = (file bytes − payload bytes) / packets.
 * 2. Over nginx (loopback, our config): a 2-hour and a 24-hour v2 container
 *    of the movie workload (payload scale 0.02, control track included): the
 *    requests and bytes `H4mkReader.open` over HttpSource takes, `h4mk
 *    manifest URL` takes (nginx access log), and open + the first frame at 5
 *    random times (readSpan) takes.
 * Writes a JSON document (default bench/out/format.json, the report's section
 * "format") and prints a table.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { McapWriter } from '@mcap/core';
import { FileHandleWritable } from '@mcap/nodejs';
import { EncodedAudioPacketSource, EncodedPacket, EncodedVideoPacketSource, FilePathTarget, MkvOutputFormat, Mp4OutputFormat, Output } from 'mediabunny';
import { FileSink, FileSource, H4mkReader, H4mkWriter, HttpSource } from '../dist/node.js';
import { rng, Workload } from './lib/workload.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const CLI = join(root, 'dist', 'cli', 'main.js');
const { values } = parseArgs({
  options: {
    'hours-long': { type: 'string', default: '24' },
    out: { type: 'string', default: join(here, 'out', 'format.json') },
    keep: { type: 'boolean', default: false },
  },
});
const dir = mkdtempSync(join(tmpdir(), 'h4mk-bench-format-'));
const PAYLOAD_SCALE = 0.02;

function fmt(n, digits = 2) {
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/* ------------------------------------------------------------ writers */

const TRACKS = [
  { id: 'video_main', kind: 'video', codec: 'avc1.64001f', timescale: 90_000, config: Uint8Array.of(1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0) },
  { id: 'audio_main', kind: 'audio', codec: 'mp4a.40.2', timescale: 48_000, config: Uint8Array.of(0x11, 0x90) },
  { id: 'control', kind: 'control', codec: 'application/json', timescale: 1_000_000 },
];

/** The movie workload's blocks (track numbers 0 video, 1 audio, 2 control), copied out. */
function* movieBlocks(durationUs, { control = true } = {}) {
  const w = new Workload({ durationUs, payloadScale: PAYLOAD_SCALE });
  while (w.next()) {
    const b = w.block;
    if (!control && b.track === 2) continue;
    yield { track: b.track, pts: b.pts, dts: b.dts, duration: b.duration, keyframe: b.keyframe, kind: b.kind, payload: b.payload };
  }
}

async function writeH4mk(path, tracks, blocks, formatVersion) {
  const writer = await H4mkWriter.create(await FileSink.create(path), { formatVersion });
  for (const t of tracks) writer.addTrack(t);
  let payload = 0;
  let n = 0;
  for (const b of blocks) {
    await writer.writeBlock(b);
    payload += b.payload.length;
    n++;
  }
  const summary = await writer.finish();
  return { bytes: summary.bytes, payload, blocks: n, segments: summary.segmentCount, indexLength: summary.indexLength };
}

async function writeMcap(path, tracks, blocks) {
  const handle = await open(path, 'w');
  const writer = new McapWriter({ writable: new FileHandleWritable(handle) });
  await writer.start({ profile: '', library: 'bench' });
  const channels = [];
  for (const t of tracks) channels.push(await writer.registerChannel({ topic: t.id, messageEncoding: t.codec, schemaId: 0, metadata: new Map() }));
  let payload = 0;
  let n = 0;
  for (const b of blocks) {
    const t = tracks[b.track];
    const ns = (v) => (BigInt(v) * 1_000_000_000n) / BigInt(t.timescale);
    await writer.addMessage({ channelId: channels[b.track], sequence: n, logTime: ns(b.dts), publishTime: ns(b.pts), data: b.payload });
    payload += b.payload.length;
    n++;
  }
  await writer.end();
  await handle.close();
  return { bytes: statSync(path).size, payload, blocks: n };
}

/** MP4 or Matroska by mediabunny: video (AVC) and audio (AAC) packets. */
async function writeMediabunny(path, format, blocks) {
  const output = new Output({ format: format === 'mkv' ? new MkvOutputFormat() : new Mp4OutputFormat({ fastStart: false }), target: new FilePathTarget(path) });
  const video = new EncodedVideoPacketSource('avc');
  const audio = new EncodedAudioPacketSource('aac');
  output.addVideoTrack(video, { frameRate: 30 });
  output.addAudioTrack(audio);
  await output.start();
  const meta = [
    { decoderConfig: { codec: 'avc1.64001f', codedWidth: 1280, codedHeight: 720, description: TRACKS[0].config } },
    { decoderConfig: { codec: 'mp4a.40.2', numberOfChannels: 2, sampleRate: 48_000, description: TRACKS[1].config } },
  ];
  let payload = 0;
  let n = 0;
  for (const b of blocks) {
    const ts = TRACKS[b.track].timescale;
    const packet = new EncodedPacket(b.payload, b.keyframe ? 'key' : 'delta', b.pts / ts, b.duration / ts, n);
    const source = b.track === 0 ? video : audio;
    const m = meta[b.track];
    meta[b.track] = undefined;
    await (m === undefined ? source.add(packet) : source.add(packet, m));
    payload += b.payload.length;
    n++;
  }
  await output.finalize();
  return { bytes: statSync(path).size, payload, blocks: n };
}

/* --------------------------------------------------------------- shapes */

async function clipShape() {
  const mp4 = join(dir, 'clip.mp4');
  const ff = spawnSync(
    'ffmpeg',
    [
      ...[
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=640x360:r=30',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000',
      ],
      ...['-t', '120', '-c:v', 'libx264', '-b:v', '200k', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', mp4],
    ],
    { stdio: 'inherit' },
  );
  if (ff.status !== 0) throw new Error('ffmpeg failed to make the clip');
  const mkv = join(dir, 'clip.mkv');
  if (spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', mp4, '-c', 'copy', mkv], { stdio: 'inherit' }).status !== 0)
    throw new Error('ffmpeg remux');
  const rows = {};
  for (const version of [1, 2]) {
    const out = join(dir, `clip-v${version}.h4mk`);
    const r = spawnSync(process.execPath, [CLI, 'import', mp4, '-o', out, '--format-version', String(version), '--force'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    rows[`h4mk v${version}`] = { bytes: statSync(out).size };
  }
  // The packets, from the v2 container, for MCAP and for the payload total.
  const reader = await H4mkReader.open(await FileSource.open(join(dir, 'clip-v2.h4mk')));
  const blocks = [];
  for await (const b of reader.blocks({}, { decompress: false })) blocks.push({ track: b.trackNumber, pts: b.pts, dts: b.dts, payload: b.payload });
  const tracks = reader.tracks().map((t) => ({ id: t.id, codec: t.codec, timescale: t.timescale }));
  const mcap = await writeMcap(join(dir, 'clip.mcap'), tracks, blocks);
  const payload = mcap.payload;
  rows.mcap = { bytes: mcap.bytes };
  rows['Matroska (ffmpeg)'] = { bytes: statSync(mkv).size };
  rows['MP4 (ffmpeg)'] = { bytes: statSync(mp4).size };
  for (const r of Object.values(rows)) r.perBlock = (r.bytes - payload) / blocks.length;
  await reader.close();
  return { packets: blocks.length, payload, rows };
}

async function movieShape() {
  const durationUs = 2 * 3600e6;
  const rows = {};
  const blocks = () => movieBlocks(durationUs, { control: false });
  const av = TRACKS.slice(0, 2);
  for (const version of [1, 2]) rows[`h4mk v${version}`] = await writeH4mk(join(dir, `movie-v${version}.h4mk`), av, blocks(), version);
  rows.mcap = await writeMcap(join(dir, 'movie.mcap'), av, blocks());
  rows['Matroska (mediabunny)'] = await writeMediabunny(join(dir, 'movie.mkv'), 'mkv', blocks());
  rows['MP4 (mediabunny)'] = await writeMediabunny(join(dir, 'movie.mp4'), 'mp4', blocks());
  const { payload, blocks: packets } = rows.mcap;
  for (const r of Object.values(rows)) r.perBlock = (r.bytes - payload) / packets;
  return { packets, payload, rows };
}

/* ---------------------------------------------------------------- nginx */

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startNginx(docroot) {
  const port = await freePort();
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 64; }
http { default_type application/octet-stream; client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  log_format ranges '$status $body_bytes_sent "$http_range" $request_uri'; access_log ${dir}/access.log ranges;
  sendfile on; etag on; server { listen 127.0.0.1:${port}; root ${docroot}; location / { } } }
`,
  );
  const child = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore' });
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
  throw new Error('nginx did not start');
}

function accessLines() {
  try {
    return readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function remote(hours, port) {
  const name = `movie-${hours}h.h4mk`;
  const path = join(dir, 'www', name);
  const written = await writeH4mk(path, TRACKS, movieBlocks(hours * 3600e6), 2);
  const url = `http://127.0.0.1:${port}/${name}`;
  // Open.
  const source = await HttpSource.open(url);
  const reader = await H4mkReader.open(source);
  const open = { ...source.stats };
  await reader.close();
  // `h4mk manifest URL`, counted in nginx's log.
  await new Promise((r) => setTimeout(r, 100));
  const before = accessLines().length;
  const m = spawnSync(process.execPath, [CLI, 'manifest', url, '--json'], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(m.stderr);
  await new Promise((r) => setTimeout(r, 200));
  const lines = accessLines().slice(before);
  const manifest = { requests: lines.length, bytes: lines.reduce((s, l) => s + Number(l.split(' ')[1]), 0) };
  // Open + first frame at 5 random times, each with a fresh source.
  const r = rng(hours);
  const frames = [];
  for (let i = 0; i < 5; i++) {
    const s = await HttpSource.open(url);
    const rd = await H4mkReader.open(s);
    const t = r.int(0, Math.floor(hours * 3600e6) - 1);
    await rd.readSpan('video_main', t);
    frames.push({ t, ...s.stats });
    await rd.close();
  }
  return { hours, fileBytes: written.bytes, blocks: written.blocks, segments: written.segments, indexLength: written.indexLength, open, manifest, frames };
}

/* ----------------------------------------------------------------- main */

const result = { date: new Date().toISOString(), payloadScale: PAYLOAD_SCALE };
try {
  result.clip = await clipShape();
  result.movie = await movieShape();
  mkdirSync(join(dir, 'www'));
  const nginx = await startNginx(join(dir, 'www'));
  try {
    result.remote = [];
    for (const hours of [2, Number(values['hours-long'])]) result.remote.push(await remote(hours, nginx.port));
  } finally {
    nginx.child.kill('SIGKILL');
  }
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
/* Comparison rows for bench/report.mjs (see its header). */
const rows = [];
const row = (section, metric, unit, better, subject, value, baseline, baselineValue, note = '') =>
  rows.push({ section, metric, unit, better, subject, value, baseline, baselineValue, ratio: value / baselineValue, note });
for (const [shape, label] of [
  ['clip', 'format v2, ffmpeg clip 120 s (H.264 + AAC)'],
  ['movie', 'format v2, 2-hour movie shape (video + audio)'],
]) {
  const s = result[shape];
  const v2 = s.rows['h4mk v2'];
  for (const [name, r] of Object.entries(s.rows)) {
    if (name === 'h4mk v2') continue;
    row(
      label,
      'container overhead',
      'B/block',
      'lower',
      'h4mk v2',
      v2.perBlock,
      name,
      r.perBlock,
      name === 'h4mk v1' ? `${s.packets} packets, ${s.payload} payload bytes; goal ≤ 16 B/block` : `file ${r.bytes} B against h4mk v2 ${v2.bytes} B`,
    );
  }
  row(label, 'container overhead', 'B/block', 'lower', 'h4mk v2', v2.perBlock, 'goal (issue 12)', 16, '');
}
for (const r of result.remote) {
  const label = `format v2 over nginx, ${r.hours} h (${r.segments} segments, index ${r.indexLength} B)`;
  const median = (k) => r.frames.map((f) => f[k]).sort((a, b) => a - b)[2];
  row(label, 'requests to open', 'requests', 'lower', 'h4mk v2', r.open.requests, 'goal: 1', 1, `${r.open.bytesRead} bytes read`);
  row(label, 'bytes to open', 'bytes', 'lower', 'h4mk v2', r.open.bytesRead, 'budget: 512 KiB', 524288, '');
  row(label, 'h4mk manifest URL', 'requests', 'lower', 'h4mk v2', r.manifest.requests, 'goal: 1', 1, `${r.manifest.bytes} bytes (nginx log)`);
  row(label, 'open + first frame at T', 'requests', 'lower', 'h4mk v2', median('requests'), 'goal: 2', 2, `median of 5 random T; ${median('bytesRead')} bytes`);
}
result.rows = rows;

mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);

for (const shape of ['clip', 'movie']) {
  const s = result[shape];
  console.log(`\n${shape}: ${s.packets} packets, ${s.payload} payload bytes`);
  const mkv = Object.entries(s.rows).find(([k]) => k.startsWith('Matroska'))[1];
  for (const [name, r] of Object.entries(s.rows)) {
    console.log(
      `  ${name.padEnd(24)} ${String(r.bytes).padStart(12)} B  ${fmt(r.perBlock).padStart(8)} B/block  ${fmt((100 * (r.bytes - mkv.bytes)) / mkv.bytes)}% vs Matroska`,
    );
  }
}
for (const r of result.remote) {
  const median = (k) => r.frames.map((f) => f[k]).sort((a, b) => a - b)[2];
  console.log(
    `\n${r.hours} h v2 over nginx: ${r.blocks} blocks, ${r.segments} segments, index ${r.indexLength} B, file ${r.fileBytes} B; ` +
      `open ${r.open.requests} request(s) / ${r.open.bytesRead} B; manifest URL ${r.manifest.requests} request(s) / ${r.manifest.bytes} B; ` +
      `open + first frame (median of 5) ${median('requests')} request(s) / ${median('bytesRead')} B`,
  );
}
