/**
 * Encryption benchmark (issue 5): encrypted pack and decrypting read against
 * plain, with raw AES-256-GCM on the same bytes as the limit, in one run.
 *
 *   node bench/crypto.mjs [--runs N] [--mib-blocks N] [--mix-seconds S]
 *   npm run bench -- --only crypto [-- --runs N]     (section "crypto" of bench/run.mjs)
 *
 * Workloads (payloads: views into one random pool, i.e. incompressible like
 * real media; compression "none" on both sides, so the difference is the
 * encryption alone):
 *   mib  — one video track of 1 MiB blocks;
 *   mix  — 30 fps video blocks of 5–200 KB (uniform, a keyframe every 60)
 *          interleaved with 48 kHz audio blocks of 300–800 B (1024 samples each).
 * For each workload, R repetitions (order rotated) of:
 *   pack plain / encrypted → file   H4mkWriter → FileSink (buffered, datasync, rename): what `h4mk pack` does;
 *   pack plain / encrypted → null   the same into a sink that discards: CPU only;
 *   read plain / decrypting ← file  range() with payloads from FileSource (page cache warm);
 *   read plain / decrypting ← memory  the same from MemorySource: CPU only;
 *   AES-256-GCM seal / open          node:crypto on the same blocks with a 104-byte AAD, nothing else.
 * Throughput = payload bytes / median time. Ratios are encrypted ÷ plain throughput.
 * Figures go to stdout and bench/out/crypto.json (with `rows` for bench/report.mjs).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FileSink, FileSource, H4mkReader, H4mkWriter, MemorySink, MemorySource } from '../dist/node.js';
import { copyPayloads } from './lib/pack.mjs';
import { fmtBytes, fmtInt, fmtNum, median, table } from './lib/stats.mjs';
import { rng } from './lib/workload.mjs';

const SECRET = new Uint8Array(32).fill(7);
const EPOCH_US = 2_000_000;
const MIB = 1 << 20;
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1e3);

/** A sink that discards what it is given (the writer's CPU cost alone). */
class NullSink {
  bytes = 0;
  write(b) {
    this.bytes += b.length;
    return undefined;
  }
  async commit() {}
  async abort() {}
}

/** Blocks of a workload: { track, ptsUs, keyframe, payload } in write order. */
export function makeWorkloads({ mibBlocks = 160, mixSeconds = 60, seed = 0xc0de } = {}) {
  const r = rng(seed);
  const pool = randomBytes(64 * MIB + MIB);
  const view = (length) => {
    const at = r.int(0, pool.length - length);
    return pool.subarray(at, at + length);
  };
  const mib = [];
  for (let i = 0; i < mibBlocks; i++) mib.push({ track: 'video', ptsUs: i * 33_333, keyframe: i % 30 === 0, payload: view(MIB) });
  const video = [];
  const frames = Math.round(mixSeconds * 30);
  for (let i = 0; i < frames; i++)
    video.push({ track: 'video', ptsUs: Math.round((i * 1e6) / 30), keyframe: i % 60 === 0, payload: view(r.int(5_000, 200_000)) });
  const audio = [];
  const packets = Math.floor((mixSeconds * 48_000) / 1024);
  for (let i = 0; i < packets; i++)
    audio.push({ track: 'audio', ptsUs: Math.floor((i * 1024 * 1e6) / 48_000), keyframe: true, payload: view(r.int(300, 800)) });
  const mix = [];
  for (let v = 0, a = 0; v < video.length || a < audio.length; ) {
    if (a >= audio.length || (v < video.length && video[v].ptsUs <= audio[a].ptsUs)) mix.push(video[v++]);
    else mix.push(audio[a++]);
  }
  return { mib, mix };
}

function describeWorkload(blocks) {
  const bytes = blocks.reduce((n, b) => n + b.payload.length, 0);
  const perTrack = {};
  for (const b of blocks) perTrack[b.track] = (perTrack[b.track] ?? 0) + 1;
  return { blocks: blocks.length, payloadBytes: bytes, perTrack, meanBlockBytes: bytes / blocks.length };
}

