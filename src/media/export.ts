/**
 * Media export: media tracks of a container back into MP4, WebM or
 * Matroska without re-encoding, whole or as a window cut at keyframes.
 * What the source container had and the format has no field for (edit
 * lists, codec delay, discard padding, BlockGroups, timescales) comes back
 * from the TRAK `extra` object the importer wrote, read through
 * ./track-extra.ts (a malformed field falls back to its default).
 */
import { extname } from 'node:path';
import { ticksToUs } from '../format/time.js';
import type { H4mkReader, Block } from '../reader/reader.js';
import type { TrackInfo } from '../reader/types.js';
import { MediaError } from './errors.js';
import type { Mp4Edit } from './mp4/boxes.js';
import { colourOfExtra } from './codec/colour.js';
import { Mp4Exporter, type Mp4TrackSpec } from './mp4/mux.js';
import { type MkvBlockSpec, type MkvTrackSpec, MkvWriter } from './matroska/mux.js';
import { type MediaTrackExtra, parseMediaExtra } from './track-extra.js';
import { rescale } from './util.js';

/** Target container formats. */
export type ExportFormat = 'mp4' | 'webm' | 'matroska';

/** Options of {@link exportMedia}. */
export type ExportOptions = {
  /** Target format; default from the output's extension (.mp4/.m4v/.mov, .webm, .mkv/.mka/.mks). */
  format?: ExportFormat;
  /** Track ids or numbers; default every media track the format can hold. */
  tracks?: ReadonlyArray<string | number>;
  /** Window start, µs: the export starts at the last keyframe at or before it (of the first video track). */
  fromUs?: number;
  /** Window end, µs: the export ends before the first keyframe at or after it. */
  toUs?: number;
  onProgress?: (done: number, total: number) => void;
};

/** What {@link exportMedia} reports. */
export type ExportSummary = {
  format: ExportFormat;
  tracks: { id: string; codec: string; blocks: number; bytes: number }[];
  skipped: { id: string; reason: string }[];
  blocks: number;
  bytes: number;
  /** The exported window in source µs (keyframe-aligned), when one was asked for. */
  window: { fromUs: number; toUs: number | null } | null;
};

/** The target format of an output path. */
export function formatOfPath(path: string): ExportFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.mp4' || ext === '.m4v' || ext === '.m4a' || ext === '.mov') return 'mp4';
  if (ext === '.webm') return 'webm';
  if (ext === '.mkv' || ext === '.mka' || ext === '.mks') return 'matroska';
  return null;
}

const WEBM_CODECS = new Set(['V_VP8', 'V_VP9', 'V_AV1', 'A_OPUS', 'A_VORBIS', 'S_TEXT/WEBVTT']);
const MKV_CODEC_IDS: Record<string, string> = {
  avc: 'V_MPEG4/ISO/AVC',
  hevc: 'V_MPEGH/ISO/HEVC',
  vp8: 'V_VP8',
  vp9: 'V_VP9',
  av1: 'V_AV1',
  aac: 'A_AAC',
  opus: 'A_OPUS',
  vorbis: 'A_VORBIS',
  flac: 'A_FLAC',
  mp3: 'A_MPEG/L3',
  ac3: 'A_AC3',
  eac3: 'A_EAC3',
  'pcm-s16': 'A_PCM/INT/LIT',
  'pcm-s24': 'A_PCM/INT/LIT',
  'pcm-s32': 'A_PCM/INT/LIT',
  'pcm-f32': 'A_PCM/FLOAT/IEEE',
  srt: 'S_TEXT/UTF8',
  ass: 'S_TEXT/ASS',
  webvtt: 'S_TEXT/WEBVTT',
};

/** A track chosen for export, with its window. */
type Selected = {
  info: TrackInfo;
  /** TRAK extra, validated (appendix A; malformed fields dropped). */
  extra: MediaTrackExtra;
  mediaCodec: string;
  /** First and last (exclusive) core_index of the window for video tracks; pts bounds (ticks) for every track. */
  fromCore: number;
  toCore: number;
  fromPts: number;
  toPts: number;
  /** Ticks subtracted from every timestamp (window start). */
  rebase: number;
  blocks: number;
  bytes: number;
};

