/**
 * `h4mk seek FILE --track ID --pts-us N`: the keyframe to start decoding at
 * for a target time, and the one byte range that holds everything needed up
 * to the target. A target before the track's first keyframe gives the first
 * keyframe (what a player shows first). A track without any keyframe (an
 * empty track) is exit 4, "nothing there"; exit 1 stays for failed checks.
 */
import { type Command, Option } from 'commander';
import type { SeekResult } from '../../node.js';
import { withContainer } from '../container.js';
import { CliError, ExitCode, inputError } from '../errors.js';
import { seekView } from '../../views/index.js';
import { parseInteger } from '../options.js';
import type { Output } from '../output.js';

type SeekOptions = {
  track?: string;
  all?: boolean;
  ptsUs?: number;
  /** The seed's spelling, `--pts_us`. */
  pts_us?: number;
};

/** Adds the `seek` verb. */
export function registerSeek(program: Command, out: Output): void {
  program
    .command('seek')
    .description('find the keyframe to start decoding at for a target time')
    .argument('<file>', 'container to read')
    .option('--track <id>', 'track id')
    .option('--all', 'seek every track (instead of --track)')
    .option('--pts-us <n>', 'target presentation time in microseconds (also --pts_us)', parseInteger)
    .addOption(new Option('--pts_us <n>').hideHelp().argParser(parseInteger))
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      "\nA target before a track's first keyframe gives that first keyframe.\nExit 0: found; 4: a track holds no keyframe (nothing there, e.g. an empty track); 2: usage or input error.",
    )
    .action(async (file: string, options: SeekOptions) => {
      if (options.ptsUs !== undefined && options.pts_us !== undefined) throw inputError('give --pts-us once');
      const target = options.ptsUs ?? options.pts_us;
      if (target === undefined) throw inputError("required option '--pts-us <n>' not specified", 'see h4mk seek --help');
      if ((options.track === undefined) === (options.all !== true)) throw inputError('give either --track ID or --all', 'see h4mk seek --help');
      const results = await withContainer(file, async (reader) => {
        if (options.track !== undefined) return [[options.track, await reader.seek(options.track, target)] as const];
        return Object.entries(await reader.seekAll(target));
      });
      const documents = results.map(([id, r]) => seekView(id, target, r));
      if (out.jsonMode) {
        out.json(options.all === true ? { target_pts_us: target, found: results.every(([, r]) => r !== null), tracks: documents } : documents[0]);
      } else {
        for (const [id, r] of results) out.line(describe(id, target, r));
      }
      const missing = results.filter(([, r]) => r === null).map(([id]) => id);
      if (missing.length > 0) {
        throw new CliError(
          `no keyframe in track ${missing.join(', ')}: ${missing.length === 1 ? 'it is empty or holds' : 'they are empty or hold'} no keyframe`,
          ExitCode.NOTHING,
          {
            code: 'E_NOT_FOUND',
            hint: "'h4mk manifest FILE' shows the blocks and keyframes of each track",
          },
        );
      }
    });
}

function describe(id: string, target: number, r: SeekResult | null): string {
  if (r === null) return `${id}: no keyframe (the track is empty or holds no keyframe)`;
  const first = r.ptsUs > target ? `, the first: ${target} µs is before the track starts` : '';
  return (
    `${id}: start decoding at core_index ${r.coreIndex} (keyframe pts ${r.ptsUs} µs${first}); ` +
    `read bytes ${r.span.offset}..${r.span.offset + r.span.length} (blocks ${r.span.fromCoreIndex}..${r.span.toCoreIndex})`
  );
}
