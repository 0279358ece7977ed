/**
 * `h4mk manifest FILE`: what a container holds, from its index. For an
 * encrypted or sealed container it shows the public parameters (AEAD, KDF,
 * key epoch, container id, signer) and never any key material.
 */
import type { Command } from 'commander';
import { type CliManifestDoc, cliManifestView } from '../../views/index.js';
import { withContainer } from '../container.js';
import type { Output } from '../output.js';

/** Adds the `manifest` verb. */
export function registerManifest(program: Command, out: Output): void {
  program
    .command('manifest')
    .description('print the tracks, layout, integrity chain head, META and SAFE of a container')
    .argument('<file>', 'container to read')
    .option('--json', 'print one JSON document')
    .action(async (file: string) => {
      const manifest = await withContainer(file, (reader) => cliManifestView(reader, file));
      if (out.jsonMode) out.json(manifest);
      else printManifest(out, manifest);
    });
}

function seconds(us: number | null): string {
  return us === null ? '-' : `${(us / 1e6).toFixed(3)} s`;
}

/** Prints a manifest as text. */
export function printManifest(out: Output, m: CliManifestDoc): void {
  out.line(`${out.style(m.file, 'bold')}: ${m.file_size} bytes, H4MK v${m.format_version}, ${m.layout} layout`);
  out.line(
    `blocks      ${m.block_count} in ${m.segment_count} segments` +
      (m.records_per_segment > 1 ? ` (runs of up to ${m.records_per_segment} records: a long index, FORMAT.md §5.5)` : ''),
  );
  out.line(
    `index       ${m.index_length} bytes at offset ${m.index_offset}` +
      (m.keyframe_map_length === null ? '' : `; keyframe map (KEYS) ${m.keyframe_map_length} bytes before the last record`),
  );
  out.line(`chain head  ${m.chain_head}`);
  out.line(`META        ${JSON.stringify(m.meta)}`);
  out.line(`SAFE        ${JSON.stringify(m.safe)}`);
  const e = m.encryption;
  if (e === null) out.line('encryption  none');
  else {
    const kdf = e.scrypt === null ? 'key file' : `passphrase (scrypt N=2^${e.scrypt.log2n}, r=${e.scrypt.r}, p=${e.scrypt.p})`;
    const epochs = e.epoch_us === 0 ? 'one key per track' : `key epochs of ${e.epoch_us} µs`;
    const engine = e.engine_id === '' && e.engine_fp === '' ? '' : `; engine ${JSON.stringify(e.engine_id)} ${JSON.stringify(e.engine_fp)}`;
    out.line(`encryption  ${e.aead}, ${kdf}, ${epochs}; container id ${e.container_id}${engine}`);
  }
  const seal = m.seal;
  if (seal === null) out.line('seal        none');
  else
    out.line(
      `seal        ${seal.algorithm} by ${JSON.stringify(seal.signer)} at ${seal.signed_at_iso}, key ${seal.public_key} (not checked here: h4mk verify FILE --pub KEY.pub)`,
    );
  out.line(`tracks      ${m.tracks.length}`);
  for (const t of m.tracks) {
    const label = [t.name, t.language].filter((x) => x !== '').join(', ');
    out.line(`  #${t.number} ${out.style(t.id, 'bold')}  ${t.kind}  codec ${t.codec}${label === '' ? '' : `  (${label})`}`);
    out.line(
      `      ${t.block_count} blocks, ${t.keyframe_count} keyframes; pts ${seconds(t.first_pts_us)} .. ${seconds(t.last_pts_us)}, ` +
        `duration ${seconds(t.duration_us)}; timescale ${t.timescale}`,
    );
    out.line(`      ${t.stored_bytes} bytes stored, ${t.original_bytes} original; compression ${t.compression}; codec config ${t.config_length} bytes`);
    if (t.gop !== undefined) {
      const g = t.gop;
      out.line(
        `      GOP ${g.keyframes} keyframes; interval min ${seconds(g.min_us)}, mean ${seconds(g.mean_us)}, max ${seconds(g.max_us)}; ` +
          `${g.min_frames ?? '-'}..${g.max_frames ?? '-'} frames (mean ${g.mean_frames ?? '-'}): a seek decodes at most ${g.max_frames ?? '-'} frames` +
          (g.exact ? '' : ' (estimated: the index lists segments by runs)'),
      );
    }
  }
}