/** Exports media tracks of the container `reader` to `outputPath`. Nothing appears at the path on failure. */
export async function exportMedia(reader: H4mkReader, outputPath: string, options: ExportOptions = {}): Promise<ExportSummary> {
  const format = options.format ?? formatOfPath(outputPath);
  if (format === null) throw new MediaError('E_MEDIA_UNSUPPORTED', 'cannot tell the output format from the extension (use .mp4, .webm or .mkv)', outputPath);
  const skipped: { id: string; reason: string }[] = [];
  const wanted = options.tracks === undefined ? reader.tracks() : options.tracks.map((t) => reader.track(t));
  const selected: Selected[] = [];
  for (const t of wanted) {
    const extra = parseMediaExtra(t.extra);
    const mediaCodec = extra.media_codec ?? null;
    const reason =
      t.kind !== 'video' && t.kind !== 'audio' && t.kind !== 'subtitle'
        ? `a ${t.kind} track is not media`
        : mediaCodec === null
          ? 'not an imported media track (no media_codec)'
          : t.blockCount === 0
            ? 'no blocks'
            : format === 'mp4' && t.kind === 'subtitle' && mediaCodec !== 'tx3g'
              ? `${t.codec} subtitles are not written to MP4 (only tx3g timed text; .mkv keeps them)`
              : format === 'webm' && !WEBM_CODECS.has(mkvCodecId(extra, mediaCodec) ?? '')
                ? `codec ${t.codec} is not allowed in WebM (export to .mkv)`
                : format === 'matroska' && mkvCodecId(extra, mediaCodec as string) === null
                  ? `codec ${t.codec} has no Matroska codec ID (export to .mp4)`
                  : null;
    if (reason !== null) {
      if (options.tracks !== undefined) throw new MediaError('E_MEDIA_UNSUPPORTED', `track ${t.id}: ${reason}`, outputPath);
      skipped.push({ id: t.id, reason });
      continue;
    }
    selected.push({
      info: t,
      extra,
      mediaCodec: mediaCodec as string,
      fromCore: 0,
      toCore: Infinity,
      fromPts: -Infinity,
      toPts: Infinity,
      rebase: 0,
      blocks: 0,
      bytes: 0,
    });
  }
  if (selected.length === 0) {
    const reasons = skipped.map((s) => `${s.id}: ${s.reason}`).join('; ');
    throw new MediaError('E_MEDIA_UNSUPPORTED', `no track of the container can be exported to ${format}${reasons === '' ? '' : ` (${reasons})`}`, outputPath);
  }
  const window = await applyWindow(reader, selected, options);

  const total = selected.reduce((a, s) => a + s.info.blockCount, 0);
  let done = 0;
  const byNumber = new Map(selected.map((s) => [s.info.number, s]));
  const blocks = async function* (): AsyncGenerator<{ s: Selected; block: Block }> {
    // A window without a start (toUs alone) reads from the first block: −∞ has no µs view.
    const starts = selected.map((s) => (Number.isFinite(s.fromPts) ? ticksToUs(s.fromPts, s.info.timescale) : -Infinity));
    const fromUs = Math.min(...starts);
    const query = { tracks: selected.map((s) => s.info.number), ...(window === null || !Number.isFinite(fromUs) ? {} : { fromUs }) };
    for await (const b of reader.blocks(query)) {
      const s = byNumber.get(b.trackNumber) as Selected;
      done++;
      options.onProgress?.(done, total);
      if (b.coreIndex < s.fromCore || b.coreIndex >= s.toCore || b.pts < s.fromPts || b.pts >= s.toPts) continue;
      s.blocks++;
      s.bytes += b.payload.length;
      yield { s, block: b };
    }
  };

  if (format === 'mp4') await writeMp4(outputPath, selected, window !== null, blocks());
  else await writeMatroska(outputPath, format, selected, reader, blocks());
  return {
    format,
    tracks: selected.map((s) => ({ id: s.info.id, codec: s.info.codec, blocks: s.blocks, bytes: s.bytes })),
    skipped,
    blocks: selected.reduce((a, s) => a + s.blocks, 0),
    bytes: selected.reduce((a, s) => a + s.bytes, 0),
    window,
  };
}

