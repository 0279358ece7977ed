/**
 * GOP scheduling: when a producer that packs its own
 * blocks should emit a keyframe, and the GOP statistics of an existing
 * track, which bound what a seek costs (the decoder starts at the keyframe
 * at or before the target: at most one GOP of extra frames).
 */
import { ticksToUs } from '../format/time.js';
import type { H4mkReader } from '../reader/reader.js';

/** Keyframe policies; every set rule applies, the first frame is always a keyframe. */
export type GopPolicy = {
  /** A keyframe every N frames. */
  everyFrames?: number;
  /** A keyframe once this many µs have passed since the last one. */
  everyUs?: number;
  /** Hard cap on the keyframe interval, µs (also applies to forced-only schedules). */
  maxIntervalUs?: number;
  /** Hard cap on the keyframe interval, frames. */
  maxFrames?: number;
};

/** Why a frame is a keyframe. */
export type KeyframeReason = 'first' | 'forced' | 'every-frames' | 'every-us' | 'max-interval';

/** The decision for one frame. */
export type GopDecision = { keyframe: boolean; reason: KeyframeReason | null };

/**
 * Decides, frame by frame in presentation order, which frames are
 * keyframes. `forced` marks a scene cut (or any producer-side reason).
 */
export class GopScheduler {
  private lastKeyUs: number | null = null;
  private framesSinceKey = 0;
  private lastUs = -Infinity;

  constructor(private readonly policy: GopPolicy = {}) {
    for (const [name, value] of Object.entries(policy)) {
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0))
        throw new RangeError(`gop.${name} must be a positive number`);
    }
    if (policy.everyFrames !== undefined && !Number.isInteger(policy.everyFrames)) throw new RangeError('gop.everyFrames must be an integer');
    if (policy.maxFrames !== undefined && !Number.isInteger(policy.maxFrames)) throw new RangeError('gop.maxFrames must be an integer');
  }

  /** The decision for the next frame at `ptsUs` (non-decreasing). */
  next(ptsUs: number, options: { forced?: boolean } = {}): GopDecision {
    if (!Number.isFinite(ptsUs)) throw new RangeError('ptsUs must be a finite number');
    if (ptsUs < this.lastUs) throw new RangeError(`frames must come in presentation order (${ptsUs} after ${this.lastUs})`);
    this.lastUs = ptsUs;
    const p = this.policy;
    let reason: KeyframeReason | null = null;
    if (this.lastKeyUs === null) reason = 'first';
    else if (options.forced === true) reason = 'forced';
    else {
      const sinceUs = ptsUs - this.lastKeyUs;
      if (p.maxIntervalUs !== undefined && sinceUs >= p.maxIntervalUs) reason = 'max-interval';
      else if (p.maxFrames !== undefined && this.framesSinceKey >= p.maxFrames) reason = 'max-interval';
      else if (p.everyFrames !== undefined && this.framesSinceKey >= p.everyFrames) reason = 'every-frames';
      else if (p.everyUs !== undefined && sinceUs >= p.everyUs) reason = 'every-us';
    }
    if (reason !== null) {
      this.lastKeyUs = ptsUs;
      this.framesSinceKey = 1;
      return { keyframe: true, reason };
    }
    this.framesSinceKey++;
    return { keyframe: false, reason: null };
  }
}

/** Keyframe-interval statistics of a track. */
export type GopStats = {
  keyframes: number;
  blocks: number;
  /** Intervals between consecutive keyframes (µs); the last GOP runs to the track's end. */
  minUs: number | null;
  meanUs: number | null;
  maxUs: number | null;
  /** Frames per GOP. */
  minFrames: number | null;
  meanFrames: number | null;
  maxFrames: number | null;
  /**
   * False when the figures are estimated from the index: an index that lists
   * records by runs (§5.5) names only each run's first and last keyframe, so
   * the GOPs between them count as equal (counts and means stay exact).
   */
  exact: boolean;
};

/**
 * GOP statistics from keyframe times (µs, ascending), frame counts per GOP
 * and the end of the track (µs): the last GOP runs from the last keyframe
 * to `endUs`.
 */
export function gopStats(keyframesUs: readonly number[], framesPerGop: readonly number[], endUs: number | null, blocks: number): GopStats {
  const intervals: number[] = [];
  for (let i = 1; i < keyframesUs.length; i++) intervals.push((keyframesUs[i] as number) - (keyframesUs[i - 1] as number));
  const last = keyframesUs[keyframesUs.length - 1];
  if (last !== undefined && endUs !== null && endUs > last) intervals.push(endUs - last);
  const summary = (xs: readonly number[]) =>
    xs.length === 0 ? [null, null, null] : [Math.min(...xs), Math.round(xs.reduce((a, b) => a + b, 0) / xs.length), Math.max(...xs)];
  const [minUs, meanUs, maxUs] = summary(intervals);
  const [minFrames, meanFrames, maxFrames] = summary(framesPerGop);
  return {
    keyframes: keyframesUs.length,
    blocks,
    minUs: minUs ?? null,
    meanUs: meanUs ?? null,
    maxUs: maxUs ?? null,
    minFrames: minFrames ?? null,
    meanFrames: meanFrames ?? null,
    maxFrames: maxFrames ?? null,
    exact: true,
  };
}

