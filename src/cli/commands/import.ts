/**
 * `h4mk import IN -o OUT.h4mk`: every audio, video and subtitle track of a
 * media file (MP4/MOV, WebM/MKV, Ogg, MP3, WAV, ADTS, FLAC, MPEG-TS) into a
 * container, one packet per block, without re-encoding. Streams: memory does
 * not grow with the input. A progress bar on a terminal, a summary at the end;
 * on any error nothing is written.
 *
 * `h4mk import - -o OUT.h4mk --live`: a Matroska/WebM or MPEG-TS stream on
 * standard input (`ffmpeg -re -i IN -c copy -f matroska -`) into a §14 live
 * container, block by block as packets arrive (../../media/live-import.ts).
 */
import { createReadStream } from 'node:fs';
import { type Command, Option } from 'commander';
import { COMPRESSIONS, type Compression, type EncryptionOptions, FileSink, type ImportSummary, importMedia } from '../../node.js';
import { UnsupportedTracksError } from '../../media/errors.js';
import { importStream, type StreamImportSummary } from '../../media/live-import.js';
import { aboutPath, CliError, ExitCode, inputError } from '../errors.js';
import { packView } from '../../views/index.js';
import { addEncryptOptions, type EncryptOptions, encryptionOf } from '../key-options.js';
import { FORMAT_VERSION_HELP, parseFormatVersion, parseIndex, parseJsonObjectOption } from '../options.js';
import type { Output } from '../output.js';
import { FORCE_HELP, guardOutput, requireInputFile } from '../output-guard.js';
import { startProgress } from '../progress.js';
import { columns, mediaErrors, secondsSince } from './media-common.js';

type ImportOptions = EncryptOptions & {
  output: string;
  compress: Compression;
  faststart?: boolean;
  formatVersion?: 1 | 2;
  meta?: Record<string, unknown>;
  /** §14 live: written in place, with checkpoints, as the input streams in. */
  live?: boolean;
  checkpointBlocks?: number;
  checkpointMs?: number;
  force?: boolean;
  /** Leave out source tracks that cannot be imported instead of failing. */
  skipUnsupported?: boolean;
};

/** Adds the `import` verb. */
export function registerImport(program: Command, out: Output): void {
  const command = program
    .command('import')
    .description('import a media file (MP4, WebM/MKV, Ogg, MP3, WAV, ADTS, FLAC, MPEG-TS) packet by packet, without re-encoding')
    .argument('<input>', 'media file to import ("-": a Matroska/WebM or MPEG-TS stream on standard input)')
    .requiredOption('-o, --output <file>', 'container to write (it appears only once complete; with --live at once)')
    .addOption(new Option('--compress <codec>', 'compression of the blocks').choices(COMPRESSIONS).default('none'))
    .option('--faststart', 'put the index right after the header')
    .option('--format-version <n>', FORMAT_VERSION_HELP, parseFormatVersion)
    .option('--meta <json>', 'extra user metadata (META) as a JSON object', parseJsonObjectOption)
    .option(
      '--live',
      'stream the input in as it arrives into a live container (written in place, readers follow it); Ctrl-C or the end of the input finishes it',
    )
    .option('--checkpoint-blocks <n>', 'live: a checkpoint after this many blocks, within a 10% overhead bound (default 256)', parseIndex)
    .option('--checkpoint-ms <n>', 'live: a checkpoint at least this often while blocks arrive (default 1000)', parseIndex)
    .option('--force', `${FORCE_HELP}; with --live the old file is removed first`)
    .option('--skip-unsupported', 'leave out source tracks that cannot be imported (by default such a track fails the import)')
    .option('--json', 'print the summary as one JSON document');
  addEncryptOptions(command)
    .addHelpText('after', '\nLive: ffmpeg -re -i IN -c copy -f matroska - | h4mk import - -o live.h4mk --live   (or -f mpegts -)')
    .action(async (input: string, options: ImportOptions) => {
      const started = performance.now();
      await requireInputFile(input);
      await guardOutput(options.output, [input, options.keyFile], { force: options.force === true });
      const encryption = await encryptionOf(options, out);
      const streamed = input === '-' || options.live === true;
      const summary: ImportSummary & { notes?: string[] } = await mediaErrors(() =>
        (streamed ? runStreamImport(input, options, encryption) : runImport(input, options, encryption)).catch((error: unknown) => {
          // A track that cannot be imported: say how to import the others.
          if (error instanceof UnsupportedTracksError)
            throw new CliError(error.message, ExitCode.USAGE, { code: error.code, hint: 'give --skip-unsupported to import the other tracks' });
          throw error;
        }),
      );
      const seconds = secondsSince(started);
      const name = input === '-' ? '<stdin>' : input;
      const live = summary.container.live;
      if (out.jsonMode) {
        const liveJson = live === undefined ? {} : { live: { checkpoints: live.checkpoints, checkpoint_bytes: live.checkpointBytes, skipped: live.skipped } };
        out.json({
          ok: true,
          ...importJson(summary, name, options.output, options.compress, seconds),
          ...liveJson,
          ...(summary.notes === undefined ? {} : { notes: summary.notes }),
        });
        return;
      }
      out.line(
        `imported ${name} (${summary.format}, ${summary.sourceBytes} bytes) into ${options.output}: ` +
          `${summary.tracks.length} tracks, ${summary.blocks} blocks, ${summary.bytes} payload bytes, ${summary.container.bytes} bytes written` +
          `${live === undefined ? '' : `, live with ${live.checkpoints} checkpoints (${live.checkpointBytes} bytes)`}, in ${seconds} s`,
      );
      for (const line of columns(
        summary.tracks.map((t) => [`  ${t.id}`, t.kind, t.codec, `${t.blocks} blocks`, `${t.bytes} bytes`, `timescale ${t.timescale}`]),
      ))
        out.line(line);
      for (const s of summary.skipped) out.line(`  skipped source track ${s.sourceIndex}: ${s.reason}`);
      for (const id of summary.forcedKeyframes) out.line(`  note: the first packet of ${id} was not a keyframe; it is marked as one`);
      for (const note of summary.notes ?? []) out.line(`  note: ${note}`);
    });
}

