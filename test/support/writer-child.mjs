/**
 * A real writer process for the crash and live tests (runs the built library
 * in dist/). Writes deterministic blocks (see `blockAt`, shared with the tests)
 * and keeps its own log of what it wrote:
 *
 *   node test/support/writer-child.mjs --out PATH --log LOG [--live] [--blocks N]
 *       [--delay-ms D] [--jitter-ms J] [--checkpoint-ms M] [--checkpoint-blocks B] [--seed S]
 *
 * stdout: one JSON line {"ready":true,"partial":PATH} once the file exists
 * (`partial` is where the bytes go: FileSink's temporary file, or PATH itself
 * when live), then {"finished":true,...} after finish().
 *
 * LOG (NDJSON, appended with write(2); "done" lines fdatasync'ed):
 *   {"b":i,"t":ms}  before block i is handed to the writer;
 *   {"d":i,"t":ms}  after the writer returned AND sink.sync() made the file
 *                   durable: blocks 0..i were written (writtenBlockCount) before
 *                   that sync began, so they are fully in the file. Never before
 *                   that. (Version 2 writes a segment's blocks when the
 *                   segment closes: the lines up to writer.writtenBlockCount
 *                   − 1 come together.)
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';

export const TRACKS = [
  { id: 'video_main', kind: 'video', codec: 'avc1.64001f', timescale: 90_000, config: Uint8Array.of(1, 0x64, 0, 0x1f) },
  { id: 'audio_main', kind: 'audio', codec: 'opus', timescale: 48_000 },
];

/** mulberry32 */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Block i of the stream for `seed`: video at 25 fps (a keyframe every 12
 * frames, now and then a large one over 256 KiB), interleaved with 48 kHz
 * audio packets of 960 samples. Payload bytes depend on (seed, i) only.
 */
export function blockAt(i, seed = 1) {
  const rand = prng(seed * 1_000_003 + i);
  const video = i % 3 !== 2;
  const n = video ? i - Math.floor(i / 3) : Math.floor(i / 3);
  let length;
  if (video) {
    const key = n % 12 === 0;
    length = key ? (n % 36 === 0 ? 300_000 + Math.floor(rand() * 2000) : 8000 + Math.floor(rand() * 8000)) : 200 + Math.floor(rand() * 3000);
    const payload = new Uint8Array(length);
    for (let k = 0; k < length; k++) payload[k] = (rand() * 256) | 0;
    return { track: 'video_main', pts: n * 3600, dts: n * 3600, duration: 3600, keyframe: key, kind: key ? 'I' : 'P', payload };
  }
  length = 60 + Math.floor(rand() * 200);
  const payload = new Uint8Array(length);
  for (let k = 0; k < length; k++) payload[k] = (rand() * 256) | 0;
  return { track: 'audio_main', pts: n * 960, dts: n * 960, duration: 960, keyframe: true, payload };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      log: { type: 'string' },
      live: { type: 'boolean', default: false },
      blocks: { type: 'string', default: '100000' },
      'delay-ms': { type: 'string', default: '0' },
      'jitter-ms': { type: 'string', default: '0' },
      'checkpoint-ms': { type: 'string' },
      'checkpoint-blocks': { type: 'string' },
      seed: { type: 'string', default: '1' },
    },
  });
  const { FileSink, H4mkWriter } = await import('../../dist/node.js');
  const seed = Number(values.seed);
  const blocks = Number(values.blocks);
  const delay = Number(values['delay-ms']);
  const jitter = Number(values['jitter-ms']);
  const log = openSync(values.log, 'a');
  const note = (line, durable) => {
    writeSync(log, `${JSON.stringify(line)}\n`);
    if (durable) fdatasyncSync(log);
  };
  const sink = await FileSink.create(values.out, { inPlace: values.live });
  const live = values.live
    ? {
        ...(values['checkpoint-ms'] === undefined ? {} : { checkpointMs: Number(values['checkpoint-ms']) }),
        ...(values['checkpoint-blocks'] === undefined ? {} : { checkpointBlocks: Number(values['checkpoint-blocks']) }),
      }
    : undefined;
  const writer = await H4mkWriter.create(sink, { ...(live === undefined ? {} : { live }), meta: { writer: 'writer-child', seed } });
  for (const t of TRACKS) writer.addTrack(t);
  // The header is in the file once the first sync returns.
  await sink.sync();
  process.stdout.write(`${JSON.stringify({ ready: true, partial: sink.temporary, pid: process.pid })}\n`);
  const rand = prng(seed);
  let logged = 0;
  for (let i = 0; i < blocks; i++) {
    note({ b: i, t: Date.now() }, false);
    await writer.writeBlock(blockAt(i, seed));
    // Counted before the sync: a record still on its way (hashed off the main thread) may be handed to the
    // sink while the sync runs, after its flush; its blocks are durable only after the next sync.
    const written = writer.writtenBlockCount;
    await sink.sync();
    // One "done" line per block that became durable (v2: a whole segment at once).
    const now = Date.now();
    while (logged < written) note({ d: logged++, t: now }, logged === written);
    const wait = delay + (jitter > 0 ? rand() * jitter : 0);
    if (wait > 0) await sleep(wait);
  }
  const summary = await writer.finish();
  // finish() wrote the open segment and committed (synced) the file: every block is durable.
  const end = Date.now();
  while (logged < summary.blockCount) note({ d: logged++, t: end }, logged === summary.blockCount);
  closeSync(log);
  process.stdout.write(`${JSON.stringify({ finished: true, blocks: summary.blockCount, bytes: summary.bytes, live: summary.live ?? null })}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
