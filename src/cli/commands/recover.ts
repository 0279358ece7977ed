/**
 * `h4mk recover IN -o OUT`: rebuilds a valid container from a damaged or
 * unfinished one by scanning its chunks (src/recover/recover.ts): every block
 * written completely before the first damage comes back, verified, and
 * nothing else. OUT is published only if it passes a full verify.
 *
 * Exit 0: the input was complete and everything came back; 3: a valid
 * container was published but blocks were lost (or the input was unfinished);
 * 1: nothing recoverable, nothing published.
 */
import type { Command } from 'commander';
import type { RecoverReference, RecoverReport } from '../../recover/recover.js';
import { recoverFile } from '../../tools/recover-file.js';
import { openSource, withContainer } from '../container.js';
import { CliError, ExitCode, aboutPath, inputError } from '../errors.js';
import { addStatsOption, currentInput, isUrl } from '../input.js';
import type { Output } from '../output.js';
import { FORCE_HELP, guardOutput } from '../output-guard.js';

type RecoverCliOptions = { output: string; tracksFrom?: string; faststart?: boolean; tail?: boolean; force?: boolean };

const TRACKS_FROM: Record<RecoverReport['tracksFrom'], string> = {
  'final-index': "the file's index",
  checkpoint: 'its last readable index (a live checkpoint, or an index cut before its footer)',
  reference: 'the reference container',
  'made-up': 'nowhere: the track table was lost, tracks are named track_N (kind data, codec opaque, timescale 1000000; tick values kept); give --tracks-from',
  none: 'nowhere',
};

/** Adds the `recover` verb. */
export function registerRecover(program: Command, out: Output): void {
  const command = program
    .command('recover')
    .description('rebuild a valid container from a damaged or unfinished one: every block written completely before the damage, verified')
    .argument('<input>', 'damaged or unfinished container (file or http(s) URL)')
    .requiredOption('-o, --output <file>', 'container to write (published only if it verifies)')
    .option('--tracks-from <file>', 'take tracks, META and SAFE from this container when the input has no readable index')
    .option('--faststart', 'write the output in the faststart layout (default: the input’s)')
    .option('--tail', 'write the output in the tail layout')
    .option('--force', FORCE_HELP)
    .option('--json', 'print the report as one JSON document')
    .addHelpText(
      'after',
      `
Verified means: blocks of complete segments match their segment table's SHA-256 digest;
blocks of the unfinished last segment match their CRC-32C and continue the core_index
sequence. Exit 0: complete; 3: partial (a valid container, blocks lost); 1: nothing recoverable.`,
    );
  addStatsOption(command).action(async (input: string, options: RecoverCliOptions) => {
    if (options.faststart === true && options.tail === true) throw inputError('give --faststart or --tail, not both');
    const layout = options.faststart === true ? 'faststart' : options.tail === true ? 'tail' : undefined;
    await guardOutput(options.output, [input, options.tracksFrom], { force: options.force === true });
    const reference: RecoverReference | undefined =
      options.tracksFrom === undefined
        ? undefined
        : await withContainer(options.tracksFrom, async (r) => ({ tracks: r.tracks(), meta: r.meta, safe: r.safe, crypto: r.cryptoParams }));
    // A URL may be a live file still growing: read the prefix seen first.
    const source = await openSource(input, { live: true });
    let result: Awaited<ReturnType<typeof recoverFile>>;
    try {
      result = await recoverFile(source, options.output, {
        ...(layout === undefined ? {} : { layout }),
        ...(reference === undefined ? {} : { reference }),
      }).catch((error: unknown) => {
        throw aboutPath(options.output, error);
      });
    } finally {
      currentInput().add(source, isUrl(input));
      await source.close?.();
    }
    const { report, verify, published } = result;
    if (out.jsonMode) {
      out.json({
        input,
        output: options.output,
        published,
        complete: report.complete,
        recovered_blocks: report.recoveredBlocks,
        digest_verified: report.digestVerified,
        crc_verified: report.crcVerified,
        lost_blocks: report.lostBlocks,
        damage: report.damage,
        header_damage: report.headerDamage,
        tracks_from: report.tracksFrom,
        encrypted: report.encrypted,
        input_bytes: report.inputSize,
        output_bytes: published ? (report.summary?.bytes ?? null) : null,
        chain_head: published && report.summary !== null ? Buffer.from(report.summary.chainHead).toString('hex') : null,
        verified: verify?.ok ?? null,
      });
    } else printReport(out, input, options.output, report, published, verify?.ok ?? null);
    if (!published) {
      const why = verify !== null && !verify.ok ? 'the rebuilt container failed verification' : 'no block could be recovered';
      throw new CliError(`nothing recovered from ${input}: ${why}; ${options.output} was not written`, ExitCode.FAILED, {
        code: report.damage?.code ?? 'E_FAILED',
      });
    }
    if (!report.complete) {
      const where = report.damage === null ? '' : `; damage starts at byte ${report.damage.offset}`;
      throw new CliError(`partial recovery: ${report.recoveredBlocks} blocks recovered, at least ${report.lostBlocks} lost${where}`, ExitCode.PARTIAL, {
        code: 'E_PARTIAL',
        hint: `${options.output} is a valid container of the recovered blocks`,
      });
    }
  });
}

function printReport(out: Output, input: string, output: string, r: RecoverReport, published: boolean, verified: boolean | null): void {
  out.line(
    `recovered ${r.recoveredBlocks} block(s) from ${input}: ${r.digestVerified} verified by their segment table digest, ` +
      `${r.crcVerified} by CRC-32C and core_index sequence (unfinished segment); at least ${r.lostBlocks} lost`,
  );
  if (r.headerDamage !== null) out.line(`file header damaged (${r.headerDamage.code}: ${r.headerDamage.message}); the output has a new one`);
  out.line(
    r.damage === null
      ? 'no damage: the input was complete'
      : `damage starts at byte ${r.damage.offset} of ${r.inputSize}: ${r.damage.code}: ${r.damage.message}`,
  );
  out.line(`tracks from ${TRACKS_FROM[r.tracksFrom]}`);
  if (r.encrypted) {
    out.line(
      'encrypted blocks were copied verbatim with the surviving CRYP: with the key, verify reports the truncation (transcript MAC mismatch, missing END_OF_TRACK), as it should',
    );
  }
  if (published && r.summary !== null) {
    out.line(
      `wrote ${output}: ${r.summary.bytes} bytes, ${r.summary.blockCount} blocks, ${r.summary.layout} layout, verified ${verified === true ? 'OK' : 'FAILED'}`,
    );
  } else out.line(`${output} was not written`);
}
