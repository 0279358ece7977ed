/**
 * A track as `h4mk manifest` prints it and the server's manifest sends it,
 * and the track duration both show.
 */
import { z } from 'zod';
import { ticksToUs, type H4mkReader, type TrackInfo } from '../node.js';
import { base64 } from './bytes.js';

export const trackDoc = z.object({
  number: z.int(),
  id: z.string(),
  kind: z.string(),
  codec: z.string(),
  timescale: z.int(),
  name: z.string(),
  language: z.string(),
  compression: z.string(),
  block_count: z.int(),
  keyframe_count: z.int(),
  first_pts_us: z.int().nullable(),
  last_pts_us: z.int().nullable(),
  duration_us: z.int().nullable().describe('from the first pts to the end of the block with the last pts'),
  stored_bytes: z.int(),
  original_bytes: z.int(),
  config_length: z.int().describe('bytes of codec configuration'),
  config_b64: z.string(),
  extra: z.looseObject({}).describe("the track's extra JSON, verbatim"),
});
export type TrackDoc = z.infer<typeof trackDoc>;

/** A track. `durationUs`: see {@link trackDurationUs}. */
export function trackView(t: TrackInfo, durationUs: number | null): TrackDoc {
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
