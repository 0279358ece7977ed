/**
 * In-memory searches over the top-level index (§8 "Reading"): no I/O here.
 */
import type { SegmentDirectory } from '../format/segment-directory.js';
import type { TrackSeekTable } from '../format/seek-table.js';

/** Largest i with `values[i] ≤ target` in a non-decreasing array, or −1. */
export function lastAtOrBelow(values: ArrayLike<number>, target: number, length = values.length): number {
  let lo = 0;
  let hi = length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) <= target) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The segment holding `coreIndex` (O(log n)); the caller checks the range. */
export function segmentOfBlock(dir: SegmentDirectory, coreIndex: number): number {
  return lastAtOrBelow(dir.firstCoreIndex, coreIndex, dir.count);
}

/** Per-track search structures derived once at open. */
export type TrackSearch = {
  table: TrackSeekTable;
  /** Entry numbers that hold keyframes, and their first keyframe pts (non-decreasing, §5.4). */
  keyEntries: Uint32Array;
  keyEntryPts: Float64Array;
  /** suffixMinPts[k] = min(minPts[k..]): non-decreasing, for "last entry with a block ≤ t". */
  suffixMinPts: Float64Array;
};

export function buildTrackSearch(table: TrackSeekTable): TrackSearch {
  let keyed = 0;
  for (let k = 0; k < table.entryCount; k++) if ((table.keyCount[k] as number) > 0) keyed++;
  const keyEntries = new Uint32Array(keyed);
  const keyEntryPts = new Float64Array(keyed);
  let j = 0;
  for (let k = 0; k < table.entryCount; k++) {
    if ((table.keyCount[k] as number) > 0) {
      keyEntries[j] = k;
      keyEntryPts[j] = table.firstKeyPts[k] as number;
      j++;
    }
  }
  const suffixMinPts = new Float64Array(table.entryCount);
  let min = Infinity;
  for (let k = table.entryCount - 1; k >= 0; k--) {
    min = Math.min(min, table.minPts[k] as number);
    suffixMinPts[k] = min;
  }
  return { table, keyEntries, keyEntryPts, suffixMinPts };
}

/** The seek entry whose segment holds the keyframe with the largest pts ≤ `ticks`, or −1. */
export function keyEntryAtOrBefore(search: TrackSearch, ticks: number): number {
  const j = lastAtOrBelow(search.keyEntryPts, ticks);
  return j < 0 ? -1 : (search.keyEntries[j] as number);
}

/** The last seek entry that holds a block with pts ≤ `ticks`, or −1. */
export function lastEntryAtOrBefore(search: TrackSearch, ticks: number): number {
  return lastAtOrBelow(search.suffixMinPts, ticks);
}
