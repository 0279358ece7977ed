/**
 * `h4mk verify FILE`: checks every byte (CRCs, block digests, the hash chain,
 * decompression). Any damage, including a file that cannot even be opened as
 * a container, is exit 1 with the failing core_index list.
 */
import type { Command } from 'commander';
import { H4mkError, H4mkReader, type VerifyFailure, type VerifyReport } from '../../index.js';
import { withSource } from '../container.js';
import { failure } from '../errors.js';
import type { Output } from '../output.js';
import { startProgress } from '../progress.js';

type VerifyCliOptions = { decompress: boolean };

/** What verifying a file gave: a report, or the error that kept it from opening. */
type Outcome = { opened: false; error: H4mkError } | { opened: true; report: VerifyReport };

/** Adds the `verify` verb. */
export function registerVerify(program: Command, out: Output): void {
  program
    .command('verify')
    .description('check every CRC, block digest, the hash chain and every payload; exit 1 on any damage')
    .argument('<file>', 'container to check')
    .option('--no-decompress', 'skip decompressing payloads (digests and CRCs are still checked)')
    .option('--json', 'print the report as one JSON document')
    .action(async (file: string, options: VerifyCliOptions) => {
      const outcome = await withSource(file, async (source): Promise<Outcome> => {
        let reader: H4mkReader;
        try {
          reader = await H4mkReader.open(source);
        } catch (error) {
          if (error instanceof H4mkError) return { opened: false, error };
          throw error;
        }
        const progress = startProgress('verifying', reader.blockCount, 'blocks');
        try {
          return { opened: true, report: await reader.verify({ decompress: options.decompress, onProgress: (done) => progress.update(done) }) };
        } finally {
          progress.stop();
        }
      });
      if (!outcome.opened) {
        const e = outcome.error;
        if (out.jsonMode) out.json({ file, ok: false, opened: false, failed_blocks: [], failures: [failureJson(failureOfError(e))] });
        else out.line(`${out.style('FAILED', 'red')}: ${file} cannot be opened as a container: ${e.code}: ${e.message}`);
        throw failure(`${file}: ${e.code}: ${e.message}`, e.code, "the index cannot be read; 'h4mk dump FILE' shows which chunks are intact");
      }
      printReport(out, file, outcome.report);
      const r = outcome.report;
      if (!r.ok) {
        const blocks = r.failedBlocks.length === 0 ? '' : `; damaged core_index: ${r.failedBlocks.join(', ')}`;
        throw failure(`verification failed: ${r.failures.length} problem(s)${blocks}`, r.failures[0]?.code ?? 'E_FAILED');
      }
    });
}

function failureOfError(e: H4mkError): VerifyFailure {
  const f: VerifyFailure = { code: e.code, message: e.message };
  if (e.coreIndex !== undefined) f.coreIndex = e.coreIndex;
  if (e.chunk !== undefined) f.chunk = e.chunk;
  if (e.offset !== undefined) f.offset = e.offset;
  return f;
}

function failureJson(f: VerifyFailure): Record<string, unknown> {
  return { code: f.code, message: f.message, core_index: f.coreIndex ?? null, chunk: f.chunk ?? null, offset: f.offset ?? null };
}

function printReport(out: Output, file: string, r: VerifyReport): void {
  if (out.jsonMode) {
    out.json({
      file,
      ok: r.ok,
      opened: true,
      block_count: r.blockCount,
      blocks_checked: r.blocksChecked,
      failed_blocks: r.failedBlocks,
      failures: r.failures.map(failureJson),
      chain_head: r.chainHead,
    });
    return;
  }
  if (r.ok) {
    out.line(`${out.style('OK', 'green')}: ${file}: ${r.blocksChecked} of ${r.blockCount} blocks verified, chain head ${r.chainHead}`);
    return;
  }
  out.line(`${out.style('FAILED', 'red')}: ${file}: ${r.failures.length} problem(s) in ${r.blockCount} blocks`);
  // Messages already name the chunk, block and offset.
  for (const f of r.failures) out.line(`  ${f.code}: ${f.message}`);
  if (r.failedBlocks.length > 0) out.line(`failed core_index: ${r.failedBlocks.join(' ')}`);
}
