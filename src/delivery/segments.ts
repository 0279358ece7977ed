/**
 * The bytes of one delivered segment, read from the container: an init
 * segment, a CMAF media segment or a WebVTT segment of one track. Every
 * block is read through the reader, so its SHA-256 is checked against the
 * index before a byte of it is served. One segment costs one read of the
 * container (the segments holding its blocks are adjacent).
 */
import { type ColourSpace, trackColourSpace } from '../media/codec/colour.js';
import { parseMediaExtra } from '../media/track-extra.js';
import type { H4mkReader } from '../reader/reader.js';
import type { Block } from '../reader/reader.js';
import { initSegment } from './cmaf/init-segment.js';
import { type CmafSample, mediaSegment } from './cmaf/media-segment.js';
import { sampleDescription } from './cmaf/sample-entry.js';
import { completeSegments, type DeliveryPlan, type TrackTimeline, timelineOf } from './plan.js';
import type { DeliveryTrack } from './tracks.js';
import { webvttSegment } from './webvtt.js';

/** Why a segment cannot be served; `code` maps to an HTTP status. */
export class DeliveryError extends Error {
  constructor(
    readonly code: 'E_NOT_FOUND' | 'E_UNSUPPORTED' | 'E_ENCRYPTED' | 'E_EXISTS',
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** The deliverable track with number `n`, or a DeliveryError naming why not. */
export function deliverable(plan: DeliveryPlan, n: number, carriage: 'cmaf' | 'webvtt'): DeliveryTrack {
  if (plan.encrypted)
    throw new DeliveryError(
      'E_ENCRYPTED',
      'the container is encrypted: the server holds no keys (play it in the inspector with a key, or `h4mk package --key-file … --decrypt`)',
    );
  const t = plan.tracks[n];
  if (t === undefined) throw new DeliveryError('E_NOT_FOUND', `no track ${n} in this container`);
  if (t.carriage === null) throw new DeliveryError('E_UNSUPPORTED', `track ${t.info.id} (codec ${t.info.codec}) is not delivered: ${t.reason}`);
  if (t.carriage !== carriage)
    throw new DeliveryError(
      'E_NOT_FOUND',
      `track ${t.info.id} is delivered as ${t.carriage === 'cmaf' ? 'fMP4' : 'WebVTT'}, not ${carriage === 'cmaf' ? 'fMP4' : 'WebVTT'}`,
    );
  return t;
}

function requireTimeline(plan: DeliveryPlan, t: DeliveryTrack, k: number): TrackTimeline {
  const tl = timelineOf(plan, t);
  const complete = completeSegments(plan, t);
  if (tl === null || !Number.isSafeInteger(k) || k < 0 || k >= complete) {
    const live = plan.live && tl !== null && Number.isSafeInteger(k) && k >= complete && k <= tl.cuts.length ? ' yet (the container is live)' : '';
    throw new DeliveryError('E_NOT_FOUND', `no complete segment ${k} of track ${t.info.id}${live} (it has ${complete})`);
  }
  return tl;
}

/** Ticks of `t` every media time is moved by (see DeliveryPlan.offsetSeconds). */
export function offsetTicks(plan: DeliveryPlan, t: DeliveryTrack): number {
  return plan.offsetSeconds * t.info.timescale;
}

/**
 * The init segment of track `n` (reads the track's first block for the codec
 * configuration). For HLS (default) it has no edit list: hls.js ignores edit
 * lists while Chromium's MSE applies them, so any shift there would be taken
 * off twice; HLS players start the timeline at the first segment anyway.
 * For DASH (`dash: true`) an edit list takes the plan's offset off again
 * (and keeps the source MP4's edit length), which Chromium applies, dash.js
 * agrees with (the MPD's times are presentation times) and ffmpeg honours:
 * through DASH, ffmpeg sees the source's exact pts.
 */
function colourSpec(colour: ColourSpace | undefined): { colorSpace?: ColourSpace } {
  return colour === undefined ? {} : { colorSpace: colour };
}

export async function buildInitSegment(reader: H4mkReader, plan: DeliveryPlan, n: number, options: { dash?: boolean } = {}): Promise<Uint8Array> {
  const t = deliverable(plan, n, 'cmaf');
  const first = reader.indexKeyframes(n)[0];
  if (first === undefined) throw new DeliveryError('E_NOT_FOUND', `track ${t.info.id} has no keyframe`);
  const block = await reader.readBlock(first.coreIndex);
  let stsd: Uint8Array;
  try {
    stsd = await sampleDescription({
      kind: t.kind as 'video' | 'audio',
      mediaCodec: t.mediaCodec,
      codec: t.info.codec,
      config: t.info.config,
      width: t.width,
      height: t.height,
      sampleRate: t.sampleRate,
      channels: t.channels,
      firstPacket: block.payload,
      // The colours the inspector's stills use: the source's description, else ffmpeg's default for untagged streams.
      ...(t.kind === 'video' ? colourSpec(trackColourSpace(t.info.codec, t.info.config, t.info.extra)) : {}),
    });
  } catch (error) {
    throw new DeliveryError(
      'E_UNSUPPORTED',
      `track ${t.info.id}: codec ${t.info.codec} cannot be written to fMP4 (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return initSegment({
    kind: t.kind as 'video' | 'audio',
    timescale: t.info.timescale,
    stsd,
    language: t.language,
    width: t.width,
    height: t.height,
    offset: options.dash === true ? offsetTicks(plan, t) : 0,
    ...(options.dash === true ? sourceEdit(t) : {}),
  });
}

/**
 * Samples of a segment as CMAF wants them: video whose first sample is
 * decoded before it is shown (B-frames) has its decode times moved up by that
 * delay and its composition offsets down by it (signed, trun version 1), so
 * the segment's first decode time is its first presentation time, which is
 * where players that start from decode times (hls.js) put it. Presentation
 * times are unchanged.
 */
function cmafSamples(t: DeliveryTrack, blocks: readonly Block[]): CmafSample[] {
  const first = blocks[0];
  const delay = t.kind === 'video' && first !== undefined ? Math.max(0, first.pts - first.dts) : 0;
  return blocks.map((b) => ({ dts: b.dts + delay, pts: b.pts, duration: b.duration, keyframe: b.keyframe, data: b.payload }));
}

/**
 * The source MP4's edit, when it had exactly one that presents media (TRAK
 * extra `mp4.edits`, appendix A): its duration bounds the presentation, so
 * a trimmed last frame stays trimmed. The start needs no edit: block pts
 * already are presentation times.
 */
function sourceEdit(t: DeliveryTrack): { movieTimescale?: number; editDuration?: number } {
  const mp4 = parseMediaExtra(t.info.extra).mp4;
  const edit = mp4?.edits?.length === 1 ? mp4.edits[0] : undefined;
  if (mp4?.movie_timescale === undefined || edit === undefined || edit.segment_duration <= 0) return {};
  if (edit.media_time < 0 || (edit.rate !== undefined && edit.rate !== 1)) return {};
  return { movieTimescale: mp4.movie_timescale, editDuration: edit.segment_duration };
}

/** Whether pts `a` (timescale `as`) is before pts `b` (timescale `bs`), exactly. */
function before(a: number, as: number, b: number, bs: number): boolean {
  return a * bs < b * as;
}

/** The blocks of track `t` in segment `k`, decode order. */
export async function segmentBlocks(reader: H4mkReader, plan: DeliveryPlan, t: DeliveryTrack, k: number): Promise<Block[]> {
  const tl = requireTimeline(plan, t, k);
  const n = t.info.number;
  const blocks: Block[] = [];
  if (tl.track.info.number === n) {
    const from = (tl.cuts[k] as { coreIndex: number }).coreIndex;
    const to = tl.cuts[k + 1]?.coreIndex ?? reader.blockCount;
    for await (const b of reader.readBlocks(from, to, { tracks: [n] })) blocks.push(b);
    return blocks;
  }
  // A follower: its blocks whose pts falls in the primary segment's time window.
  const P = tl.track.info.timescale;
  const A = t.info.timescale;
  const lo = k === 0 ? null : (tl.cuts[k] as { pts: number }).pts;
  const hi = tl.cuts[k + 1]?.pts ?? null;
  const query = {
    tracks: [n],
    ...(lo === null ? {} : { fromUs: Math.floor((lo * 1e6) / P) - 1000 }),
    ...(hi === null ? {} : { toUs: Math.ceil((hi * 1e6) / P) + 1000 }),
  };
  for await (const b of reader.blocks(query)) {
    if (lo !== null && before(b.pts, A, lo, P)) continue;
    if (hi !== null && !before(b.pts, A, hi, P)) continue;
    blocks.push(b as Block);
  }
  return blocks;
}

/** The CMAF media segment `k` of track `n` (styp + moof + mdat). */
export async function buildMediaSegment(reader: H4mkReader, plan: DeliveryPlan, n: number, k: number): Promise<Uint8Array> {
  const t = deliverable(plan, n, 'cmaf');
  const blocks = await segmentBlocks(reader, plan, t, k);
  const samples = cmafSamples(t, blocks);
  const tl = timelineOf(plan, t) as TrackTimeline;
  const start = Math.ceil(((tl.cuts[k] as { pts: number }).pts * t.info.timescale) / tl.track.info.timescale);
  return mediaSegment(samples, { sequence: k + 1, offset: offsetTicks(plan, t), emptyDts: start });
}

/** The keyframe that starts segment `k` of video track `n`, alone (I-frames-only playlists). */
export async function buildKeyframeSegment(reader: H4mkReader, plan: DeliveryPlan, n: number, k: number): Promise<Uint8Array> {
  const t = deliverable(plan, n, 'cmaf');
  const tl = requireTimeline(plan, t, k);
  if (t.kind !== 'video' || tl.track.info.number !== n) throw new DeliveryError('E_NOT_FOUND', `track ${t.info.id} has no I-frames playlist`);
  const core = (tl.cuts[k] as { coreIndex: number }).coreIndex;
  const blocks: Block[] = [];
  for await (const b of reader.readBlocks(core, core + 1, { tracks: [n] })) blocks.push(b);
  return mediaSegment(cmafSamples(t, blocks), { sequence: k + 1, offset: offsetTicks(plan, t) });
}

/** WebVTT segment `k` of subtitle track `n`. */
export async function buildSubtitleSegment(reader: H4mkReader, plan: DeliveryPlan, n: number, k: number): Promise<string> {
  const t = deliverable(plan, n, 'webvtt');
  const blocks = await segmentBlocks(reader, plan, t, k);
  return webvttSegment(t, blocks, plan.offsetSeconds);
}

/** Every cue of subtitle track `n` as one WebVTT file (DASH text tracks). */
export async function buildSubtitleFile(reader: H4mkReader, plan: DeliveryPlan, n: number): Promise<string> {
  const t = deliverable(plan, n, 'webvtt');
  const blocks: Block[] = [];
  for await (const b of reader.blocks({ tracks: [n] })) blocks.push(b);
  return webvttSegment(t, blocks, plan.offsetSeconds);
}
