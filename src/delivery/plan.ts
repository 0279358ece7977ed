/**
 * The segment plan of a container, from its index alone (no block read):
 * segments are cut at keyframes of each video track; audio and subtitle
 * tracks follow the cuts of the primary track (the first deliverable video
 * track, else the first audio track) in time. Playlists (HLS, DASH) and
 * segment requests both come from this plan, so they always agree.
 */
import { sha256 } from '../crypto/sha256.js';
import { toHex } from '../format/bytes.js';
import { utf8 } from '../format/strings.js';
import type { H4mkReader } from '../reader/reader.js';
import { type DeliveryTrack, deliveryTrack } from './tracks.js';

/** Where a segment starts: a keyframe, in its track's ticks. */
export type Cut = { pts: number; coreIndex: number };

/** The cuts of one track and where it ends. */
export type TrackTimeline = {
  track: DeliveryTrack;
  /** Segment k holds this track's blocks from cuts[k] to cuts[k+1] (the last: to the end). */
  cuts: Cut[];
  /** Estimated end of the track's presentation (ticks): last pts plus a typical block duration. */
  endPts: number;
};

export type DeliveryPlan = {
  tracks: DeliveryTrack[];
  /** The track whose keyframes set the segments of audio and subtitles; null when nothing is deliverable. */
  primary: TrackTimeline | null;
  /** Video tracks other than the primary, each cut at its own keyframes. */
  videos: Map<number, TrackTimeline>;
  /**
   * Whole seconds every media time is moved by so that no decode time is
   * negative (B-frames, encoder priming); the init segments' edit lists take
   * it off again. 0 when not needed.
   */
  offsetSeconds: number;
  encrypted: boolean;
  /** Estimated end of the whole presentation (seconds): the latest end of any delivered track. */
  endSeconds: number;
  /**
   * The container is still being written (its FOOT is a live writer's
   * checkpoint, §14.1): playlists leave out segments that may still grow and
   * do not end.
   */
  live: boolean;
  /**
   * Names what the segments of this container are, for URLs that caches may
   * keep forever: a digest of the track table, the first segment's table
   * digest (SEGX) and the plan's rules. It stays the same while a live
   * writer appends (earlier segments never change) and differs for another
   * recording put under the same name.
   */
  version: string;
};

/** Segments shorter than this are merged with the next (intra-only video, tiny audio segments). */
export const MIN_SEGMENT_SECONDS = 1;

/** The pts of `track` at which the presentation is estimated to end (index only). */
export function trackEnd(reader: H4mkReader, t: DeliveryTrack): number {
  const entries = reader.indexEntries(t.info.number);
  const last = entries[entries.length - 1];
  if (last === undefined) return 0;
  // A typical block duration: the last entry's pts span over its blocks (at least one tick).
  let perBlock = last.count > 1 ? (last.maxPts - last.minPts) / (last.count - 1) : 0;
  if (perBlock <= 0) {
    const all = entries.reduce((a, e) => a + e.count, 0);
    perBlock = all > 1 ? ((t.info.lastPts ?? 0) - (t.info.firstPts ?? 0)) / (all - 1) : t.info.timescale / 25;
  }
  return last.maxPts + Math.max(1, Math.round(perBlock));
}

/** Keyframe cuts of `t`, at least MIN_SEGMENT_SECONDS apart. */
function keyframeCuts(reader: H4mkReader, t: DeliveryTrack): Cut[] {
  const min = MIN_SEGMENT_SECONDS * t.info.timescale;
  const cuts: Cut[] = [];
  for (const k of reader.indexKeyframes(t.info.number)) {
    const prev = cuts[cuts.length - 1];
    if (prev === undefined || k.pts - prev.pts >= min) cuts.push({ pts: k.pts, coreIndex: k.coreIndex });
  }
  return cuts;
}

