/**
 * `h4mk range FILE --from-us A --to-us B`: the blocks with A ≤ pts < B, in
 * file order, from the index alone. With a key, passphrase or grant every
 * listed block is also read and decrypted, so the listing is authenticated
 * (E_AUTH on a block that was altered or moved, E_KEY on one the grant does
 * not open).
 */
import { type Command, Option } from 'commander';
import type { BlockInfo, RangeQuery } from '../../node.js';
import { withContainer } from '../container.js';
import { inputError } from '../errors.js';
import { addKeyOptions, keyInputOf, type KeyOptions } from '../key-options.js';
import { BLOCK_LINE_HEADER, blockLine, blockView } from '../../views/index.js';
import { collect, parseInteger } from '../options.js';
import type { Output } from '../output.js';

type RangeOptions = KeyOptions & {
  fromUs?: number;
  toUs?: number;
  from_us?: number;
  to_us?: number;
  track?: string[];
  keyframesOnly?: boolean;
  ndjson?: boolean;
};

/** Adds the `range` verb. */
export function registerRange(program: Command, out: Output): void {
  const command = program
    .command('range')
    .description('list the blocks whose pts lies in [from, to), in file order')
    .argument('<file>', 'container to read')
    .option('--from-us <n>', 'inclusive lower bound on pts, µs (default: the start)', parseInteger)
    .option('--to-us <n>', 'exclusive upper bound on pts, µs (default: the end)', parseInteger)
    .addOption(new Option('--from_us <n>').hideHelp().argParser(parseInteger))
    .addOption(new Option('--to_us <n>').hideHelp().argParser(parseInteger))
    .option('--track <id>', 'only this track (repeatable)', collect)
    .option('--keyframes-only', 'only keyframes')
    .option('--json', 'print one JSON document with a "blocks" array')
    .option('--ndjson', 'print one JSON object per block, one per line');
  addKeyOptions(command).action(async (file: string, options: RangeOptions) => {
    if (out.jsonMode && options.ndjson === true) throw inputError('give --json or --ndjson, not both');
    const fromUs = options.fromUs ?? options.from_us;
    const toUs = options.toUs ?? options.to_us;
    if (fromUs !== undefined && toUs !== undefined && fromUs > toUs) throw inputError(`--from-us ${fromUs} is after --to-us ${toUs}`);
    const query: RangeQuery = { keyframesOnly: options.keyframesOnly === true };
    if (fromUs !== undefined) query.fromUs = fromUs;
    if (toUs !== undefined) query.toUs = toUs;
    if (options.track !== undefined) query.tracks = options.track;
    const key = await keyInputOf(options, out);
    const authenticated = key !== undefined;
    await withContainer(
      file,
      async (reader) => {
        const blocks: Record<string, unknown>[] = [];
        if (!out.jsonMode && options.ndjson !== true) out.line(BLOCK_LINE_HEADER);
        // With a key, payloads are read so that each block's tag is checked; they are not printed.
        const found: AsyncIterable<BlockInfo> = authenticated ? reader.blocks(query) : reader.infos(query);
        for await (const b of found) {
          const json = authenticated ? { ...blockView(b), authenticated: b.encrypted } : blockView(b);
          if (out.jsonMode) blocks.push(json);
          else if (options.ndjson === true) out.line(JSON.stringify(json));
          else out.line(blockLine(b));
        }
        if (out.jsonMode) {
          out.json({
            file,
            from_us: fromUs ?? null,
            to_us: toUs ?? null,
            tracks: options.track ?? null,
            keyframes_only: query.keyframesOnly,
            authenticated,
            count: blocks.length,
            blocks,
          });
        }
      },
      key === undefined ? {} : { key: key.key },
    );
  });
}
