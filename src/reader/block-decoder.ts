/**
 * The block decoder: a segment table entry → BlockInfo (§6.2, §6.5), and a
 * block's bytes → a Block: a v1 CORE chunk checked against its entry and its
 * digest (§6.1), or v2 stored bytes from a SEGD chunk the segment tables have
 * checked (§6.5); then opened with the container's cipher (§13) and
 * decompressed (§6.3).
 */
import { decompressPayload } from '../compress/codec.js';
import { type CipherContext, openBlock } from '../crypto/living-cipher.js';
import { sha256 } from '../crypto/sha256.js';
import { type BlockFields, decodeBlockHeader } from '../format/block.js';
import { bytesEqual } from '../format/bytes.js';
import { decodeChunk } from '../format/chunk.js';
import { BLOCK_HEADER_LENGTH, BlockFlag, CHUNK_OVERHEAD, COMPRESSIONS, DIGEST_LENGTH, FRAME_KINDS, type Limits } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import type { SegmentTable } from '../format/segment-table.js';
import { ticksToUs } from '../format/time.js';
import type { IndexView } from './index-view.js';
import type { BlockInfo, TrackInfo } from './types.js';

export type ReadBlockOptions = {
  /** Decompress the payload (default true). */
  decompress?: boolean;
  /** Check the block's SHA-256 against the index (default true). */
  verify?: boolean;
};

/** A block with its payload. */
export type Block = BlockInfo & { payload: Uint8Array };

/** §6.2 The metadata of entry `i` of `segment`'s table. */
export function blockInfo(view: IndexView, segment: number, table: SegmentTable, i: number): BlockInfo {
  const trackNumber = table.trackNumber[i] as number;
  const track = view.trackInfos[trackNumber];
  const coreIndex = table.firstCoreIndex + i;
  if (track === undefined) throw new H4mkError('E_FORMAT', `block names track ${trackNumber}, which does not exist`, { coreIndex, chunk: 'BIDX' });
  const flags = table.flags[i] as number;
  const storedLength = table.storedLength[i] as number;
  const ts = track.timescale;
  return {
    coreIndex,
    trackNumber,
    trackId: track.id,
    pts: table.pts[i] as number,
    dts: table.dts[i] as number,
    duration: table.duration[i] as number,
    ptsUs: ticksToUs(table.pts[i] as number, ts),
    dtsUs: ticksToUs(table.dts[i] as number, ts),
    durationUs: ticksToUs(table.duration[i] as number, ts),
    keyframe: (flags & BlockFlag.KEYFRAME) !== 0,
    frameKind: FRAME_KINDS[(flags & BlockFlag.FRAME_KIND_MASK) >> BlockFlag.FRAME_KIND_SHIFT] ?? null,
    encrypted: (flags & BlockFlag.ENCRYPTED) !== 0,
    endOfTrack: (flags & BlockFlag.END_OF_TRACK) !== 0,
    compression: COMPRESSIONS[table.compression[i] as number] ?? 'none',
    storedLength,
    originalLength: table.originalLength[i] as number,
    offset: view.dataOffset + (view.content.segments.offset[segment] as number) + (table.chunkOffset[i] as number),
    chunkLength: table.data === null ? CHUNK_OVERHEAD + BLOCK_HEADER_LENGTH + storedLength : storedLength,
    digest: table.data === null ? table.digests.subarray(i * DIGEST_LENGTH, (i + 1) * DIGEST_LENGTH) : null,
  };
}

/** The flags byte of a block, rebuilt from its metadata (§6.1). */
export function flagsOf(info: BlockInfo): number {
  return (
    (info.keyframe ? BlockFlag.KEYFRAME : 0) |
    (Math.max(0, FRAME_KINDS.indexOf(info.frameKind)) << BlockFlag.FRAME_KIND_SHIFT) |
    (info.encrypted ? BlockFlag.ENCRYPTED : 0) |
    (info.endOfTrack ? BlockFlag.END_OF_TRACK : 0)
  );
}

/**
 * §6.5 A v2 block: its stored bytes at `bytes[info.offset − base]`, inside a
 * SEGD chunk the caller has checked against its segment's data digest.
 */
function storedBytes(info: BlockInfo, bytes: Uint8Array, base: number): Uint8Array {
  const at = info.offset - base;
  if (at < 0 || at + info.storedLength > bytes.length)
    throw new H4mkError('E_TRUNCATED', 'block bytes run past what was read', { offset: info.offset, coreIndex: info.coreIndex, chunk: 'SEGD' });
  return bytes.subarray(at, at + info.storedLength);
}

