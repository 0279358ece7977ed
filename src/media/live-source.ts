/**
 * What the live importer (./live-import.ts) reads: a demuxer over a stream
 * whose tracks are known after a short probe of its first bytes and whose
 * packets come out as they arrive, with final decode times and durations.
 */
import type { MediaPacket, MediaTrack, SkippedTrack } from './demux.js';
import { announcedReorderDepth } from './codec/reorder.js';

/** A demuxer over a stream (./matroska/live.ts, ./mpegts/live.ts). */
export interface LiveDemuxer {
  /** "matroska", "webm", "mpegts". */
  readonly format: string;
  readonly tracks: readonly MediaTrack[];
  readonly skipped: readonly SkippedTrack[];
  /** Packets in arrival order (decode order within a track); `offset` is the input bytes read so far. */
  packets(): AsyncGenerator<MediaPacket>;
  /** Input bytes read so far. */
  bytesRead(): number;
  /** What the user should know at the end (an input cut inside an element, deeper reordering than probed). */
  notes(): string[];
}

/** The first bytes of the input held before the first block is written: at most this much. */
export const PROBE_BYTES = 8 * 1024 * 1024;
/** Video whose reorder depth is not announced: this many frames are probed to measure it. */
export const PROBE_FRAMES = 32;
/** The probe also ends once this much stream time has been read. */
export const PROBE_SECONDS = 5;

/** Codecs whose packets are stored in decode = presentation order. */
const NO_REORDER = new Set(['vp8', 'vp9', 'av1']);

/** True when the reorder depth of a video track must be measured (it may reorder and does not announce how deep). */
export function needsReorderProbe(mediaCodec: string, config: Uint8Array): boolean {
  return !NO_REORDER.has(mediaCodec) && announcedReorderDepth(mediaCodec, config) === null;
}

/**
 * The reorder delay used for a video track: the larger of the announced depth
 * and the deepest reordering in the probed presentation times (as
 * `decodeOrderTimes` takes the larger of the announced and the actual one).
 */
export function reorderDelay(mediaCodec: string, config: Uint8Array, probedPts: readonly number[]): number {
  const order = probedPts.map((_, i) => i).sort((a, b) => (probedPts[a] as number) - (probedPts[b] as number) || a - b);
  let measured = 0;
  order.forEach((i, r) => {
    if (i - r > measured) measured = i - r;
  });
  return Math.max(measured, announcedReorderDepth(mediaCodec, config) ?? 0);
}
