/**
 * §5.5 Segments of several records: when the index of a long v2 container
 * would not fit its budget (one read of the reader's first request, 512 KiB
 * by default), the writer lists its records (SEGT + SEGD pairs, §6.5) in
 * SEGX and SEEK by runs of `g` consecutive records instead of one by one.
 * A run is then one segment: one SEGX entry, one SEEK entry per track, one
 * step of the VERI chain; its digest is the SHA-256 of its records' table
 * digests. Nothing in the data region changes.
 */
import { chainStart, chainStep, runDigest } from '../crypto/sha256.js';
import { DIGEST_LENGTH, MAX_V2_SEGMENT_LENGTH } from '../format/constants.js';
import { createSegmentDirectory, type SegmentDirectory } from '../format/segment-directory.js';
import { createTrackSeekTable, type TrackSeekTable } from '../format/seek-table.js';

/** The index parts of records taken `g` at a time. */
export type GroupedIndex = { segments: SegmentDirectory; seek: TrackSeekTable[]; chainHead: Uint8Array };

/**
 * True when runs of `g` records stay within the segment limits: at most
 * max_v2_segment_length bytes (§9) and `maxSegmentBlocks` blocks each.
 */
export function groupsFit(records: SegmentDirectory, g: number, maxSegmentBlocks: number): boolean {
  for (let first = 0; first < records.count; first += g) {
    const last = Math.min(records.count, first + g) - 1;
    const length = (records.offset[last] as number) + (records.length[last] as number) - (records.offset[first] as number);
    if (length > MAX_V2_SEGMENT_LENGTH) return false;
    let blocks = 0;
    for (let r = first; r <= last; r++) blocks += records.blockCount[r] as number;
    if (blocks > maxSegmentBlocks) return false;
  }
  return true;
}

/** SEGX, SEEK and the chain head for records taken `g` at a time (`g` ≥ 2). */
export function groupRecords(records: SegmentDirectory, seek: readonly TrackSeekTable[], g: number): GroupedIndex {
  const count = Math.ceil(records.count / g);
  const segments = createSegmentDirectory(count, records.version, g);
  segments.totalBlocks = records.totalBlocks;
  segments.end = records.end;
  // Position of each record's first block within its segment (for SEEK's key positions).
  const shift = new Uint32Array(records.count);
  let chain = chainStart();
  for (let s = 0; s < count; s++) {
    const first = s * g;
    const last = Math.min(records.count, first + g) - 1;
    let blocks = 0;
    let tables = 0;
    const digests: Uint8Array[] = [];
    for (let r = first; r <= last; r++) {
      shift[r] = blocks;
      blocks += records.blockCount[r] as number;
      tables += records.tableLength[r] as number;
      digests.push(records.digests.subarray(r * DIGEST_LENGTH, (r + 1) * DIGEST_LENGTH));
    }
    const digest = runDigest(digests);
    segments.offset[s] = records.offset[first] as number;
    segments.length[s] = (records.offset[last] as number) + (records.length[last] as number) - (records.offset[first] as number);
    segments.blockCount[s] = blocks;
    segments.firstCoreIndex[s] = records.firstCoreIndex[first] as number;
    segments.tableLength[s] = tables;
    segments.digests.set(digest, s * DIGEST_LENGTH);
    chain = chainStep(chain, digest);
  }
  return { segments, seek: seek.map((t) => groupSeekTable(t, g, shift)), chainHead: chain };
}

/** §5.4 One track's seek entries, merged per run of `g` records (`shift`: each record's first position in its run). */
function groupSeekTable(t: TrackSeekTable, g: number, shift: Uint32Array): TrackSeekTable {
  const out = createTrackSeekTable(t.trackNumber, t.entryCount);
  out.blockCount = t.blockCount;
  out.keyframeCount = t.keyframeCount;
  out.storedBytes = t.storedBytes;
  out.originalBytes = t.originalBytes;
  let n = -1;
  for (let k = 0; k < t.entryCount; k++) {
    const record = t.segment[k] as number;
    const segment = Math.floor(record / g);
    const keys = t.keyCount[k] as number;
    const firstKeyPosition = (t.firstKeyPosition[k] as number) + (shift[record] as number);
    const lastKeyPosition = (t.lastKeyPosition[k] as number) + (shift[record] as number);
    if (n < 0 || out.segment[n] !== segment) {
      n++;
      out.segment[n] = segment;
      out.count[n] = t.count[k] as number;
      out.keyCount[n] = keys;
      out.minPts[n] = t.minPts[k] as number;
      out.maxPts[n] = t.maxPts[k] as number;
      out.firstKeyPts[n] = t.firstKeyPts[k] as number;
      out.firstKeyPosition[n] = firstKeyPosition;
      out.lastKeyPts[n] = t.lastKeyPts[k] as number;
      out.lastKeyPosition[n] = lastKeyPosition;
      continue;
    }
    out.count[n] = (out.count[n] as number) + (t.count[k] as number);
    out.minPts[n] = Math.min(out.minPts[n] as number, t.minPts[k] as number);
    out.maxPts[n] = Math.max(out.maxPts[n] as number, t.maxPts[k] as number);
    if (keys === 0) continue;
    if (out.keyCount[n] === 0) {
      out.firstKeyPts[n] = t.firstKeyPts[k] as number;
      out.firstKeyPosition[n] = firstKeyPosition;
    }
    out.keyCount[n] = (out.keyCount[n] as number) + keys;
    out.lastKeyPts[n] = t.lastKeyPts[k] as number;
    out.lastKeyPosition[n] = lastKeyPosition;
  }
  out.entryCount = n + 1;
  return out;
}
