/**
 * `h4mk pack BLOCKS.ndjson -o OUT.h4mk`: streams NDJSON (see ../ndjson.ts)
 * line by line into a container. The output appears only when complete:
 * on any error the writer is aborted, so nothing is left at the output path
 * and a file already there is untouched. An existing output is replaced only
 * with --force, and never one of the inputs (../output-guard.ts). Input
 * without a single track is an error: there would be nothing to pack.
 */
import { open, type FileHandle, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import { type Command, Option } from 'commander';
import { COMPRESSIONS, DEFAULT_LIMITS, FileSink, H4mkWriter, type Compression, type EncryptionOptions, type WriteSummary } from '../../node.js';
import { isH4mkError } from '../../format/errors.js';
import { CliError, ExitCode, aboutPath, inputError } from '../errors.js';
import { packView } from '../../views/index.js';
import { addEncryptOptions, type EncryptOptions, encryptionOf } from '../key-options.js';
import { parseNdjsonLine } from '../ndjson.js';
import { FORMAT_VERSION_HELP, parseFormatVersion, parseIndex, parseJsonObjectOption } from '../options.js';
import type { Output } from '../output.js';
import { FORCE_HELP, guardOutput, type OutputIdentity, sameFile } from '../output-guard.js';
import { startProgress } from '../progress.js';

type PackOptions = EncryptOptions & {
  output: string;
  compress: Compression;
  faststart?: boolean;
  formatVersion?: 1 | 2;
  meta?: Record<string, unknown>;
  json?: boolean;
  force?: boolean;
  /** §14 live append: written in place, with checkpoints. */
  live?: boolean;
  checkpointBlocks?: number;
  checkpointMs?: number;
};

/** Adds the `pack` verb. */
export function registerPack(program: Command, out: Output): void {
  const command = program
    .command('pack')
    .description('pack blocks described by NDJSON lines into a container')
    .argument('<blocks>', 'NDJSON file of track declarations and blocks ("-" reads stdin)')
    .requiredOption('-o, --output <file>', 'container to write (it appears only once complete)')
    .addOption(new Option('--compress <codec>', 'default compression of the blocks').choices(COMPRESSIONS).default('none'))
    .option('--faststart', 'put the index right after the header (for progressive download)')
    .option('--format-version <n>', FORMAT_VERSION_HELP, parseFormatVersion)
    .option('--meta <json>', 'user metadata (META) as a JSON object', parseJsonObjectOption)
    .option('--live', 'live append: write in place (readers follow it with h4mk tail) with index checkpoints; Ctrl-C finishes the file')
    .option('--checkpoint-blocks <n>', 'live: a checkpoint after this many blocks, within a 10% overhead bound (default 256)', parseIndex)
    .option('--checkpoint-ms <n>', 'live: a checkpoint at least this often while blocks arrive (default 1000)', parseIndex)
    .option('--force', `${FORCE_HELP}; with --live the old file is removed first`)
    .option('--json', 'print the summary as one JSON document');
  addEncryptOptions(command)
    .addHelpText(
      'after',
      `
NDJSON lines:
  {"track":{"id":"video_main","kind":"video","codec":"opaque","timescale":90000}}
  {"track":"video_main","pts_us":0,"dts_us":0,"duration_us":33333,"keyframe":true,"kind":"I","payload_b64":"AAEC"}
  {"track":"video_main","pts":3003,"keyframe":false,"kind":"P","payload_file":"frames/0001.bin"}
Tracks are declared before the first block; payload_file is relative to the NDJSON file.

Encryption: 'h4mk keygen -o KEY' then 'h4mk pack IN -o OUT --encrypt --key-file KEY', or
PASS=… h4mk pack IN -o OUT --encrypt --passphrase-env PASS. Blocks are compressed, then
encrypted; the index (tracks, timestamps, sizes) stays readable without the key.`,
    )
    .action(async (input: string, options: PackOptions) => {
      const started = performance.now();
      if (options.live !== true && (options.checkpointBlocks !== undefined || options.checkpointMs !== undefined))
        throw inputError('--checkpoint-blocks and --checkpoint-ms need --live');
      if (options.live === true && options.faststart === true) throw inputError('a live container uses the tail layout: give --live or --faststart, not both');
      const target = await guardOutput(options.output, [input, options.keyFile], { force: options.force === true, inPlace: options.live === true });
      const encryption = await encryptionOf(options, out);
      const summary = await pack(input, options, encryption, target);
      const seconds = Number(((performance.now() - started) / 1000).toFixed(3));
      const compression = options.compress;
      const crypto =
        encryption === undefined
          ? { encrypted: false }
          : { encrypted: true, aead: 'AES-256-GCM', kdf: encryption.secret !== undefined ? 'key-file' : 'scrypt', epoch_us: encryption.epochUs ?? 0 };
      const live =
        summary.live === undefined
          ? {}
          : { live: { checkpoints: summary.live.checkpoints, checkpoint_bytes: summary.live.checkpointBytes, skipped: summary.live.skipped } };
      if (out.jsonMode) {
        out.json({ ok: true, ...packView(summary, options.output, compression, seconds), ...crypto, ...live });
        return;
      }
      const encryptedNote =
        encryption === undefined
          ? ''
          : `, encrypted (AES-256-GCM, ${encryption.secret !== undefined ? 'key file' : 'passphrase'}, ${encryption.epochUs ? `key epochs of ${encryption.epochUs} µs` : 'one key per track'})`;
      out.line(
        `packed ${summary.blockCount} blocks of ${summary.trackCount} tracks into ${options.output}: ` +
          `${summary.bytes} bytes (${summary.storedBytes} stored of ${summary.payloadBytes} payload bytes), ` +
          `${summary.segmentCount} segments, ${summary.layout} layout, ${compression}${encryptedNote}` +
          `${summary.live === undefined ? '' : `, live with ${summary.live.checkpoints} checkpoints (${summary.live.checkpointBytes} bytes)`}, in ${seconds} s`,
      );
    });
}

/** An open NDJSON input: a stream, its display name, and where payload files are resolved. */
type Input = { stream: Readable; name: string; baseDir: string; size: number; close: () => Promise<void> };

async function openInput(path: string): Promise<Input> {
  if (path === '') throw inputError('the input path is empty', "give the NDJSON file, or '-' for standard input");
  if (path === '-') return { stream: process.stdin, name: '<stdin>', baseDir: process.cwd(), size: 0, close: async () => void process.stdin.destroy() };
  // Opening first turns a missing file into an error before any output exists.
  const handle: FileHandle = await open(path, 'r');
  const st = await handle.stat();
  if (st.isDirectory()) {
    await handle.close();
    throw inputError(`${path}: is a directory`);
  }
  const stream = handle.createReadStream({ autoClose: false });
  const close = async () => {
    stream.destroy();
    await handle.close();
  };
  return { stream, name: path, baseDir: dirname(resolve(path)), size: st.isFile() ? st.size : 0, close };
}

async function pack(inputPath: string, options: PackOptions, encryption: EncryptionOptions | undefined, target: OutputIdentity): Promise<WriteSummary> {
  const input = await openInput(inputPath).catch((error: unknown) => {
    throw aboutPath(inputPath, error);
  });
  const progress = startProgress('packing', input.size, 'bytes');
  let writer: H4mkWriter | undefined;
  let lines: Interface | undefined;
  let tracks = 0;
  // Ctrl-C ends the read loop; the writer is then aborted like on any error (live: finished, see below).
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
    lines?.close();
  };
  process.once('SIGINT', interrupt);
  const live =
    options.live === true
      ? {
          ...(options.checkpointBlocks === undefined ? {} : { checkpointBlocks: options.checkpointBlocks }),
          ...(options.checkpointMs === undefined ? {} : { checkpointMs: options.checkpointMs }),
        }
      : undefined;
  if (live !== undefined) process.once('SIGTERM', interrupt);
  try {
    // Live: written in place (it must not exist yet), so readers see it grow.
    const sink = await FileSink.create(options.output, { inPlace: live !== undefined }).catch((error: unknown) => {
      throw aboutPath(options.output, error);
    });
    try {
      writer = await H4mkWriter.create(sink, {
        compression: options.compress,
        layout: options.faststart === true ? 'faststart' : 'tail',
        formatVersion: options.formatVersion ?? 2,
        ...(options.meta === undefined ? {} : { meta: options.meta }),
        ...(encryption === undefined ? {} : { encryption }),
        ...(live === undefined ? {} : { live }),
      });
    } catch (error) {
      await sink.abort();
      throw error;
    }
    let lineNumber = 0;
    let consumed = 0;
    // Created only now: readline starts the stream at once and lines emitted before
    // the loop begins would be lost.
    lines = createInterface({ input: input.stream, crlfDelay: Infinity });
    for await (const text of lines) {
      if (interrupted) break;
      lineNumber++;
      consumed += Buffer.byteLength(text) + 1;
      const where = `${input.name}:${lineNumber}`;
      try {
        const parsed = parseNdjsonLine(text);
        if (parsed?.kind === 'track') {
          writer.addTrack(parsed.track);
          tracks++;
        } else if (parsed?.kind === 'block') {
          const payload =
            'bytes' in parsed.line.payload ? parsed.line.payload.bytes : await readPayload(input.baseDir, parsed.line.payload.file, target, options.output);
          await writer.writeBlock({ ...parsed.line.block, payload });
        }
      } catch (error) {
        throw atLine(error, where);
      }
      progress.update(consumed);
    }
    // Live: the input stream ended early, and what arrived is finished into a complete container.
    if (interrupted && live === undefined) throw new CliError(`interrupted; nothing was written to ${options.output}`, ExitCode.INTERRUPTED);
    if (tracks === 0) {
      throw inputError(
        `${input.name}: no track declared${lineNumber === 0 ? ' (the input is empty)' : ''}; nothing was written to ${options.output}`,
        'see h4mk pack --help for the line format',
      );
    }
    return await writer.finish();
  } catch (error) {
    await writer?.abort();
    // A live file without a track holds nothing worth keeping.
    if (live !== undefined && tracks === 0 && writer !== undefined) await unlink(options.output).catch(() => {});
    throw error;
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    progress.stop();
    await input.close();
  }
}

