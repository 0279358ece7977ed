/**
 * `h4mk export IN.h4mk -o OUT.mp4|.webm|.mkv`: the media tracks of a
 * container back into a playable file without re-encoding; `--track`
 * narrows the tracks, `--from-us/--to-us` exports a window cut at keyframes.
 */
import { type Command, Option } from 'commander';
import { type ExportFormat, type ExportSummary, exportMedia, type H4mkReader } from '../../node.js';
import { withContainer } from '../container.js';
import { addKeyOptions, type KeyOptions, keyInputOf } from '../key-options.js';
import { aboutPath, inputError } from '../errors.js';
import { collect, parseInteger } from '../options.js';
import type { Output } from '../output.js';
import { FORCE_HELP, guardOutput } from '../output-guard.js';
import { startProgress } from '../progress.js';
import { columns, mediaErrors, secondsSince } from './media-common.js';

type ExportOptions = KeyOptions & { output: string; track?: string[]; fromUs?: number; toUs?: number; format?: ExportFormat; force?: boolean };

/** Adds the `export` verb. */
export function registerExport(program: Command, out: Output): void {
  const command = program
    .command('export')
    .description('export media tracks to MP4, WebM or Matroska without re-encoding (whole, or a window cut at keyframes)')
    .argument('<file>', 'container to read')
    .requiredOption('-o, --output <file>', 'media file to write: .mp4, .webm or .mkv (it appears only once complete)')
    .option('--track <id>', 'export this track (id or number; repeatable; default: every media track)', collect)
    .option('--from-us <n>', 'window start, µs: from the last keyframe at or before it', parseInteger)
    .option('--to-us <n>', 'window end, µs: up to the first keyframe at or after it', parseInteger)
    .addOption(new Option('--format <format>', 'output format (default: from the extension)').choices(['mp4', 'webm', 'matroska']))
    .option('--force', FORCE_HELP)
    .option('--json', 'print the summary as one JSON document');
  addKeyOptions(command, { grant: true }).action(async (file: string, options: ExportOptions) => {
    const started = performance.now();
    await guardOutput(options.output, [file, options.keyFile, options.grant], { force: options.force === true });
    const key = await keyInputOf(options, out);
    const summary = await mediaErrors(() =>
      withContainer(
        file,
        async (reader) => {
          const total = reader.tracks().reduce((a, t) => a + t.blockCount, 0);
          const progress = startProgress('exporting', total, 'blocks');
          try {
            const fromUs = windowStart(reader, options);
            return await exportMedia(reader, options.output, {
              ...(options.format === undefined ? {} : { format: options.format }),
              ...(options.track === undefined ? {} : { tracks: options.track.map((t) => (/^\d+$/.test(t) ? Number(t) : t)) }),
              ...(fromUs === undefined ? {} : { fromUs }),
              ...(options.toUs === undefined ? {} : { toUs: options.toUs }),
              onProgress: (done) => progress.update(done),
            }).catch((error: unknown) => {
              throw aboutPath(options.output, error);
            });
          } finally {
            progress.stop();
          }
        },
        key === undefined ? {} : { key: key.key },
      ),
    );
    const seconds = secondsSince(started);
    if (out.jsonMode) {
      out.json({ ok: true, ...exportJson(summary, file, options.output, seconds) });
      return;
    }
    const window = summary.window === null ? '' : `, window ${summary.window.fromUs} µs .. ${summary.window.toUs ?? 'end'}`;
    out.line(
      `exported ${summary.tracks.length} tracks, ${summary.blocks} packets (${summary.bytes} bytes) of ${file} to ${options.output} (${summary.format}${window}) in ${seconds} s`,
    );
    for (const line of columns(summary.tracks.map((t) => [`  ${t.id}`, t.codec, `${t.blocks} packets`, `${t.bytes} bytes`]))) out.line(line);
    for (const s of summary.skipped) out.line(`  skipped ${s.id}: ${s.reason}`);
  });
}

/**
 * The window start: --from-us, or with only --to-us the start of the
 * container (its earliest block), so that `--to-us B` alone exports from the
 * beginning up to B. A --to-us at or before that start leaves nothing.
 */
function windowStart(reader: H4mkReader, options: ExportOptions): number | undefined {
  if (options.fromUs !== undefined || options.toUs === undefined) return options.fromUs;
  const starts = reader.tracks().flatMap((t) => (t.firstPtsUs === null ? [] : [t.firstPtsUs]));
  const start = starts.length === 0 ? 0 : Math.min(...starts);
  if (options.toUs <= start) throw inputError(`--to-us ${options.toUs} is not after the start of the container (${start} µs): the window is empty`);
  return start;
}

function exportJson(s: ExportSummary, input: string, output: string, seconds: number): Record<string, unknown> {
  return {
    input,
    output,
    format: s.format,
    tracks: s.tracks.map((t) => ({ id: t.id, codec: t.codec, packets: t.blocks, bytes: t.bytes })),
    skipped: s.skipped,
    packets: s.blocks,
    bytes: s.bytes,
    window: s.window === null ? null : { from_us: s.window.fromUs, to_us: s.window.toUs },
    seconds,
  };
}
