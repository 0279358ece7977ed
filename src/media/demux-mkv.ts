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
import { type CodecInfo, readCodecInfo } from './codec-info.js';
import type { MediaDemuxer, MediaPacket, MediaTrack, SkippedTrack } from './demux.js';
import { MediaError } from './errors.js';
import { MkvDemuxer, type MkvTrack } from './mkv-demux.js';
import { announcedReorderDepth } from './reorder.js';
import { decodeOrderTimes, opusPacketSamples } from './timing.js';
import { gcd, GrowableF64, rescale } from './util.js';

const SUBTITLE_CODECS: Record<string, string> = {
  'S_TEXT/UTF8': 'srt',
  'S_TEXT/ASCII': 'srt',
  'S_TEXT/ASS': 'ass',
  'S_TEXT/SSA': 'ass',
  'S_ASS': 'ass',
  'S_SSA': 'ass',
  'S_TEXT/WEBVTT': 'webvtt',
  'S_HDMV/PGS': 'pgs',
  'S_VOBSUB': 'vobsub',
};

/** Per-track facts gathered by the first pass. */
type TrackPlan = {
  mkv: MkvTrack;
  /** ticks per TimestampScale unit */
  unit: number;
  delayTicks: number;
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
  const scale = demuxer.info.timestampScale;
  const g = gcd(1_000_000_000, scale);
  const timescale = 1_000_000_000 / g;
  const unit = scale / g;
  if (timescale > 0xffff_ffff) throw new MediaError('E_MEDIA_UNSUPPORTED', `TimestampScale ${scale} gives no 32-bit timescale`, path);

  let info: CodecInfo[] = [];
  try {
    const opened = await readCodecInfo(reader.source, path);
    opened.input.dispose();
    info = opened.tracks;
  } catch (error) {
    // A Matroska file with only tracks mediabunny does not know (subtitles) is still importable.
    if (!(error instanceof MediaError) || demuxer.tracks.every((t) => t.type !== 17)) throw error;
  }

  const tracks: MediaTrack[] = [];
  const plans: TrackPlan[] = [];
  const skipped: SkippedTrack[] = [];
  const byNumber = new Map<number, number>();
  demuxer.tracks.forEach((t, sourceIndex) => {
    const codec = info.find((c) => c.id === t.number);
    const subtitle = SUBTITLE_CODECS[t.codecId];
    let kind: MediaTrack['kind'];
    if (t.type === 1 || t.type === 2) {
      if (codec === undefined) {
        skipped.push({ sourceIndex, reason: `track ${t.number} (${t.codecId}) is not readable by mediabunny` });
        return;
      }
      kind = t.type === 1 ? 'video' : 'audio';
    } else if (t.type === 17 && subtitle !== undefined) kind = 'subtitle';
    else {
      skipped.push({ sourceIndex, reason: `track ${t.number} (type ${t.type}, ${t.codecId}) is not audio, video or a supported subtitle format` });
      return;
    }
    const delayTicks = t.codecDelayNs > 0 ? rescale(t.codecDelayNs, timescale, 1_000_000_000) : 0;
    const extra: Record<string, unknown> = {
      source: { container: demuxer.info.docType === 'webm' ? 'webm' : 'matroska', index: sourceIndex },
      matroska: matroskaExtra(demuxer.info.docType, scale, t),
    };
    if (codec?.disposition !== undefined) extra.disposition = codec.disposition;
    if (codec?.video !== undefined) extra.video = codec.video;
    if (t.audio !== null) extra.audio = { sample_rate: t.audio.samplingFrequency, channels: t.audio.channels, ...(t.audio.bitDepth === null ? {} : { bit_depth: t.audio.bitDepth }) };
    byNumber.set(t.number, tracks.length);
    tracks.push({
      sourceIndex,
      kind,
      codec: kind === 'subtitle' ? (subtitle as string) : (codec as CodecInfo).codec,
      mediaCodec: kind === 'subtitle' ? (subtitle as string) : (codec as CodecInfo).mediaCodec,
      config: t.codecPrivate ?? codec?.description ?? new Uint8Array(0),
      timescale,
      name: t.name ?? '',
      language: t.languageBcp47 ?? (t.language === null || t.language === 'und' ? '' : t.language),
      extra,
    });
    plans.push({ mkv: t, unit, delayTicks, pts: new GrowableF64(), explicitDuration: new GrowableF64(), codecDuration: new GrowableF64(), groups: [], durations: [], discard: {}, invisible: [], blocks: 0 });
  });
  if (tracks.length === 0) throw new MediaError('E_MEDIA_FORMAT', 'the file has no audio, video or subtitle track', path);

  // Pass 1: headers only.
  for await (const b of demuxer.blocks({ payloads: false })) {
    const k = byNumber.get(b.track);
    if (k === undefined) continue;
    const plan = plans[k] as TrackPlan;
    const step = plan.mkv.defaultDurationNs === null ? 0 : plan.mkv.defaultDurationNs / scale;
    b.frames.forEach((frame, j) => {
      plan.codecDuration.push(codecFrameDuration(tracks[k] as MediaTrack, frame));
      const pts = Math.round((b.timestamp + j * step) * plan.unit) - plan.delayTicks;
      plan.pts.push(pts);
      plan.explicitDuration.push(b.duration === null || j > 0 ? -1 : b.duration * plan.unit);
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
    if (plan.delayTicks !== 0) m.pts_shift = plan.delayTicks;
    if (plan.blocks !== n) m.laced = true;
    // ffmpeg truncates DefaultDuration to whole ticks.
    const defaultTicks = plan.mkv.defaultDurationNs === null ? null : Math.floor((plan.mkv.defaultDurationNs * timescale) / 1_000_000_000);
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
    format: demuxer.info.docType === 'webm' ? 'webm' : 'matroska',
    tracks,
    skipped,
    size: reader.size,
    packets: () => packets(demuxer, byNumber, plans, scale),
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

function matroskaExtra(docType: string, timestampScale: number, t: MkvTrack): Record<string, unknown> {
  const m: Record<string, unknown> = { doc_type: docType, timestamp_scale: timestampScale, track_number: t.number, codec_id: t.codecId, track_type: t.type };
  if (t.uid !== null) m.track_uid = t.uid;
  if (t.codecDelayNs !== 0) m.codec_delay_ns = t.codecDelayNs;
  if (t.seekPreRollNs !== 0) m.seek_pre_roll_ns = t.seekPreRollNs;
  if (t.defaultDurationNs !== null) m.default_duration_ns = t.defaultDurationNs;
  if (t.language !== null) m.language = t.language;
  if (Object.keys(t.flags).length > 0) m.flags = t.flags;
  if (t.video !== null) m.video = { pixel_width: t.video.pixelWidth, pixel_height: t.video.pixelHeight, display_width: t.video.displayWidth, display_height: t.video.displayHeight };
  if (t.audio !== null) m.audio = { sampling_frequency: t.audio.samplingFrequency, channels: t.audio.channels, bit_depth: t.audio.bitDepth };
  if (t.codecPrivate === null) m.no_codec_private = true;
  return m;
}

async function* packets(demuxer: MkvDemuxer, byNumber: Map<number, number>, plans: TrackPlan[], scale: number): AsyncGenerator<MediaPacket> {
  const counters = plans.map(() => 0);
  for await (const b of demuxer.blocks({ payloads: true })) {
    const k = byNumber.get(b.track);
    if (k === undefined) continue;
    const plan = plans[k] as TrackPlan;
    const step = plan.mkv.defaultDurationNs === null ? 0 : plan.mkv.defaultDurationNs / scale;
    for (let j = 0; j < b.frames.length; j++) {
      const i = counters[k] as number;
      counters[k] = i + 1;
      const pts = Math.round((b.timestamp + j * step) * plan.unit) - plan.delayTicks;
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

/** A frame's duration in track ticks from its codec (Opus TOC, AAC's 1024 samples); −1 when unknown. */
function codecFrameDuration(track: MediaTrack, frame: Uint8Array): number {
  if (track.mediaCodec === 'opus') {
    const samples = opusPacketSamples(frame);
    return samples === null ? -1 : rescale(samples, track.timescale, 48_000);
  }
  const audio = track.extra.audio as { sample_rate?: number } | undefined;
  if (track.mediaCodec === 'aac' && audio?.sample_rate !== undefined && audio.sample_rate > 0) return rescale(1024, track.timescale, audio.sample_rate);
  return -1;
}
