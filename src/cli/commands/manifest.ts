/** `h4mk manifest FILE`: what a container holds, from its index. */
import type { Command } from 'commander';
import { ticksToUs, type H4mkReader, type TrackInfo } from '../../index.js';
import { withContainer } from '../container.js';
import { trackJson, type TrackJson } from '../json.js';
import type { Output } from '../output.js';

/** Adds the `manifest` verb. */
export function registerManifest(program: Command, out: Output): void {
  program
    .command('manifest')
    .description('print the tracks, layout, integrity chain head, META and SAFE of a container')
    .argument('<file>', 'container to read')
    .option('--json', 'print one JSON document')
    .action(async (file: string) => {
      const manifest = await withContainer(file, (reader) => manifestOf(reader, file));
      if (out.jsonMode) out.json(manifest);
      else printManifest(out, manifest);
    });
}

/** The manifest document (snake_case JSON). */
export type Manifest = {
  file: string;
  file_size: number;
  format_version: number;
  layout: 'tail' | 'faststart';
  index_offset: number;
  index_length: number;
  block_count: number;
  segment_count: number;
  chain_head: string;
  meta: Record<string, unknown>;
  safe: Record<string, unknown>;
  tracks: TrackJson[];
};

/** Builds the manifest of an open container (reads at most a segment table per track). */
export async function manifestOf(reader: H4mkReader, file: string): Promise<Manifest> {
  const tracks: TrackJson[] = [];
  for (const t of reader.tracks()) tracks.push(trackJson(t, await durationUs(reader, t)));
  return {
    file,
    file_size: reader.fileSize,
    format_version: reader.header.version,
    layout: reader.layout,
    index_offset: reader.indexOffset,
    index_length: reader.indexLength,
    block_count: reader.blockCount,
    segment_count: reader.segmentCount,
    chain_head: reader.chainHead,
    meta: reader.meta,
    safe: reader.safe,
    tracks,
  };
}

/** From the first pts to the end of the block with the last pts, µs; null for an empty track. */
async function durationUs(reader: H4mkReader, t: TrackInfo): Promise<number | null> {
  if (t.firstPtsUs === null || t.lastPtsUs === null || t.lastPts === null) return null;
  let end = t.lastPts;
  for await (const b of reader.range({ tracks: [t.number], fromUs: t.lastPtsUs })) {
    if (b.pts === t.lastPts) end = Math.max(end, b.pts + b.duration);
  }
  return ticksToUs(end, t.timescale) - t.firstPtsUs;
}

function seconds(us: number | null): string {
  return us === null ? '-' : `${(us / 1e6).toFixed(3)} s`;
}

/** Prints a manifest as text. */
export function printManifest(out: Output, m: Manifest): void {
  out.line(`${out.style(m.file, 'bold')}: ${m.file_size} bytes, H4MK v${m.format_version}, ${m.layout} layout`);
  out.line(`blocks      ${m.block_count} in ${m.segment_count} segments`);
  out.line(`index       ${m.index_length} bytes at offset ${m.index_offset}`);
  out.line(`chain head  ${m.chain_head}`);
  out.line(`META        ${JSON.stringify(m.meta)}`);
  out.line(`SAFE        ${JSON.stringify(m.safe)}`);
  out.line(`tracks      ${m.tracks.length}`);
  for (const t of m.tracks) {
    const label = [t.name, t.language].filter((x) => x !== '').join(', ');
    out.line(`  #${t.number} ${out.style(t.id, 'bold')}  ${t.kind}  codec ${t.codec}${label === '' ? '' : `  (${label})`}`);
    out.line(
      `      ${t.block_count} blocks, ${t.keyframe_count} keyframes; pts ${seconds(t.first_pts_us)} .. ${seconds(t.last_pts_us)}, ` +
        `duration ${seconds(t.duration_us)}; timescale ${t.timescale}`,
    );
    out.line(`      ${t.stored_bytes} bytes stored, ${t.original_bytes} original; compression ${t.compression}; codec config ${t.config_length} bytes`);
  }
}
