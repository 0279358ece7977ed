/**
 * Matroska track entries → the importer's tracks (TRAK records): what the
 * file demuxer (./demux.ts) and the live stream importer
 * (./live-import.ts) share, so that both write the same TRAK for the same
 * input. Timestamps are ticks of 10^9 / gcd(10^9, TimestampScale) per second
 * (1000 for the usual 1 ms scale), with CodecDelay subtracted as ffmpeg does.
 */
import { MemorySource, type RandomAccessSource } from '../../io/source.js';
import { type CodecInfo, readCodecInfo } from '../codec-info.js';
import type { MediaTrack, SkippedTrack } from '../demux.js';
import { concat, element, Id, idBytes, uintElement } from './ebml.js';
import { MediaError } from '../errors.js';
import type { MkvInfo, MkvTrack } from './scan.js';
import type { MatroskaExtraInit, MediaTrackExtraInit } from '../track-extra.js';
import { CONTENT_ENCODINGS_ID, encodingsExtra, unsupportedEncoding } from './encoding.js';
import { opusPacketSamples } from '../timing.js';
import { gcd, rescale } from '../util.js';
import { VorbisDurations } from '../codec/vorbis.js';

const SUBTITLE_CODECS: Record<string, string> = {
  'S_TEXT/UTF8': 'srt',
  'S_TEXT/ASCII': 'srt',
  'S_TEXT/ASS': 'ass',
  'S_TEXT/SSA': 'ass',
  S_ASS: 'ass',
  S_SSA: 'ass',
  'S_TEXT/WEBVTT': 'webvtt',
  'S_HDMV/PGS': 'pgs',
  S_VOBSUB: 'vobsub',
};

/** One imported track's Matroska side. */
export type MatroskaEntry = {
  mkv: MkvTrack;
  /** CodecDelay in track ticks (subtracted from every pts). */
  delayTicks: number;
  /** TimestampScale (ns per unit); DefaultDuration is `mkv.defaultDurationNs`. */
  scale: number;
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

/** A frame shown to mediabunny by {@link probeSegment}: `timestamp` in TimestampScale units. */
export type ProbeFrame = { track: number; timestamp: number; keyframe: boolean; data: Uint8Array };

/** Frames of each track that {@link probeSegment} shows mediabunny (codec strings of VP9, AV1 … come from the first frames). */
export const PROBE_FRAMES_PER_TRACK = 8;

/**
 * True when mediabunny must read a rewritten copy of the segment's head
 * ({@link probeSegment}): it leaves out disabled tracks (FlagEnabled 0) and
 * tracks with ContentEncodings other than header stripping.
 */
export function needsProbeSegment(tracks: readonly MkvTrack[]): boolean {
  return tracks.some((t) => t.flags.enabled === 0 || t.encodings.length > 0);
}

/**
 * A small Matroska file that mediabunny reads for the codec facts of
 * `tracks`: the EBML header, Info, the tracks as stored but enabled, without
 * ContentEncodings and with the decoded CodecPrivate, then one cluster of
 * `frames` (decoded, one per SimpleBlock). Tracks whose encodings are not
 * supported are left out.
 */
export function probeSegment(info: MkvInfo, tracks: readonly MkvTrack[], frames: readonly ProbeFrame[]): Uint8Array {
  const entries: Uint8Array[] = [];
  const kept = new Set<number>();
  for (const t of tracks) {
    if (unsupportedEncoding(t.encodings) !== null || t.number > 126) continue;
    kept.add(t.number);
    const children = t.rawChildren
      .filter((c) => c.id !== CONTENT_ENCODINGS_ID)
      .map((c) =>
        c.id === Id.FlagEnabled
          ? uintElement(Id.FlagEnabled, 1)
          : c.id === Id.CodecPrivate && t.codecPrivate !== null
            ? element(Id.CodecPrivate, t.codecPrivate)
            : c.bytes,
      );
    entries.push(element(Id.TrackEntry, children));
  }
  const ebml = element(Id.EBML, [
    uintElement(Id.EBMLVersion, 1),
    uintElement(Id.EBMLReadVersion, 1),
    uintElement(Id.EBMLMaxIDLength, 4),
    uintElement(Id.EBMLMaxSizeLength, 8),
    element(Id.DocType, new TextEncoder().encode(info.docType)),
    uintElement(Id.DocTypeVersion, 4),
    uintElement(Id.DocTypeReadVersion, 2),
  ]);
  const shown = frames.filter((f) => kept.has(f.track));
  const base = Math.max(0, Math.min(...shown.map((f) => f.timestamp), Number.MAX_SAFE_INTEGER));
  let last = -32768;
  const blocks = shown.map((f) => {
    // Relative timestamps within a 16-bit range, never decreasing (mediabunny only needs the bytes).
    last = Math.max(last, Math.min(32767, f.timestamp - base));
    const head = new Uint8Array(4);
    head[0] = 0x80 | f.track;
    new DataView(head.buffer).setInt16(1, last);
    head[3] = f.keyframe ? 0x80 : 0;
    return element(Id.SimpleBlock, [head, f.data]);
  });
  const segment = [
    element(Id.Info, [uintElement(Id.TimestampScale, info.timestampScale)]),
    element(Id.Tracks, entries),
    element(Id.Cluster, [uintElement(Id.Timestamp, base), ...blocks]),
  ];
  return concat([ebml, idBytes(Id.Segment), Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), ...segment]);
}

