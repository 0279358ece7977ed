/**
 * `h4mk manifest FILE`: what a container holds, from its index. For an
 * encrypted or sealed container it shows the public parameters (AEAD, KDF,
 * key epoch, container id, signer) and never any key material.
 */
import type { Command } from 'commander';
import { type GopStats, trackGopStats, type H4mkReader, } from '../../node.js';
import { withContainer } from '../container.js';
import { hex, trackDurationUs, trackJson, type TrackJson } from '../json.js';
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

/** GOP statistics of a track (keyframe intervals bound the cost of a seek). */
export type GopJson = {
  keyframes: number;
  min_us: number | null;
  mean_us: number | null;
  max_us: number | null;
  min_frames: number | null;
  mean_frames: number | null;
  max_frames: number | null;
};

/** A track in the manifest: its index facts, and GOP statistics for video and other tracks with non-key blocks. */
export type ManifestTrack = TrackJson & { gop?: GopJson };

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
  tracks: ManifestTrack[];
  encrypted: boolean;
  /** §13.3 public encryption parameters (no key, no key-check value, no MAC). */
  encryption: EncryptionJson | null;
  sealed: boolean;
  /** §13.7 what the SEAL chunk claims; checked only by `verify`. */
  seal: SealJson | null;
};

/** The public part of CRYP. */
export type EncryptionJson = {
  aead: 'AES-256-GCM';
  kdf: 'key-file' | 'scrypt';
  scrypt: { log2n: number; r: number; p: number } | null;
  epoch_us: number;
  container_id: string;
  engine_id: string;
  engine_fp: string;
};

/** What a SEAL chunk says (not verified here). */
export type SealJson = { algorithm: 'Ed25519'; signer: string; signed_at: number; signed_at_iso: string; public_key: string; verified: false };

/** The public encryption parameters of `reader`'s container, or null. */
export function encryptionJson(reader: H4mkReader): EncryptionJson | null {
  const c = reader.cryptoParams;
  if (c === null) return null;
  return {
    aead: 'AES-256-GCM',
    kdf: c.kdf.kind === 'raw' ? 'key-file' : 'scrypt',
    scrypt: c.kdf.kind === 'scrypt' ? { log2n: c.kdf.log2N, r: c.kdf.r, p: c.kdf.p } : null,
    epoch_us: c.epochUs,
    container_id: hex(c.containerId),
    engine_id: c.engineId,
    engine_fp: c.engineFp,
  };
}

/** What the SEAL chunk of `reader`'s container claims, or null. */
export function sealJson(reader: H4mkReader): SealJson | null {
  const s = reader.seal;
  if (s === null) return null;
  return { algorithm: 'Ed25519', signer: s.signer, signed_at: s.signedAt, signed_at_iso: isoTime(s.signedAt), public_key: hex(s.publicKey), verified: false };
}

/** Seconds since the epoch as ISO 8601 (or the number when out of Date's range). */
export function isoTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
}

/** Builds the manifest of an open container (reads at most a segment table per track). */
export async function manifestOf(reader: H4mkReader, file: string): Promise<Manifest> {
  const tracks: ManifestTrack[] = [];
  for (const t of reader.tracks()) {
    const track: ManifestTrack = trackJson(t, await trackDurationUs(reader, t));
    if (t.blockCount > 0 && (t.kind === 'video' || t.keyframeCount < t.blockCount)) track.gop = gopJson(await trackGopStats(reader, t.number));
    tracks.push(track);
  }
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
    encrypted: reader.encrypted,
    encryption: encryptionJson(reader),
    sealed: reader.seal !== null,
    seal: sealJson(reader),
  };
}

function gopJson(g: GopStats): GopJson {
  return { keyframes: g.keyframes, min_us: g.minUs, mean_us: g.meanUs, max_us: g.maxUs, min_frames: g.minFrames, mean_frames: g.meanFrames, max_frames: g.maxFrames };
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
  else out.line(`seal        ${seal.algorithm} by ${JSON.stringify(seal.signer)} at ${seal.signed_at_iso}, key ${seal.public_key} (not checked here: h4mk verify FILE --pub KEY.pub)`);
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
          `${g.min_frames ?? '-'}..${g.max_frames ?? '-'} frames (mean ${g.mean_frames ?? '-'}): a seek decodes at most ${g.max_frames ?? '-'} frames`,
      );
    }
  }
}
