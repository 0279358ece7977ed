/**
 * §5.4 against §6: verification's check that every SEEK entry describes the
 * segment tables exactly (keyframe positions and times, counts, byte
 * totals), and that each track's blocks keep the §6.1 order in file order.
 */
import { BlockFlag } from '../format/constants.js';
import type { KeyframeMap } from '../format/keyframe-map.js';
import type { SeekEntryFields, TrackSeekTable } from '../format/seek-table.js';
import type { SegmentTable } from '../format/segment-table.js';
import type { VerifyFailure } from './types.js';

/** What a §5.4 SEEK entry says about one track's blocks in one segment. */
type SeekSummary = SeekEntryFields & { storedBytes: number; originalBytes: number };

function summarize(table: SegmentTable): Map<number, SeekSummary> {
  const out = new Map<number, SeekSummary>();
  for (let i = 0; i < table.count; i++) {
    const track = table.trackNumber[i] as number;
    const pts = table.pts[i] as number;
    let e = out.get(track);
    if (e === undefined) {
      e = {
        count: 0,
        keyCount: 0,
        minPts: pts,
        maxPts: pts,
        firstKeyPts: 0,
        lastKeyPts: 0,
        firstKeyPosition: 0,
        lastKeyPosition: 0,
        storedBytes: 0,
        originalBytes: 0,
      };
      out.set(track, e);
    }
    e.count++;
    e.minPts = Math.min(e.minPts, pts);
    e.maxPts = Math.max(e.maxPts, pts);
    e.storedBytes += table.storedLength[i] as number;
    e.originalBytes += table.originalLength[i] as number;
    if (((table.flags[i] as number) & BlockFlag.KEYFRAME) !== 0) {
      if (e.keyCount === 0) {
        e.firstKeyPts = pts;
        e.firstKeyPosition = i;
      }
      e.keyCount++;
      e.lastKeyPts = pts;
      e.lastKeyPosition = i;
    }
  }
  return out;
}

/**
 * §5.4 The seek tables must describe the segment tables exactly: SEEK is
 * covered by the index digest, but only this comparison shows that what it
 * says (keyframe positions and times, counts, byte totals) is true, so that
 * seek never lands on a block that is not the keyframe it claims.
 */
export class SeekCheck {
  private readonly next: number[];
  private readonly storedBytes: number[];
  private readonly originalBytes: number[];
  private complete = true;
  // §6.1 writer rules, per track in file order: seek's answer relies on them.
  private readonly seen: boolean[];
  private readonly lastDts: number[];
  private readonly lastKeyPts: number[];

  constructor(
    private readonly tables: readonly TrackSeekTable[],
    private readonly ids: readonly string[],
    /** §6.6 The KEYS map, compared entry by entry with the tables too. */
    private readonly keys: KeyframeMap | null = null,
  ) {
    this.next = tables.map(() => 0);
    this.storedBytes = tables.map(() => 0);
    this.originalBytes = tables.map(() => 0);
    this.seen = tables.map(() => false);
    this.lastDts = tables.map(() => -Infinity);
    this.lastKeyPts = tables.map(() => -Infinity);
  }

  /** §6.1: first block a keyframe, dts and keyframe pts never decreasing, per track. */
  private order(table: SegmentTable, failures: VerifyFailure[]): void {
    for (let i = 0; i < table.count; i++) {
      const track = table.trackNumber[i] as number;
      const keyframe = ((table.flags[i] as number) & BlockFlag.KEYFRAME) !== 0;
      const pts = table.pts[i] as number;
      const dts = table.dts[i] as number;
      const coreIndex = table.firstCoreIndex + i;
      const id = JSON.stringify(this.ids[track]);
      if (!this.seen[track] && !keyframe)
        failures.push({ code: 'E_ORDER', message: `the first block of track ${id} is not a keyframe`, coreIndex, chunk: 'BIDX' });
      if (dts < (this.lastDts[track] as number)) failures.push({ code: 'E_ORDER', message: `dts decreases within track ${id}`, coreIndex, chunk: 'BIDX' });
      if (keyframe && pts < (this.lastKeyPts[track] as number))
        failures.push({ code: 'E_ORDER', message: `keyframe pts decreases within track ${id}`, coreIndex, chunk: 'BIDX' });
      this.seen[track] = true;
      this.lastDts[track] = Math.max(this.lastDts[track] as number, dts);
      if (keyframe) this.lastKeyPts[track] = Math.max(this.lastKeyPts[track] as number, pts);
    }
  }

  /** Compares the entries for `segment` with its table (null: the table could not be read). */
  segment(segment: number, table: SegmentTable | null, failures: VerifyFailure[]): void {
    const sums = table === null ? null : summarize(table);
    if (table === null) {
      this.complete = false;
      this.seen.fill(true); // a track's first block may have been in the unreadable segment
    } else this.order(table, failures);
    this.tables.forEach((t, track) => {
      const k = this.next[track] as number;
      const has = k < t.entryCount && t.segment[k] === segment;
      if (has) this.next[track] = k + 1;
      if (sums === null) return;
      const e = sums.get(track);
      if (e !== undefined) {
        this.storedBytes[track] = (this.storedBytes[track] as number) + e.storedBytes;
        this.originalBytes[track] = (this.originalBytes[track] as number) + e.originalBytes;
      }
      if (!has && e === undefined) return;
      const agrees =
        has &&
        e !== undefined &&
        t.count[k] === e.count &&
        t.keyCount[k] === e.keyCount &&
        t.minPts[k] === e.minPts &&
        t.maxPts[k] === e.maxPts &&
        (e.keyCount === 0 ||
          (t.firstKeyPts[k] === e.firstKeyPts &&
            t.lastKeyPts[k] === e.lastKeyPts &&
            t.firstKeyPosition[k] === e.firstKeyPosition &&
            t.lastKeyPosition[k] === e.lastKeyPosition));
      if (!agrees) {
        failures.push({
          code: 'E_FORMAT',
          message: `SEEK entry of track ${JSON.stringify(this.ids[track])} disagrees with the table of segment ${segment}`,
          chunk: 'SEEK',
        });
      } else if (this.keys?.has(track, k) && !this.keysAgree(table as SegmentTable, track, k)) {
        failures.push({
          code: 'E_FORMAT',
          message: `KEYS entry of track ${JSON.stringify(this.ids[track])} disagrees with the table of segment ${segment}`,
          chunk: 'KEYS',
        });
      }
    });
  }

  /** §6.6 The map's keyframes of entry `k` are the table's keyframes of `track`, position and pts. */
  private keysAgree(table: SegmentTable, track: number, k: number): boolean {
    const mapped = (this.keys as KeyframeMap).keys(track, k);
    let j = 0;
    for (let i = 0; i < table.count; i++) {
      if (table.trackNumber[i] !== track || ((table.flags[i] as number) & BlockFlag.KEYFRAME) === 0) continue;
      if (j >= mapped.count || mapped.positions[j] !== i || mapped.pts[j] !== table.pts[i]) return false;
      j++;
    }
    return j === mapped.count;
  }

  /** Compares the per-track byte totals once every segment table was read. */
  finish(failures: VerifyFailure[]): void {
    if (!this.complete) return;
    this.tables.forEach((t, track) => {
      if (t.storedBytes !== this.storedBytes[track] || t.originalBytes !== this.originalBytes[track]) {
        failures.push({ code: 'E_FORMAT', message: `SEEK byte totals of track ${JSON.stringify(this.ids[track])} disagree with its blocks`, chunk: 'SEEK' });
      }
    });
  }
}