/**
 * mediabunny's codec facts of the Matroska bytes in `source` (a whole file,
 * or a stream's first bytes up to at least one block of each track). A segment
 * with only tracks mediabunny does not know (subtitles) gives none. With
 * `probe` (see {@link needsProbeSegment}), mediabunny reads the file
 * {@link probeSegment} makes of `tracks` and those frames instead.
 */
export async function matroskaCodecInfo(
  source: RandomAccessSource,
  path: string,
  tracks: readonly MkvTrack[],
  probe?: { info: MkvInfo; frames: readonly ProbeFrame[] },
): Promise<CodecInfo[]> {
  try {
    const opened = await readCodecInfo(probe === undefined ? source : new MemorySource(probeSegment(probe.info, tracks, probe.frames)), path);
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
    const encoding = unsupportedEncoding(t.encodings);
    let kind: MediaTrack['kind'];
    if (encoding !== null) {
      out.skipped.push({ sourceIndex, reason: `track ${t.number} (${t.codecId}): ${encoding}` });
      return;
    }
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
    const extra: MediaTrackExtraInit = {
      source: { container: format, index: sourceIndex },
      matroska: matroskaExtra(info.docType, scale, t),
    };
    if (codec?.disposition !== undefined) extra.disposition = codec.disposition;
    if (codec?.video !== undefined) extra.video = codec.video;
    if (t.audio !== null)
      extra.audio = {
        sample_rate: t.audio.samplingFrequency,
        channels: t.audio.channels,
        ...(t.audio.bitDepth === null ? {} : { bit_depth: t.audio.bitDepth }),
      };
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
      scale,
      // ffmpeg truncates DefaultDuration to whole ticks.
      defaultTicks: t.defaultDurationNs === null ? null : Math.floor((t.defaultDurationNs * timescale) / 1_000_000_000),
    });
  });
  if (out.tracks.length === 0) throw new MediaError('E_MEDIA_FORMAT', 'the file has no audio, video or subtitle track', path);
  return out;
}

/** A block as {@link FrameTimes} needs it: `timestamp` and BlockDuration in TimestampScale units. */
export type TimedBlock = { timestamp: number; duration: number | null; frames: readonly Uint8Array[] };

/** One frame's pts and duration (track ticks); a null duration is unknown (the gap to the next frame is used). */
export type FrameTime = { pts: number; duration: number | null };

/**
 * The timestamps and durations of the frames of one track's blocks, as
 * ffmpeg's Matroska demuxer gives them. Feed every block of the track in
 * file order (the Vorbis block sizes carry over from packet to packet).
 *
 * An unlaced block: its timestamp; its BlockDuration, else the
 * DefaultDuration, else the codec's, else unknown.
 * A laced block (Xiph, EBML or fixed lacing) of n frames, with a block
 * duration D (its BlockDuration, else n × DefaultDuration, in whole
 * TimestampScale units): frame i at timestamp + ⌊D·i/n⌋, lasting
 * ⌊D·(i+1)/n⌋ − ⌊D·i/n⌋ (the codec's duration for Opus and Vorbis, which
 * ffmpeg parses). Without D: frame i at frame i−1's timestamp plus its
 * codec duration (Opus: RFC 6716 §3.1 TOC frame size × count; Vorbis:
 * block sizes), rounded down to TimestampScale units.
 */
export class FrameTimes {
  private readonly vorbis: VorbisDurations | null;

