/**
 * Accumulates the per-track seek tables (§5.4) segment by segment, and the
 * keyframes KEYS lists (§6.6). Memory: one entry per (segment, track
 * present), and 12 bytes per keyframe (a 2-hour movie's audio: ~4 MB).
 */
import { type EntryKeys, encodeKeyframeMap } from '../format/keyframe-map.js';
import { createTrackSeekTable, type SeekEntryFields, type TrackSeekTable } from '../format/seek-table.js';
import type { SegmentDirectory } from '../format/segment-directory.js';

type Current = SeekEntryFields;

/** Growable columns of one track's seek entries. */
class TrackEntries {
  segment: number[] = [];
  count: number[] = [];
  keyCount: number[] = [];
  minPts: number[] = [];
  maxPts: number[] = [];
  firstKeyPts: number[] = [];
  lastKeyPts: number[] = [];
  firstKeyPosition: number[] = [];
  lastKeyPosition: number[] = [];
  blockCount = 0;
  keyframeCount = 0;
  storedBytes = 0;
  originalBytes = 0;
  current: Current | null = null;
  /** Every keyframe, in file order: position in its record and pts. */
  keyPositions = new Uint32Array(64);
  keyPts = new Float64Array(64);
  keys = 0;

  logKey(position: number, pts: number): void {
    if (this.keys === this.keyPts.length) {
      const positions = new Uint32Array(this.keys * 2);
      positions.set(this.keyPositions);
      this.keyPositions = positions;
      const ptsLog = new Float64Array(this.keys * 2);
      ptsLog.set(this.keyPts);
      this.keyPts = ptsLog;
    }
    this.keyPositions[this.keys] = position;
    this.keyPts[this.keys] = pts;
    this.keys++;
  }
}

export class SeekBuilder {
  private readonly tracks: TrackEntries[] = [];

  addTrack(): void {
    this.tracks.push(new TrackEntries());
  }

  /** Records one block at `position` within the current segment. */
  add(track: number, position: number, pts: number, keyframe: boolean, storedBytes: number, originalBytes: number): void {
    const t = this.tracks[track] as TrackEntries;
    t.blockCount++;
    t.storedBytes += storedBytes;
    t.originalBytes += originalBytes;
    let c = t.current;
    if (c === null) {
      c = { count: 0, keyCount: 0, minPts: pts, maxPts: pts, firstKeyPts: 0, lastKeyPts: 0, firstKeyPosition: 0, lastKeyPosition: 0 };
      t.current = c;
    }
    c.count++;
    if (pts < c.minPts) c.minPts = pts;
    if (pts > c.maxPts) c.maxPts = pts;
    if (keyframe) {
      t.keyframeCount++;
      if (c.keyCount === 0) {
        c.firstKeyPts = pts;
        c.firstKeyPosition = position;
      }
      c.keyCount++;
      t.logKey(position, pts);
      c.lastKeyPts = pts;
      c.lastKeyPosition = position;
    }
  }

  /** Closes the current segment `segment` for every track that had blocks in it. */
  closeSegment(segment: number): void {
    for (const t of this.tracks) {
      const c = t.current;
      if (c === null) continue;
      t.segment.push(segment);
      t.count.push(c.count);
      t.keyCount.push(c.keyCount);
      t.minPts.push(c.minPts);
      t.maxPts.push(c.maxPts);
      t.firstKeyPts.push(c.firstKeyPts);
      t.lastKeyPts.push(c.lastKeyPts);
      t.firstKeyPosition.push(c.firstKeyPosition);
      t.lastKeyPosition.push(c.lastKeyPosition);
      t.current = null;
    }
  }

  /**
   * §6.6 KEYS for the final `seek` tables over `segments`, whose segments
   * are runs of `records.recordsPerSegment` of the `records` written.
   */
  keyframeMap(seek: readonly TrackSeekTable[], segments: SegmentDirectory, records: SegmentDirectory): Uint8Array {
    const g = segments.recordsPerSegment;
    // Position of each record's first block within its segment.
    const shift = new Float64Array(records.count);
    for (let r = 0, at = 0; r < records.count; r++) {
      if (r % g === 0) at = 0;
      shift[r] = at;
      at += records.blockCount[r] as number;
    }
    const cursors = this.tracks.map(() => ({ entry: 0, key: 0 }));
    return encodeKeyframeMap(seek, segments, (track, entry): EntryKeys => {
      const t = this.tracks[track] as TrackEntries;
      const c = cursors[track] as { entry: number; key: number };
      const segment = (seek[track] as TrackSeekTable).segment[entry] as number;
      while (c.entry < t.segment.length && Math.floor((t.segment[c.entry] as number) / g) < segment) c.key += t.keyCount[c.entry++] as number;
      const positions: number[] = [];
      const pts: number[] = [];
      while (c.entry < t.segment.length && Math.floor((t.segment[c.entry] as number) / g) === segment) {
        const shifted = shift[t.segment[c.entry] as number] as number;
        for (let n = t.keyCount[c.entry++] as number; n > 0; n--, c.key++) {
          positions.push((t.keyPositions[c.key] as number) + shifted);
          pts.push(t.keyPts[c.key] as number);
        }
      }
      return { positions, pts, count: positions.length };
    });
  }

  /** The finished tables, in track order. */
  tables(): TrackSeekTable[] {
    return this.tracks.map((t, number) => {
      const n = t.segment.length;
      const table = createTrackSeekTable(number, n);
      table.entryCount = n;
      table.blockCount = t.blockCount;
      table.keyframeCount = t.keyframeCount;
      table.storedBytes = t.storedBytes;
      table.originalBytes = t.originalBytes;
      table.segment.set(t.segment);
      table.count.set(t.count);
      table.keyCount.set(t.keyCount);
      table.minPts.set(t.minPts);
      table.maxPts.set(t.maxPts);
      table.firstKeyPts.set(t.firstKeyPts);
      table.lastKeyPts.set(t.lastKeyPts);
      table.firstKeyPosition.set(t.firstKeyPosition);
      table.lastKeyPosition.set(t.lastKeyPosition);
      return table;
    });
  }
}
