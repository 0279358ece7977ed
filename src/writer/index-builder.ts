/**
 * The writer's index region (docs/FORMAT.md §5) and how it ends the file in
 * each layout (§5.7): after the data region (tail), or before it (faststart,
 * the data region replayed from its spool).
 */
import { sha256 } from '../crypto/sha256.js';
import { type FormatVersion, HEADER_LENGTH, HeaderFlag } from '../format/constants.js';
import type { CryptoParams } from '../format/crypto-params.js';
import { encodeFooter, encodeHeader } from '../format/header.js';
import { encodeIndexRegion } from '../format/index-region.js';
import type { KeyframeMapRef } from '../format/keyframe-map.js';
import type { SegmentDirectory } from '../format/segment-directory.js';
import type { TrackRecord } from '../format/track-table.js';
import type { Sink, Spool } from '../io/sink.js';
import type { TrackSeekTable } from '../format/seek-table.js';

/** What an index region describes. */
export type IndexParts = {
  tracks: TrackRecord[];
  meta: Record<string, unknown>;
  safe: Record<string, unknown>;
  seek: TrackSeekTable[];
  segments: SegmentDirectory;
  /** §5.10 The KEYS chunk's length and digest, when one is written. */
  keys: KeyframeMapRef | null;
  chainHead: Uint8Array;
  crypto: CryptoParams | null;
};

/** §5 The index region for `parts` (the writer checks its length against its limit and budget). */
export function buildIndexRegion(parts: IndexParts): Uint8Array {
  const { tracks, meta, safe, seek, segments, keys, chainHead, crypto } = parts;
  return encodeIndexRegion({ tracks, meta, safe, seek, segments, keys, chainHead, crypto }, sha256);
}

/**
 * Writes the final index and footer to `sink` (and, for faststart, the header
 * and the data region spooled in `out`). `dataLength` is the data region's
 * length. Returns the container's length up to the footer.
 */
export async function writeFinalIndex(sink: Sink, out: Sink | Spool, index: Uint8Array, dataLength: number, version: FormatVersion): Promise<number> {
  // §14 A live file never ends at a checkpoint here: the block that closed a checkpoint's
  // segment follows it, so the final index always comes after a segment.
  if (out === sink) {
    const indexOffset = HEADER_LENGTH + dataLength;
    await sink.write(index);
    await sink.write(encodeFooter({ indexOffset, indexLength: index.length, version, flags: 0 }));
    return indexOffset + index.length;
  }
  const spool = out as Spool;
  await sink.write(encodeHeader({ version, flags: HeaderFlag.FASTSTART, indexLength: index.length }));
  await sink.write(index);
  for await (const part of spool.replay()) await sink.write(part);
  await spool.dispose();
  await sink.write(encodeFooter({ indexOffset: HEADER_LENGTH, indexLength: index.length, version, flags: HeaderFlag.FASTSTART }));
  return HEADER_LENGTH + index.length + dataLength;
}