async function pack(blocks, sink, encrypted) {
  const t0 = process.hrtime.bigint();
  const writer = await H4mkWriter.create(sink, { compression: 'none', ...(encrypted ? { encryption: { secret: SECRET, epochUs: EPOCH_US } } : {}) });
  writer.addTrack({ id: 'video', kind: 'video' });
  if (blocks.some((b) => b.track === 'audio')) writer.addTrack({ id: 'audio', kind: 'audio' });
  for (const b of blocks) await writer.writeBlock(b);
  await writer.finish();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function read(source, encrypted) {
  const t0 = process.hrtime.bigint();
  const reader = await H4mkReader.open(source, encrypted ? { key: { secret: SECRET } } : {});
  let bytes = 0;
  for await (const b of reader.blocks({})) bytes += b.payload.length;
  await reader.close();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes };
}

/** Raw AES-256-GCM over the same blocks: one cipher per block, 104-byte AAD, 12-byte nonce. */
function aesSeal(blocks, key, aad) {
  const sealed = new Array(blocks.length);
  const nonce = Buffer.alloc(12);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < blocks.length; i++) {
    nonce.writeUInt32LE(i, 0);
    const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    const body = c.update(blocks[i].payload);
    c.final();
    sealed[i] = { body, tag: c.getAuthTag() };
  }
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, sealed };
}

function aesOpen(sealed, key, aad) {
  const nonce = Buffer.alloc(12);
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < sealed.length; i++) {
    nonce.writeUInt32LE(i, 0);
    const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(sealed[i].tag);
    bytes += d.update(sealed[i].body).length;
    d.final();
  }
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes };
}

