/**
 * `h4mk grant IN --key-file KEY --track ID --from-us A --to-us B -o G`: a
 * grant file holding only the epoch keys of one track that cover [A, B)
 * (§13.6). On a video track the window is first widened back to the
 * keyframe at or before A (and on past B to the last reference its frames
 * need), so every frame of [A, B) decodes with the grant; stderr says so in
 * one line and --json gives both windows. Key epochs are whole: the grant
 * opens every block of the track whose epoch meets the window, which can
 * reach before A and after B; the report says exactly which span it opens.
 * The grant file holds keys: it is written with mode 0600 and never printed.
 */
import type { Command } from 'commander';
import { withContainer } from '../container.js';
import { inputError } from '../errors.js';
import { writeKeyFile } from '../key-file.js';
import { addKeyOptions, keyInputOf, type KeyOptions } from '../key-options.js';
import { parseInteger } from '../options.js';
import type { Output } from '../output.js';
import { guardOutput } from '../output-guard.js';
import { type GrantWindow, makeDecodableGrant } from '../../tools/grant.js';

type GrantOptions = KeyOptions & { track: string; fromUs: number; toUs: number; output: string; force?: boolean; json?: boolean };

/** Adds the `grant` verb. */
export function registerGrant(program: Command, out: Output): void {
  const command = program
    .command('grant')
    .description('export the keys that open one track over a time window into a grant file')
    .argument('<file>', 'encrypted container')
    .requiredOption('--track <id>', 'the track the grant opens')
    .requiredOption('--from-us <n>', 'start of the window (inclusive), µs of media time', parseInteger)
    .requiredOption('--to-us <n>', 'end of the window (exclusive), µs of media time', parseInteger)
    .requiredOption('-o, --output <file>', 'grant file to create (mode 0600: it holds keys)')
    .option('--force', 'replace an existing grant file (never an input); it is replaced only once the new one is complete')
    .option('--json', 'print what was granted as one JSON document (never the keys)');
  addKeyOptions(command, { grant: false })
    .addHelpText(
      'after',
      `
On a video track the window [A, B) is first widened so every frame in it decodes: back to the
keyframe at or before A, and past B to the last block its frames need (a later reference).
A grant opens whole key epochs (set with 'pack --epoch-us T'): every block of the track with
floor(pts/T) in floor(A/T) .. floor((B-1)/T) of that window. Without epochs it opens the whole track.
Readers use it with 'h4mk block|range|verify FILE --grant G'.`,
    )
    .action(async (file: string, options: GrantOptions) => {
      if (options.toUs <= options.fromUs) throw inputError(`--to-us ${options.toUs} must be after --from-us ${options.fromUs}`);
      await guardOutput(options.output, [file, options.keyFile], { force: options.force === true });
      const key = await keyInputOf(options, out);
      if (key === undefined) throw inputError('a grant is made with the container key: give --key-file or --passphrase-env');
      const made = await withContainer(
        file,
        async (reader) => {
          const track = reader.track(options.track);
          const { grant, window } = await makeDecodableGrant(reader, track.number, options.fromUs, options.toUs);
          const epochUs = grant.epoch_us;
          const epochs = grant.keys.map((k) => k.epoch);
          const first = epochs[0] ?? 0;
          const last = epochs[epochs.length - 1] ?? 0;
          // The span the grant opens, µs: whole epochs, or everything without epochs.
          const opens = epochUs === 0 ? { fromUs: null, toUs: null } : { fromUs: first * epochUs, toUs: (last + 1) * epochUs };
          let blocks = 0;
          for await (const _ of reader.infos({ tracks: [track.number], ...(opens.fromUs === null ? {} : { fromUs: opens.fromUs, toUs: opens.toUs }) }))
            blocks++;
          return { grant, window, track, epochs, opens, blocks };
        },
        { key: key.key },
      );
      await writeKeyFile(options.output, `${JSON.stringify(made.grant, null, 2)}\n`, { force: options.force === true, mode: 0o600 });
      const epochUs = made.grant.epoch_us;
      // Without epochs the grant opens the whole track anyway (warned just below).
      if (made.window.widened && epochUs !== 0) out.warn(widenedText(made.window));
      if (epochUs === 0) out.warn(`${file} has one key per track (packed without --epoch-us): this grant opens all of track ${JSON.stringify(made.track.id)}`);
      if (out.jsonMode) {
        out.json({
          ok: true,
          file,
          output: options.output,
          track: made.track.id,
          track_number: made.track.number,
          from_us: options.fromUs,
          to_us: options.toUs,
          requested_from_us: made.window.requestedFromUs,
          requested_to_us: made.window.requestedToUs,
          effective_from_us: made.window.fromUs,
          effective_to_us: made.window.toUs,
          widened: made.window.widened,
          epoch_us: epochUs,
          epochs: made.epochs,
          opens_from_us: made.opens.fromUs,
          opens_to_us: made.opens.toUs,
          blocks: made.blocks,
        });
        return;
      }
      const span = made.opens.fromUs === null ? 'the whole track' : `pts ${made.opens.fromUs} µs ≤ pts < ${made.opens.toUs} µs`;
      const epochText = made.epochs.length === 1 ? `epoch ${made.epochs[0]}` : `epochs ${made.epochs[0]}..${made.epochs[made.epochs.length - 1]}`;
      out.line(
        `wrote a grant for track ${JSON.stringify(made.track.id)} of ${file} to ${options.output} (mode 0600): ${made.epochs.length} key(s), ${epochText}; opens ${span} (${made.blocks} blocks)`,
      );
    });
}

/** One line: how the window was widened so every frame in it decodes. */
function widenedText(w: GrantWindow): string {
  const s = (us: number) => `${(us / 1e6).toFixed(3)} s`;
  const parts: string[] = [];
  if (w.fromUs !== w.requestedFromUs) parts.push(`to start at the keyframe at ${s(w.fromUs)} (was ${s(w.requestedFromUs)})`);
  if (w.toUs !== w.requestedToUs) parts.push(`to end at ${s(w.toUs)} (was ${s(w.requestedToUs)}) for a later reference its frames need`);
  return `grant: window widened ${parts.join(' and ')} so every frame in it decodes`;
}
