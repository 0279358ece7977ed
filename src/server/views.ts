/**
 * The JSON documents the server sends, built from reader values (snake_case,
 * the seed's spelling: `core_index`, `pts_us`). Each has a response schema
 * of the same name in schemas.ts; the serializer drops anything undeclared.
 */
import { trackDurationUs, trackJson, type TrackJson } from '../tools/track-json.js';
import { type BlockInfo, H4mkError, type H4mkReader, type PlannedRange, type SeekResult, type VerifyReport, verifySeal } from '../node.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** A track in a manifest view (the response schema drops the CLI's config_length). */
export type TrackView = TrackJson;

export type ManifestView = {
  name: string | null;
  etag: string | null;
  file_size: number;
  format_version: number;
  layout: 'tail' | 'faststart';
  index_offset: number;
  index_length: number;
  block_count: number;
  segment_count: number;
  chain_head: string;
  encrypted: boolean;
  seal: { signer: string; signed_at: number; public_key: string; valid: boolean } | null;
  meta: Record<string, unknown>;
  safe: Record<string, unknown>;
  tracks: TrackView[];
};

/** The manifest of an open container (reads at most one segment table per track, for durations). */
export async function manifestView(reader: H4mkReader, name: string | null, etag: string | null): Promise<ManifestView> {
  const tracks: TrackView[] = [];
  for (const t of reader.tracks()) tracks.push(trackJson(t, await trackDurationUs(reader, t)));
  return {
    name,
    etag,
    file_size: reader.fileSize,
    format_version: reader.header.version,
    layout: reader.layout,
    index_offset: reader.indexOffset,
    index_length: reader.indexLength,
    block_count: reader.blockCount,
    segment_count: reader.segmentCount,
    chain_head: reader.chainHead,
    encrypted: reader.encrypted,
    seal: sealView(reader),
    meta: reader.meta,
    safe: reader.safe,
    tracks,
  };
}

function sealView(reader: H4mkReader): ManifestView['seal'] {
  const seal = reader.seal;
  if (seal === null) return null;
  let valid = true;
  try {
    verifySeal(reader);
  } catch (error) {
    if (!(error instanceof H4mkError)) throw error;
    valid = false;
  }
  return { signer: seal.signer, signed_at: seal.signedAt, public_key: hex(seal.publicKey), valid };
}

export type SeekView = {
  track: string;
  target_pts_us: number;
  found: boolean;
  core_index?: number;
  pts_us?: number;
  pts?: number;
  span?: { offset: number; length: number; from_core_index: number; to_core_index: number };
};

export function seekView(trackId: string, targetUs: number, r: SeekResult | null): SeekView {
  if (r === null) return { track: trackId, target_pts_us: targetUs, found: false };
  return {
    track: r.trackId,
    target_pts_us: targetUs,
    found: true,
    core_index: r.coreIndex,
    pts_us: r.ptsUs,
    pts: r.pts,
    span: { offset: r.span.offset, length: r.span.length, from_core_index: r.span.fromCoreIndex, to_core_index: r.span.toCoreIndex },
  };
}

export type BlockView = {
  core_index: number;
  track: string;
  track_number: number;
  pts_us: number;
  dts_us: number;
  duration_us: number;
  keyframe: boolean;
  kind: string | null;
  encrypted: boolean;
  compression: string;
  stored_length: number;
  original_length: number;
  offset: number;
  chunk_length: number;
  sha256: string;
};

export function blockView(b: BlockInfo): BlockView {
  return {
    core_index: b.coreIndex,
    track: b.trackId,
    track_number: b.trackNumber,
    pts_us: b.ptsUs,
    dts_us: b.dtsUs,
    duration_us: b.durationUs,
    keyframe: b.keyframe,
    kind: b.frameKind,
    encrypted: b.encrypted,
    compression: b.compression,
    stored_length: b.storedLength,
    original_length: b.originalLength,
    offset: b.offset,
    chunk_length: b.chunkLength,
    sha256: hex(b.digest),
  };
}

export type PlanView = { ranges: { offset: number; length: number; segments: number[] }[]; bytes: number; requests: number };

export function planView(ranges: PlannedRange[]): PlanView {
  return {
    ranges: ranges.map((r) => ({ offset: r.offset, length: r.length, segments: r.segments })),
    bytes: ranges.reduce((n, r) => n + r.length, 0),
    requests: ranges.length,
  };
}

export type VerifyView = {
  name: string;
  etag: string;
  ok: boolean;
  block_count: number;
  blocks_checked: number;
  failed_blocks: number[];
  failures: { code: string; message: string; core_index: number | null; chunk: string | null; offset: number | null }[];
  chain_head: string;
};

export function verifyView(name: string, etag: string, r: VerifyReport): VerifyView {
  return {
    name,
    etag,
    ok: r.ok,
    block_count: r.blockCount,
    blocks_checked: r.blocksChecked,
    failed_blocks: r.failedBlocks,
    failures: r.failures.map((f) => ({ code: f.code, message: f.message, core_index: f.coreIndex ?? null, chunk: f.chunk ?? null, offset: f.offset ?? null })),
    chain_head: r.chainHead,
  };
}
