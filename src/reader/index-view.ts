/**
 * The index view: everything the top-level index (§5) tells, pure and
 * synchronous — the tracks and their totals, the seek tables (§5.4) and the
 * keyframe lookup of §8.2, the segment directory (§5.3), and which segments a
 * query needs. No read, no cache, no platform: the reader's facade, the
 * delivery plan and the inspector's timelines all stand on it.
 */
import { CHUNK_OVERHEAD, DIGEST_LENGTH } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import type { ContainerIndex } from '../format/index-region.js';
import type { Integrity } from '../format/integrity.js';
import type { TrackSeekTable } from '../format/seek-table.js';
import { lastTickAtOrBeforeUs, ticksToUs, usToTicksFloor } from '../format/time.js';
import { buildTrackSearch, keyEntryAtOrBefore, lastEntryAtOrBefore, segmentOfBlock, type TrackSearch } from './index-search.js';
import { coalesceSegments, type CoalesceOptions, type PlannedRange } from './planner.js';
import type { TrackInfo } from './types.js';

/** What a range query asks for (see H4mkReader.range). */
export type RangeQuery = {
  /** Inclusive lower bound on pts, µs. Default: −∞. */
  fromUs?: number;
  /** Exclusive upper bound on pts, µs. Default: +∞. */
  toUs?: number;
  /** Track ids or numbers; default all. */
  tracks?: ReadonlyArray<string | number>;
  keyframesOnly?: boolean;
  /**
   * Decodable output: each track starts at its keyframe at or before `fromUs`
   * and includes, in file order, every block up to its last block with
   * pts < `toUs` (B-frame references included).
   */
  fromKeyframe?: boolean;
};

/** A track's bounds in a query: [from, to) in ticks; with fromKeyframe, the first core_index (−1 until the keyframe segment's table resolves it). */
export type TrackBounds = { from: number; to: number; firstCoreIndex: number; keySegment: number; keyTicks: number };

/** What a query selects, per track, before any read. */
export type Selection = {
  segments: number[];
  wanted: Uint8Array;
  /** Per track number: [from, to) in ticks, and the first core_index (fromKeyframe). */
  bounds: Map<number, TrackBounds>;
};

/** One seek entry of a track (§5.4), from the index alone. */
/** One seek entry (§5.4): a track's blocks in one segment; the key pts are meaningful when keyCount > 0. */
export type IndexEntry = { segment: number; count: number; keyCount: number; minPts: number; maxPts: number; firstKeyPts: number; lastKeyPts: number };

/** A keyframe the index names exactly. */
export type IndexKeyframe = { coreIndex: number; pts: number; ptsUs: number; segment: number };

export class IndexView {
  /** Per track number, its seek table with the search arrays of §8.2. */
  readonly searches: TrackSearch[];
  readonly trackInfos: TrackInfo[];

  constructor(
    /** The decoded index region (§5). */
    readonly content: ContainerIndex,
    /** Absolute offset of the data region (segment offsets are relative to it). */
    readonly dataOffset: number,
  ) {
    const index = content;
    this.searches = index.seek.map(buildTrackSearch);
    this.trackInfos = index.tracks.map((t, i) => {
      const s = index.seek[i];
      const search = this.searches[i];
      if (s === undefined || search === undefined) throw new H4mkError('E_FORMAT', 'SEEK and TRAK disagree');
      let first: number | null = null;
      let last: number | null = null;
      for (let k = 0; k < s.entryCount; k++) {
        first = first === null ? (s.minPts[k] as number) : Math.min(first, s.minPts[k] as number);
        last = last === null ? (s.maxPts[k] as number) : Math.max(last, s.maxPts[k] as number);
      }
      return {
        ...t,
        blockCount: s.blockCount,
        keyframeCount: s.keyframeCount,
        storedBytes: s.storedBytes,
        originalBytes: s.originalBytes,
        firstPts: first,
        lastPts: last,
        firstPtsUs: first === null ? null : ticksToUs(first, t.timescale),
        lastPtsUs: last === null ? null : ticksToUs(last, t.timescale),
      };
    });
  }

  get blockCount(): number {
    return this.content.integrity.blockCount;
  }

  get segmentCount(): number {
    return this.content.segments.count;
  }

  /** §7 VERI: block and segment counts, the chain head, the index digest (copies). */
  get integrity(): Integrity {
    const v = this.content.integrity;
    return { blockCount: v.blockCount, segmentCount: v.segmentCount, chainHead: v.chainHead.slice(), indexDigest: v.indexDigest.slice() };
  }

  tracks(): TrackInfo[] {
    return this.trackInfos.map((t) => ({ ...t }));
  }

