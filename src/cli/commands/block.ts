/**
 * `h4mk block FILE --index N`: one block's payload, decrypted (with a key,
 * passphrase or grant) and decompressed unless `--raw` (the stored bytes).
 */
import type { Command } from 'commander';
import { writeFileAtomic } from '../atomic-write.js';
import { withContainer } from '../container.js';
import { aboutPath, inputError } from '../errors.js';
import { addKeyOptions, keyInputOf, type KeyOptions } from '../key-options.js';
import { base64, blockView } from '../../views/index.js';
import { parseIndex } from '../options.js';
import type { Output } from '../output.js';
import { FORCE_HELP, guardOutput } from '../output-guard.js';

type BlockOptions = KeyOptions & {
  index: number;
  output?: string;
  raw?: boolean;
  force?: boolean;
};

/** Adds the `block` verb. */
export function registerBlock(program: Command, out: Output): void {
  const command = program
    .command('block')
    .description('write the payload of one block (decrypted with a key or grant) to stdout or a file')
    .argument('<file>', 'container to read')
    .requiredOption('--index <n>', 'global block index (core_index)', parseIndex)
    .option('-o, --output <file>', 'write the payload to this file (atomically) instead of stdout')
    .option('--raw', 'the stored bytes, without decryption or decompression')
    .option('--force', `with -o: ${FORCE_HELP}`)
    .option('--json', 'print the metadata and the payload (base64; omitted with -o) as one JSON document');
  addKeyOptions(command).action(async (file: string, options: BlockOptions) => {
    if (options.output === undefined && !out.jsonMode && out.stdout.isTTY === true) {
      throw inputError('refusing to write binary data to a terminal', 'use -o FILE, --json, or redirect stdout');
    }
    if (options.output !== undefined) await guardOutput(options.output, [file, options.keyFile, options.grant], { force: options.force === true });
    else if (options.force === true) throw inputError('--force applies to -o only');
    const key = await keyInputOf(options, out);
    const block = await withContainer(
      file,
      (reader) => reader.readBlock(options.index, { decompress: options.raw !== true, verify: true }),
      key === undefined ? {} : { key: key.key },
    );
    if (options.output !== undefined) {
      const output = options.output;
      await writeFileAtomic(output, block.payload).catch((error: unknown) => {
        throw aboutPath(output, error);
      });
    }
    if (out.jsonMode) {
      out.json({
        ...blockView(block),
        raw: options.raw === true,
        payload_length: block.payload.length,
        ...(options.output === undefined ? { payload_b64: base64(block.payload) } : { output: options.output }),
      });
    } else if (options.output !== undefined) {
      const form = options.raw === true ? 'stored' : block.encrypted ? 'decrypted' : 'decompressed';
      out.line(`wrote ${block.payload.length} bytes of block ${block.coreIndex} (${form}) to ${options.output}`);
    } else {
      out.bytes(block.payload);
    }
  });
}
