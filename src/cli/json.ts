/**
 * The CLI's JSON vocabulary: library values shaped into snake_case objects
 * (the seed's spelling: `core_index`, `pts_us`). Binary fields are hex
 * (digests) or base64 (codec configuration, payloads), never raw bytes.
 */
import type { BlockInfo, SeekResult, WriteSummary } from '../node.js';
import type { ErrorReport } from './errors.js';

/** Hex of a digest. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Base64 of binary data. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A block's metadata as printed by `range` and `block`. */
export function blockJson(b: BlockInfo): Record<string, unknown> {
  return {
    core_index: b.coreIndex,
    track: b.trackId,
    track_number: b.trackNumber,
    pts_us: b.ptsUs,
    dts_us: b.dtsUs,
    duration_us: b.durationUs,
    pts: b.pts,
    dts: b.dts,
    duration: b.duration,
    keyframe: b.keyframe,
    kind: b.frameKind,
    encrypted: b.encrypted,
    end_of_track: b.endOfTrack,
    compression: b.compression,
    stored_length: b.storedLength,
    original_length: b.originalLength,
    offset: b.offset,
    chunk_length: b.chunkLength,
    sha256: hex(b.digest),
  };
}

export { trackDurationUs, trackJson, type TrackJson } from '../tools/track-json.js';

/** A seek answer as printed by `seek`. */
export function seekJson(trackId: string, targetUs: number, r: SeekResult | null): Record<string, unknown> {
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

/** What `pack` (and `demo`) report about a container they wrote. */
export function packJson(summary: WriteSummary, output: string, compression: string, seconds: number): Record<string, unknown> {
  return {
    output,
    layout: summary.layout,
    compression,
    tracks: summary.trackCount,
    blocks: summary.blockCount,
    segments: summary.segmentCount,
    bytes: summary.bytes,
    payload_bytes: summary.payloadBytes,
    stored_bytes: summary.storedBytes,
    index_length: summary.indexLength,
    chain_head: hex(summary.chainHead),
    seconds,
  };
}

/** The JSON document printed for a failed run under `--json`. */
export function errorJson(report: ErrorReport): Record<string, unknown> {
  const error: Record<string, unknown> = { code: report.code, message: report.message };
  if (report.offset !== undefined) error.offset = report.offset;
  if (report.coreIndex !== undefined) error.core_index = report.coreIndex;
  if (report.chunk !== undefined) error.chunk = report.chunk;
  if (report.hint !== undefined) error.hint = report.hint;
  return { ok: false, exit_code: report.exitCode, error };
}
