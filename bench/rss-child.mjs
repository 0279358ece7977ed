/**
 * Child process for the writer-memory benchmark (run with --expose-gc).
 * Streams a generated workload (no per-block state kept here) through
 * H4mkWriter + FileSink and prints one JSON line with RSS figures.
 *
 *   node --expose-gc bench/rss-child.mjs --out FILE --duration-us N [--max-blocks N] [--payload-scale F] [--tiny]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { FileSink, H4mkWriter } from '../dist/node.js';
import { addTracks, Workload } from './lib/workload.mjs';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    'duration-us': { type: 'string' },
    'max-blocks': { type: 'string' },
    'payload-scale': { type: 'string', default: '1' },
    tiny: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
if (!values.out || !values['duration-us']) throw new Error('--out and --duration-us are required');

const gc = globalThis.gc ?? (() => {});
const rssKiB = () => Math.round(process.memoryUsage.rss() / 1024);

/**
 * Peak RSS of this process image, KiB. process.resourceUsage().maxRSS is
 * getrusage's ru_maxrss, which Linux carries across fork + exec: a child
 * reports at least its parent's RSS at spawn. VmHWM belongs to this image only.
 */
function peakKiB() {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {}
  return process.resourceUsage().maxRSS;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false when not possible. */
function resetPeak() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const workload = new Workload({
  durationUs: Number(values['duration-us']),
  maxBlocks: values['max-blocks'] ? Number(values['max-blocks']) : Infinity,
  payloadScale: Number(values['payload-scale']),
  tiny: values.tiny,
});
const sink = await FileSink.create(values.out);
const writer = await H4mkWriter.create(sink, { compression: 'none', layout: 'tail' });
addTracks(writer);
gc();
const setupPeakKiB = peakKiB();
const peakReset = resetPeak();
const before = { rssKiB: rssKiB(), heapUsed: process.memoryUsage().heapUsed };
const samples = [];
const t0 = process.hrtime.bigint();
const b = workload.block;
const input = { track: 0, pts: 0, dts: 0, duration: 0, keyframe: false, kind: undefined, payload: b.payload };
while (workload.next()) {
  input.track = b.track;
  input.pts = b.pts;
  input.dts = b.dts;
  input.duration = b.duration;
  input.keyframe = b.keyframe;
  input.kind = b.kind;
  input.payload = b.payload;
  await writer.writeBlock(input);
  if (workload.count % 100_000 === 0) samples.push({ blocks: workload.count, rssKiB: rssKiB() });
}
gc();
const beforeFinish = { rssKiB: rssKiB(), heapUsed: process.memoryUsage().heapUsed };
const summary = await writer.finish();
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const after = { peakKiB: peakKiB(), maxRssKiB: process.resourceUsage().maxRSS, rssKiB: rssKiB() };
if (!values.keep) await unlink(values.out);
process.stdout.write(
  `${JSON.stringify({
    blocks: summary.blockCount,
    segments: summary.segmentCount,
    bytes: summary.bytes,
    indexLength: summary.indexLength,
    ms,
    /** Peak RSS of the whole child (setup included), from VmHWM. */
    peakRssKiB: Math.max(setupPeakKiB, after.peakKiB),
    /** Peak RSS while writing (VmHWM reset after setup), when the reset worked. */
    writePeakRssKiB: peakReset ? after.peakKiB : null,
    setupPeakRssKiB: setupPeakKiB,
    /** process.resourceUsage().maxRSS, for reference (inherits the parent's peak on Linux). */
    resourceUsageMaxRssKiB: after.maxRssKiB,
    startRssKiB: before.rssKiB,
    endRssKiB: after.rssKiB,
    startHeapUsed: before.heapUsed,
    heapUsedBeforeFinish: beforeFinish.heapUsed,
    rssBeforeFinishKiB: beforeFinish.rssKiB,
    samples,
  })}\n`,
);
