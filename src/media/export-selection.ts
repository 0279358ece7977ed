/**
 * A track chosen for export (src/media/export.ts) and the blocks handed to
 * the container writers (./mp4/export-writer.ts, ./matroska/export-writer.ts).
 */
import type { Block } from '../reader/reader.js';
import type { TrackInfo } from '../reader/types.js';
import type { MediaTrackExtra } from './track-extra.js';

export /** A track chosen for export, with its window. */
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

/** The blocks of an export, in file order, each with its track. */
export type ExportBlocks = AsyncGenerator<{ s: Selected; block: Block }>;
