/**
 * Child process of the peer memory benchmark (run with --expose-gc): one
 * writer or one reader of one format, alone in its process, reporting its
 * peak RSS as one JSON line on stdout.
 *
 *   node --expose-gc bench/peers/rss-child.mjs --format h4mk|mcap|mp4 --role write --out FILE --blocks N
 *   node --expose-gc bench/peers/rss-child.mjs --format h4mk|mcap|mp4 --role read --out FILE --duration-us D --seeks S
 *
 * write: streams N blocks of the tiny-payload synthetic workload (nothing is
 *   kept per block here) through the format's writer; MP4 skips the control
 *   track, which it cannot carry.
 * read: opens FILE and fetches S keyframes (video) and S packets (audio) at
 *   random times, with their payloads.
 * Figures: the process's peak RSS (VmHWM, reset with clear_refs after
 * imports and set-up, so set-up transients do not count), and the memory the
 * role retains (V8 heap + external buffers after a full GC) over the same
 * figure taken after set-up: the writer's per-block state just before
 * finish(), the reader's state after its seeks.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { rng, TRACKS, Workload } from '../lib/workload.mjs';
import { OPENERS, WRITERS } from './formats.mjs';
import { synthetic } from './workloads.mjs';

const { values } = parseArgs({
  options: {
    format: { type: 'string' },
    role: { type: 'string' },
    out: { type: 'string' },
    blocks: { type: 'string' },
    'duration-us': { type: 'string' },
    seeks: { type: 'string', default: '200' },
  },
});
if (!values.format || !values.role || !values.out) throw new Error('--format, --role and --out are required');

const gc = globalThis.gc ?? (() => {});
const kib = () => Math.round(process.memoryUsage.rss() / 1024);
/** Heap + external (ArrayBuffers included) after a full GC, bytes. */
function retained() {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function peakKiB() {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {}
  return process.resourceUsage().maxRSS;
}

function resetPeak() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const result = { format: values.format, role: values.role };
const t0 = process.hrtime.bigint();

if (values.role === 'write') {
  const maxBlocks = Number(values.blocks);
  // Long enough that the block cap, not the duration, ends the stream.
  const workload = new Workload({ durationUs: Math.ceil(maxBlocks / 86.9) * 1e6 + 3.6e9, maxBlocks, tiny: true });
  const { tracks } = synthetic({ durationUs: 0 });
  const writer = await WRITERS[values.format](values.out, tracks, values.format === 'mcap' || values.format === 'h4mk' ? { compression: 'none' } : undefined);
  const carries = writer.carries ?? (() => true);
  result.baseRetained = retained();
  result.peakReset = resetPeak();
  result.baseRssKiB = result.peakReset ? peakKiB() : kib();
  const b = workload.block;
  const input = { track: 0, pts: 0, dts: 0, duration: 0, keyframe: false, kind: undefined, payload: b.payload };
  let written = 0;
  let lastUs = 0;
  while (workload.next()) {
    if (!carries(b.track)) continue;
    input.track = b.track;
    input.pts = b.pts;
    input.dts = b.dts;
    input.duration = b.duration;
    input.keyframe = b.keyframe;
    input.kind = b.kind;
    input.payload = b.payload;
    await writer.write(input);
    written++;
    lastUs = Math.max(lastUs, (b.dts * 1e6) / TRACKS[b.track].timescale);
  }
  result.writePeakRssKiB = peakKiB();
  result.retainedGrowth = retained() - result.baseRetained;
  result.bytes = await writer.finish();
  result.finishPeakRssKiB = peakKiB();
  result.blocks = written;
  result.workloadBlocks = workload.count;
  result.durationUs = Math.floor(lastUs);
} else if (values.role === 'read') {
  const durationUs = Number(values['duration-us']);
  const seeks = Number(values.seeks);
  const r = rng(0xbeef);
  const targets = Array.from({ length: seeks }, () => r.int(0, durationUs - 1));
  result.baseRetained = retained();
  result.peakReset = resetPeak();
  result.baseRssKiB = result.peakReset ? peakKiB() : kib();
  const reader = await OPENERS[values.format](values.out);
  result.openPeakRssKiB = peakKiB();
  let bytes = 0;
  for (const track of ['video_main', 'audio_main']) for (const t of targets) bytes += (await reader.seek(track, t)) ?? 0;
  result.readPeakRssKiB = peakKiB();
  result.retainedGrowth = retained() - result.baseRetained;
  result.payloadBytesRead = bytes;
  result.seeks = seeks * 2;
  await reader.close();
} else throw new Error(`unknown role ${values.role}`);

result.ms = Number(process.hrtime.bigint() - t0) / 1e6;
/** This role's peak RSS (KiB): VmHWM since the reset after set-up. */
result.peakRssKiB = values.role === 'write' ? Math.max(result.writePeakRssKiB, result.finishPeakRssKiB) : result.readPeakRssKiB;
process.stdout.write(`${JSON.stringify(result)}\n`);