  constructor(
    private readonly track: MediaTrack,
    private readonly entry: MatroskaEntry,
    /** Track ticks per TimestampScale unit. */
    private readonly unit: number,
  ) {
    this.vorbis = track.mediaCodec === 'vorbis' ? VorbisDurations.fromCodecPrivate(track.config) : null;
  }

  /** The frames of `b`, in order. */
  block(b: TimedBlock): FrameTime[] {
    const { entry, unit } = this;
    const base = b.timestamp * unit - entry.delayTicks;
    const n = b.frames.length;
    const parsed = b.frames.map((f) => this.parsedDuration(f));
    if (n === 1) {
      const frame = b.frames[0] as Uint8Array;
      const fromCodec = (parsed[0] as number) >= 0 ? (parsed[0] as number) : codecFrameDuration(this.track, frame);
      const duration = b.duration !== null ? b.duration * unit : (entry.defaultTicks ?? (fromCodec >= 0 ? fromCodec : null));
      return [{ pts: base, duration }];
    }
    const dd = entry.mkv.defaultDurationNs;
    const total = b.duration !== null && b.duration > 0 ? b.duration : dd !== null && dd > 0 ? Math.floor((dd * n) / entry.scale) : 0;
    const out: FrameTime[] = [];
    if (total > 0) {
      for (let i = 0; i < n; i++) {
        const start = Math.floor((total * i) / n);
        const lace = (Math.floor((total * (i + 1)) / n) - start) * unit;
        const p = parsed[i] as number;
        out.push({ pts: base + start * unit, duration: p >= 0 ? p : lace });
      }
      return out;
    }
    let pts = base;
    for (let i = 0; i < n; i++) {
      const p = parsed[i] as number;
      const duration = p >= 0 ? p : codecFrameDuration(this.track, b.frames[i] as Uint8Array);
      out.push({ pts, duration: duration >= 0 ? duration : null });
      pts += Math.max(0, duration);
    }
    return out;
  }

  /** A frame's duration as ffmpeg's parser gives it (Opus, Vorbis): ticks, rounded down to whole TimestampScale units; −1 otherwise. */
  private parsedDuration(frame: Uint8Array): number {
    let samples: number | null = null;
    let rate = 48_000;
    if (this.track.mediaCodec === 'opus') samples = opusPacketSamples(frame);
    else if (this.vorbis !== null) {
      samples = this.vorbis.samples(frame);
      rate = this.vorbis.sampleRate;
    } else return -1;
    if (samples === null || rate <= 0) return -1;
    const units = (BigInt(samples) * 1_000_000_000n) / (BigInt(rate) * BigInt(this.entry.scale));
    return Number(units) * this.unit;
  }
}

function matroskaExtra(docType: string, timestampScale: number, t: MkvTrack): MatroskaExtraInit {
  const m: MatroskaExtraInit = { doc_type: docType, timestamp_scale: timestampScale, track_number: t.number, codec_id: t.codecId, track_type: t.type };
  if (t.uid !== null) m.track_uid = t.uid;
  if (t.codecDelayNs !== 0) m.codec_delay_ns = t.codecDelayNs;
  if (t.seekPreRollNs !== 0) m.seek_pre_roll_ns = t.seekPreRollNs;
  if (t.defaultDurationNs !== null) m.default_duration_ns = t.defaultDurationNs;
  if (t.language !== null) m.language = t.language;
  if (Object.keys(t.flags).length > 0) m.flags = t.flags;
  if (t.video !== null)
    m.video = {
      pixel_width: t.video.pixelWidth,
      pixel_height: t.video.pixelHeight,
      display_width: t.video.displayWidth,
      display_height: t.video.displayHeight,
    };
  if (t.audio !== null) m.audio = { sampling_frequency: t.audio.samplingFrequency, channels: t.audio.channels, bit_depth: t.audio.bitDepth };
  if (t.codecPrivate === null) m.no_codec_private = true;
  if (t.encodings.length > 0) m.content_encodings = encodingsExtra(t.encodings);
  return m;
}

/** A frame's duration in track ticks from its codec (Opus TOC, AAC's 1024 samples); −1 when unknown. */
export function codecFrameDuration(track: MediaTrack, frame: Uint8Array): number {
  if (track.mediaCodec === 'opus') {
    const samples = opusPacketSamples(frame);
    return samples === null ? -1 : rescale(samples, track.timescale, 48_000);
  }
  const audio = track.extra.audio;
  if (track.mediaCodec === 'aac' && audio?.sample_rate !== undefined && audio.sample_rate > 0) return rescale(1024, track.timescale, audio.sample_rate);
  return -1;
}
