/** A seek answer, as `h4mk seek` prints it and the server sends it. */
import { z } from 'zod';
import type { SeekResult } from '../node.js';

export const seekDoc = z.object({
  track: z.string(),
  track_id: z.string().optional().describe("the seed's name for `track` (its /video/seek_to_block only)"),
  target_pts_us: z.int(),
  found: z.boolean(),
  core_index: z.int().optional(),
  pts_us: z.int().optional(),
  pts: z.int().optional(),
  span: z
    .object({ offset: z.int(), length: z.int(), from_core_index: z.int(), to_core_index: z.int() })
    .optional()
    .describe('one byte range holding the keyframe and every block up to the target'),
});
export type SeekDoc = z.infer<typeof seekDoc>;

export function seekView(trackId: string, targetUs: number, r: SeekResult | null): SeekDoc {
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
