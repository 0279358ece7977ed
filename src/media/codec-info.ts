/**
 * What mediabunny knows about a track: the codec parameter string, the
 * decoder configuration (WebCodecs `description`: avcC, hvcC, OpusHead,
 * AudioSpecificConfig, …), picture and sound parameters, disposition.
 */
import { ALL_FORMATS, CustomSource, Input, type InputTrack, type Rotation, type TrackDisposition } from 'mediabunny';
import type { RandomAccessSource } from '../io/source.js';
import { type ColourDescription, colourFromInit } from './codec/colour.js';
import { MediaError } from './errors.js';

/** Codec facts of one track. */
export type CodecInfo = {
  id: number;
  kind: 'video' | 'audio';
  /** mediabunny codec name ("avc", "hevc", "vp9", "aac", "opus", …). */
  mediaCodec: string;
  /** Codec parameter string ("avc1.64001f", "mp4a.40.2", "opus", …). */
  codec: string;
  description: Uint8Array | null;
  timeResolution: number;
  name: string | null;
  language: string;
  disposition: TrackDisposition;
  video?: { width: number; height: number; rotation: Rotation; displayWidth: number; displayHeight: number; color?: ColourDescription };
  audio?: { sampleRate: number; channels: number };
};

/** mediabunny's view of one of our sources (reads go through it; closing it stays with the caller). */
export function mediabunnySource(source: RandomAccessSource): CustomSource {
  return new CustomSource({ getSize: () => source.size(), read: (start, end) => source.read(start, end - start), maxCacheSize: 16 * 1024 * 1024 });
}

/** Opens `source` with mediabunny (all formats) and reports every audio and video track; `path` names it in errors. */
export async function readCodecInfo(source: RandomAccessSource, path: string): Promise<{ input: Input; format: string; tracks: CodecInfo[] }> {
  const input = new Input({ source: mediabunnySource(source), formats: ALL_FORMATS });
  try {
    const format = await input.getFormat().catch(() => null);
    if (format === null)
      throw new MediaError('E_MEDIA_FORMAT', 'not a media file h4mk can import (MP4/MOV, Matroska/WebM, Ogg, MP3, WAV, ADTS, FLAC, MPEG-TS)', path);
    const tracks: CodecInfo[] = [];
    for (const t of await input.getTracks()) tracks.push(await describe(t));
    return { input, format: format.name, tracks };
  } catch (error) {
    input.dispose();
    if (error instanceof MediaError) throw error;
    throw new MediaError('E_MEDIA_FORMAT', `cannot read the media file: ${error instanceof Error ? error.message : String(error)}`, path, { cause: error });
  }
}

/** The codec facts of one mediabunny track. */
export async function describe(t: InputTrack): Promise<CodecInfo> {
  const config = t.isVideoTrack() ? await t.getDecoderConfig() : t.isAudioTrack() ? await t.getDecoderConfig() : null;
  const description = config?.description;
  const base = {
    id: t.id,
    mediaCodec: (await t.getCodec()) ?? String(await t.getInternalCodecId()),
    codec: (await t.getCodecParameterString()) ?? String(await t.getInternalCodecId()),
    description: description === undefined ? null : toBytes(description),
    timeResolution: await t.getTimeResolution(),
    name: await t.getName(),
    language: await t.getLanguageCode(),
    disposition: { ...(await t.getDisposition()) },
  };
  if (t.isVideoTrack()) {
    // The container's colour description (MP4 colr, Matroska Colour), kept so pictures keep their colours.
    const color = colourFromInit(await t.getColorSpace().catch(() => null));
    return {
      ...base,
      kind: 'video',
      video: {
        width: await t.getCodedWidth(),
        height: await t.getCodedHeight(),
        rotation: await t.getRotation(),
        displayWidth: await t.getDisplayWidth(),
        displayHeight: await t.getDisplayHeight(),
        ...(color === null ? {} : { color }),
      },
    };
  }
  if (t.isAudioTrack()) return { ...base, kind: 'audio', audio: { sampleRate: await t.getSampleRate(), channels: await t.getNumberOfChannels() } };
  throw new MediaError('E_MEDIA_UNSUPPORTED', `track ${t.id} is neither audio nor video`);
}

function toBytes(d: AllowSharedBufferSource): Uint8Array {
  if (d instanceof Uint8Array) return d.slice();
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
  return new Uint8Array(d.slice(0));
}
