/**
 * A block's metadata: one line of `h4mk range` / `tail`, the metadata of
 * `h4mk block --json`, and each block of the server's range page.
 */
import { z } from 'zod';
import type { BlockInfo } from '../node.js';
import { hex } from './bytes.js';

export const blockDoc = z.object({
  core_index: z.int(),
  track: z.string(),
  track_number: z.int(),
  pts_us: z.int(),
  dts_us: z.int(),
  duration_us: z.int(),
  pts: z.int().describe("in the track's timescale"),
  dts: z.int().describe("in the track's timescale"),
  duration: z.int().describe("in the track's timescale"),
  keyframe: z.boolean(),
  kind: z.string().nullable(),
  encrypted: z.boolean(),
  end_of_track: z.boolean(),
  compression: z.string(),
  stored_length: z.int(),
  original_length: z.int(),
  offset: z.int(),
  chunk_length: z.int(),
  sha256: z.string().nullable().describe('v1: SHA-256 of the CORE payload; v2: null (the segment is digested whole, FORMAT.md §6.5)'),
});
export type BlockDoc = z.infer<typeof blockDoc>;

export function blockView(b: BlockInfo): BlockDoc {
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
    sha256: b.digest === null ? null : hex(b.digest),
  };
}

/** One page of the server's range query. */
export const rangePageDoc = z.object({
  count: z.int(),
  truncated: z.boolean().describe('more blocks match: ask again with after=next_after'),
  next_after: z.int().nullable(),
  blocks: z.array(blockDoc),
});
export type RangePageDoc = z.infer<typeof rangePageDoc>;

/** The columns of {@link blockLine}, as `range` and `tail` print them first. */
export const BLOCK_LINE_HEADER = 'core_index track pts_us dts_us duration_us key kind compression stored_length original_length';

/** A block as one text line (`range`, `tail`). */
export function blockLine(b: BlockInfo): string {
  return [
    b.coreIndex,
    b.trackId,
    b.ptsUs,
    b.dtsUs,
    b.durationUs,
    b.keyframe ? 'K' : '-',
    b.frameKind ?? '-',
    b.compression,
    b.storedLength,
    b.originalLength,
  ].join(' ');
}
