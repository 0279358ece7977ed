/**
 * `h4mk demo`: the main job on the embedded default clip (../demo-sample.ts):
 * imports the ffmpeg-made MP4 packet by packet (zstd), adds a camera-controls
 * track, verifies the result and prints its manifest with GOP statistics.
 * Exit 0 when verification passes.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { addControlsTrack, FileSink, FileSource, H4mkReader, importMedia } from '../../node.js';
import { withContainer } from '../container.js';
import { DEMO_CLIP, demoControls } from '../demo-sample.js';
import { aboutPath, failure, inputError } from '../errors.js';
import { cliManifestView, packView } from '../../views/index.js';
import type { Output } from '../output.js';
import { guardOutput, requireInputFile } from '../output-guard.js';
import { startProgress } from '../progress.js';
import { importJson } from './import.js';
import { printManifest } from './manifest.js';
import { mediaErrors, secondsSince } from './media-common.js';

const DEMO_FILE = 'demo.h4mk';

/** Parses --port: 0 to 65535. */
function parseDemoPort(value: string): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : -1;
  if (n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

/** Adds the `demo` verb. */
export function registerDemo(program: Command, out: Output): void {
  program
    .command('demo')
    .description('import the embedded clip (H.264 + AAC), add a camera-controls track, pack with zstd, verify, print the manifest with GOP statistics')
    .option('--out <dir>', 'directory to write demo.h4mk into (created if needed; default: a fresh temporary directory)')
    .option('--input <media>', 'use this media file instead of the embedded clip')
    .option('--json', 'print one JSON document (import and pack summaries, verify report, manifest)')
    .option('--serve', 'then serve the directory and print the browser inspector URL (with an encrypted, sealed copy); runs until Ctrl-C')
    .option('--host <host>', 'with --serve: address to listen on', '127.0.0.1')
    .option('--port <port>', 'with --serve: port to listen on (0: any free port)', parseDemoPort, 8080)
    .action(async (options: { out?: string; input?: string; serve?: boolean; host: string; port: number }) => {
      if (options.out === '') throw inputError('--out: the directory path is empty', 'give --out a directory, or leave it out for a fresh temporary one');
      if (options.input !== undefined) await requireInputFile(options.input, '--input');
      const dir = options.out ?? (await mkdtemp(join(tmpdir(), 'h4mk-demo-')));
      await mkdir(dir, { recursive: true }).catch((error: unknown) => {
        throw aboutPath(dir, error);
      });
      const input = options.input ?? DEMO_CLIP;
      const mediaPath = join(dir, 'demo-media.h4mk');
      const path = join(dir, DEMO_FILE);
      // The demo replaces its own files in DIR, never its input.
      for (const output of [mediaPath, path]) await guardOutput(output, [options.input], { force: true, flag: '--out' });

      // 1. Import: one block per packet, zstd where it helps.
      const started = performance.now();
      const imported = await mediaErrors(async () => {
        const sink = await FileSink.create(mediaPath);
        return importMedia(input, sink, { compression: 'zstd', meta: { title: 'h4mk demo', generator: 'h4mk demo' } }).catch((error: unknown) => {
          throw aboutPath(input, error);
        });
      });
      const importSeconds = secondsSince(started);

      // 2. Pack with a camera-controls track over the clip's duration.
      const packStarted = performance.now();
      const source = await FileSource.open(mediaPath);
      let records: ReturnType<typeof demoControls>;
      let summary: Awaited<ReturnType<typeof addControlsTrack>>;
      try {
        const reader = await H4mkReader.open(source);
        const end = Math.max(...reader.tracks().map((t) => t.lastPtsUs ?? 0));
        records = demoControls(end);
        summary = await addControlsTrack(reader, records, await FileSink.create(path));
      } finally {
        await source.close();
      }
      await rm(mediaPath, { force: true });
      const packSeconds = secondsSince(packStarted);

      // 3. Verify every byte, then describe.
      const { report, manifest } = await withContainer(path, async (reader) => {
        const progress = startProgress('verifying', reader.blockCount, 'blocks');
        try {
          return { report: await reader.verify({ onProgress: (done) => progress.update(done) }), manifest: await cliManifestView(reader, path) };
        } finally {
          progress.stop();
        }
      });
      if (out.jsonMode) {
        out.json({
          ok: report.ok,
          output: path,
          input,
          import: importJson(imported, input, mediaPath, 'zstd', importSeconds),
          controls: records.length,
          pack: packView(summary, path, 'zstd', packSeconds),
          verify: {
            ok: report.ok,
            block_count: report.blockCount,
            blocks_checked: report.blocksChecked,
            failed_blocks: report.failedBlocks,
            chain_head: report.chainHead,
          },
          manifest,
        });
      } else {
        out.line(
          `imported ${input} (${imported.format}): ${imported.tracks.map((t) => `${t.id} ${t.codec} ${t.blocks} packets`).join(', ')} in ${importSeconds} s`,
        );
        out.line(`packed ${summary.blockCount} blocks with ${records.length} camera controls (zstd) into ${path}: ${summary.bytes} bytes in ${packSeconds} s`);
        out.line(
          report.ok
            ? `verify: ${out.style('OK', 'green')} (${report.blocksChecked} blocks, chain head ${report.chainHead})`
            : `verify: ${out.style('FAILED', 'red')}`,
        );
        out.line();
        printManifest(out, manifest);
      }
      if (!report.ok) throw failure(`the demo container failed verification: core_index ${report.failedBlocks.join(', ')}`, 'E_FAILED');
      if (options.serve === true) {
        // Loaded only when serving: the HTTP server is not needed otherwise, and makes every start slower.
        const { serveDemo } = await import('../demo-serve.js');
        await serveDemo(out, { dir, file: DEMO_FILE, host: options.host, port: options.port });
      }
    });
}
