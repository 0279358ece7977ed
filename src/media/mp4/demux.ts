/**
 * MP4/MOV demuxing: samples from our own sample-table parser (exact dts from
 * stts, composition offsets from ctts, sync samples from stss, the edit list
 * applied as ffmpeg applies it), streamed in file order across tracks;
 * codec strings and decoder configurations from mediabunny. Timed text
 * (tx3g / mov_text), which mediabunny skips, is read the same way.
 * Fragmented MP4 (CMAF, `-movflags frag_keyframe+empty_moov`) is read the
 * same way from its movie fragments: decode times from tfdt and the trun
 * durations, composition offsets and sync flags from the trun.
 */
import type { ByteReader } from '../byte-reader.js';
import { readCodecInfo } from '../codec-info.js';
import type { MediaDemuxer, MediaPacket, MediaTrack, SkippedTrack } from '../demux.js';
import { MediaError } from '../errors.js';
import type { MediaTrackExtraInit, Mp4ExtraInit } from '../track-extra.js';
import { editShift, type Mp4Edit, type Mp4Movie, type Mp4Track, readMp4Movie } from './boxes.js';
import { toBase64 } from '../../format/bytes.js';

const TEXT_ENTRIES = new Set(['tx3g', 'text', 'wvtt', 'stpp', 'c608']);

export async function openMp4(reader: ByteReader, path: string): Promise<MediaDemuxer> {
  const movie = await readMp4Movie(reader);
  const info = await readCodecInfo(reader.source, path);
  info.input.dispose();
  const tracks: MediaTrack[] = [];
  const tables: Mp4Track[] = [];
  const skipped: SkippedTrack[] = [];
  movie.tracks.forEach((t, sourceIndex) => {
    const codec = info.tracks.find((c) => c.id === t.trackId);
    const common = mp4Extra(movie, t, sourceIndex);
    if (t.sampleCount === 0) {
      skipped.push({ sourceIndex, reason: `track ${t.trackId} has no samples`, empty: true });
      return;
    }
    if (codec !== undefined) {
      const extra: MediaTrackExtraInit = { ...common, disposition: codec.disposition };
      if (codec.video !== undefined) extra.video = codec.video;
      if (codec.audio !== undefined) extra.audio = { sample_rate: codec.audio.sampleRate, channels: codec.audio.channels };
      tracks.push({
        sourceIndex,
        kind: codec.kind,
        codec: codec.codec,
        mediaCodec: codec.mediaCodec,
        config: codec.description ?? new Uint8Array(0),
        timescale: t.timescale,
        name: codec.name ?? '',
        language: t.language === 'und' ? '' : t.language,
        extra,
      });
      tables.push(t);
    } else if (TEXT_ENTRIES.has(t.sampleEntry) || t.handler === 'sbtl' || t.handler === 'text' || t.handler === 'subt') {
      // ffmpeg's muxer ends timed text with an empty sample of duration 0, and its demuxer
      // does not return it; leave it out the same way and note it for the export.
      const last = t.sampleCount - 1;
      if (t.sampleCount > 1 && t.sizes[last] === 2 && t.endDts === t.dts[last]) {
        t.sampleCount--;
        common.mp4.trailing_empty_sample = true;
      }
      tracks.push({
        sourceIndex,
        kind: 'subtitle',
        codec: t.sampleEntry === 'text' ? 'tx3g' : t.sampleEntry,
        mediaCodec: t.sampleEntry === 'text' ? 'tx3g' : t.sampleEntry,
        // The whole sample entry: the text box and style defaults live there.
        config: t.stsdEntry ?? new Uint8Array(0),
        timescale: t.timescale,
        name: '',
        language: t.language === 'und' ? '' : t.language,
        extra: common,
      });
      tables.push(t);
    } else if (t.handler === 'vide' || t.handler === 'soun') {
      skipped.push({ sourceIndex, reason: `track ${t.trackId} (${t.handler}/${t.sampleEntry}): codec not readable by mediabunny` });
    } else skipped.push({ sourceIndex, reason: `track ${t.trackId} (${t.handler}/${t.sampleEntry}) is not audio, video or subtitles` });
  });
  if (tracks.length === 0) throw new MediaError('E_MEDIA_FORMAT', 'the file has no audio, video or subtitle track', path);
  for (const t of tables) {
    const last = t.sampleCount - 1;
    if ((t.offsets[last] as number) + (t.sizes[last] as number) > reader.size) {
      throw new MediaError('E_MEDIA_TRUNCATED', `the file ends early: track ${t.trackId}'s last sample ends past byte ${reader.size}`, path);
    }
  }
  return {
    format: movie.majorBrand === 'qt  ' ? 'mov' : 'mp4',
    tracks,
    skipped,
    size: reader.size,
    packets: () => packets(reader, movie, tables),
    close: async () => {},
  };
}

