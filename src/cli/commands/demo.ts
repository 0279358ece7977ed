/**
 * `h4mk demo`: the main job on an embedded default. Generates the synthetic
 * multitrack sample (../demo-sample.ts), packs it with zstd in the tail
 * layout, verifies it and prints its manifest. Exit 0 when verification passes.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { FileSink, H4mkWriter, type WriteSummary } from '../../index.js';
import { withContainer } from '../container.js';
import { DEMO_SEED, DEMO_TRACKS, demoBlockCount, demoBlocks } from '../demo-sample.js';
import { failure } from '../errors.js';
import { packJson } from '../json.js';
import type { Output } from '../output.js';
import { startProgress } from '../progress.js';
import { manifestOf, printManifest } from './manifest.js';

const DEMO_FILE = 'demo.h4mk';
const DEMO_SECONDS = 10;

/** Adds the `demo` verb. */
export function registerDemo(program: Command, out: Output): void {
  program
    .command('demo')
    .description('pack a generated 10 s multitrack sample (video I/P/B, audio, camera control) with zstd, verify it, print its manifest')
    .option('--out <dir>', 'directory to write demo.h4mk into (created if needed; default: a fresh temporary directory)')
    .option('--json', 'print one JSON document (pack summary, verify report, manifest)')
    .action(async (options: { out?: string }) => {
      const dir = options.out ?? (await mkdtemp(join(tmpdir(), 'h4mk-demo-')));
      await mkdir(dir, { recursive: true });
      const path = join(dir, DEMO_FILE);
      const started = performance.now();
      const summary = await packDemo(path);
      const seconds = Number(((performance.now() - started) / 1000).toFixed(3));
      const { report, manifest } = await withContainer(path, async (reader) => {
        const progress = startProgress('verifying', reader.blockCount, 'blocks');
        try {
          return { report: await reader.verify({ onProgress: (done) => progress.update(done) }), manifest: await manifestOf(reader, path) };
        } finally {
          progress.stop();
        }
      });
      if (out.jsonMode) {
        out.json({
          ok: report.ok,
          output: path,
          pack: packJson(summary, path, 'zstd', seconds),
          verify: { ok: report.ok, block_count: report.blockCount, blocks_checked: report.blocksChecked, failed_blocks: report.failedBlocks, chain_head: report.chainHead },
          manifest,
        });
      } else {
        out.line(`packed ${summary.blockCount} blocks (${summary.payloadBytes} payload bytes, ${summary.storedBytes} stored with zstd) into ${path} in ${seconds} s`);
        out.line(report.ok ? `verify: ${out.style('OK', 'green')} (${report.blocksChecked} blocks, chain head ${report.chainHead})` : `verify: ${out.style('FAILED', 'red')}`);
        out.line();
        printManifest(out, manifest);
      }
      if (!report.ok) throw failure(`the demo container failed verification: core_index ${report.failedBlocks.join(', ')}`, 'E_FAILED');
    });
}

async function packDemo(path: string): Promise<WriteSummary> {
  const writer = await H4mkWriter.create(await FileSink.create(path), {
    compression: 'zstd',
    layout: 'tail',
    meta: { title: 'h4mk demo: synthetic multitrack sample', generator: 'h4mk demo', seed: DEMO_SEED, seconds: DEMO_SECONDS },
  });
  const total = demoBlockCount(DEMO_SECONDS);
  const progress = startProgress('packing', total, 'blocks');
  try {
    for (const track of DEMO_TRACKS) writer.addTrack(track);
    for (const block of demoBlocks(DEMO_SECONDS)) {
      await writer.writeBlock(block);
      progress.update(writer.blockCount);
    }
    return await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    progress.stop();
  }
}
