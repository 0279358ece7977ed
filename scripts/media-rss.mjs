#!/usr/bin/env node
/**
 * Peak memory of `h4mk import` on a large input.
 *
 *   node scripts/media-rss.mjs [--mib N] [--input FILE] [--keep]
 *
 * Without --input, writes a synthetic Matroska file of N MiB (default 2048):
 * a 48 kHz stereo PCM track in 1 MiB blocks plus a subtitle every second,
 * with ./dist's Matroska writer. Then runs `h4mk import` in a child process
 * and prints its peak RSS (getrusage maxRSS), wall time and throughput as
 * one JSON line. Needs `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '2048' }, input: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const dist = new URL('../dist/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'h4mk-rss-'));
let input = values.input;
try {
  if (input === undefined) {
    const { MkvWriter } = await import(new URL('media/matroska/mux.js', dist).href);
    input = join(dir, 'synthetic.mkv');
    const writer = await MkvWriter.create(input, {
      docType: 'matroska',
      timestampScale: 1_000_000,
      tracks: [
        { number: 1, uid: 1, type: 2, codecId: 'A_PCM/INT/LIT', codecPrivate: null, audio: { samplingFrequency: 48000, channels: 2, bitDepth: 16 } },
        { number: 2, uid: 2, type: 17, codecId: 'S_TEXT/UTF8', codecPrivate: null },
      ],
    });
    const block = new Uint8Array(1 << 20);
    for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
    const blockMs = (block.length / 4 / 48000) * 1000;
    const blocks = Number(values.mib);
    for (let i = 0; i < blocks; i++) {
      const t = Math.round(i * blockMs);
      await writer.writeBlock({ track: 1, timestamp: t, keyframe: true, group: false, duration: null, discardPadding: null, data: block });
      if (i % 10 === 0)
        await writer.writeBlock({
          track: 2,
          timestamp: t,
          keyframe: true,
          group: true,
          duration: 1000,
          discardPadding: null,
          data: new TextEncoder().encode(`block ${i}`),
        });
    }
    await writer.finish();
  }
  const child = `
    import { run } from ${JSON.stringify(new URL('cli/program.js', dist).href)};
    const t0 = performance.now();
    const code = await run(['node', 'h4mk', 'import', ${JSON.stringify(input)}, '-o', ${JSON.stringify(join(dir, 'out.h4mk'))}, '--json']);
    process.stderr.write(JSON.stringify({ code, seconds: (performance.now() - t0) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const stats = JSON.parse(r.stderr.trim().split('\n').pop());
  const bytes = statSync(input).size;
  console.log(
    JSON.stringify({
      input,
      bytes,
      exit: stats.code,
      seconds: Number(stats.seconds.toFixed(2)),
      mib_per_s: Number((bytes / 1048576 / stats.seconds).toFixed(1)),
      peak_rss_mib: Math.round(stats.maxRssMiB),
    }),
  );
  if (stats.code !== 0) process.exitCode = 1;
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