/** The mp4 details of a track that an MP4 export restores. */
function mp4Extra(movie: Mp4Movie, t: Mp4Track, sourceIndex: number): MediaTrackExtraInit & { mp4: Mp4ExtraInit } {
  const mp4: Mp4ExtraInit = {
    track_id: t.trackId,
    handler: t.handler,
    sample_entry: t.sampleEntry,
    movie_timescale: movie.movieTimescale,
    media_duration: t.mediaDuration,
    ctts_version: t.cttsVersion,
    matrix: t.tkhdMatrix,
  };
  if (t.edits !== null) {
    // In a fragmented movie a segment_duration of 0 means "to the end of the track" (fragments included);
    // an export writes a plain MP4, so it is stored as the length from media_time to the last sample's end.
    const toEnd = (e: Mp4Edit) =>
      movie.fragmented && e.segmentDuration === 0 && e.mediaTime >= 0
        ? Math.max(0, Math.round(((presentationEnd(t) - e.mediaTime) * movie.movieTimescale) / t.timescale))
        : e.segmentDuration;
    mp4.edits = t.edits.map((e) => ({ segment_duration: toEnd(e), media_time: e.mediaTime, rate: e.rateInteger, rate_fraction: e.rateFraction }));
    mp4.elst_version = t.elstVersion;
  }
  if (!t.hasStss) mp4.all_sync = true;
  if (movie.fragmented) mp4.fragmented = true;
  if (t.stsdEntry !== null && t.handler !== 'vide' && t.handler !== 'soun') mp4.stsd_entry_b64 = toBase64(t.stsdEntry);
  return { source: { container: movie.majorBrand === 'qt  ' ? 'mov' : 'mp4', index: sourceIndex }, mp4 };
}

/** The end of the track's last presented sample, in media time (largest dts + composition offset + duration). */
function presentationEnd(t: Mp4Track): number {
  let end = 0;
  for (let i = 0; i < t.sampleCount; i++) {
    const next = i + 1 < t.sampleCount ? (t.dts[i + 1] as number) : t.endDts;
    end = Math.max(end, next + (t.cts[i] as number));
  }
  return end;
}

/** Samples of all tracks in file order (the next sample with the smallest offset). */
async function* packets(reader: ByteReader, movie: Mp4Movie, tables: Mp4Track[]): AsyncGenerator<MediaPacket> {
  const next = tables.map(() => 0);
  const shifts = tables.map((t) => editShift(t, movie.movieTimescale));
  for (;;) {
    let best = -1;
    let bestOffset = Infinity;
    for (let k = 0; k < tables.length; k++) {
      const t = tables[k] as Mp4Track;
      const i = next[k] as number;
      if (i < t.sampleCount && (t.offsets[i] as number) < bestOffset) {
        best = k;
        bestOffset = t.offsets[i] as number;
      }
    }
    if (best < 0) return;
    const t = tables[best] as Mp4Track;
    const i = next[best] as number;
    next[best] = i + 1;
    const dts = (t.dts[i] as number) + (shifts[best] as number);
    const end = i + 1 < t.sampleCount ? (t.dts[i + 1] as number) : t.endDts;
    yield {
      track: best,
      pts: dts + (t.cts[i] as number),
      dts,
      duration: end - (t.dts[i] as number),
      keyframe: t.sync[i] === 1,
      data: await reader.copy(bestOffset, t.sizes[i] as number),
      offset: bestOffset,
    };
  }
}
