/** Public value types returned by the reader. */
import type { Compression, FrameKind, TrackKind } from '../format/constants.js';

/** A track with its statistics from the index. */
export type TrackInfo = {
  number: number;
  id: string;
  kind: TrackKind;
  codec: string;
  config: Uint8Array;
  timescale: number;
  compression: Compression;
  name: string;
  language: string;
  extra: Record<string, unknown>;
  blockCount: number;
  keyframeCount: number;
  storedBytes: number;
  originalBytes: number;
  /** Smallest / largest block pts, ticks (null when the track is empty). */
  firstPts: number | null;
  lastPts: number | null;
  firstPtsUs: number | null;
  lastPtsUs: number | null;
};

/** Everything known about one block without reading its payload. */
export type BlockInfo = {
  coreIndex: number;
  trackNumber: number;
  trackId: string;
  pts: number;
  dts: number;
  duration: number;
  ptsUs: number;
  dtsUs: number;
  durationUs: number;
  keyframe: boolean;
  frameKind: FrameKind | null;
  encrypted: boolean;
  /** Set on each track's last block of an encrypted container (§13.5). */
  endOfTrack: boolean;
  compression: Compression;
  storedLength: number;
  originalLength: number;
  /** Absolute offset of the block: its CORE chunk (v1), its stored bytes inside SEGD (v2). */
  offset: number;
  /** Bytes of the block in the file: the CORE chunk, framing included (v1); the stored bytes (v2). */
  chunkLength: number;
  /** v1: SHA-256 of the CORE payload, from the segment table. v2: null (§6.5: the segment's data has one digest). */
  digest: Uint8Array | null;
};

/** A contiguous byte range of the file. */
export type ByteSpan = { offset: number; length: number };

/** The answer to a seek. */
export type SeekResult = {
  trackId: string;
  trackNumber: number;
  /** The keyframe to start decoding at. */
  coreIndex: number;
  pts: number;
  ptsUs: number;
  /**
   * What decoding up to the target needs: blocks `fromCoreIndex..toCoreIndex`
   * in file order (segment-granular: filter by track), in one byte range.
   */
  span: ByteSpan & { fromCoreIndex: number; toCoreIndex: number };
};

/** One problem found by verify. */
export type VerifyFailure = {
  code: string;
  message: string;
  coreIndex?: number;
  chunk?: string;
  offset?: number;
};

export type VerifyReport = {
  ok: boolean;
  blocksChecked: number;
  blockCount: number;
  /** Encrypted blocks whose tag was checked (decrypted) with the key or grant at hand. */
  decryptedBlocks: number;
  /** Blocks that failed, in order. */
  failedBlocks: number[];
  failures: VerifyFailure[];
  chainHead: string;
};