/** The JSON summary of an import. */
export function importJson(s: ImportSummary, input: string, output: string, compression: string, seconds: number): Record<string, unknown> {
  return {
    input,
    output,
    format: s.format,
    tracks: s.tracks.map((t) => ({
      id: t.id,
      kind: t.kind,
      codec: t.codec,
      timescale: t.timescale,
      blocks: t.blocks,
      bytes: t.bytes,
      source_index: t.sourceIndex,
    })),
    skipped: s.skipped.map((t) => ({ source_index: t.sourceIndex, reason: t.reason })),
    forced_keyframes: s.forcedKeyframes,
    blocks: s.blocks,
    bytes: s.bytes,
    source_bytes: s.sourceBytes,
    seconds,
    container: packView(s.container, output, compression, seconds),
  };
}

async function runImport(input: string, options: ImportOptions, encryption: EncryptionOptions | undefined): Promise<ImportSummary> {
  const sink = await FileSink.create(options.output).catch((error: unknown) => {
    throw aboutPath(options.output, error);
  });
  const abort = new AbortController();
  const interrupt = () => abort.abort(new CliError(`interrupted; nothing was written to ${options.output}`, ExitCode.INTERRUPTED));
  process.once('SIGINT', interrupt);
  let progress = { update: (_: number) => {}, stop: () => {} };
  let total = -1;
  try {
    return await importMedia(input, sink, {
      compression: options.compress,
      layout: options.faststart === true ? 'faststart' : 'tail',
      formatVersion: options.formatVersion ?? 2,
      ...(options.meta === undefined ? {} : { meta: options.meta }),
      signal: abort.signal,
      ...(options.skipUnsupported === true ? { skipUnsupported: true } : {}),
      ...(encryption === undefined ? {} : { encryption }),
      onProgress: (done, size) => {
        if (total < 0) {
          total = size;
          progress = startProgress('importing', size, 'bytes');
        }
        progress.update(done);
      },
    }).catch((error: unknown) => {
      throw aboutPath(input, error);
    });
  } finally {
    progress.stop();
    process.removeListener('SIGINT', interrupt);
  }
}

/**
 * A stream import: standard input (or a file read front to back), live or
 * not. Live: Ctrl-C or SIGTERM ends the input and the file is finished; not
 * live: Ctrl-C aborts and nothing is written.
 */
async function runStreamImport(input: string, options: ImportOptions, encryption: EncryptionOptions | undefined): Promise<StreamImportSummary> {
  const live = options.live === true;
  if (!live && (options.checkpointBlocks !== undefined || options.checkpointMs !== undefined))
    throw inputError('--checkpoint-blocks and --checkpoint-ms need --live');
  if (live && options.faststart === true) throw inputError('a live container uses the tail layout: give --live or --faststart, not both');
  if (input === '-' && process.stdin.isTTY === true)
    throw inputError('standard input is a terminal', 'pipe a stream into it: ffmpeg -re -i IN -c copy -f matroska - | h4mk import - -o OUT.h4mk --live');
  const stream = input === '-' ? process.stdin : createReadStream(input);
  // Opening a file first turns a missing input into an error before any output exists.
  if (input !== '-') {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (error: unknown) => reject(aboutPath(input, error)));
    });
  }
  // Live: Ctrl-C ends the input and what arrived is finished; otherwise it fails the import.
  const stop = new AbortController();
  const interrupt = () => {
    if (live) stop.abort();
    else stream.destroy(new CliError(`interrupted; nothing was written to ${options.output}`, ExitCode.INTERRUPTED));
  };
  process.once('SIGINT', interrupt);
  if (live) process.once('SIGTERM', interrupt);
  try {
    // Live: written in place (the output must not exist yet), so readers see it grow.
    // Live with --force: the old file goes only now, once the arguments have been checked.
    if (live) await guardOutput(options.output, [input], { force: options.force === true, inPlace: true });
    const sink = await FileSink.create(options.output, { inPlace: live }).catch((error: unknown) => {
      throw aboutPath(options.output, error);
    });
    const checkpoints = {
      ...(options.checkpointBlocks === undefined ? {} : { checkpointBlocks: options.checkpointBlocks }),
      ...(options.checkpointMs === undefined ? {} : { checkpointMs: options.checkpointMs }),
    };
    return await importStream(stream, sink, {
      compression: options.compress,
      layout: options.faststart === true ? 'faststart' : 'tail',
      formatVersion: options.formatVersion ?? 2,
      name: input === '-' ? '<stdin>' : input,
      stop: stop.signal,
      ...(options.skipUnsupported === true ? { skipUnsupported: true } : {}),
      ...(options.meta === undefined ? {} : { meta: options.meta }),
      ...(encryption === undefined ? {} : { encryption }),
      ...(live ? { live: checkpoints } : {}),
    }).catch((error: unknown) => {
      throw aboutPath(input === '-' ? '<stdin>' : input, error);
    });
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    stream.destroy();
  }
}
