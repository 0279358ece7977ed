/**
 * Range planning: which segments a query touches, and the byte ranges that
 * fetch them in as few requests as possible (adjacent segments coalesce).
 * Pure: works on the in-memory index only, before any read.
 */
import type { SegmentDirectory } from '../format/segment-directory.js';

/** One contiguous read covering whole segments. */
export type PlannedRange = {
  /** Absolute file offset. */
  offset: number;
  length: number;
  /** Segment numbers inside, ascending. */
  segments: number[];
};

export type CoalesceOptions = {
  /** Merge two ranges when the bytes between them are at most this many. Default 64 KiB. */
  maxGap?: number;
  /** Never merge into a range longer than this. Default 32 MiB. */
  maxLength?: number;
};

/** Coalesces sorted, distinct `segments` into byte ranges. */
export function coalesceSegments(dir: SegmentDirectory, dataOffset: number, segments: readonly number[], options: CoalesceOptions = {}): PlannedRange[] {
  const maxGap = options.maxGap ?? 64 * 1024;
  const maxLength = options.maxLength ?? 32 * 1024 * 1024;
  const out: PlannedRange[] = [];
  let current: PlannedRange | null = null;
  for (const s of segments) {
    const offset = dataOffset + (dir.offset[s] as number);
    const end = offset + (dir.length[s] as number);
    if (current !== null) {
      const currentEnd = current.offset + current.length;
      if (offset - currentEnd <= maxGap && end - current.offset <= maxLength && offset >= currentEnd) {
        current.length = end - current.offset;
        current.segments.push(s);
        continue;
      }
      out.push(current);
    }
    current = { offset, length: end - offset, segments: [s] };
  }
  if (current !== null) out.push(current);
  return out;
}
