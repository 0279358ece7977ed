/**
 * Layout conversion (docs/FORMAT.md §5.7): tail ↔ faststart, and dropping
 * the §14 checkpoints of a finished live file.
 *
 * Segment offsets are relative to the data region, so the index does not
 * depend on where the data starts: the segments (blocks and their BIDX
 * tables) are copied byte for byte, and so is the index region when the data
 * region has no gaps. When it has gaps (live checkpoints between segments),
 * the gaps are left out and only SEGX changes (every gap becomes 0), which
 * changes the index digest: TRAK, META, SAFE, SEEK, CRYP and VERI's block
 * count and chain head are re-encoded unchanged, a SEAL (which signs the old
 * index digest) is dropped. Same blocks, same digests, same chain head.
 */
import { sha256 } from '../crypto/sha256.js';
import { toHex } from '../format/bytes.js';
import { CHUNK_OVERHEAD, FORMAT_VERSION, type FormatVersion, HEADER_LENGTH, HeaderFlag } from '../format/constants.js';
import { encodeFooter, encodeHeader } from '../format/header.js';
import { encodeIndexRegion } from '../format/index-region.js';
import type { SegmentDirectory } from '../format/segment-directory.js';
import type { Sink } from '../io/sink.js';
import { readExactly } from '../io/source.js';
import type { H4mkReader } from '../reader/reader.js';
import { convertContainer } from './upgrade.js';

/** Bytes copied per read. */
const COPY_WINDOW = 8 * 1024 * 1024;

export type OptimizeOptions = {
  /** Layout of the output. Default "faststart". */
  layout?: 'tail' | 'faststart';
  /**
   * Format version of the output. Default 2: a v1 input is upgraded (its
   * blocks' stored bytes copied into v2 segments, §6.5), unless it is
   * encrypted (then it is copied as v1: see `notConverted`).
   */
  formatVersion?: FormatVersion;
};

/** What {@link optimizeContainer} wrote. */
export type OptimizeSummary = {
  layout: 'tail' | 'faststart';
  blockCount: number;
  segmentCount: number;
  /** Bytes of the output. */
  bytes: number;
  indexLength: number;
  /** Hex of the VERI chain head (the same as the input's). */
  chainHead: string;
  /** Bytes of live checkpoints (gaps between segments) left out. */
  droppedGapBytes: number;
  /** True when the input's index region was copied byte for byte. */
  indexCopied: boolean;
  /** True when a SEAL was dropped because the index changed. */
  droppedSeal: boolean;
  /** The output's format version. */
  formatVersion: FormatVersion;
  /** True when the blocks were rewritten into the other format version. */
  converted: boolean;
  /** Why the output keeps the input's version although another was asked for, or null. */
  notConverted: string | null;
};

/**
 * Writes the container behind `reader` to `sink` in `options.layout`, then
 * commits the sink (aborts it on failure).
 */
export async function optimizeContainer(reader: H4mkReader, sink: Sink, options: OptimizeOptions = {}): Promise<OptimizeSummary> {
  const layout = options.layout ?? 'faststart';
  if (layout !== 'tail' && layout !== 'faststart') throw new RangeError(`unknown layout ${String(layout)}`);
  const wanted = options.formatVersion ?? FORMAT_VERSION;
  if (wanted !== 1 && wanted !== 2) throw new RangeError(`formatVersion must be 1 or 2, got ${String(wanted)}`);
  const version = reader.view.content.segments.version;
  let notConverted: string | null = null;
  if (wanted !== version) {
    if (reader.view.content.crypto === null) return convertContainer(reader, sink, layout, wanted);
    notConverted = `an encrypted container keeps format version ${version}: its transcript MAC (§13.5) covers the chain head, which the version changes`;
  }
  try {
    const index = reader.view.content;
    const dir = index.segments;
    // Contiguous offsets: each segment right after the previous one. §5.10: a KEYS chunk in the gap before
    // the last segment stays right before it (other gap bytes are dropped); one inside the last segment moves with it.
    const keys = index.keys;
    const last = dir.count - 1;
    const keysInGap = keys !== null && keys.offset < (dir.offset[last] as number);
    const keysBytes = keys === null ? 0 : CHUNK_OVERHEAD + keys.length;
    const offset = new Float64Array(dir.count);
    let dataLength = 0;
    let gapBytes = 0;
    let previousEnd = 0;
    for (let s = 0; s < dir.count; s++) {
      const kept = s === last && keysInGap ? keysBytes : 0;
      gapBytes += (dir.offset[s] as number) - previousEnd - kept;
      previousEnd = (dir.offset[s] as number) + (dir.length[s] as number);
      dataLength += kept;
      offset[s] = dataLength;
      dataLength += dir.length[s] as number;
    }
    const movedKeys =
      keys === null
        ? null
        : { ...keys, offset: keysInGap ? (offset[last] as number) - keysBytes : keys.offset - (dir.offset[last] as number) + (offset[last] as number) };
    let region: Uint8Array;
    const indexCopied = gapBytes === 0;
    if (indexCopied) region = await readExactly(reader.source, reader.indexOffset, reader.indexLength);
    else {
      const segments: SegmentDirectory = { ...dir, offset, end: dataLength };
      region = encodeIndexRegion(
        {
          tracks: index.tracks,
          meta: index.meta,
          safe: index.safe,
          seek: index.seek,
          segments,
          keys: movedKeys,
          chainHead: index.integrity.chainHead,
          crypto: index.crypto,
        },
        sha256,
      );
    }
    const faststart = layout === 'faststart';
    const flags = faststart ? HeaderFlag.FASTSTART : 0;
    await sink.write(encodeHeader({ version, flags, indexLength: faststart ? region.length : 0 }));
    if (faststart) await sink.write(region);
    // The segments, coalesced into runs of adjacent ones, in windows.
    for (let s = 0; s < dir.count; ) {
      if (s === last && keys !== null && keysInGap) await sink.write(await readExactly(reader.source, reader.dataOffset + keys.offset, keysBytes));
      const start = reader.dataOffset + (dir.offset[s] as number);
      let end = start + (dir.length[s] as number);
      s++;
      while (s < dir.count && reader.dataOffset + (dir.offset[s] as number) === end) {
        end += dir.length[s] as number;
        s++;
      }
      for (let at = start; at < end; at += COPY_WINDOW) await sink.write(await readExactly(reader.source, at, Math.min(COPY_WINDOW, end - at)));
    }
    const indexOffset = faststart ? HEADER_LENGTH : HEADER_LENGTH + dataLength;
    if (!faststart) await sink.write(region);
    await sink.write(encodeFooter({ indexOffset, indexLength: region.length, version, flags }));
    await sink.commit();
    return {
      layout,
      blockCount: reader.blockCount,
      segmentCount: dir.count,
      bytes: HEADER_LENGTH + region.length + dataLength + 36,
      indexLength: region.length,
      chainHead: toHex(index.integrity.chainHead),
      droppedGapBytes: gapBytes,
      indexCopied,
      droppedSeal: !indexCopied && index.seal !== null,
      formatVersion: version,
      converted: false,
      notConverted,
    };
  } catch (error) {
    await sink.abort().catch(() => {});
    throw error;
  }
}
