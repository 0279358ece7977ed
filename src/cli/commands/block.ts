/** `h4mk block FILE --index N`: one block's payload, decompressed unless `--raw`. */
import type { Command } from 'commander';
import { writeFileAtomic } from '../atomic-write.js';
import { withContainer } from '../container.js';
import { inputError } from '../errors.js';
import { base64, blockJson } from '../json.js';
import { parseIndex } from '../options.js';
import type { Output } from '../output.js';

type BlockOptions = {
  index: number;
  output?: string;
  raw?: boolean;
};

/** Adds the `block` verb. */
export function registerBlock(program: Command, out: Output): void {
  program
    .command('block')
    .description('write the payload of one block to stdout or a file')
    .argument('<file>', 'container to read')
    .requiredOption('--index <n>', 'global block index (core_index)', parseIndex)
    .option('-o, --output <file>', 'write the payload to this file (atomically) instead of stdout')
    .option('--raw', 'the stored bytes, without decompression')
    .option('--json', 'print the metadata and the payload (base64; omitted with -o) as one JSON document')
    .action(async (file: string, options: BlockOptions) => {
      if (options.output === undefined && !out.jsonMode && out.stdout.isTTY === true) {
        throw inputError('refusing to write binary data to a terminal', 'use -o FILE, --json, or redirect stdout');
      }
      const block = await withContainer(file, (reader) => reader.readBlock(options.index, { decompress: options.raw !== true, verify: true }));
      if (options.output !== undefined) await writeFileAtomic(options.output, block.payload);
      if (out.jsonMode) {
        out.json({
          ...blockJson(block),
          raw: options.raw === true,
          payload_length: block.payload.length,
          ...(options.output === undefined ? { payload_b64: base64(block.payload) } : { output: options.output }),
        });
      } else if (options.output !== undefined) {
        out.line(`wrote ${block.payload.length} bytes of block ${block.coreIndex} (${options.raw === true ? 'stored' : 'decompressed'}) to ${options.output}`);
      } else {
        out.bytes(block.payload);
      }
    });
}
