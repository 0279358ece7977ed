/**
 * Accumulates the per-track seek tables (§5.4) segment by segment.
 * Memory: one entry per (segment, track present), never per block.
 */
import { createTrackSeekTable, type SeekEntryFields, type TrackSeekTable } from '../format/seek-table.js';

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
