/**
 * A chunk-by-chunk walk over a container, independent of its index: the
 * file header (§3), then every framed chunk (§4) from byte 32 to the end of
 * the file, with the CORE block header (§6.1), the BIDX header (§6.2) and the
 * footer (§5.9) decoded. For debugging (`h4mk dump`) and for re-indexing a
 * damaged file by scanning.
 *
 * Memory is bounded: declared lengths are checked against the file size
 * before anything is read, and payloads are read in windows of at most
 * {@link SCAN_WINDOW} bytes while their CRC-32C is computed.
 */
import { decodeBlockHeader, type BlockFields } from '../format/block.js';
import { Cursor, peekU32 } from '../format/bytes.js';
import { peekChunkHeader } from '../format/chunk.js';
import {
  BIDX_HEADER_LENGTH,
  BLOCK_HEADER_LENGTH,
  BlockFlag,
  CHUNK_HEADER_LENGTH,
  CHUNK_OVERHEAD,
  COMPRESSIONS,
  type Compression,
  FOOTER_LENGTH,
  FRAME_KINDS,
  type FrameKind,
  HEADER_LENGTH,
  HeaderFlag,
} from '../format/constants.js';
import { crc32c } from '../format/crc32c.js';
import { readVarint } from '../format/varint.js';
import { H4mkError } from '../format/errors.js';
import { decodeFooter, decodeHeader, type FileHeader, type Footer } from '../format/header.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';

/** Largest read the scanner makes at once. */
export const SCAN_WINDOW = 1024 * 1024;

/** Bytes of a payload kept for decoding its fixed-size head (CORE header is the longest). */
const HEAD_LENGTH = BLOCK_HEADER_LENGTH;

/** The file header at offset 0; `header` is null when it does not decode. */
export type ScannedHeader = {
  kind: 'header';
  offset: 0;
  length: number;
  header: FileHeader | null;
  /** From the header's FASTSTART flag; null when the header does not decode. */
  layout: 'tail' | 'faststart' | null;
  error: H4mkError | null;
};

/** The decoded head of a CORE payload, with its flags and codec spelled out. */
export type ScannedBlock = BlockFields & {
  storedLength: number;
  keyframe: boolean;
  frameKind: FrameKind | null;
  /** Name of the compression codec (the id is known to be valid once decoded). */
  compressionName: Compression;
};

/** The decoded head of a BIDX (v1) or SEGT (v2) payload. */
export type ScannedSegmentTable = { firstCoreIndex: number; blockCount: number };

/**
 * One framed chunk whose declared extent lies inside the file. `crcOk` says
 * whether its CRC-32C matched: when it did not, the decoded fields below are
 * unverified. `error` is set when the CRC or the decoding of the payload's
 * head failed; the walk continues after such a chunk.
 */
export type ScannedChunk = {
  kind: 'chunk';
  /** Absolute offset of the chunk's type field. */
  offset: number;
  type: string;
  payloadLength: number;
  storedCrc: number;
  computedCrc: number;
  crcOk: boolean;
  /** CORE only. */
  block?: ScannedBlock;
  /** BIDX and SEGT only. */
  segmentTable?: ScannedSegmentTable;
  /** FOOT only. */
  footer?: Footer;
  error: H4mkError | null;
};

/** Where the walk had to stop: the framing at `offset` cannot be trusted. */
export type ScanDamage = {
  kind: 'damage';
  offset: number;
  error: H4mkError;
};

/** One step of {@link scanChunks}. */
export type ScanEntry = ScannedHeader | ScannedChunk | ScanDamage;

/**
 * Walks `source` chunk by chunk. Yields the header entry first, then one
 * entry per chunk in file order. Stops after a `damage` entry (an invalid
 * chunk type, or a declared length running past the end of the file) or at
 * the end of the file. A chunk whose CRC does not match is reported and the
 * walk continues at the end its declared length gives.
 */
export async function* scanChunks(source: RandomAccessSource): AsyncGenerator<ScanEntry> {
  const fileSize = await source.size();
  yield await scanHeader(source, fileSize);
  let offset = HEADER_LENGTH;
  while (offset < fileSize) {
    let type: string;
    let payloadLength: number;
    let head: Uint8Array;
    try {
      if (fileSize - offset < CHUNK_HEADER_LENGTH) {
        throw new H4mkError('E_TRUNCATED', `chunk header: needs ${CHUNK_HEADER_LENGTH} bytes, ${fileSize - offset} available`, { offset });
      }
      head = await readExactly(source, offset, CHUNK_HEADER_LENGTH);
      ({ type, length: payloadLength } = peekChunkHeader(head, 0, offset));
      // Checked before any payload byte is read or allocated.
      const available = fileSize - offset - CHUNK_OVERHEAD;
      if (payloadLength > available) {
        throw new H4mkError('E_TRUNCATED', `${type} chunk declares ${payloadLength} payload bytes, ${Math.max(0, available)} available`, {
          offset,
          chunk: type,
        });
      }
    } catch (error) {
      if (!(error instanceof H4mkError)) throw error;
      yield { kind: 'damage', offset, error };
      return;
    }
    let entry: ScannedChunk;
    try {
      entry = await scanChunk(source, offset, type, payloadLength, head, fileSize);
    } catch (error) {
      // The source returned fewer bytes than its size promised (e.g. the file shrank).
      if (!(error instanceof H4mkError)) throw error;
      yield { kind: 'damage', offset, error };
      return;
    }
    yield entry;
    offset += CHUNK_OVERHEAD + payloadLength;
  }
}

