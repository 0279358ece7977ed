/**
 * `h4mk optimize IN -o OUT [--faststart|--tail] [--format-version 1|2]`:
 * upgrades a v1 file to format version 2 (§12: stored bytes copied into v2
 * segments), converts between layouts (§5.7) by copying the segments byte for
 * byte, and drops the checkpoints of a finished live file (§14). OUT is
 * published only if it passes a full verify.
 */
import type { Command } from 'commander';
import { optimizeContainer, type OptimizeSummary } from '../../tools/optimize.js';
import { publishVerified } from '../../tools/publish.js';
import { withContainer } from '../container.js';
import { aboutPath, failure, inputError } from '../errors.js';
import { addInputOptions } from '../input.js';
import { parseFormatVersion } from '../options.js';
import type { Output } from '../output.js';
import { FORCE_HELP, guardOutput } from '../output-guard.js';

type OptimizeCliOptions = { output: string; faststart?: boolean; tail?: boolean; force?: boolean; formatVersion?: 1 | 2 };

/** Adds the `optimize` verb. */
export function registerOptimize(program: Command, out: Output): void {
  const command = program
    .command('optimize')
    .description('upgrade a v1 container to format version 2, convert between the faststart and tail layouts, drop live checkpoints')
    .argument('<input>', 'container to convert (file or http(s) URL)')
    .requiredOption('-o, --output <file>', 'container to write (published only if it verifies)')
    .option('--faststart', 'index after the header: opens with one prefix read (the default)')
    .option('--tail', 'index at the end')
    .option('--format-version <n>', 'format version to write: 2 (the default; upgrades v1 files) or 1 (for readers that know only v1)', parseFormatVersion)
    .option('--force', FORCE_HELP)
    .option('--json', 'print the summary as one JSON document');
  addInputOptions(command).action(async (input: string, options: OptimizeCliOptions) => {
    if (options.faststart === true && options.tail === true) throw inputError('give --faststart or --tail, not both');
    const layout = options.tail === true ? 'tail' : 'faststart';
    const formatVersion = options.formatVersion ?? 2;
    await guardOutput(options.output, [input], { force: options.force === true });
    const { result, verify, published } = await withContainer(input, (reader) =>
      publishVerified(options.output, (sink) => optimizeContainer(reader, sink, { layout, formatVersion })).catch((error: unknown) => {
        throw aboutPath(options.output, error);
      }),
    );
    if (!published) {
      throw failure(
        `the converted container failed verification (${verify?.failures[0]?.message ?? 'unknown'}); ${options.output} was not written`,
        verify?.failures[0]?.code ?? 'E_FAILED',
        `'h4mk verify ${input}' shows what is damaged in the input`,
      );
    }
    if (out.jsonMode) out.json({ input, output: options.output, ...summaryJson(result), verified: true });
    else {
      const index = result.converted
        ? `rewritten as format version ${result.formatVersion}${result.droppedSeal ? ' (its SEAL dropped: the index changed)' : ''}`
        : result.indexCopied
          ? 'copied verbatim'
          : `re-encoded without ${result.droppedGapBytes} bytes of live checkpoints${result.droppedSeal ? ' (its SEAL dropped: the index changed)' : ''}`;
      if (result.notConverted !== null) out.warn(`kept format version ${result.formatVersion}: ${result.notConverted}`);
      out.line(
        `wrote ${options.output}: ${result.layout} layout, ${result.bytes} bytes, ${result.blockCount} blocks in ${result.segmentCount} segments; ` +
          `index ${result.indexLength} bytes ${index}; chain head ${result.chainHead}; verified OK`,
      );
    }
  });
}

function summaryJson(s: OptimizeSummary): Record<string, unknown> {
  return {
    layout: s.layout,
    bytes: s.bytes,
    block_count: s.blockCount,
    segment_count: s.segmentCount,
    index_length: s.indexLength,
    index_copied: s.indexCopied,
    dropped_gap_bytes: s.droppedGapBytes,
    dropped_seal: s.droppedSeal,
    chain_head: s.chainHead,
    format_version: s.formatVersion,
    converted: s.converted,
    not_converted: s.notConverted,
  };
}