/**
 * Sets each track's window. Video tracks start at their last keyframe at or
 * before the window start and end before their first keyframe at or after
 * the window end; the first video track's keyframes set the bounds (µs) of
 * the other tracks. Timestamps are rebased so the window starts at 0.
 */
async function applyWindow(reader: H4mkReader, selected: Selected[], options: ExportOptions): Promise<{ fromUs: number; toUs: number | null } | null> {
  if (options.fromUs === undefined && options.toUs === undefined) return null;
  for (const [name, value] of [
    ['fromUs', options.fromUs],
    ['toUs', options.toUs],
  ] as const) {
    if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value)))
      throw new RangeError(`${name} must be a number of microseconds, got ${String(value)}`);
  }
  // Either end may be absent (or infinite): the window is then open on that side.
  const fromUs = options.fromUs ?? -Infinity;
  const toUs = options.toUs ?? Infinity;
  if (!(fromUs < toUs)) throw new RangeError('the window is empty: --from-us must be below --to-us');
  const cut = async (s: Selected, from: number, to: number) => {
    const start = Number.isFinite(from) ? await reader.seek(s.info.number, from) : null;
    let end: Block | null = null;
    if (Number.isFinite(to)) {
      for await (const b of reader.infos({ tracks: [s.info.number], fromUs: to, keyframesOnly: true })) {
        end = b as Block;
        break;
      }
    }
    s.fromCore = start?.coreIndex ?? 0;
    s.fromPts = start?.pts ?? -Infinity;
    s.toCore = end?.coreIndex ?? Infinity;
    s.toPts = end?.pts ?? Infinity;
    return { startUs: start?.ptsUs ?? (s.info.firstPtsUs as number), endUs: end?.ptsUs ?? null };
  };
  const primary = selected.find((s) => s.info.kind === 'video');
  let startUs: number;
  let endUs: number | null;
  if (primary !== undefined) {
    ({ startUs, endUs } = await cut(primary, fromUs, toUs));
    primary.rebase = primary.fromPts === -Infinity ? 0 : primary.fromPts;
    if (primary.fromPts === -Infinity) startUs = 0;
  } else {
    startUs = Number.isFinite(fromUs) ? fromUs : 0;
    endUs = Number.isFinite(toUs) ? toUs : null;
  }
  for (const s of selected) {
    if (s === primary) continue;
    const ts = s.info.timescale;
    const fromTicks = Math.ceil((startUs * ts) / 1e6);
    const toTicks = endUs === null ? Infinity : Math.ceil((endUs * ts) / 1e6);
    // Without a start, every track keeps its first blocks (as a whole export does).
    const lower = Number.isFinite(fromUs) ? fromTicks : -Infinity;
    if (s.info.kind === 'video') {
      await cut(s, Number.isFinite(fromUs) ? startUs : -Infinity, endUs ?? Infinity);
      s.fromPts = Math.max(s.fromPts, lower);
    } else {
      s.fromPts = lower;
      s.toPts = toTicks;
    }
    s.rebase = startUs === 0 ? 0 : Math.floor((startUs * ts) / 1e6);
  }
  return { fromUs: startUs, toUs: endUs };
}

// --- MP4 ---------------------------------------------------------------

