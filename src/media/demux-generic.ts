/**
 * Demuxing through mediabunny's packet sinks, for the formats other than
 * MP4/MOV (plain or fragmented) and Matroska: Ogg, MP3, WAV, ADTS, FLAC
 * and MPEG-TS. Tracks are merged by timestamp. Timestamps are
 * `round(seconds · resolution)`, with the sample rate as the resolution of
 * MP3 and ADTS; video decode times are derived from presentation order
 * (./timing.ts) in a metadata-only first pass.
 */
import { EncodedPacketSink, type EncodedPacket, type InputTrack } from 'mediabunny';
import type { ByteReader } from './byte-reader.js';
import { readCodecInfo } from './codec-info.js';
import type { MediaDemuxer, MediaPacket, MediaTrack } from './demux.js';
import { MediaError } from './errors.js';
import type { MediaTrackExtraInit } from './track-extra.js';
import { decodeOrderTimes } from './timing.js';
import { GrowableF64 } from './util.js';

/** Our format ids by mediabunny's format names (lower case). */
const FORMAT_IDS: Record<string, string> = {
  mp4: 'mp4',
  quicktime: 'mov',
  matroska: 'matroska',
  webm: 'webm',
  ogg: 'ogg',
  mp3: 'mp3',
  wave: 'wave',
  adts: 'adts',
  flac: 'flac',
  'mpeg-ts': 'mpegts',
  'mpeg transport stream': 'mpegts',
};

export async function openWithMediabunny(reader: ByteReader, path: string): Promise<MediaDemuxer> {
  const { input, format, tracks: infos } = await readCodecInfo(reader.source, path);
  try {
    const formatId = FORMAT_IDS[format.toLowerCase()] ?? format.toLowerCase();
    const inputTracks = await input.getTracks();
    if (infos.length === 0) throw new MediaError('E_MEDIA_FORMAT', 'the file has no audio or video track', path);
    const tracks: MediaTrack[] = [];
    const dtsTables: (Float64Array | null)[] = [];
    for (const [k, info] of infos.entries()) {
      const t = inputTracks[k] as InputTrack;
      const timescale = (formatId === 'mp3' || formatId === 'adts') && info.audio !== undefined ? info.audio.sampleRate : info.timeResolution;
      const extra: MediaTrackExtraInit = { source: { container: formatId, index: k, track_id: info.id }, disposition: info.disposition };
      if (info.video !== undefined) extra.video = info.video;
      if (info.audio !== undefined) extra.audio = { sample_rate: info.audio.sampleRate, channels: info.audio.channels };
      tracks.push({
        sourceIndex: k,
        kind: info.kind,
        codec: info.codec,
        mediaCodec: info.mediaCodec,
        config: info.description ?? new Uint8Array(0),
        timescale,
        name: info.name ?? '',
        language: info.language === 'und' ? '' : info.language,
        extra,
      });
      if (info.kind === 'video') {
        const pts = new GrowableF64();
        for await (const p of new EncodedPacketSink(t).packets(undefined, undefined, { metadataOnly: true })) pts.push(Math.round(p.timestamp * timescale));
        const times = decodeOrderTimes(pts.view(), true);
        dtsTables.push(times.dts);
        if (times.delay > 0) extra.dts_derived = 'presentation_order';
      } else dtsTables.push(null);
    }
    return {
      format: formatId,
      tracks,
      skipped: [],
      size: reader.size,
      packets: () => packets(inputTracks.slice(0, infos.length), tracks, dtsTables, reader.size, path),
      close: async () => input.dispose(),
    };
  } catch (error) {
    input.dispose();
    throw error;
  }
}

/** Packets of all tracks, merged by decode time (ties: track order). */
async function* packets(
  inputTracks: InputTrack[],
  tracks: MediaTrack[],
  dtsTables: (Float64Array | null)[],
  size: number,
  path: string,
): AsyncGenerator<MediaPacket> {
  const iterators = inputTracks.map((t) => new EncodedPacketSink(t).packets()[Symbol.asyncIterator]());
  const heads: (EncodedPacket | null)[] = [];
  const counters = inputTracks.map(() => 0);
  const pull = async (k: number) => {
    try {
      const r = await (iterators[k] as AsyncIterator<EncodedPacket>).next();
      heads[k] = r.done === true ? null : r.value;
    } catch (error) {
      throw new MediaError('E_MEDIA_FORMAT', `cannot read packets: ${error instanceof Error ? error.message : String(error)}`, path, { cause: error });
    }
  };
  for (let k = 0; k < iterators.length; k++) await pull(k);
  let bytes = 0;
  for (;;) {
    let best = -1;
    let bestTime = Infinity;
    for (let k = 0; k < heads.length; k++) {
      const p = heads[k];
      if (p === null || p === undefined) continue;
      const ts = (tracks[k] as MediaTrack).timescale;
      const dts = dtsTables[k]?.[counters[k] as number] ?? Math.round(p.timestamp * ts);
      const time = dts / ts;
      if (time < bestTime) {
        best = k;
        bestTime = time;
      }
    }
    if (best < 0) return;
    const p = heads[best] as EncodedPacket;
    const ts = (tracks[best] as MediaTrack).timescale;
    const i = counters[best] as number;
    counters[best] = i + 1;
    const pts = Math.round(p.timestamp * ts);
    bytes += p.byteLength;
    yield {
      track: best,
      pts,
      dts: dtsTables[best]?.[i] ?? pts,
      duration: Math.round(p.duration * ts),
      keyframe: p.type === 'key',
      data: p.data,
      offset: Math.min(bytes, size),
    };
    await pull(best);
  }
}