/**
 * §6.1 Checks the CORE chunk found at `bytes[info.offset − base]` against its
 * table entry and its digest, then opens (§13) and decompresses (§6.3) it as
 * `options` ask.
 */
export function decodeBlock(
  view: IndexView,
  limits: Limits,
  cipher: CipherContext | null,
  info: BlockInfo,
  bytes: Uint8Array,
  base: number,
  options: ReadBlockOptions,
): Block {
  if (info.digest === null)
    return finishBlock(
      view,
      cipher,
      info,
      { ...info, flags: flagsOf(info), compression: COMPRESSIONS.indexOf(info.compression) },
      storedBytes(info, bytes, base),
      options,
    );
  const at = info.offset - base;
  let chunk: Uint8Array;
  try {
    chunk = decodeChunk(bytes, at, { base, expect: 'CORE', limit: at + info.chunkLength }).payload;
  } catch (error) {
    throw error instanceof H4mkError ? error.relocate(0, { coreIndex: info.coreIndex }) : error;
  }
  const blockBase = info.offset + 8;
  let h: ReturnType<typeof decodeBlockHeader>;
  try {
    h = decodeBlockHeader(chunk, blockBase, limits.maxBlockLength);
  } catch (error) {
    throw error instanceof H4mkError ? error.relocate(0, { coreIndex: info.coreIndex }) : error;
  }
  if (
    h.coreIndex !== info.coreIndex ||
    h.trackNumber !== info.trackNumber ||
    h.pts !== info.pts ||
    h.dts !== info.dts ||
    h.duration !== info.duration ||
    h.originalLength !== info.originalLength ||
    h.storedLength !== info.storedLength ||
    COMPRESSIONS[h.compression] !== info.compression ||
    ((h.flags ^ ((info.keyframe ? BlockFlag.KEYFRAME : 0) | (info.encrypted ? BlockFlag.ENCRYPTED : 0) | (info.endOfTrack ? BlockFlag.END_OF_TRACK : 0))) &
      (BlockFlag.KEYFRAME | BlockFlag.ENCRYPTED | BlockFlag.END_OF_TRACK)) !==
      0
  ) {
    throw new H4mkError('E_FORMAT', 'block header disagrees with its segment table entry', { offset: blockBase, coreIndex: info.coreIndex });
  }
  if (options.verify !== false && !bytesEqual(sha256(chunk), info.digest)) {
    throw new H4mkError('E_DIGEST', 'block digest mismatch', { offset: blockBase, coreIndex: info.coreIndex });
  }
  return finishBlock(view, cipher, info, h, chunk.subarray(BLOCK_HEADER_LENGTH), options);
}

/** §13, §6.3 Opens (when encrypted) and decompresses a block's stored bytes, as `options` ask. */
function finishBlock(view: IndexView, cipher: CipherContext | null, info: BlockInfo, h: BlockFields, stored: Uint8Array, options: ReadBlockOptions): Block {
  if (options.decompress === false) return { ...info, payload: stored };
  const compression = COMPRESSIONS.indexOf(info.compression);
  if (info.encrypted) {
    if (cipher === null) {
      throw new H4mkError(
        view.content.crypto === null ? 'E_FORMAT' : 'E_KEY',
        view.content.crypto === null ? 'encrypted block in a container without CRYP' : 'block is encrypted; a key or grant is needed',
        {
          coreIndex: info.coreIndex,
        },
      );
    }
    const timescale = (view.trackInfos[info.trackNumber] as TrackInfo).timescale;
    stored = openBlock(cipher, { ...h, compression }, timescale, stored);
  }
  try {
    return { ...info, payload: decompressPayload(stored, compression, info.originalLength, info.coreIndex) };
  } catch (error) {
    throw error instanceof H4mkError ? error.relocate(0, { coreIndex: info.coreIndex }) : error;
  }
}

/** The last keyframe of `trackNumber` with pts ≤ `ticks` in a segment's table (its seek entry says there is one). */
export function keyframeInTable(st: SegmentTable, trackNumber: number, ticks: number): { coreIndex: number; pts: number } {
  let best = -1;
  for (let i = 0; i < st.count; i++) {
    if (st.trackNumber[i] === trackNumber && ((st.flags[i] as number) & BlockFlag.KEYFRAME) !== 0 && (st.pts[i] as number) <= ticks) best = i;
  }
  if (best < 0) throw new H4mkError('E_FORMAT', 'segment table disagrees with the seek table', { chunk: 'BIDX' });
  return { coreIndex: st.firstCoreIndex + best, pts: st.pts[best] as number };
}
