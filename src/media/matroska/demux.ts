/**
 * Matroska/WebM demuxing in two streaming passes over ./scan.ts:
 *  1. headers only: every block's track, timestamp, BlockGroup-ness,
 *     BlockDuration and DiscardPadding (what TRAK `extra` must hold before
 *     the first block is written), and the presentation times from which
 *     decode times are derived as ffmpeg derives them;
 *  2. payloads, in file order.
 * Every frame of a laced block (mkvmerge laces audio, up to 8 frames per
 * block) is one packet with its own timestamp (FrameTimes, ./tracks.ts).
 * Timestamps are ticks of 10^9 / gcd(10^9, TimestampScale) per second (1000
 * for the usual 1 ms scale), with CodecDelay subtracted as ffmpeg does.
 * Disabled tracks and tracks with ContentEncodings are imported like the
 * others: mediabunny, which leaves them out, is shown a rewritten copy of
 * their headers and first frames for their codec facts.
 */
import type { ByteReader } from '../byte-reader.js';
import type { MediaDemuxer, MediaPacket, MediaTrack } from '../demux.js';
import { MediaError } from '../errors.js';
import { MkvDemuxer } from './scan.js';
import { FrameTimes, type MatroskaEntry, matroskaCodecInfo, matroskaTracks, needsProbeSegment, PROBE_FRAMES_PER_TRACK, type ProbeFrame } from './tracks.js';
import { announcedReorderDepth } from '../codec/reorder.js';
import { decodeOrderTimes } from '../timing.js';
import { GrowableF64 } from '../util.js';

/** Per-track facts gathered by the first pass. */
type TrackPlan = {
  entry: MatroskaEntry;
  pts: GrowableF64;
  /** Per frame: its duration from the block, the track or the codec (ticks), −1 when unknown. */
  knownDuration: GrowableF64;
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
  // Disabled or encoded tracks: mediabunny reads a rewritten head of the segment with their first frames decoded.
  const probe = needsProbeSegment(demuxer.tracks) ? { info: demuxer.info, frames: await probeFrames(demuxer) } : undefined;
  const info = await matroskaCodecInfo(reader.source, path, demuxer.tracks, probe);
  const { format, unit, tracks, entries, skipped, byNumber } = matroskaTracks(demuxer.info, demuxer.tracks, info, path);
  const plans: TrackPlan[] = entries.map((entry) => ({
    entry,
    pts: new GrowableF64(),
    knownDuration: new GrowableF64(),
    groups: [],
    durations: [],
    discard: {},
    invisible: [],
    blocks: 0,
  }));

  // Pass 1: headers only (and the first bytes of each frame, for the codec's frame durations).
  const timers = tracks.map((t, k) => new FrameTimes(t, entries[k] as MatroskaEntry, unit));
  for await (const b of demuxer.blocks({ payloads: false })) {
    const k = byNumber.get(b.track);
    if (k === undefined) continue;
    const plan = plans[k] as TrackPlan;
    (timers[k] as FrameTimes).block(b).forEach(({ pts, duration }, j) => {
      plan.pts.push(pts);
      plan.knownDuration.push(duration ?? -1);
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
    const m = track.extra.matroska ?? {};
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
    const times = decodeOrderTimes(plan.pts.view(), track.kind === 'video', announcedReorderDepth(track.mediaCodec, track.config));
    plan.dts = times.dts;
    const duration = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const known = plan.knownDuration.at(i);
      duration[i] = known >= 0 ? known : (times.gap[i] ?? 0);
    }
    plan.duration = duration;
    plan.knownDuration = new GrowableF64();
  });

  return {
    format,
    tracks,
    skipped,
    size: reader.size,
    packets: () =>
      packets(
        demuxer,
        byNumber,
        plans,
        tracks.map((t, k) => () => new FrameTimes(t, entries[k] as MatroskaEntry, unit)),
      ),
    close: async () => {},
  };
}

/** The first frames of every track, decoded, for mediabunny's probe (at most 4096 blocks or 16 MiB are read). */
async function probeFrames(demuxer: MkvDemuxer): Promise<ProbeFrame[]> {
  const need = new Map(demuxer.tracks.map((t) => [t.number, PROBE_FRAMES_PER_TRACK]));
  const frames: ProbeFrame[] = [];
  let blocks = 0;
  let bytes = 0;
  for await (const b of demuxer.blocks({ payloads: true })) {
    const left = need.get(b.track) ?? 0;
    for (const data of b.frames.slice(0, left)) {
      frames.push({ track: b.track, timestamp: b.timestamp, keyframe: b.keyframe, data });
      bytes += data.length;
    }
    need.set(b.track, Math.max(0, left - b.frames.length));
    if (++blocks >= 4096 || bytes >= 16 * 1024 * 1024 || [...need.values()].every((n) => n === 0)) break;
  }
  return frames;
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

async function* packets(demuxer: MkvDemuxer, byNumber: Map<number, number>, plans: TrackPlan[], newTimers: (() => FrameTimes)[]): AsyncGenerator<MediaPacket> {
  const counters = plans.map(() => 0);
  const timers = newTimers.map((make) => make());
  for await (const b of demuxer.blocks({ payloads: true })) {
    const k = byNumber.get(b.track);
    if (k === undefined) continue;
    const plan = plans[k] as TrackPlan;
    const times = (timers[k] as FrameTimes).block(b);
    for (let j = 0; j < b.frames.length; j++) {
      const i = counters[k] as number;
      counters[k] = i + 1;
      const pts = (times[j] as { pts: number }).pts;
      if (pts !== plan.pts.at(i) || i >= plan.pts.length) throw new MediaError('E_MEDIA_FORMAT', 'the file changed between the two passes');
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