/** Runs every measurement on one workload. */
async function benchWorkload(name, blocks, { runs, dir, log }) {
  const info = describeWorkload(blocks);
  const file = { plain: join(dir, `${name}-plain.h4mk`), enc: join(dir, `${name}-enc.h4mk`), copy: join(dir, `${name}.copy`) };
  // Containers for the read passes (and a check that the encrypted one decrypts to the same bytes).
  const memory = {};
  for (const [kind, encrypted] of [
    ['plain', false],
    ['enc', true],
  ]) {
    const sink = new MemorySink();
    await pack(blocks, sink, encrypted);
    memory[kind] = sink.bytes();
  }
  const key = randomBytes(32);
  const aad = randomBytes(104);
  const tasks = {
    'pack plain → file': async () => pack(blocks, await FileSink.create(file.plain), false),
    'pack encrypted → file': async () => pack(blocks, await FileSink.create(file.enc), true),
    'pack plain → null': () => pack(blocks, new NullSink(), false),
    'pack encrypted → null': () => pack(blocks, new NullSink(), true),
    'read plain ← file': async () => (await read(await FileSource.open(file.plain), false)).ms,
    'read decrypting ← file': async () => (await read(await FileSource.open(file.enc), true)).ms,
    'read plain ← memory': async () => (await read(new MemorySource(memory.plain), false)).ms,
    'read decrypting ← memory': async () => (await read(new MemorySource(memory.enc), true)).ms,
    'AES-256-GCM seal': async () => aesSeal(blocks, key, aad).ms,
    'AES-256-GCM open': async () => {
      const { sealed } = aesSeal(blocks, key, aad);
      return aesOpen(sealed, key, aad).ms;
    },
  };
  const names = Object.keys(tasks);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const cpu = Object.fromEntries(names.map((n) => [n, []]));
  // Warm-up: files exist before the first read, JIT and page cache settle.
  await tasks['pack plain → file']();
  await tasks['pack encrypted → file']();
  const check = await read(new MemorySource(memory.enc), true);
  if (check.bytes !== info.payloadBytes) throw new Error(`decrypting read returned ${check.bytes} of ${info.payloadBytes} bytes`);
  // Plain pack against a plain copy of the same bytes, alone: pairs in alternating order, nothing else between them
  // (in the rotation below, the tasks before a pack change its time by up to 2×: reads and AES leave the allocator
  // and page cache in another state).
  const alone = { 'pack plain → file': [], 'plain copy → file': [] };
  for (let r = 0; r < runs; r++) {
    for (const n of r % 2 === 0 ? ['plain copy → file', 'pack plain → file'] : ['pack plain → file', 'plain copy → file']) {
      globalThis.gc?.();
      alone[n].push(
        n === 'plain copy → file'
          ? (
              await copyPayloads(
                blocks.map((b) => b.payload),
                file.copy,
              )
            ).ms
          : await tasks[n](),
      );
    }
  }
  log(
    `${name} alone: pack ${alone['pack plain → file'].map((t) => t.toFixed(0)).join(', ')} ms; copy ${alone['plain copy → file'].map((t) => t.toFixed(0)).join(', ')} ms`,
  );
  for (let r = 0; r < runs; r++) {
    // Pack first (files for the reads), the rest rotated so no task always runs first.
    const order = [...names.slice(0, 4), ...names.slice(4).map((_, i, rest) => rest[(i + r) % rest.length])];
    for (const n of order) {
      globalThis.gc?.(); // with --expose-gc: no task pays for the previous one's garbage
      const c0 = process.cpuUsage();
      times[n].push(await tasks[n]());
      const c = process.cpuUsage(c0);
      cpu[n].push((c.user + c.system) / 1000);
    }
    log(
      `${name} run ${r + 1}/${runs}: ${order.map((n) => `${n.split(' ').slice(0, 2).join(' ')} ${fmtNum(mbps(info.payloadBytes, times[n].at(-1)), 0)}`).join(', ')} MB/s`,
    );
  }
  const aloneStat = Object.fromEntries(
    Object.entries(alone).map(([n, t]) => [n, { medianMs: median(t), mbPerS: mbps(info.payloadBytes, median(t)), runsMs: t }]),
  );
  const stat = Object.fromEntries(
    names.map((n) => [
      n,
      {
        medianMs: median(times[n]),
        mbPerS: mbps(info.payloadBytes, median(times[n])),
        runsMs: times[n],
        cpuMs: median(cpu[n]),
        cpuMbPerS: mbps(info.payloadBytes, median(cpu[n])),
      },
    ]),
  );
  const ratio = (enc, plain) => stat[enc].mbPerS / stat[plain].mbPerS;
  // CPU time is less sensitive to other tenants than wall time (the same data, a steadier view).
  const cpuRatio = (enc, plain) => stat[plain].cpuMs / stat[enc].cpuMs;
  const paired = (enc, plain) => median(times[enc].map((t, i) => times[plain][i] / t));
  return {
    ...info,
    fileBytes: { plain: memory.plain.length, encrypted: memory.enc.length },
    stat,
    alone: aloneStat,
    ratios: {
      packFile: ratio('pack encrypted → file', 'pack plain → file'),
      packVsCopy: aloneStat['pack plain → file'].mbPerS / aloneStat['plain copy → file'].mbPerS,
      packVsCopyPaired: median(alone['pack plain → file'].map((t, i) => alone['plain copy → file'][i] / t)),
      packCpu: ratio('pack encrypted → null', 'pack plain → null'),
      readFile: ratio('read decrypting ← file', 'read plain ← file'),
      readMemory: ratio('read decrypting ← memory', 'read plain ← memory'),
      packFilePaired: paired('pack encrypted → file', 'pack plain → file'),
      packCpuPaired: paired('pack encrypted → null', 'pack plain → null'),
      readFilePaired: paired('read decrypting ← file', 'read plain ← file'),
      readMemoryPaired: paired('read decrypting ← memory', 'read plain ← memory'),
      packFileCpu: cpuRatio('pack encrypted → file', 'pack plain → file'),
      packCpuCpu: cpuRatio('pack encrypted → null', 'pack plain → null'),
      readFileCpu: cpuRatio('read decrypting ← file', 'read plain ← file'),
      readMemoryCpu: cpuRatio('read decrypting ← memory', 'read plain ← memory'),
    },
  };
}

