/**
 * Matroska track entries → the importer's tracks (TRAK records): what the
 * file demuxer (./demux-mkv.ts) and the live stream importer
 * (./live-import.ts) share, so that both write the same TRAK for the same
 * input. Timestamps are ticks of 10^9 / gcd(10^9, TimestampScale) per second
 * (1000 for the usual 1 ms scale), with CodecDelay subtracted as ffmpeg does.
 */
import type { RandomAccessSource } from '../io/source.js';
import { type CodecInfo, readCodecInfo } from './codec-info.js';
import type { MediaTrack, SkippedTrack } from './demux.js';
import { MediaError } from './errors.js';
import type { MkvInfo, MkvTrack } from './mkv-demux.js';
import { opusPacketSamples } from './timing.js';
import { gcd, rescale } from './util.js';

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

/** One imported track's Matroska side. */
export type MatroskaEntry = {
  mkv: MkvTrack;
  /** CodecDelay in track ticks (subtracted from every pts). */
  delayTicks: number;
  /** DefaultDuration in TimestampScale units (the step between laced frames), 0 when absent. */
  step: number;
  /** DefaultDuration in whole track ticks (ffmpeg truncates), or null. */
  defaultTicks: number | null;
};

/** The tracks of a segment as the importer writes them. */
export type MatroskaTracks = {
  format: 'webm' | 'matroska';
  timescale: number;
  /** Track ticks per TimestampScale unit. */
  unit: number;
  tracks: MediaTrack[];
  /** Parallel to `tracks`. */
  entries: MatroskaEntry[];
  skipped: SkippedTrack[];
  /** Index into `tracks` by Matroska TrackNumber. */
  byNumber: Map<number, number>;
};

/**
 * mediabunny's codec facts of the Matroska bytes in `source` (a whole file,
 * or a stream's first bytes up to at least one block of each track). A segment
 * with only tracks mediabunny does not know (subtitles) gives none.
 */
export async function matroskaCodecInfo(source: RandomAccessSource, path: string, tracks: readonly MkvTrack[]): Promise<CodecInfo[]> {
  try {
    const opened = await readCodecInfo(source, path);
    opened.input.dispose();
    return opened.tracks;
  } catch (error) {
    if (!(error instanceof MediaError) || tracks.every((t) => t.type !== 17)) throw error;
    return [];
  }
}

/** The importer's tracks of a segment; `codecs` from {@link matroskaCodecInfo}. */
export function matroskaTracks(info: MkvInfo, entries: readonly MkvTrack[], codecs: readonly CodecInfo[], path: string): MatroskaTracks {
  const scale = info.timestampScale;
  const g = gcd(1_000_000_000, scale);
  const timescale = 1_000_000_000 / g;
  const unit = scale / g;
  if (timescale > 0xffff_ffff) throw new MediaError('E_MEDIA_UNSUPPORTED', `TimestampScale ${scale} gives no 32-bit timescale`, path);
  const format = info.docType === 'webm' ? 'webm' : 'matroska';
  const out: MatroskaTracks = { format, timescale, unit, tracks: [], entries: [], skipped: [], byNumber: new Map() };
  entries.forEach((t, sourceIndex) => {
    const codec = codecs.find((c) => c.id === t.number);
    const subtitle = SUBTITLE_CODECS[t.codecId];
    let kind: MediaTrack['kind'];
    if (t.type === 1 || t.type === 2) {
      if (codec === undefined) {
        out.skipped.push({ sourceIndex, reason: `track ${t.number} (${t.codecId}) is not readable by mediabunny` });
        return;
      }
      kind = t.type === 1 ? 'video' : 'audio';
    } else if (t.type === 17 && subtitle !== undefined) kind = 'subtitle';
    else {
      out.skipped.push({ sourceIndex, reason: `track ${t.number} (type ${t.type}, ${t.codecId}) is not audio, video or a supported subtitle format` });
      return;
    }
    const delayTicks = t.codecDelayNs > 0 ? rescale(t.codecDelayNs, timescale, 1_000_000_000) : 0;
    const extra: Record<string, unknown> = {
      source: { container: format, index: sourceIndex },
      matroska: matroskaExtra(info.docType, scale, t),
    };
    if (codec?.disposition !== undefined) extra.disposition = codec.disposition;
    if (codec?.video !== undefined) extra.video = codec.video;
    if (t.audio !== null) extra.audio = { sample_rate: t.audio.samplingFrequency, channels: t.audio.channels, ...(t.audio.bitDepth === null ? {} : { bit_depth: t.audio.bitDepth }) };
    out.byNumber.set(t.number, out.tracks.length);
    out.tracks.push({
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
    out.entries.push({
      mkv: t,
      delayTicks,
      step: t.defaultDurationNs === null ? 0 : t.defaultDurationNs / scale,
      // ffmpeg truncates DefaultDuration to whole ticks.
      defaultTicks: t.defaultDurationNs === null ? null : Math.floor((t.defaultDurationNs * timescale) / 1_000_000_000),
    });
  });
  if (out.tracks.length === 0) throw new MediaError('E_MEDIA_FORMAT', 'the file has no audio, video or subtitle track', path);
  return out;
}

/** The pts (track ticks) of frame `j` of a block at `timestamp` (TimestampScale units). */
export function framePts(entry: MatroskaEntry, unit: number, timestamp: number, j: number): number {
  return Math.round((timestamp + j * entry.step) * unit) - entry.delayTicks;
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

/** A frame's duration in track ticks from its codec (Opus TOC, AAC's 1024 samples); −1 when unknown. */
export function codecFrameDuration(track: MediaTrack, frame: Uint8Array): number {
  if (track.mediaCodec === 'opus') {
    const samples = opusPacketSamples(frame);
    return samples === null ? -1 : rescale(samples, track.timescale, 48_000);
  }
  const audio = track.extra.audio as { sample_rate?: number } | undefined;
  if (track.mediaCodec === 'aac' && audio?.sample_rate !== undefined && audio.sample_rate > 0) return rescale(1024, track.timescale, audio.sample_rate);
  return -1;
}
