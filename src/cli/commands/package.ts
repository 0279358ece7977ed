/**
 * `h4mk package IN.h4mk -o DIR [--hls] [--dash]`: the HLS playlists, DASH
 * manifest and CMAF/WebVTT segments of a container as static files, byte
 * for byte what `h4mk serve` answers on the fly, for any static server,
 * object store or CDN. `--key-file … --decrypt` packages an encrypted
 * container in the clear (and says so).
 */
import type { Command } from 'commander';
import { completeSegments, DeliveryError, deliveryPlan } from '../../node.js';
import { type PackageSummary, packageContainer } from '../../tools/package.js';
import { withContainer } from '../container.js';
import { CliError, ExitCode, inputError } from '../errors.js';
import { addKeyOptions, type KeyOptions, keyInputOf } from '../key-options.js';
import type { Output } from '../output.js';
import { guardOutput } from '../output-guard.js';
import { startProgress } from '../progress.js';
import { secondsSince } from './media-common.js';

type PackageOptions = KeyOptions & { output: string; hls?: boolean; dash?: boolean; force?: boolean; decrypt?: boolean; json?: boolean };

/** Adds the `package` verb. */
export function registerPackage(program: Command, out: Output): void {
  const command = program
    .command('package')
    .description('write HLS playlists, a DASH manifest and CMAF/WebVTT segments as static files (what `serve` streams on the fly)')
    .argument('<file>', 'container to read (file or http(s) URL)')
    .requiredOption('-o, --output <dir>', 'directory to write (it appears only once complete)')
    .option('--hls', 'write the HLS playlists (default: both HLS and DASH)')
    .option('--dash', 'write the DASH manifest (default: both HLS and DASH)')
    .option('--force', 'replace the output directory if it exists (never one that is or holds the input); it is replaced only once the new one is complete')
    .option('--decrypt', 'with --key-file: package an encrypted container in the clear (removes its protection)')
    .option('--json', 'print the summary as one JSON document');
  addKeyOptions(command, { grant: false }).action(async (file: string, options: PackageOptions) => {
    const started = performance.now();
    await guardOutput(options.output, [file, options.keyFile], { force: options.force === true, kind: 'directory' });
    const key = await keyInputOf(options, out);
    if (options.decrypt === true && key === undefined) throw inputError('--decrypt needs the key: give --key-file or --passphrase-env');
    if (key !== undefined && options.decrypt !== true)
      throw inputError('a key was given without --decrypt: the server-side package cannot stay encrypted', 'add --decrypt to write a plain package');
    let summary: PackageSummary;
    try {
      summary = await withContainer(
        file,
        async (reader) => {
          const plan = deliveryPlan(reader);
          const total = plan.tracks.reduce((a, t) => a + (t.carriage === null ? 0 : completeSegments(plan, t)), 0);
          const progress = startProgress('packaging', total, 'segments');
          try {
            return await packageContainer(reader, options.output, {
              ...(options.hls === true ? { hls: true } : {}),
              ...(options.dash === true ? { dash: true } : {}),
              force: options.force === true,
              decrypt: options.decrypt === true,
              onProgress: (done) => progress.update(done),
            });
          } finally {
            progress.stop();
          }
        },
        key === undefined ? {} : { key: key.key },
      );
    } catch (error) {
      if (error instanceof DeliveryError) {
        throw new CliError(error.message, ExitCode.USAGE, { code: error.code, ...(error.code === 'E_EXISTS' ? { hint: 'add --force to replace it' } : {}) });
      }
      throw error;
    }
    const seconds = secondsSince(started);
    if (options.decrypt === true) out.warn('warning: the package is NOT encrypted: anyone who can read its files can play them');
    if (out.jsonMode) {
      out.json({ ok: true, input: file, output: options.output, decrypted: options.decrypt === true, ...summary, seconds });
      return;
    }
    out.line(
      `packaged ${summary.tracks.length} tracks, ${summary.segments} segments, ${summary.files} files (${summary.bytes} bytes) of ${file} into ${options.output} in ${seconds} s`,
    );
    for (const t of summary.tracks) out.line(`  ${t.id}  ${t.codec}  ${t.carriage}  ${t.segments} segments`);
    for (const s of summary.skipped) out.line(`  left out ${s.id} (${s.codec}): ${s.reason}`);
  });
}