  /** The track with id or number `track`, or a TypeError. */
  track(track: string | number): TrackInfo {
    const t = typeof track === 'number' ? this.trackInfos[track] : this.trackInfos.find((x) => x.id === track);
    if (t === undefined) throw new TypeError(`unknown track ${JSON.stringify(track)}`);
    return t;
  }

  /**
   * §8.2 The keyframe of track `trackNumber` with the largest pts ≤ `ticks`,
   * from the top-level index alone: its segment, and its core_index and pts
   * when the index determines them (−1 when the segment's table is needed).
   * Null when there is no such keyframe.
   */
  keyframeFromIndex(trackNumber: number, ticks: number): { segment: number; entry: number; coreIndex: number; pts: number } | null {
    const search = this.searches[trackNumber] as TrackSearch;
    const table = search.table;
    const k = keyEntryAtOrBefore(search, ticks);
    if (k < 0) return null;
    const segment = table.segment[k] as number;
    const segFirst = this.content.segments.firstCoreIndex[segment] as number;
    if ((table.lastKeyPts[k] as number) <= ticks)
      return { segment, entry: k, coreIndex: segFirst + (table.lastKeyPosition[k] as number), pts: table.lastKeyPts[k] as number };
    if ((table.keyCount[k] as number) === 1)
      return { segment, entry: k, coreIndex: segFirst + (table.firstKeyPosition[k] as number), pts: table.firstKeyPts[k] as number };
    return { segment, entry: k, coreIndex: -1, pts: Number.NaN };
  }

  /**
   * §5.4 The keyframes of `track` that the top-level index names exactly
   * (each seek entry's first and last keyframe), in order, with their
   * core_index and pts: no read. With this implementation's writer (a
   * segment per keyframe of the first video track, §6.4) that is every
   * keyframe of that track.
   */
  indexKeyframes(track: string | number): IndexKeyframe[] {
    const t = this.track(track);
    const table = (this.searches[t.number] as TrackSearch).table;
    const out: IndexKeyframe[] = [];
    const dir = this.content.segments;
    for (let k = 0; k < table.entryCount; k++) {
      const keys = table.keyCount[k] as number;
      if (keys === 0) continue;
      const segment = table.segment[k] as number;
      const first = dir.firstCoreIndex[segment] as number;
      const add = (pts: number, position: number) => out.push({ coreIndex: first + position, pts, ptsUs: ticksToUs(pts, t.timescale), segment });
      add(table.firstKeyPts[k] as number, table.firstKeyPosition[k] as number);
      if (keys > 1) add(table.lastKeyPts[k] as number, table.lastKeyPosition[k] as number);
    }
    return out;
  }

  /**
   * §5.4 Per seek entry of `track`, from the index alone: its segment, block
   * and keyframe counts and pts bounds (ticks). What summaries and playlists
   * are built from.
   */
  indexEntries(track: string | number): IndexEntry[] {
    const t = this.track(track);
    const table = (this.searches[t.number] as TrackSearch).table;
    const out: IndexEntry[] = [];
    for (let k = 0; k < table.entryCount; k++) {
      out.push({
        segment: table.segment[k] as number,
        count: table.count[k] as number,
        keyCount: table.keyCount[k] as number,
        minPts: table.minPts[k] as number,
        maxPts: table.maxPts[k] as number,
        firstKeyPts: table.firstKeyPts[k] as number,
        lastKeyPts: table.lastKeyPts[k] as number,
      });
    }
    return out;
  }

  /** §5.5 The SHA-256 of segment `segment`'s BIDX payload, from SEGX (names the segment's exact blocks). */
  segmentDigest(segment: number): Uint8Array {
    if (!Number.isSafeInteger(segment) || segment < 0 || segment >= this.segmentCount)
      throw new RangeError(`segment ${segment} out of range 0..${this.segmentCount - 1}`);
    return this.content.segments.digests.slice(segment * DIGEST_LENGTH, (segment + 1) * DIGEST_LENGTH);
  }

  /** §5.3 Where `segment` is and what it holds, from SEGX alone (no read): absolute offset, length, first core_index, block count. */
  segmentSpan(segment: number): { offset: number; length: number; firstCoreIndex: number; blockCount: number } {
    const dir = this.content.segments;
    if (!Number.isInteger(segment) || segment < 0 || segment >= dir.count) throw new RangeError(`segment ${segment} is not in 0..${dir.count - 1}`);
    return {
      offset: this.dataOffset + (dir.offset[segment] as number),
      length: dir.length[segment] as number,
      firstCoreIndex: dir.firstCoreIndex[segment] as number,
      blockCount: dir.blockCount[segment] as number,
    };
  }

