/**
 * Accumulates the per-track seek tables (§5.4) segment by segment, and the
 * keyframes KEYS lists (§6.6). Memory: one entry per (segment, track
 * present), and about 3 bytes per keyframe (a 2-hour movie's audio: ~1 MB).
 */
import { ByteWriter } from '../format/bytes.js';
import { type EntryKeys, encodeKeyframeMap } from '../format/keyframe-map.js';
import { unzigzag, VarintReader, zigzag } from '../format/varint.js';
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
  /**
   * Every keyframe, in file order, as varints: its position in its record
   * (after the record's first keyframe: the distance from the previous one)
   * and zigzag(pts − the previous keyframe's pts). About 3 bytes per
   * keyframe; the record boundaries are the entries' key counts.
   */
  readonly keyLog = new ByteWriter(1024);
  private loggedPts = 0;
  private loggedPosition = 0;

  logKey(position: number, pts: number, firstInRecord: boolean): void {
    this.keyLog.varint(firstInRecord ? position : position - this.loggedPosition);
    this.keyLog.varint(zigzag(pts - this.loggedPts));
    this.loggedPosition = position;
    this.loggedPts = pts;
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
      t.logKey(position, pts, c.keyCount === 0);
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
    const logs = this.tracks.map((t) => ({ entry: 0, reader: new VarintReader(t.keyLog.written(), 0, t.keyLog.length), position: 0, pts: 0 }));
    return encodeKeyframeMap(seek, segments, (track, entry): EntryKeys => {
      const t = this.tracks[track] as TrackEntries;
      const log = logs[track] as (typeof logs)[number];
      const segment = (seek[track] as TrackSeekTable).segment[entry] as number;
      const positions: number[] = [];
      const pts: number[] = [];
      const record = (keep: boolean) => {
        const shifted = shift[t.segment[log.entry] as number] as number;
        for (let n = t.keyCount[log.entry++] as number, first = true; n > 0; n--, first = false) {
          log.position = first ? log.reader.next() : log.position + log.reader.next();
          log.pts += unzigzag(log.reader.next());
          if (!keep) continue;
          positions.push(log.position + shifted);
          pts.push(log.pts);
        }
      };
      while (log.entry < t.segment.length && Math.floor((t.segment[log.entry] as number) / g) < segment) record(false);
      while (log.entry < t.segment.length && Math.floor((t.segment[log.entry] as number) / g) === segment) record(true);
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
