/**
 * `h4mk tail FILE|URL`: follows a live container (docs/FORMAT.md §14). Every
 * interval it reopens the latest durable checkpoint (a live open: never a
 * block beyond it) and prints the blocks whose core_index is above the last
 * one printed, as text or, with `--json`, one JSON object per line.
 *
 * It stops on SIGINT, or with `--exit-on-finish` once the file is finished:
 * it ends with a final FOOT (§5.9 `state` 0), which a live writer writes only
 * when it finishes; its checkpoints' FOOTs say `checkpoint`. No timing is
 * involved: a writer paused for any time between checkpoints is waited for.
 */
import type { Command } from 'commander';
import { type BlockInfo, H4mkError, H4mkReader } from '../../node.js';
import { openSource } from '../container.js';
import { addStatsOption, currentInput, isUrl } from '../input.js';
import { BLOCK_LINE_HEADER, blockLine, blockView } from '../../views/index.js';
import { parseIndex } from '../options.js';
import type { Output } from '../output.js';

type TailOptions = { intervalMs: number; fromStart?: boolean; exitOnFinish?: boolean; stats?: boolean };

const MIN_OPEN_BYTES = 64 * 1024;
const MAX_OPEN_BYTES = 512 * 1024;

/** Adds the `tail` verb. */
export function registerTail(program: Command, out: Output): void {
  const command = program
    .command('tail')
    .description('follow a live container (file or URL): print blocks as checkpoints make them durable')
    .argument('<file>', 'container, or http(s) URL, to follow')
    .option('--interval-ms <n>', 'how often to reopen the latest checkpoint', parseIndex, 500)
    .option('--from-start', 'print the blocks already written first (default: only blocks that appear after the start)')
    .option('--exit-on-finish', 'stop once the file is finished (ends with its final index and stopped growing)')
    .option('--json', 'print one JSON object per block, one per line (NDJSON)');
  addStatsOption(command).action(async (file: string, options: TailOptions) => {
    const input = currentInput();
    const interval = Math.max(10, options.intervalMs);
    let stopped = false;
    let wake: (() => void) | null = null;
    const stop = (): void => {
      stopped = true;
      wake?.();
    };
    process.once('SIGINT', stop);
    let last = -1;
    let started = false;
    // The tail each poll reads: about twice what the last checkpoint and the bytes after it took, so
    // that a long recording over HTTP does not fetch 512 KiB twice a second (a miss only costs more reads).
    let openBytes = MAX_OPEN_BYTES;
    let printedHeader = false;
    try {
      while (!stopped) {
        const source = await openSource(file, { live: true });
        let finished = false;
        try {
          let reader: H4mkReader | null = null;
          try {
            reader = await H4mkReader.open(source, { live: true, openBytes });
          } catch (error) {
            // No durable checkpoint yet: the writer has just started.
            if (!(error instanceof H4mkError && error.code === 'E_TRUNCATED')) throw error;
          }
          if (reader !== null) {
            if (!started) {
              started = true;
              if (options.fromStart !== true) last = reader.blockCount - 1;
            }
            for (const b of await newBlocks(reader, last + 1)) {
              if (out.jsonMode) out.line(JSON.stringify(blockView(b)));
              else {
                if (!printedHeader) out.line(BLOCK_LINE_HEADER);
                printedHeader = true;
                out.line(blockLine(b));
              }
              last = b.coreIndex;
            }
            openBytes = Math.min(MAX_OPEN_BYTES, Math.max(MIN_OPEN_BYTES, 2 * (reader.sourceSize - reader.indexOffset) + MIN_OPEN_BYTES));
            finished = reader.finished;
          }
        } finally {
          input.add(source, isUrl(file));
          await source.close?.();
        }
        if (finished && options.exitOnFinish === true) break;
        if (stopped) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, interval);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    } finally {
      process.removeListener('SIGINT', stop);
    }
    if (out.jsonMode && options.stats === true) out.line(JSON.stringify({ stats: input.stats() }));
  });
}

/** Blocks `from` … last of `reader`, their segment tables fetched together (HTTP coalesces them). */
async function newBlocks(reader: H4mkReader, from: number): Promise<BlockInfo[]> {
  if (from >= reader.blockCount) return [];
  const first = reader.segmentOf(from);
  const segments = Array.from({ length: reader.segmentCount - first }, (_, k) => first + k);
  await Promise.all(segments.map((s) => reader.segmentTable(s)));
  const out: BlockInfo[] = [];
  for (let i = from; i < reader.blockCount; i++) out.push(await reader.blockInfo(i));
  return out;
}
