/**
 * `h4mk controls add IN.h4mk --from controls.json -o OUT.h4mk` adds a
 * camera-controls track (pan, tilt, roll, zoom, dolly, truck, pedestal,
 * orbit, focus) to a container; `h4mk controls show FILE` prints one. Every
 * record is validated on the way in and on the way out; identity-bearing
 * fields are refused: controls describe the camera, never who is in the frame.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { addControlsTrack, FileSink, parseControls, readControls } from '../../node.js';
import { withContainer } from '../container.js';
import { aboutPath, inputError } from '../errors.js';
import { packView } from '../../views/index.js';
import type { Output } from '../output.js';
import { FORCE_HELP, guardOutput } from '../output-guard.js';
import { startProgress } from '../progress.js';
import { columns, mediaErrors, secondsSince } from './media-common.js';

/** Adds the `controls` verb with its `add` and `show` subcommands. */
export function registerControls(program: Command, out: Output): void {
  const controls = program.command('controls').description('camera-controls tracks: add one to a container, or show one');
  controls
    .command('add')
    .description('copy a container and add a camera-controls track from a JSON file')
    .argument('<file>', 'container to read')
    .requiredOption(
      '--from <file>',
      'JSON file of control records: [{"control":"pan","value":10,"unit":"deg","t_us":0,"duration_us":500000,"easing":"ease-in-out"}, …]',
    )
    .requiredOption('-o, --output <file>', 'container to write (it appears only once complete)')
    .option('--track-id <id>', 'id of the new track', 'camera_control')
    .option('--force', FORCE_HELP)
    .option('--json', 'print the summary as one JSON document')
    .action(async (file: string, options: { from: string; output: string; trackId: string; force?: boolean }) => {
      const started = performance.now();
      await guardOutput(options.output, [file, options.from], { force: options.force === true });
      const { summary, count } = await mediaErrors(async () => {
        const records = parseControls(await readJson(options.from), options.from);
        return withContainer(file, async (reader) => {
          const sink = await FileSink.create(options.output).catch((error: unknown) => {
            throw aboutPath(options.output, error);
          });
          const progress = startProgress('copying', reader.blockCount, 'blocks');
          try {
            return {
              summary: await addControlsTrack(reader, records, sink, { trackId: options.trackId, onProgress: (done) => progress.update(done) }),
              count: records.length,
            };
          } finally {
            progress.stop();
          }
        });
      });
      const seconds = secondsSince(started);
      if (out.jsonMode) out.json({ ok: true, track: options.trackId, controls: count, ...packView(summary, options.output, 'per track', seconds) });
      else
        out.line(
          `added ${count} camera controls as track ${options.trackId}: ${summary.blockCount} blocks in ${options.output} (${summary.bytes} bytes) in ${seconds} s`,
        );
    });
  controls
    .command('show')
    .description('print the camera controls of a container (each record validated)')
    .argument('<file>', 'container to read')
    .option('--track <id>', 'controls track (default: the first one)')
    .option('--json', 'print one JSON document')
    .action(async (file: string, options: { track?: string }) => {
      const { trackId, records } = await mediaErrors(() => withContainer(file, (reader) => readControls(reader, options.track)));
      if (out.jsonMode) {
        out.json({ track: trackId, count: records.length, controls: records });
        return;
      }
      out.line(`${trackId}: ${records.length} camera controls`);
      const rows = records.map((r) => [
        `  ${(r.t_us / 1e6).toFixed(3)} s`,
        r.control,
        `${r.value} ${r.unit}`,
        r.duration_us === undefined ? '' : `over ${(r.duration_us / 1e6).toFixed(3)} s`,
        r.easing,
      ]);
      for (const line of columns(rows)) out.line(line);
    });
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw aboutPath(path, error);
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw inputError(`${path}: not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}