async function writeMp4(path: string, selected: Selected[], windowed: boolean, blocks: AsyncGenerator<{ s: Selected; block: Block }>): Promise<void> {
  const movieScales = new Set(selected.map((s) => s.extra.mp4?.movie_timescale ?? null));
  const movieTimescale = movieScales.size === 1 ? ([...movieScales][0] ?? 1000) : 1000;
  const muxer = Mp4Exporter.create(path, movieTimescale);
  const index = new Map<Selected, number>();
  try {
    for (const s of selected) {
      const t = s.info;
      const { mp4, video, audio } = s.extra;
      const edits = !windowed && mp4 !== undefined ? sourceEdits(mp4) : 'auto';
      const spec: Mp4TrackSpec = {
        kind: t.kind as 'video' | 'audio' | 'subtitle',
        mediaCodec: s.mediaCodec,
        codec: t.codec,
        config: t.config,
        timescale: t.timescale,
        language: t.language,
        name: t.name,
        edits,
        ...(video === undefined ? {} : { video: { width: video.width ?? 0, height: video.height ?? 0, rotation: video.rotation ?? 0 } }),
        ...(audio === undefined ? {} : { audio: { sampleRate: audio.sample_rate ?? 48000, channels: audio.channels ?? 2 } }),
      };
      const colour = colourOfExtra(s.extra);
      if (colour !== null) spec.colorSpace = colour;
      if (mp4?.matrix !== undefined && !windowed) spec.matrix = mp4.matrix;
      if (mp4?.trailing_empty_sample === true && !windowed) spec.trailingEmptySample = true;
      if (mp4?.ctts_version !== undefined && !windowed) spec.cttsVersion = mp4.ctts_version;
      index.set(s, muxer.addTrack(spec));
    }
    for await (const { s, block } of blocks) {
      await muxer.writePacket(index.get(s) as number, {
        pts: block.pts - s.rebase,
        dts: block.dts - s.rebase,
        duration: block.duration,
        keyframe: block.keyframe,
        data: block.payload,
      });
    }
    await muxer.finish();
  } catch (error) {
    await muxer.abort();
    throw error;
  }
}

function sourceEdits(mp4: NonNullable<MediaTrackExtra['mp4']>): Mp4Edit[] | null {
  return (
    mp4.edits?.map((e) => ({
      segmentDuration: e.segment_duration,
      mediaTime: e.media_time,
      rateInteger: e.rate ?? 1,
      rateFraction: e.rate_fraction ?? 0,
    })) ?? null
  );
}

// --- Matroska / WebM ---------------------------------------------------------

function mkvCodecId(extra: MediaTrackExtra, mediaCodec: string): string | null {
  return extra.matroska?.codec_id ?? MKV_CODEC_IDS[mediaCodec] ?? null;
}

/** Pre-skip of an OpusHead (RFC 7845 §5.1), samples at 48 kHz. */
function opusPreSkip(config: Uint8Array): number {
  return config.length >= 12 && String.fromCharCode(...config.subarray(0, 8)) === 'OpusHead' ? (config[10] as number) | ((config[11] as number) << 8) : 0;
}

type MkvPlan = {
  s: Selected;
  number: number;
  /** Ticks added before conversion to Matroska units (codec delay). */
  shift: number;
  groups: 'all' | 'none' | Set<number>;
  durations: 'all' | 'none' | Set<number>;
  discard: Record<string, number>;
  invisible: Set<number>;
};

