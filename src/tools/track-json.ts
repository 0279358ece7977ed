/**
 * The snake_case JSON of a track, shared by `h4mk manifest` and the server's
 * manifest view, and the track duration both print.
 */
import { ticksToUs } from '../format/time.js';
import type { H4mkReader } from '../reader/reader.js';
import type { TrackInfo } from '../reader/types.js';

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** A track as `manifest` prints it and the server sends it (the server's schema drops config_length). */
export type TrackJson = {
  number: number;
  id: string;
  kind: string;
  codec: string;
  timescale: number;
  name: string;
  language: string;
  compression: string;
  block_count: number;
  keyframe_count: number;
  first_pts_us: number | null;
  last_pts_us: number | null;
  duration_us: number | null;
  stored_bytes: number;
  original_bytes: number;
  config_length: number;
  config_b64: string;
  extra: Record<string, unknown>;
};

/**
 * A track as printed by `manifest`. `durationUs` is from the first pts to
 * the end of the block with the last pts (null for an empty track).
 */
export function trackJson(t: TrackInfo, durationUs: number | null): TrackJson {
  return {
    number: t.number,
    id: t.id,
    kind: t.kind,
    codec: t.codec,
    timescale: t.timescale,
    name: t.name,
    language: t.language,
    compression: t.compression,
    block_count: t.blockCount,
    keyframe_count: t.keyframeCount,
    first_pts_us: t.firstPtsUs,
    last_pts_us: t.lastPtsUs,
    duration_us: durationUs,
    stored_bytes: t.storedBytes,
    original_bytes: t.originalBytes,
    config_length: t.config.length,
    config_b64: base64(t.config),
    extra: t.extra,
  };
}

/** From the first pts to the end of the block with the last pts, µs; null for an empty track (reads the last segment's table). */
export async function trackDurationUs(reader: H4mkReader, t: TrackInfo): Promise<number | null> {
  if (t.firstPtsUs === null || t.lastPtsUs === null || t.lastPts === null) return null;
  let end = t.lastPts;
  for await (const b of reader.infos({ tracks: [t.number], fromUs: t.lastPtsUs })) {
    if (b.pts === t.lastPts) end = Math.max(end, b.pts + b.duration);
  }
  return ticksToUs(end, t.timescale) - t.firstPtsUs;
}