function timeline(reader: H4mkReader, t: DeliveryTrack): TrackTimeline {
  return { track: t, cuts: keyframeCuts(reader, t), endPts: trackEnd(reader, t) };
}

/** Codecs whose decode order can differ from presentation order (dts before pts). */
const REORDERING = new Set(['avc', 'hevc']);

/** The delivery plan of an open container. */
export function deliveryPlan(reader: H4mkReader): DeliveryPlan {
  const tracks = reader.tracks().map(deliveryTrack);
  const cmaf = tracks.filter((t) => t.carriage === 'cmaf');
  const videos = cmaf.filter((t) => t.kind === 'video');
  const primaryTrack = videos[0] ?? cmaf.find((t) => t.kind === 'audio') ?? null;
  const primary = primaryTrack === null ? null : timeline(reader, primaryTrack);
  const others = new Map<number, TrackTimeline>();
  for (const v of videos.slice(1)) others.set(v.info.number, timeline(reader, v));
  let earliest = Infinity;
  let reorders = false;
  for (const t of cmaf) {
    if (t.info.firstPts !== null) earliest = Math.min(earliest, t.info.firstPts / t.info.timescale);
    if (REORDERING.has(t.mediaCodec)) reorders = true;
  }
  // B-frames put decode times up to a few frames before the first pts: a second of room covers them.
  const needed = earliest === Infinity ? 0 : Math.max(0, -earliest) + (reorders ? 1 : 0);
  let endSeconds = 0;
  for (const t of cmaf) endSeconds = Math.max(endSeconds, trackEnd(reader, t) / t.info.timescale);
  const offsetSeconds = Math.ceil(needed);
  const identity = JSON.stringify({
    rules: `cmaf-1/${MIN_SEGMENT_SECONDS}/${offsetSeconds}`,
    tracks: tracks.map((t) => [t.info.id, t.info.kind, t.info.codec, toHex(t.info.config), t.info.timescale, t.info.language, t.info.name, t.info.extra]),
    first: reader.segmentCount > 0 ? toHex(reader.segmentDigest(0)) : '',
  });
  const version = toHex(sha256(utf8(identity))).slice(0, 16);
  return { tracks, primary, videos: others, offsetSeconds, encrypted: reader.encrypted, endSeconds, live: !reader.finished, version };
}

/** The timeline that cuts `t`'s segments: its own for video, else the primary's. */
export function timelineOf(plan: DeliveryPlan, t: DeliveryTrack): TrackTimeline | null {
  if (plan.primary === null) return null;
  if (t.info.number === plan.primary.track.info.number) return plan.primary;
  return plan.videos.get(t.info.number) ?? plan.primary;
}

/** Segment k's start and end on `tl` in seconds (end: the next cut, or the track's end). */
export function segmentBounds(tl: TrackTimeline, k: number): { start: number; end: number } {
  const ts = tl.track.info.timescale;
  const cut = tl.cuts[k];
  if (cut === undefined) throw new RangeError(`no segment ${k}`);
  const next = tl.cuts[k + 1];
  return { start: cut.pts / ts, end: (next === undefined ? Math.max(tl.endPts, cut.pts + 1) : next.pts) / ts };
}

/**
 * Segments of track `t` that are complete: all of them in a finished
 * container; in a live one, those that end at a cut the index already has
 * and, for a track that follows the primary's cuts, whose end the track's
 * own blocks have passed (its blocks may be written after the video's).
 */
export function completeSegments(plan: DeliveryPlan, t: DeliveryTrack): number {
  const tl = timelineOf(plan, t);
  if (tl === null) return 0;
  if (!plan.live) return tl.cuts.length;
  let n = Math.max(0, tl.cuts.length - 1);
  if (tl.track.info.number !== t.info.number) {
    const last = t.info.lastPts;
    const P = tl.track.info.timescale;
    while (n > 0 && (last === null || last * P < (tl.cuts[n] as Cut).pts * t.info.timescale)) n--;
  }
  return n;
}
