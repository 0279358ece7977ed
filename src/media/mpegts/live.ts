/**
 * MPEG-TS from a stream, through mediabunny's ReadableStreamSource (an
 * append-only source read sequentially; its cache, 32 MiB at most, is the
 * memory bound). Tracks as the file importer's mediabunny path
 * (./demux-generic.ts) makes them; packets of all tracks merged by time as
 * they arrive, decode times derived from presentation order
 * (./stream-timing.ts) with the reorder depth measured on the first
 * packets (see ./live-source.ts).
 */
import { EncodedPacketSink, type EncodedPacket, type InputTrack, Input, MPEG_TS, ReadableStreamSource } from 'mediabunny';
import { type CodecInfo, describe } from '../codec-info.js';
import type { MediaPacket, MediaTrack } from '../demux.js';
import { MediaError } from '../errors.js';
import { type LiveDemuxer, needsReorderProbe, PROBE_BYTES, PROBE_FRAMES, PROBE_SECONDS, reorderDelay } from '../live-source.js';
import type { StreamBytes } from '../stream-bytes.js';
import type { MediaTrackExtraInit } from '../track-extra.js';
import { StreamRetimer } from '../stream-timing.js';

type Held = { data: Uint8Array; keyframe: boolean; duration: number };

/** Opens an MPEG-TS stream whose first bytes are in `bytes` (nothing consumed yet). */
export async function openLiveMpegTs(bytes: StreamBytes): Promise<LiveDemuxer> {
  const name = bytes.name;
  const fail = (error: unknown) =>
    bytes.failure !== undefined
      ? bytes.failure
      : error instanceof MediaError
        ? error
        : new MediaError('E_MEDIA_FORMAT', `cannot read the MPEG-TS stream: ${error instanceof Error ? error.message : String(error)}`, name, { cause: error });
  const chunks = bytes.rest();
  const web = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await chunks.next();
      if (r.done === true) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  let streamError: unknown = null;
  const input = new Input({ source: new ReadableStreamSource(web, { handleUnhandledError: (e) => void (streamError ??= e) }), formats: [MPEG_TS] });
  let inputTracks: InputTrack[];
  const infos: CodecInfo[] = [];
  try {
    inputTracks = await input.getTracks();
    for (const t of inputTracks) infos.push(await describe(t));
  } catch (error) {
    input.dispose();
    throw fail(error);
  }
  if (infos.length === 0) {
    input.dispose();
    throw new MediaError('E_MEDIA_FORMAT', 'the stream has no audio or video track', name);
  }
  const tracks: MediaTrack[] = infos.map((info, k) => {
    const extra: MediaTrackExtraInit = { source: { container: 'mpegts', index: k, track_id: info.id }, disposition: info.disposition };
    if (info.video !== undefined) extra.video = info.video;
    if (info.audio !== undefined) extra.audio = { sample_rate: info.audio.sampleRate, channels: info.audio.channels };
    const language = info.language === 'und' ? '' : info.language;
    return {
      sourceIndex: k,
      kind: info.kind,
      codec: info.codec,
      mediaCodec: info.mediaCodec,
      config: info.description ?? new Uint8Array(0),
      timescale: info.timeResolution,
      name: info.name ?? '',
      language,
      extra,
    };
  });

  // Packets of all tracks, the track whose next packet is earliest first.
  const iterators = inputTracks.map((t) => new EncodedPacketSink(t).packets()[Symbol.asyncIterator]());
  const heads: (EncodedPacket | null | undefined)[] = inputTracks.map(() => undefined);
  const next = async (): Promise<{ k: number; p: EncodedPacket } | null> => {
    try {
      for (let k = 0; k < heads.length; k++) {
        if (heads[k] === undefined) {
          const r = await (iterators[k] as AsyncIterator<EncodedPacket>).next();
          heads[k] = r.done === true ? null : r.value;
        }
      }
    } catch (error) {
      throw fail(streamError ?? error);
    }
    let best = -1;
    for (let k = 0; k < heads.length; k++) {
      const p = heads[k];
      if (p !== null && p !== undefined && (best < 0 || p.timestamp < (heads[best] as EncodedPacket).timestamp)) best = k;
    }
    if (best < 0) return null;
    const p = heads[best] as EncodedPacket;
    heads[best] = undefined;
    return { k: best, p };
  };

  // The probe: video that may reorder without saying how deep is measured on its first packets.
  const need: number[] = tracks.map((t) => (t.kind === 'video' && needsReorderProbe(t.mediaCodec, t.config) ? PROBE_FRAMES : 0));
  const held: { k: number; p: EncodedPacket }[] = [];
  let heldBytes = 0;
  let ended = false;
  while (need.some((n) => n > 0) && heldBytes < PROBE_BYTES) {
    const got = await next();
    if (got === null) {
      ended = true;
      break;
    }
    held.push(got);
    heldBytes += got.p.byteLength;
    need[got.k] = (need[got.k] as number) - 1;
    if (got.p.timestamp - (held[0] as { p: EncodedPacket }).p.timestamp >= PROBE_SECONDS) break;
  }
  const retimers = tracks.map((t, k) => {
    if (t.kind !== 'video') return new StreamRetimer<Held>(false, 0);
    const probed = held.filter((h) => h.k === k).map((h) => Math.round(h.p.timestamp * t.timescale));
    const delay = reorderDelay(t.mediaCodec, t.config, probed);
    if (delay > 0) t.extra.dts_derived = 'presentation_order';
    return new StreamRetimer<Held>(true, delay);
  });

  const notes: string[] = [];
  function* timed(k: number, list: ReturnType<StreamRetimer<Held>['end']>): Generator<MediaPacket> {
    for (const t of list)
      yield { track: k, pts: t.pts, dts: t.dts, duration: t.item.duration, keyframe: t.item.keyframe, data: t.item.data, offset: bytes.position };
  }
  function* push(k: number, p: EncodedPacket): Generator<MediaPacket> {
    const ts = (tracks[k] as MediaTrack).timescale;
    yield* timed(
      k,
      (retimers[k] as StreamRetimer<Held>).push(
        { data: p.data, keyframe: p.type === 'key', duration: Math.round(p.duration * ts) },
        Math.round(p.timestamp * ts),
        false,
      ),
    );
  }
  async function* packets(): AsyncGenerator<MediaPacket> {
    try {
      for (const h of held.splice(0)) yield* push(h.k, h.p);
      for (let got = ended ? null : await next(); got !== null; got = await next()) yield* push(got.k, got.p);
      for (const [k, r] of retimers.entries()) {
        yield* timed(k, r.end());
        if (r.deeper > 0) notes.push(`${r.deeper} packets of track ${k} reorder deeper than probed; their decode times were clamped`);
      }
    } finally {
      input.dispose();
    }
  }
  return { format: 'mpegts', tracks, skipped: [], packets, bytesRead: () => bytes.position, notes: () => notes };
}
