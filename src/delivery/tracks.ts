/**
 * Which tracks of a container can be delivered, and how: fMP4 (CMAF) for
 * video and audio whose codec ISO BMFF carries, WebVTT for text subtitles.
 * Everything here comes from the track table (TRAK) alone.
 */
import type { TrackInfo } from '../reader/types.js';
import { parseMediaExtra } from '../media/track-extra.js';

/** How a track is delivered. */
export type Carriage = 'cmaf' | 'webvtt' | null;

/** A track as the playlists see it. */
export type DeliveryTrack = {
  info: TrackInfo;
  kind: 'video' | 'audio' | 'subtitle' | 'other';
  carriage: Carriage;
  /** Why the track is left out (carriage null). */
  reason: string | null;
  /** mediabunny codec name from TRAK extra (`media_codec`), or ''. */
  mediaCodec: string;
  /** RFC 6381 codec string for CODECS / @codecs. */
  codecs: string;
  width: number;
  height: number;
  sampleRate: number;
  channels: number;
  /** ISO 639 language, '' when unknown. */
  language: string;
  /** Shown name. */
  name: string;
  /** Marked default in the source (disposition or Matroska flag). */
  isDefault: boolean;
  /** Mean bit rate from the index (bits/s), at least 1. */
  bandwidth: number;
};

/** Codecs ISO BMFF (fMP4) carries, by mediabunny codec name. */
const CMAF_CODECS = new Set(['avc', 'hevc', 'av1', 'vp9', 'aac', 'opus', 'flac', 'mp3', 'ac3', 'eac3']);
/** Subtitle codecs turned into WebVTT cues. */
const TEXT_CODECS = new Set(['webvtt', 'srt', 'ass', 'ssa', 'tx3g']);

/** The RFC 6381 string matching the sample entry mediabunny writes (hvc1, avc1, …). */
function codecString(mediaCodec: string, codec: string): string {
  const rest = codec.includes('.') ? codec.slice(codec.indexOf('.')) : '';
  switch (mediaCodec) {
    case 'avc':
      return `avc1${rest}`;
    case 'hevc':
      return `hvc1${rest}`;
    case 'flac':
      return 'fLaC';
    case 'opus':
      return 'opus';
    case 'mp3':
      return 'mp4a.40.34';
    case 'ac3':
      return 'ac-3';
    case 'eac3':
      return 'ec-3';
    default:
      return codec;
  }
}

/** The delivery view of a track. `durationUs`: the container's duration, for the bit rate. */
export function deliveryTrack(info: TrackInfo): DeliveryTrack {
  const extra = parseMediaExtra(info.extra);
  const mediaCodec = extra.media_codec ?? '';
  const kind = info.kind === 'video' || info.kind === 'audio' || info.kind === 'subtitle' ? info.kind : 'other';
  let carriage: Carriage = null;
  let reason: string | null = null;
  if (kind === 'other') reason = `a ${info.kind} track is not media`;
  else if (info.blockCount === 0) reason = 'no blocks';
  else if (mediaCodec === '') reason = `codec ${info.codec} is not an imported media codec (no media_codec in TRAK extra)`;
  else if (kind === 'subtitle') {
    if (TEXT_CODECS.has(mediaCodec)) carriage = 'webvtt';
    else reason = `subtitle codec ${info.codec} cannot be turned into WebVTT`;
  } else if (CMAF_CODECS.has(mediaCodec)) carriage = 'cmaf';
  else reason = `codec ${info.codec} (${mediaCodec}) cannot be carried in fMP4`;
  const spanUs = info.firstPtsUs === null || info.lastPtsUs === null ? 0 : info.lastPtsUs - info.firstPtsUs;
  const bandwidth = Math.max(1, Math.round(spanUs > 0 ? (info.storedBytes * 8 * 1e6) / spanUs : info.storedBytes * 8));
  const language = /^[a-z]{2,3}$/.test(info.language) && info.language !== 'und' ? info.language : '';
  return {
    info,
    kind,
    carriage,
    reason,
    mediaCodec,
    codecs: codecString(mediaCodec, info.codec),
    width: extra.video?.width ?? 0,
    height: extra.video?.height ?? 0,
    sampleRate: extra.audio?.sample_rate ?? 48_000,
    channels: extra.audio?.channels ?? 2,
    language,
    name: info.name !== '' ? info.name : info.id,
    isDefault: extra.disposition?.default === true || extra.matroska?.flags?.default === 1,
    bandwidth,
  };
}