/** Runs the crypto benchmark; returns the results and prints a table. */
export async function benchCrypto({ runs = 5, mibBlocks = 160, mixSeconds = 60, log = (m) => process.stderr.write(`[crypto] ${m}\n`) } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'h4mk-bench-crypto-'));
  try {
    log(`workloads: ${mibBlocks} × 1 MiB; ${mixSeconds} s of 30 fps video (5–200 KB) + 48 kHz audio (300–800 B)`);
    const { mib, mix } = makeWorkloads({ mibBlocks, mixSeconds });
    const result = {
      runs,
      epochUs: EPOCH_US,
      mib: await benchWorkload('mib', mib, { runs, dir, log }),
      mix: await benchWorkload('mix', mix, { runs, dir, log }),
    };
    const goals = [
      ['mib', 0.7],
      ['mix', 0.5],
    ];
    result.goals = {};
    for (const [w, goal] of goals) {
      const x = result[w].ratios;
      result.goals[w] = { goal, packFile: x.packFile >= goal, readFile: x.readFile >= goal, packCpu: x.packCpu >= goal, readMemory: x.readMemory >= goal };
    }
    printCrypto(result);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ok = (b) => (b ? 'MET' : 'MISSED');

export function printCrypto(result) {
  for (const [w, title] of [
    ['mib', '1 MiB blocks'],
    ['mix', 'realistic mix (video 5–200 KB, audio 300–800 B)'],
  ]) {
    const x = result[w];
    const s = x.stat;
    const row = (n, note = '') => [
      n,
      `${fmtNum(s[n].mbPerS, 0)} MB/s`,
      `${fmtNum(s[n].medianMs, 1)} ms median (CPU ${fmtNum(s[n].cpuMs, 1)} ms); runs ${s[n].runsMs.map((t) => t.toFixed(0)).join(', ')} ms${note}`,
    ];
    const goal = w === 'mib' ? 0.7 : 0.5;
    table(
      `encryption: ${title} — ${fmtInt(x.blocks)} blocks (${Object.entries(x.perTrack)
        .map(([k, v]) => `${k} ${fmtInt(v)}`)
        .join(', ')}), ${fmtBytes(x.payloadBytes)} payload, mean ${fmtBytes(x.meanBlockBytes)}; median of ${result.runs}`,
      [
        row('AES-256-GCM seal', ' (the limit for encrypting)'),
        row('AES-256-GCM open', ' (the limit for decrypting)'),
        row('pack plain → file'),
        row('pack encrypted → file'),
        row('pack plain → null'),
        row('pack encrypted → null'),
        row('read plain ← file'),
        row('read decrypting ← file'),
        row('read plain ← memory'),
        row('read decrypting ← memory'),
        [
          'ratio pack → file',
          fmtNum(x.ratios.packFile, 3),
          `encrypted ÷ plain; paired per-run median ${fmtNum(x.ratios.packFilePaired, 3)}, CPU-time ratio ${fmtNum(x.ratios.packFileCpu, 3)}; goal ≥ ${goal}: ${ok(x.ratios.packFile >= goal)}`,
        ],
        [
          'alone: pack plain → file',
          `${fmtNum(x.alone['pack plain → file'].mbPerS, 0)} MB/s`,
          `runs ${x.alone['pack plain → file'].runsMs.map((t) => t.toFixed(0)).join(', ')} ms, paired with the copy below in alternating order`,
        ],
        [
          'alone: plain copy → file',
          `${fmtNum(x.alone['plain copy → file'].mbPerS, 0)} MB/s`,
          `runs ${x.alone['plain copy → file'].runsMs.map((t) => t.toFixed(0)).join(', ')} ms (the payload bytes through a 1 MiB buffer, datasync, rename)`,
        ],
        [
          'ratio plain pack ÷ copy (alone)',
          fmtNum(x.ratios.packVsCopy, 3),
          `paired per-run median ${fmtNum(x.ratios.packVsCopyPaired, 3)}${w === 'mib' ? `; goal ≥ 0.8: ${ok(x.ratios.packVsCopy >= 0.8)}` : ''}`,
        ],
        [
          'ratio pack → null (CPU)',
          fmtNum(x.ratios.packCpu, 3),
          `paired ${fmtNum(x.ratios.packCpuPaired, 3)}, CPU-time ${fmtNum(x.ratios.packCpuCpu, 3)}; goal ≥ ${goal}: ${ok(x.ratios.packCpu >= goal)}`,
        ],
        [
          'ratio read ← file',
          fmtNum(x.ratios.readFile, 3),
          `paired ${fmtNum(x.ratios.readFilePaired, 3)}, CPU-time ${fmtNum(x.ratios.readFileCpu, 3)}; goal ≥ ${goal}: ${ok(x.ratios.readFile >= goal)}`,
        ],
        [
          'ratio read ← memory (CPU)',
          fmtNum(x.ratios.readMemory, 3),
          `paired ${fmtNum(x.ratios.readMemoryPaired, 3)}, CPU-time ${fmtNum(x.ratios.readMemoryCpu, 3)}; goal ≥ ${goal}: ${ok(x.ratios.readMemory >= goal)}`,
        ],
        [
          'container size',
          fmtBytes(x.fileBytes.encrypted),
          `plain ${fmtBytes(x.fileBytes.plain)}: +${fmtInt(x.fileBytes.encrypted - x.fileBytes.plain)} B (16-byte tags + CRYP)`,
        ],
      ],
    );
  }
}

/** Comparison rows for bench/report.mjs. */
export function cryptoRows(result) {
  const rows = [];
  const titles = { mib: '1 MiB blocks', mix: 'video/audio mix' };
  for (const w of ['mib', 'mix']) {
    const s = result[w].stat;
    const goal = result.goals[w].goal;
    const pairs = [
      ['pack → file', 'pack encrypted → file', 'pack plain → file', `goal ≥ ${goal}× plain`],
      ['pack, CPU only', 'pack encrypted → null', 'pack plain → null', `goal ≥ ${goal}× plain`],
      ['read ← file', 'read decrypting ← file', 'read plain ← file', `goal ≥ ${goal}× plain`],
      ['read, CPU only', 'read decrypting ← memory', 'read plain ← memory', `goal ≥ ${goal}× plain`],
    ];
    for (const [metric, enc, plain, note] of pairs) {
      rows.push({
        section: 'crypto',
        metric: `${metric}, ${titles[w]}`,
        unit: 'MB/s',
        better: 'higher',
        subject: 'h4mk encrypted',
        value: s[enc].mbPerS,
        baseline: 'h4mk plain',
        baselineValue: s[plain].mbPerS,
        note,
      });
    }
    rows.push({
      section: 'crypto',
      metric: `pack → file against a plain copy, ${titles[w]}`,
      unit: 'MB/s',
      better: 'higher',
      subject: 'h4mk plain',
      value: result[w].alone['pack plain → file'].mbPerS,
      baseline: 'plain copy (1 MiB buffer)',
      baselineValue: result[w].alone['plain copy → file'].mbPerS,
      note: `${w === 'mib' ? 'goal ≥ 0.8× the copy; ' : ''}both datasync and rename; run alone, in alternating pairs`,
    });
    rows.push({
      section: 'crypto',
      metric: `pack, CPU only, ${titles[w]}`,
      unit: 'MB/s',
      better: 'higher',
      subject: 'h4mk encrypted',
      value: s['pack encrypted → null'].mbPerS,
      baseline: 'raw AES-256-GCM seal (limit)',
      baselineValue: s['AES-256-GCM seal'].mbPerS,
      note: 'same bytes, nothing but the cipher',
    });
    rows.push({
      section: 'crypto',
      metric: `read, CPU only, ${titles[w]}`,
      unit: 'MB/s',
      better: 'higher',
      subject: 'h4mk decrypting',
      value: s['read decrypting ← memory'].mbPerS,
      baseline: 'raw AES-256-GCM open (limit)',
      baselineValue: s['AES-256-GCM open'].mbPerS,
      note: 'same bytes, nothing but the cipher',
    });
  }
  return rows;
}

// Standalone: node bench/crypto.mjs
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '5' }, 'mib-blocks': { type: 'string', default: '160' }, 'mix-seconds': { type: 'string', default: '60' } },
  });
  const loadAverageAtStart = loadavg().map((x) => +x.toFixed(2));
  const result = await benchCrypto({
    runs: Math.max(1, Number(values.runs)),
    mibBlocks: Math.max(1, Number(values['mib-blocks'])),
    mixSeconds: Math.max(1, Number(values['mix-seconds'])),
  });
  const here = dirname(fileURLToPath(import.meta.url));
  const c = cpus();
  const doc = {
    date: new Date().toISOString(),
    machine: {
      cpu: c[0]?.model ?? 'unknown',
      cores: c.length,
      node: process.version,
      openssl: process.versions.openssl,
      platform: `${process.platform} ${process.arch}`,
      totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1),
    },
    command: `node bench/crypto.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    loadAverageAtStart,
    loadAverageAtEnd: loadavg().map((x) => +x.toFixed(2)),
    ...result,
    rows: cryptoRows(result),
  };
  mkdirSync(join(here, 'out'), { recursive: true });
  writeFileSync(join(here, 'out', 'crypto.json'), `${JSON.stringify(doc, null, 2)}\n`);
  console.log(
    `\nload average ${doc.loadAverageAtStart.join(' ')} at start, ${doc.loadAverageAtEnd.join(' ')} at end (other tenants add noise); JSON: ${join(here, 'out', 'crypto.json')}`,
  );
}
