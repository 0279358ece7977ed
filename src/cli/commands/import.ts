/**
 * `h4mk import IN -o OUT.h4mk`: every audio, video and subtitle track of a
 * media file (MP4/MOV, WebM/MKV, Ogg, MP3, WAV, ADTS, FLAC, MPEG-TS) into a
 * container, one packet per block, without re-encoding. Streams: memory does
 * not grow with the input. A progress bar on a terminal, a summary at the end;
 * on any error nothing is written.
 */
import { type Command, Option } from 'commander';
import { COMPRESSIONS, type Compression, type EncryptionOptions, FileSink, type ImportSummary, importMedia } from '../../index.js';
import { aboutPath, CliError, ExitCode } from '../errors.js';
import { packJson } from '../json.js';
import { addEncryptOptions, type EncryptOptions, encryptionOf } from '../key-options.js';
import { parseJsonObjectOption } from '../options.js';
import type { Output } from '../output.js';
import { startProgress } from '../progress.js';
import { columns, mediaErrors, secondsSince } from './media-common.js';

type ImportOptions = EncryptOptions & { output: string; compress: Compression; faststart?: boolean; meta?: Record<string, unknown> };

/** Adds the `import` verb. */
export function registerImport(program: Command, out: Output): void {
  const command = program
    .command('import')
    .description('import a media file (MP4, WebM/MKV, Ogg, MP3, WAV, ADTS, FLAC, MPEG-TS) packet by packet, without re-encoding')
    .argument('<input>', 'media file to import')
    .requiredOption('-o, --output <file>', 'container to write (it appears only once complete)')
    .addOption(new Option('--compress <codec>', 'compression of the blocks').choices(COMPRESSIONS).default('none'))
    .option('--faststart', 'put the index right after the header')
    .option('--meta <json>', 'extra user metadata (META) as a JSON object', parseJsonObjectOption)
    .option('--json', 'print the summary as one JSON document');
  addEncryptOptions(command).action(async (input: string, options: ImportOptions) => {
      const started = performance.now();
      const encryption = await encryptionOf(options, out);
      const summary = await mediaErrors(() => runImport(input, options, encryption));
      const seconds = secondsSince(started);
      if (out.jsonMode) {
        out.json({ ok: true, ...importJson(summary, input, options.output, options.compress, seconds) });
        return;
      }
      out.line(
        `imported ${input} (${summary.format}, ${summary.sourceBytes} bytes) into ${options.output}: ` +
          `${summary.tracks.length} tracks, ${summary.blocks} blocks, ${summary.bytes} payload bytes, ${summary.container.bytes} bytes written, in ${seconds} s`,
      );
      for (const line of columns(summary.tracks.map((t) => [`  ${t.id}`, t.kind, t.codec, `${t.blocks} blocks`, `${t.bytes} bytes`, `timescale ${t.timescale}`]))) out.line(line);
      for (const s of summary.skipped) out.line(`  skipped source track ${s.sourceIndex}: ${s.reason}`);
      for (const id of summary.forcedKeyframes) out.line(`  note: the first packet of ${id} was not a keyframe; it is marked as one`);
    });
}

/** The JSON summary of an import. */
export function importJson(s: ImportSummary, input: string, output: string, compression: string, seconds: number): Record<string, unknown> {
  return {
    input,
    output,
    format: s.format,
    tracks: s.tracks.map((t) => ({ id: t.id, kind: t.kind, codec: t.codec, timescale: t.timescale, blocks: t.blocks, bytes: t.bytes, source_index: t.sourceIndex })),
    skipped: s.skipped.map((t) => ({ source_index: t.sourceIndex, reason: t.reason })),
    forced_keyframes: s.forcedKeyframes,
    blocks: s.blocks,
    bytes: s.bytes,
    source_bytes: s.sourceBytes,
    seconds,
    container: packJson(s.container, output, compression, seconds),
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
      ...(options.meta === undefined ? {} : { meta: options.meta }),
      signal: abort.signal,
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