async function scanHeader(source: RandomAccessSource, fileSize: number): Promise<ScannedHeader> {
  const length = Math.min(HEADER_LENGTH, fileSize);
  try {
    const header = decodeHeader(await readExactly(source, 0, length));
    const layout = (header.flags & HeaderFlag.FASTSTART) !== 0 ? 'faststart' : 'tail';
    return { kind: 'header', offset: 0, length, header, layout, error: null };
  } catch (error) {
    if (!(error instanceof H4mkError)) throw error;
    return { kind: 'header', offset: 0, length, header: null, layout: null, error };
  }
}

/** Reads the payload and CRC of a chunk whose extent was checked, in windows. */
async function scanChunk(
  source: RandomAccessSource,
  offset: number,
  type: string,
  payloadLength: number,
  chunkHeader: Uint8Array,
  fileSize: number,
): Promise<ScannedChunk> {
  const payloadOffset = offset + CHUNK_HEADER_LENGTH;
  const payloadHead = new Uint8Array(Math.min(payloadLength, HEAD_LENGTH));
  const trailer = new Uint8Array(4);
  let crc = crc32c(chunkHeader);
  // Payload then the 4-byte CRC, read as one range in windows.
  const total = payloadLength + 4;
  for (let at = 0; at < total; ) {
    const bytes = await readExactly(source, payloadOffset + at, Math.min(SCAN_WINDOW, total - at));
    const payloadPart = bytes.subarray(0, Math.max(0, Math.min(bytes.length, payloadLength - at)));
    crc = crc32c(payloadPart, crc);
    if (at < payloadHead.length) payloadHead.set(payloadPart.subarray(0, payloadHead.length - at), at);
    for (let i = payloadPart.length; i < bytes.length; i++) trailer[at + i - payloadLength] = bytes[i] as number;
    at += bytes.length;
  }
  const storedCrc = peekU32(trailer, 0);
  const entry: ScannedChunk = { kind: 'chunk', offset, type, payloadLength, storedCrc, computedCrc: crc, crcOk: storedCrc === crc, error: null };
  if (!entry.crcOk) entry.error = new H4mkError('E_CHECKSUM', `${type} chunk CRC-32C mismatch`, { offset: payloadOffset + payloadLength, chunk: type });
  try {
    await decodeHead(source, entry, payloadHead, payloadOffset, fileSize);
  } catch (error) {
    if (!(error instanceof H4mkError)) throw error;
    entry.error ??= error.relocate(0, { chunk: type });
  }
  return entry;
}

/** Decodes the fixed-size head of the payloads the scanner knows. */
async function decodeHead(source: RandomAccessSource, entry: ScannedChunk, head: Uint8Array, payloadOffset: number, fileSize: number): Promise<void> {
  switch (entry.type) {
    case 'CORE': {
      // §6.1: the 36-byte header; the stored length is what the chunk holds beyond it.
      const fields = decodeBlockHeader(head, payloadOffset, Number.MAX_SAFE_INTEGER);
      entry.block = {
        ...fields,
        storedLength: entry.payloadLength - BLOCK_HEADER_LENGTH,
        keyframe: (fields.flags & BlockFlag.KEYFRAME) !== 0,
        frameKind: FRAME_KINDS[(fields.flags & BlockFlag.FRAME_KIND_MASK) >> BlockFlag.FRAME_KIND_SHIFT] ?? null,
        compressionName: COMPRESSIONS[fields.compression] ?? 'none',
      };
      return;
    }
    case 'BIDX': {
      // §6.2: u64 first_core_index | u32 block_count | u32 reserved.
      const c = new Cursor(head, 0, Math.min(head.length, BIDX_HEADER_LENGTH), payloadOffset);
      entry.segmentTable = { firstCoreIndex: c.u64('first_core_index'), blockCount: c.u32('block_count') };
      return;
    }
    case 'SEGT': {
      // §6.5: varint first_core_index | varint block_count | data digest | entries.
      const [firstCoreIndex, next] = readVarint(head, 0, head.length);
      const [blockCount] = readVarint(head, next, head.length);
      entry.segmentTable = { firstCoreIndex, blockCount };
      return;
    }
    case 'FOOT': {
      // §5.9: a footer is only meaningful as the last 36 bytes of the file.
      if (entry.offset + FOOTER_LENGTH !== fileSize) {
        throw new H4mkError('E_FORMAT', 'FOOT chunk is not the last 36 bytes of the file', { offset: entry.offset, chunk: 'FOOT' });
      }
      entry.footer = decodeFooter(await readExactly(source, entry.offset, FOOTER_LENGTH), fileSize);
      return;
    }
    default:
      return;
  }
}
