import type { H4mkReader } from '../../reader/reader.js';
import { MediaError } from '../errors.js';
import type { ExportBlocks, Selected } from '../export-selection.js';
import type { MediaTrackExtra } from '../track-extra.js';
import { rescale } from '../util.js';
import { type MkvBlockSpec, type MkvTrackSpec, MkvWriter } from './mux.js';

export const WEBM_CODECS = new Set(['V_VP8', 'V_VP9', 'V_AV1', 'A_OPUS', 'A_VORBIS', 'S_TEXT/WEBVTT']);
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

export function mkvCodecId(extra: MediaTrackExtra, mediaCodec: string): string | null {
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

export async function writeMatroska(path: string, format: 'webm' | 'matroska', selected: Selected[], reader: H4mkReader, blocks: ExportBlocks): Promise<void> {
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
