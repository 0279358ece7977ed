/**
 * The manifest of a container: what `h4mk manifest` prints and the server's
 * manifest sends. Both are the same document from the index (layout, chain
 * head, META, SAFE, public encryption parameters, the seal's claim, tracks);
 * they differ only in what names the container (the CLI's `file`, the
 * server's `name` and `etag`), in what is said about the seal (the CLI does
 * not check it: `verified: false`; the server checks it against the key it
 * carries: `valid`), and in GOP statistics, which read every segment table
 * and so are the CLI's alone.
 */
import { z } from 'zod';
import { type GopStats, H4mkError, type H4mkReader, trackGopStats, verifySeal } from '../node.js';
import { hex } from './bytes.js';
import { trackDoc, trackDurationUs, trackView } from './track.js';

/** The public part of CRYP (§13.3: no key, no key-check value, no MAC). */
export const encryptionDoc = z.object({
  aead: z.literal('AES-256-GCM'),
  kdf: z.enum(['key-file', 'scrypt']),
  scrypt: z.object({ log2n: z.int(), r: z.int(), p: z.int() }).nullable(),
  epoch_us: z.int(),
  container_id: z.string(),
  engine_id: z.string(),
  engine_fp: z.string(),
});
export type EncryptionDoc = z.infer<typeof encryptionDoc>;

/** What a SEAL chunk claims (§13.7). */
const sealClaim = z.object({ algorithm: z.literal('Ed25519'), signer: z.string(), signed_at: z.int(), signed_at_iso: z.string(), public_key: z.string() });
export type SealClaimDoc = z.infer<typeof sealClaim>;

/** The fields both documents share. */
const manifestCore = z.object({
  file_size: z.int(),
  format_version: z.int(),
  layout: z.enum(['tail', 'faststart']),
  index_offset: z.int(),
  index_length: z.int(),
  block_count: z.int(),
  segment_count: z.int(),
  records_per_segment: z.int().describe('§5.5: SEGT+SEGD records each segment lists (1 unless a long index lists runs)'),
  keyframe_map_length: z
    .int()
    .nullable()
    .describe('§5.10, §6.6: payload bytes of the KEYS chunk before the last record (the keyframes SEEK does not name); null when there is none'),
  chain_head: z.string().describe('VERI chain head, hex'),
  meta: z.looseObject({}).describe('META, verbatim'),
  safe: z.looseObject({}).describe('SAFE, verbatim'),
  encrypted: z.boolean(),
  encryption: encryptionDoc.nullable().describe('public encryption parameters (never key material)'),
  sealed: z.boolean(),
});
type ManifestCore = z.infer<typeof manifestCore>;

/** The server's manifest of a stored (or sent) container. */
export const manifestDoc = z.object({
  name: z.string().nullable(),
  etag: z.string().nullable(),
  ...manifestCore.shape,
  seal: sealClaim.extend({ valid: z.boolean().describe('the signature checks out against the key the seal carries') }).nullable(),
  tracks: z.array(trackDoc),
});
export type ManifestDoc = z.infer<typeof manifestDoc>;

/** GOP statistics of a track (keyframe intervals bound the cost of a seek). */
export type GopDoc = {
  keyframes: number;
  min_us: number | null;
  mean_us: number | null;
  max_us: number | null;
  min_frames: number | null;
  mean_frames: number | null;
  max_frames: number | null;
  /** False when estimated from an index that lists records by runs (§5.5): min and max are then approximate. */
  exact: boolean;
};

/** The CLI's manifest of a file. */
export type CliManifestDoc = { file: string } & ManifestCore & {
    seal: (SealClaimDoc & { verified: false }) | null;
    tracks: (z.infer<typeof trackDoc> & { gop?: GopDoc })[];
  };

/** Seconds since the epoch as ISO 8601 (or the number when out of Date's range). */
export function isoTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
}

/** The public encryption parameters of `reader`'s container, or null. */
export function encryptionView(reader: H4mkReader): EncryptionDoc | null {
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
export function sealClaimView(reader: H4mkReader): SealClaimDoc | null {
  const s = reader.seal;
  if (s === null) return null;
  return { algorithm: 'Ed25519', signer: s.signer, signed_at: s.signedAt, signed_at_iso: isoTime(s.signedAt), public_key: hex(s.publicKey) };
}

function manifestCoreView(reader: H4mkReader): ManifestCore {
  return {
    file_size: reader.fileSize,
    format_version: reader.header.version,
    layout: reader.layout,
    index_offset: reader.indexOffset,
    index_length: reader.indexLength,
    block_count: reader.blockCount,
    segment_count: reader.segmentCount,
    records_per_segment: reader.index.segments.recordsPerSegment,
    keyframe_map_length: reader.index.keys?.length ?? null,
    chain_head: reader.chainHead,
    meta: reader.meta,
    safe: reader.safe,
    encrypted: reader.encrypted,
    encryption: encryptionView(reader),
    sealed: reader.seal !== null,
  };
}

/** The server's manifest (reads at most one segment table per track, for durations). */
export async function manifestView(reader: H4mkReader, name: string | null, etag: string | null): Promise<ManifestDoc> {
  const tracks: ManifestDoc['tracks'] = [];
  for (const t of reader.tracks()) tracks.push(trackView(t, await trackDurationUs(reader, t)));
  const claim = sealClaimView(reader);
  return { name, etag, ...manifestCoreView(reader), seal: claim === null ? null : { ...claim, valid: sealValid(reader) }, tracks };
}

function sealValid(reader: H4mkReader): boolean {
  try {
    verifySeal(reader);
    return true;
  } catch (error) {
    if (!(error instanceof H4mkError)) throw error;
    return false;
  }
}

/** The CLI's manifest, with GOP statistics for video and other tracks with non-key blocks (reads their segment tables). */
export async function cliManifestView(reader: H4mkReader, file: string): Promise<CliManifestDoc> {
  const tracks: CliManifestDoc['tracks'] = [];
  for (const t of reader.tracks()) {
    const track: CliManifestDoc['tracks'][number] = trackView(t, await trackDurationUs(reader, t));
    if (t.blockCount > 0 && (t.kind === 'video' || t.keyframeCount < t.blockCount)) track.gop = gopView(await trackGopStats(reader, t.number));
    tracks.push(track);
  }
  const claim = sealClaimView(reader);
  return { file, ...manifestCoreView(reader), seal: claim === null ? null : { ...claim, verified: false }, tracks };
}

function gopView(g: GopStats): GopDoc {
  return {
    keyframes: g.keyframes,
    min_us: g.minUs,
    mean_us: g.meanUs,
    max_us: g.maxUs,
    min_frames: g.minFrames,
    mean_frames: g.meanFrames,
    max_frames: g.maxFrames,
    exact: g.exact,
  };
}
