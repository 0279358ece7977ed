/**
 * The demuxer contract of the importer and the dispatcher that picks one by
 * the file's first bytes: ISO BMFF (MP4/MOV, plain or fragmented) and
 * Matroska/WebM are read by our own sample-table, fragment and EBML scanners
 * (exact decode times, edit lists, codec delay, discard padding, lacing,
 * ContentEncodings, subtitles) with mediabunny supplying codec
 * strings and decoder configurations; every other format mediabunny reads
 * (Ogg, MP3, WAV, ADTS, FLAC, MPEG-TS) comes through mediabunny's packet sinks.
 */
import type { RandomAccessSource } from '../io/source.js';
import type { TrackKind } from '../format/constants.js';
import { ByteReader } from './byte-reader.js';
import { MediaError } from './errors.js';
import type { MediaTrackExtraInit } from './track-extra.js';

/** A source track as the importer stores it (one TRAK record). */
export type MediaTrack = {
  /** Position of the track in the source (ffmpeg's stream index). */
  sourceIndex: number;
  kind: Extract<TrackKind, 'video' | 'audio' | 'subtitle'>;
  /** Codec string for TRAK ("avc1.64001f", "opus", "srt", …). */
  codec: string;
  /** mediabunny's codec name ("avc", "aac", …), or the subtitle format ("srt", "ass", "tx3g", "webvtt"). */
  mediaCodec: string;
  /** Decoder configuration (avcC, hvcC, OpusHead, AudioSpecificConfig, Matroska CodecPrivate …). */
  config: Uint8Array;
  /** Ticks per second of the packet timestamps. */
  timescale: number;
  name: string;
  language: string;
  /** Container details a lossless export needs back (docs/FORMAT.md appendix A; ./track-extra.ts). */
  extra: MediaTrackExtraInit;
};

/** One packet: timestamps in its track's timescale, presentation order semantics as ffmpeg reports them. */
export type MediaPacket = {
  /** Index into {@link MediaDemuxer.tracks}. */
  track: number;
  pts: number;
  dts: number;
  duration: number;
  keyframe: boolean;
  data: Uint8Array;
  /** Byte offset in the source, for progress. */
  offset: number;
};

/**
 * A source track that the importer leaves out, and why. A track that cannot
 * be imported fails the import unless the caller asks to skip such tracks;
 * an `empty` one (no samples) has nothing to lose and is only reported.
 */
export type SkippedTrack = { sourceIndex: number; reason: string; empty?: boolean };

/** What every demuxer provides. */
export interface MediaDemuxer {
  /** "mp4", "mov", "matroska", "webm", "ogg", "mp3", "wave", "adts", "flac", "mpegts". */
  readonly format: string;
  readonly tracks: readonly MediaTrack[];
  readonly skipped: readonly SkippedTrack[];
  /** Size of the source in bytes. */
  readonly size: number;
  /** Packets of all tracks, interleaved in file (or decode) order. */
  packets(): AsyncGenerator<MediaPacket>;
  close(): Promise<void>;
}

/** Options of {@link openMedia}. */
export type OpenMediaOptions = {
  /** Path for mediabunny's file source (formats other than MP4 and Matroska). */
  path: string;
};

/** Opens a media file: sniffs the container and returns its demuxer. */
export async function openMedia(source: RandomAccessSource, options: OpenMediaOptions): Promise<MediaDemuxer> {
  const reader = await ByteReader.open(source, options.path);
  if (reader.size === 0) throw new MediaError('E_MEDIA_FORMAT', 'the file is empty', options.path);
  const head = await reader.peek(0, 12);
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    const { openMatroska } = await import('./matroska/demux.js');
    return openMatroska(reader, options.path);
  }
  const boxType = String.fromCharCode(...head.subarray(4, 8));
  if (['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip', 'pnot'].includes(boxType)) {
    const { openMp4 } = await import('./mp4/demux.js');
    return openMp4(reader, options.path);
  }
  const { openWithMediabunny } = await import('./demux-generic.js');
  return openWithMediabunny(reader, options.path);
}