/**
 * GOP statistics of a track of an open container. From the top-level index
 * alone (§5.4) when it determines every keyframe and every GOP's block count:
 * each seek entry holds at most one keyframe of the track and it is the
 * track's first block in its segment (so a GOP is its entry plus the
 * keyless entries after it) — what this implementation's writer produces
 * for the first video track. Then only the segment table holding the track's
 * largest pts is read, for the end of the last GOP (over HTTP it is usually
 * among the bytes the open already fetched). Otherwise every segment table
 * of the track is read. The worst-case seek cost is `maxUs` of decode time,
 * `maxFrames` blocks.
 */
export async function trackGopStats(reader: H4mkReader, track: string | number): Promise<GopStats> {
  const t = reader.track(track);
  const entries = reader.indexEntries(t.number);
  const keys = reader.indexKeyframes(t.number);
  // Exact when each entry has at most one keyframe and it has the entry's smallest pts: then (decode
  // order, closed GOPs) it is the track's first block in its segment and starts the entry's GOP.
  const keyPts = new Map(keys.map((k) => [k.segment, k.pts]));
  const exact = entries.every((e) => e.keyCount === 0 || (e.keyCount === 1 && keyPts.get(e.segment) === e.minPts));
  // An index of runs (§5.5) holds several keyframes per entry by design: estimate rather than read every run.
  if (!exact && entries.length > 0 && reader.index.segments.recordsPerSegment > 1) return gopStatsFromRuns(reader, t.number);
  if (!exact || entries.length === 0) return gopStatsFromTables(reader, t.number);
  const frames: number[] = [];
  for (const e of entries) {
    if (e.keyCount === 1) frames.push(0);
    if (frames.length > 0) frames[frames.length - 1] = (frames[frames.length - 1] as number) + e.count;
  }
  // The end of the last GOP: the largest pts + duration among the blocks of the entries that reach the largest pts.
  const maxPts = Math.max(...entries.map((e) => e.maxPts));
  let end: number | null = null;
  for (const e of entries) {
    if (e.maxPts !== maxPts) continue;
    for await (const b of reader.infos({ tracks: [t.number], fromUs: ticksToUs(e.minPts, t.timescale) - 1 })) {
      if (reader.segmentOf(b.coreIndex) !== e.segment) continue;
      end = Math.max(end ?? -Infinity, b.ptsUs + b.durationUs);
    }
  }
  return gopStats(
    keys.map((k) => k.ptsUs),
    frames,
    end,
    t.blockCount,
  );
}

/**
 * {@link trackGopStats} from an index that lists records by runs (§5.5):
 * within an entry the keyframes count as evenly spaced between its first and
 * last, and its blocks as evenly shared by its GOPs; across entries the
 * figures are exact. The last GOP runs to the track's largest pts.
 */
function gopStatsFromRuns(reader: H4mkReader, track: number): GopStats {
  const t = reader.track(track);
  const keys: number[] = [];
  const frames: number[] = [];
  let lastPts = -Infinity;
  for (const e of reader.indexEntries(track)) {
    lastPts = Math.max(lastPts, e.maxPts);
    if (e.keyCount === 0) {
      if (frames.length > 0) frames[frames.length - 1] = (frames[frames.length - 1] as number) + e.count;
      continue;
    }
    // Blocks before the entry's first keyframe belong to the previous GOP: unknown here, so all go to this entry's GOPs.
    const step = e.keyCount > 1 ? (e.lastKeyPts - e.firstKeyPts) / (e.keyCount - 1) : 0;
    for (let k = 0; k < e.keyCount; k++) {
      keys.push(ticksToUs(e.firstKeyPts + step * k, t.timescale));
      frames.push(e.count / e.keyCount);
    }
  }
  const stats = gopStats(keys, frames, lastPts > -Infinity ? ticksToUs(lastPts, t.timescale) : null, t.blockCount);
  const round = (x: number | null) => (x === null ? null : Math.round(x));
  return { ...stats, minFrames: round(stats.minFrames), meanFrames: round(stats.meanFrames), maxFrames: round(stats.maxFrames), exact: false };
}

/** {@link trackGopStats} from every segment table of the track. */
async function gopStatsFromTables(reader: H4mkReader, track: number): Promise<GopStats> {
  const keys: number[] = [];
  const frames: number[] = [];
  let end: number | null = null;
  let count = 0;
  for await (const b of reader.infos({ tracks: [track] })) {
    if (b.keyframe) {
      keys.push(b.ptsUs);
      frames.push(0);
    }
    if (frames.length > 0) frames[frames.length - 1] = (frames[frames.length - 1] as number) + 1;
    end = Math.max(end ?? -Infinity, b.ptsUs + b.durationUs);
    count++;
  }
  keys.sort((a, b) => a - b);
  return gopStats(keys, frames, end, count);
}
