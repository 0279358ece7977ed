/**
 * `h4mk seek FILE --track ID --pts-us N`: the keyframe to start decoding at
 * for a target time, and the one byte range that holds everything needed up
 * to the target. No keyframe at or before the target is exit 1.
 */
import { type Command, Option } from 'commander';
import type { SeekResult } from '../../index.js';
import { withContainer } from '../container.js';
import { failure, inputError } from '../errors.js';
import { seekJson } from '../json.js';
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
    .action(async (file: string, options: SeekOptions) => {
      if (options.ptsUs !== undefined && options.pts_us !== undefined) throw inputError('give --pts-us once');
      const target = options.ptsUs ?? options.pts_us;
      if (target === undefined) throw inputError("required option '--pts-us <n>' not specified", 'see h4mk seek --help');
      if ((options.track === undefined) === (options.all !== true)) throw inputError('give either --track ID or --all', 'see h4mk seek --help');
      const results = await withContainer(file, async (reader) => {
        if (options.track !== undefined) return [[options.track, await reader.seek(options.track, target)] as const];
        return Object.entries(await reader.seekAll(target));
      });
      const documents = results.map(([id, r]) => seekJson(id, target, r));
      if (out.jsonMode) {
        out.json(options.all === true ? { target_pts_us: target, found: results.every(([, r]) => r !== null), tracks: documents } : documents[0]);
      } else {
        for (const [id, r] of results) out.line(describe(id, target, r));
      }
      const missing = results.filter(([, r]) => r === null).map(([id]) => id);
      if (missing.length > 0) {
        throw failure(`no keyframe at or before ${target} µs in track ${missing.join(', ')}`, 'E_NOT_FOUND', 'seek to a later time; h4mk manifest FILE shows where each track starts');
      }
    });
}

function describe(id: string, target: number, r: SeekResult | null): string {
  if (r === null) return `${id}: no keyframe at or before ${target} µs`;
  return (
    `${id}: start decoding at core_index ${r.coreIndex} (keyframe pts ${r.ptsUs} µs); ` +
    `read bytes ${r.span.offset}..${r.span.offset + r.span.length} (blocks ${r.span.fromCoreIndex}..${r.span.toCoreIndex})`
  );
}