  /** The segment holding block `coreIndex` (§5.3). */
  segmentOf(coreIndex: number): number {
    if (!Number.isSafeInteger(coreIndex) || coreIndex < 0 || coreIndex >= this.blockCount) {
      throw new RangeError(`core_index ${coreIndex} out of range 0..${this.blockCount - 1}`);
    }
    return segmentOfBlock(this.content.segments, coreIndex);
  }

  /**
   * Where the table of `segment` is: v1 its BIDX chunk, the segment's last
   * bytes (§6.2); v2 its SEGT chunk, the first (§6.5), or the whole segment
   * when segments hold several records (their tables are spread, §5.5).
   */
  tableLocation(segment: number): { at: number; length: number } {
    const dir = this.content.segments;
    const start = this.dataOffset + (dir.offset[segment] as number);
    if (dir.recordsPerSegment > 1) return { at: start, length: dir.length[segment] as number };
    const length = CHUNK_OVERHEAD + (dir.tableLength[segment] as number);
    // v2 (§6.5): SEGT opens the segment; v1 (§6.2): BIDX closes it.
    return { at: dir.version === 2 ? start : start + (dir.length[segment] as number) - length, length };
  }

  coalesce(segments: number[], options: CoalesceOptions = {}): PlannedRange[] {
    return coalesceSegments(this.content.segments, this.dataOffset, segments, options);
  }

  /** The segments and per-track bounds of a query (index only, except seeks for fromKeyframe). */
  select(query: RangeQuery): Selection {
    const tracks = (query.tracks ?? this.trackInfos.map((t) => t.number)).map((t) => this.track(t));
    const wanted = new Uint8Array(this.trackInfos.length);
    const segments = new Set<number>();
    const bounds = new Map<number, TrackBounds>();
    for (const t of tracks) {
      wanted[t.number] = 1;
      const from = rangeBound(query.fromUs, -Infinity, 'fromUs', t.timescale);
      const to = rangeBound(query.toUs, Infinity, 'toUs', t.timescale);
      const table = this.content.seek[t.number] as TrackSeekTable;
      const search = this.searches[t.number] as TrackSearch;
      if (query.fromKeyframe) {
        // From the keyframe's segment to the last segment holding a block before `to`, from the
        // index alone: when the keyframe is only known from its segment's table, that table comes
        // with the segment's bytes, so the span is still one read.
        const keyTicks = query.fromUs === undefined || !Number.isFinite(query.fromUs) ? null : lastTickAtOrBeforeUs(Math.floor(query.fromUs), t.timescale);
        const key = keyTicks === null ? null : this.keyframeFromIndex(t.number, keyTicks);
        const first = key === null ? (table.segment[0] as number | undefined) : key.segment;
        const lastEntry = to === Infinity ? table.entryCount - 1 : lastEntryAtOrBefore(search, to - 1);
        bounds.set(t.number, { from, to, firstCoreIndex: key?.coreIndex ?? 0, keySegment: key?.segment ?? -1, keyTicks: keyTicks ?? 0 });
        if (lastEntry < 0 || first === undefined) continue;
        const last = Math.max(first, table.segment[lastEntry] as number);
        for (let s = first; s <= last; s++) segments.add(s);
        continue;
      }
      bounds.set(t.number, { from, to, firstCoreIndex: 0, keySegment: -1, keyTicks: 0 });
      for (let k = 0; k < table.entryCount; k++) {
        if ((table.maxPts[k] as number) < from || (table.minPts[k] as number) >= to) continue;
        if (query.keyframesOnly && (table.keyCount[k] as number) === 0) continue;
        segments.add(table.segment[k] as number);
      }
    }
    return { segments: [...segments].sort((a, b) => a - b), wanted, bounds };
  }
}

/** A range bound in ticks: absent → `unbounded`; ±Infinity kept; NaN is a RangeError. */
function rangeBound(us: number | undefined, unbounded: number, what: string, timescale: number): number {
  if (us === undefined) return unbounded;
  if (typeof us !== 'number' || Number.isNaN(us)) throw new RangeError(`${what} must be a number of microseconds, got ${String(us)}`);
  return Number.isFinite(us) ? usToTicksCeil(us, timescale) : us;
}

/** Smallest tick count whose µs view is ≥ `us` (for half-open [from, to) filters). */
function usToTicksCeil(us: number, timescale: number): number {
  const floor = usToTicksFloor(Math.ceil(us), timescale);
  return ticksToUs(floor, timescale) >= Math.ceil(us) ? floor : floor + 1;
}