/** Reads a payload file, refusing anything larger than a block may be, or the output being written. */
async function readPayload(baseDir: string, file: string, target: OutputIdentity, output: string): Promise<Uint8Array> {
  const what = `payload_file ${JSON.stringify(file)}`;
  const handle = await open(resolve(baseDir, file), 'r').catch((error: unknown) => {
    throw aboutPath(what, error);
  });
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new TypeError(`${what} is not a regular file`);
    if (sameFile(target, st)) throw new TypeError(`${what} is the output ${output}; h4mk never writes over its input`);
    if (st.size > DEFAULT_LIMITS.maxBlockLength) throw new RangeError(`${what} is ${st.size} bytes, more than a block may hold`);
    return new Uint8Array(await handle.readFile());
  } catch (error) {
    throw aboutPath(what, error);
  } finally {
    await handle.close();
  }
}

/** Names the input line an input problem comes from; other errors pass through. */
function atLine(error: unknown, where: string): unknown {
  // A block out of the order §6.1 requires (the writer's E_ORDER) is a mistake of the input line too.
  if (
    error instanceof TypeError ||
    error instanceof RangeError ||
    isH4mkError(error, 'E_ORDER') ||
    (error instanceof CliError && error.exitCode === ExitCode.USAGE)
  ) {
    return inputError(`${where}: ${error.message}`, 'see h4mk pack --help for the line format');
  }
  return error;
}
