/**
 * Matroska/WebM demuxing in two streaming passes over ./mkv-demux.ts:
 *  1. headers only: every block's track, timestamp, BlockGroup-ness,
 *     BlockDuration and DiscardPadding (what TRAK `extra` must hold before
 *     the first block is written), and the presentation times from which
 *     decode times are derived as ffmpeg derives them;
 *  2. payloads, in file order.
 * Timestamps are ticks of 10^9 / gcd(10^9, TimestampScale) per second (1000
 * for the usual 1 ms scale), with CodecDelay subtracted as ffmpeg does.
 */
import type { ByteReader } from './byte-reader.js';
import type { MediaDemuxer, MediaPacket, MediaTrack } from './demux.js';
import { MediaError } from './errors.js';
import { MkvDemuxer } from './mkv-demux.js';
import { codecFrameDuration, framePts, type MatroskaEntry, matroskaCodecInfo, matroskaTracks } from './mkv-tracks.js';
import { announcedReorderDepth } from './reorder.js';
import { decodeOrderTimes } from './timing.js';
import { GrowableF64 } from './util.js';

/** Per-track facts gathered by the first pass. */
type TrackPlan = {
  entry: MatroskaEntry;
  pts: GrowableF64;
  explicitDuration: GrowableF64;
  codecDuration: GrowableF64;
  groups: number[];
  durations: number[];
  discard: Record<string, number>;
  invisible: number[];
  blocks: number;
  dts?: Float64Array;
  duration?: Float64Array;
};

export async function openMatroska(reader: ByteReader, path: string): Promise<MediaDemuxer> {
  const demuxer = await MkvDemuxer.open(reader);
  const info = await matroskaCodecInfo(reader.source, path, demuxer.tracks);
  const { format, unit, tracks, entries, skipped, byNumber } = matroskaTracks(demuxer.info, demuxer.tracks, info, path);
  const plans: TrackPlan[] = entries.map((entry) => ({
    entry,
    pts: new GrowableF64(),
    explicitDuration: new GrowableF64(),
    codecDuration: new GrowableF64(),
    groups: [],
    durations: [],
    discard: {},
    invisible: [],
    blocks: 0,
  }));

  // Pass 1: headers only.
  for await (const b of demuxer.blocks({ payloads: false })) {
    const k = byNumber.get(b.track);
    if (k === undefined) continue;
    const plan = plans[k] as TrackPlan;
    b.frames.forEach((frame, j) => {
      plan.codecDuration.push(codecFrameDuration(tracks[k] as MediaTrack, frame));
      const pts = framePts(plan.entry, unit, b.timestamp, j);
      plan.pts.push(pts);
      plan.explicitDuration.push(b.duration === null || j > 0 ? -1 : b.duration * unit);
      if (j > 0) return;
      if (b.group) plan.groups.push(pts);
      if (b.duration !== null) plan.durations.push(pts);
      if (b.discardPadding !== null) plan.discard[String(pts)] = b.discardPadding;
      if (b.invisible) plan.invisible.push(pts);
    });
    plan.blocks++;
  }
  plans.forEach((plan, k) => {
    const track = tracks[k] as MediaTrack;
    const m = (track.extra.matroska ?? {}) as Record<string, unknown>;
    const n = plan.pts.length;
    m.block_groups = summarize(plan.groups, n);
    m.block_durations = summarize(plan.durations, n);
    const discarded = Object.keys(plan.discard).length;
    if (discarded > MAX_LISTED_BLOCKS) m.discard_padding_dropped = discarded;
    else if (discarded > 0) m.discard_padding = plan.discard;
    if (plan.invisible.length > MAX_LISTED_BLOCKS) m.invisible_dropped = plan.invisible.length;
    else if (plan.invisible.length > 0) m.invisible = plan.invisible;
    if (plan.entry.delayTicks !== 0) m.pts_shift = plan.entry.delayTicks;
    if (plan.blocks !== n) m.laced = true;
    const defaultTicks = plan.entry.defaultTicks;
    const times = decodeOrderTimes(plan.pts.view(), track.kind === 'video', announcedReorderDepth(track.mediaCodec, track.config));
    plan.dts = times.dts;
    const duration = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const explicit = plan.explicitDuration.at(i);
      const fromCodec = plan.codecDuration.at(i);
      duration[i] = explicit >= 0 ? explicit : (defaultTicks ?? (fromCodec >= 0 ? fromCodec : (times.gap[i] ?? 0)));
    }
    plan.duration = duration;
  });

  return {
    format,
    tracks,
    skipped,
    size: reader.size,
    packets: () => packets(demuxer, byNumber, plans, unit),
    close: async () => {},
  };
}

/**
 * Per-block lists kept in TRAK extra are capped so that extra stays far
 * below max_json_length (1 MiB); past the cap the detail is dropped
 * ("mixed": the export then writes BlockGroups only where it must).
 */
const MAX_LISTED_BLOCKS = 20_000;

/** "all", "none", the list of pts values (track ticks), or "mixed" past the cap. */
function summarize(list: number[], n: number): 'all' | 'none' | 'mixed' | number[] {
  if (list.length === 0) return 'none';
  if (list.length === n) return 'all';
  return list.length > MAX_LISTED_BLOCKS ? 'mixed' : list;
}

async function* packets(demuxer: MkvDemuxer, byNumber: Map<number, number>, plans: TrackPlan[], unit: number): AsyncGenerator<MediaPacket> {
  const counters = plans.map(() => 0);
  for await (const b of demuxer.blocks({ payloads: true })) {
    const k = byNumber.get(b.track);
    if (k === undefined) continue;
    const plan = plans[k] as TrackPlan;
    for (let j = 0; j < b.frames.length; j++) {
      const i = counters[k] as number;
      counters[k] = i + 1;
      const pts = framePts(plan.entry, unit, b.timestamp, j);
      if (pts !== plan.pts.at(i)) throw new MediaError('E_MEDIA_FORMAT', 'the file changed between the two passes');
      yield {
        track: k,
        pts,
        dts: plan.dts?.[i] ?? pts,
        duration: plan.duration?.[i] ?? 0,
        keyframe: b.keyframe,
        data: b.frames[j] as Uint8Array,
        offset: b.offset,
      };
    }
  }
}