async function writeMatroska(
  path: string,
  format: 'webm' | 'matroska',
  selected: Selected[],
  reader: H4mkReader,
  blocks: AsyncGenerator<{ s: Selected; block: Block }>,
): Promise<void> {
  const scales = new Set(selected.map((s) => s.extra.matroska?.timestamp_scale ?? null));
  const timestampScale = scales.size === 1 ? ([...scales][0] ?? 1_000_000) : 1_000_000;
  const plans = new Map<Selected, MkvPlan>();
  const specs: MkvTrackSpec[] = [];
  selected.forEach((s, i) => {
    const t = s.info;
    const m = s.extra.matroska;
    const codecId = mkvCodecId(s.extra, s.mediaCodec);
    if (codecId === null) throw new MediaError('E_MEDIA_UNSUPPORTED', `codec ${t.codec} has no Matroska codec ID`, path);
    let codecDelayNs = m?.codec_delay_ns ?? 0;
    let shift = m?.pts_shift ?? 0;
    if (m === undefined && s.mediaCodec === 'opus') {
      // Opus from MP4 or Ogg: the pre-skip becomes CodecDelay, as ffmpeg writes it.
      codecDelayNs = Math.round((opusPreSkip(t.config) * 1e9) / 48_000);
      shift = rescale(codecDelayNs, t.timescale, 1e9);
    }
    const { video, audio } = s.extra;
    const mv = m?.video;
    const ma = m?.audio;
    const spec: MkvTrackSpec = {
      number: i + 1,
      uid: m?.track_uid ?? i + 1,
      type: t.kind === 'video' ? 1 : t.kind === 'audio' ? 2 : 17,
      codecId,
      codecPrivate: m?.no_codec_private === true || t.config.length === 0 ? null : t.config,
      codecDelayNs,
      seekPreRollNs: m?.seek_pre_roll_ns ?? (s.mediaCodec === 'opus' ? 80_000_000 : 0),
      defaultDurationNs: m?.default_duration_ns ?? null,
      name: t.name,
      language: m === undefined ? (t.language === '' ? 'und' : t.language) : (m.language ?? null),
      ...(m === undefined ? {} : { flags: m.flags ?? {} }),
    };
    if (t.kind === 'video') {
      spec.video =
        mv !== undefined
          ? {
              pixelWidth: mv.pixel_width ?? 0,
              pixelHeight: mv.pixel_height ?? 0,
              displayWidth: mv.display_width ?? null,
              displayHeight: mv.display_height ?? null,
            }
          : { pixelWidth: video?.width ?? 0, pixelHeight: video?.height ?? 0 };
    }
    if (t.kind === 'audio') {
      spec.audio =
        ma !== undefined
          ? { samplingFrequency: ma.sampling_frequency ?? 48000, channels: ma.channels ?? 2, bitDepth: ma.bit_depth ?? null }
          : {
              samplingFrequency: audio?.sample_rate ?? 48000,
              channels: audio?.channels ?? 2,
              ...(audio?.bit_depth === undefined ? {} : { bitDepth: audio.bit_depth }),
            };
    }
    specs.push(spec);
    // "mixed" (lists too long for extra): BlockGroups only where a duration or DiscardPadding needs one.
    const set = (v: 'all' | 'none' | 'mixed' | number[] | undefined, fallback: 'all' | 'none'): 'all' | 'none' | Set<number> =>
      v === undefined ? fallback : v === 'mixed' ? 'none' : Array.isArray(v) ? new Set(v) : v;
    plans.set(s, {
      s,
      number: i + 1,
      shift,
      groups: set(m?.block_groups, t.kind === 'subtitle' ? 'all' : 'none'),
      durations: set(m?.block_durations, t.kind === 'subtitle' ? 'all' : 'none'),
      discard: m?.discard_padding ?? {},
      invisible: new Set(m?.invisible ?? []),
    });
  });
  // Matroska timestamps are unsigned at the cluster level: shift everything up if a track starts below 0.
  let offsetNs = 0;
  for (const s of selected) {
    const p = plans.get(s) as MkvPlan;
    const first = Math.max(s.fromPts, s.info.firstPts ?? 0) - s.rebase + p.shift;
    offsetNs = Math.max(offsetNs, (-first * 1e9) / s.info.timescale);
  }
  const toUnits = (ticks: number, timescale: number) => Math.round((ticks * 1e9) / timescale / timestampScale + offsetNs / timestampScale);
  const title = reader.meta.title;
  const writer = await MkvWriter.create(path, { docType: format, timestampScale, ...(typeof title === 'string' ? { title } : {}), tracks: specs });
  try {
    for await (const { s, block } of blocks) {
      const p = plans.get(s) as MkvPlan;
      const ts = s.info.timescale;
      const has = (v: 'all' | 'none' | Set<number>) => v === 'all' || (v !== 'none' && v.has(block.pts));
      const withDuration = has(p.durations);
      const discard = p.discard[String(block.pts)];
      const spec: MkvBlockSpec = {
        track: p.number,
        timestamp: toUnits(block.pts - s.rebase + p.shift, ts),
        keyframe: block.keyframe,
        group: has(p.groups) || withDuration || discard !== undefined,
        duration: withDuration ? Math.round((block.duration * 1e9) / ts / timestampScale) : null,
        discardPadding: discard ?? null,
        invisible: p.invisible.has(block.pts),
        data: block.payload,
      };
      await writer.writeBlock(spec);
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
