/**
 * §6.2 BIDX: the block table of one segment, stored right after the
 * segment's CORE chunks. Fixed-width entries, one per block, in file order.
 */
import { Cursor, ByteWriter } from './bytes.js';
import { type BlockFields, checkBlockFields } from './block.js';
import { BIDX_ENTRY_LENGTH, BIDX_HEADER_LENGTH, BLOCK_HEADER_LENGTH, CHUNK_OVERHEAD, DIGEST_LENGTH, MAX_SEGMENT_LENGTH } from './constants.js';
import { H4mkError } from './errors.js';
import { carve } from './slab.js';

/** §6.5 A SEGD payload: its SHA-256 and where it lies from the segment start. */
export type DataRange = { digest: Uint8Array; offset: number; length: number };

/** A segment's block table, column-wise. */
export type SegmentTable = {
  firstCoreIndex: number;
  count: number;
  /** CORE chunk start, relative to the segment start. */
  chunkOffset: Uint32Array;
  storedLength: Uint32Array;
  trackNumber: Uint16Array;
  flags: Uint8Array;
  compression: Uint8Array;
  duration: Uint32Array;
  pts: Float64Array;
  dts: Float64Array;
  originalLength: Uint32Array;
  /** v1: `count` SHA-256 digests of the CORE payloads, 32 bytes each; v2: empty (§6.5 digests the data as a whole). */
  digests: Uint8Array;
  /**
   * v2 (§6.5): one range per record of the segment, in file order: the
   * SHA-256 of its SEGD payload and where that payload lies from the segment
   * start; null in v1.
   */
  data: DataRange[] | null;
};

/** An empty, growable table for the writer (v2 tables keep no per-block digests: `withDigests` false). */
export function createSegmentTable(firstCoreIndex: number, capacity: number, withDigests = true): SegmentTable {
  // One range for all columns (8-byte columns first, so each stays aligned), carved from a shared slab
  // when small: a segment read allocates no ArrayBuffer of its own.
  const { buffer, offset } = carve(capacity * (8 + 8 + 4 + 4 + 4 + 4 + 2 + 1 + 1) + (withDigests ? capacity * DIGEST_LENGTH : 0));
  let at = offset;
  const take = <T>(make: (b: ArrayBuffer, offset: number, length: number) => T, width: number, length = capacity): T => {
    const view = make(buffer, at, length);
    at += width * length;
    return view;
  };
  const f64 = (b: ArrayBuffer, o: number, n: number) => new Float64Array(b, o, n);
  const u32 = (b: ArrayBuffer, o: number, n: number) => new Uint32Array(b, o, n);
  const u8 = (b: ArrayBuffer, o: number, n: number) => new Uint8Array(b, o, n);
  return {
    firstCoreIndex,
    count: 0,
    pts: take(f64, 8),
    dts: take(f64, 8),
    chunkOffset: take(u32, 4),
    storedLength: take(u32, 4),
    duration: take(u32, 4),
    originalLength: take(u32, 4),
    trackNumber: take((b, o, n) => new Uint16Array(b, o, n), 2),
    flags: take(u8, 1),
    compression: take(u8, 1),
    digests: take(u8, 1, withDigests ? capacity * DIGEST_LENGTH : 0),
    data: null,
  };
}

/** Sets entry `i` of a segment table: where its bytes lie in the segment, their length, and its fields. */
export function setTableEntry(t: SegmentTable, i: number, chunkOffset: number, storedLength: number, fields: Omit<BlockFields, 'coreIndex'>): void {
  t.chunkOffset[i] = chunkOffset;
  t.storedLength[i] = storedLength;
  t.trackNumber[i] = fields.trackNumber;
  t.flags[i] = fields.flags;
  t.compression[i] = fields.compression;
  t.duration[i] = fields.duration;
  t.pts[i] = fields.pts;
  t.dts[i] = fields.dts;
  t.originalLength[i] = fields.originalLength;
}

/** The fields of entry `i` of a segment table (§6.1 names, as CORE carries them). */
export function tableEntry(t: SegmentTable, i: number): BlockFields {
  return {
    coreIndex: t.firstCoreIndex + i,
    trackNumber: t.trackNumber[i] as number,
    flags: t.flags[i] as number,
    compression: t.compression[i] as number,
    duration: t.duration[i] as number,
    pts: t.pts[i] as number,
    dts: t.dts[i] as number,
    originalLength: t.originalLength[i] as number,
  };
}

/** The byte length of the segment's CORE chunks before BIDX, from its table. */
export function segmentBlocksLength(t: SegmentTable): number {
  if (t.count === 0) return 0;
  const last = t.count - 1;
  return (t.chunkOffset[last] as number) + CHUNK_OVERHEAD + BLOCK_HEADER_LENGTH + (t.storedLength[last] as number);
}

/** Bytes of the BIDX chunk (framing included) of a segment of `n` blocks. */
export function segmentTableChunkLength(n: number): number {
  return CHUNK_OVERHEAD + BIDX_HEADER_LENGTH + n * BIDX_ENTRY_LENGTH;
}

/**
 * §6.2 Encodes a BIDX payload. Refuses (RangeError) a table whose entries do
 * not describe back-to-back CORE chunks from offset 0, or a segment longer
 * than max_segment_length (§9), where a u32 chunk_offset would not hold.
 */
export function encodeSegmentTable(t: SegmentTable): Uint8Array {
  // The offsets are summed exactly (as doubles): a u32 chunkOffset that wrapped past 2^32 shows here.
  let expected = 0;
  for (let i = 0; i < t.count; i++) {
    if (expected + segmentTableChunkLength(t.count) > MAX_SEGMENT_LENGTH)
      throw new RangeError(`segment exceeds max_segment_length (2^32 - 1 bytes) at block ${i}`);
    if ((t.chunkOffset[i] as number) !== expected)
      throw new RangeError(`BIDX entry ${i}: chunk_offset ${t.chunkOffset[i]} where the CORE chunks put ${expected}`);
    expected += CHUNK_OVERHEAD + BLOCK_HEADER_LENGTH + (t.storedLength[i] as number);
  }
  if (expected + segmentTableChunkLength(t.count) > MAX_SEGMENT_LENGTH) throw new RangeError('segment exceeds max_segment_length (2^32 - 1 bytes)');
  const w = new ByteWriter(BIDX_HEADER_LENGTH + t.count * BIDX_ENTRY_LENGTH);
  w.u64(t.firstCoreIndex).u32(t.count).u32(0);
  for (let i = 0; i < t.count; i++) {
    w.u32(t.chunkOffset[i] as number) //   +0  chunk_offset
      .u32(t.storedLength[i] as number) // +4  stored_length
      .u16(t.trackNumber[i] as number) //  +8  track_number
      .u8(t.flags[i] as number) //         +10 flags
      .u8(t.compression[i] as number) //   +11 compression
      .u32(t.duration[i] as number) //     +12 duration
      .i64(t.pts[i] as number) //          +16 pts
      .i64(t.dts[i] as number) //          +24 dts
      .u32(t.originalLength[i] as number) // +32 original_length
      .u32(0) //                           +36 reserved
      .bytes(t.digests.subarray(i * DIGEST_LENGTH, (i + 1) * DIGEST_LENGTH)); // +40 digest
  }
  return w.finish();
}

/**
 * §6.2 Decodes a BIDX payload (`base` = its absolute offset) and checks that
 * its entries describe back-to-back CORE chunks starting at offset 0.
 */
export function decodeSegmentTable(payload: Uint8Array, base: number, options: { maxBlockLength: number; maxSegmentBlocks: number }): SegmentTable {
  const c = new Cursor(payload, 0, payload.length, base);
  const firstCoreIndex = c.u64('first_core_index');
  const count = c.u32('block_count');
  c.zeros(4, 'BIDX reserved field');
  if (count === 0) throw new H4mkError('E_FORMAT', 'a segment holds at least one block', { offset: base + 8, chunk: 'BIDX' });
  if (count > options.maxSegmentBlocks) throw new H4mkError('E_LIMIT', `segment of ${count} blocks exceeds the limit`, { offset: base + 8, chunk: 'BIDX' });
  if (payload.length !== BIDX_HEADER_LENGTH + count * BIDX_ENTRY_LENGTH) {
    // §4.2: fewer bytes than the entries need is E_TRUNCATED, bytes left over E_FORMAT.
    throw new H4mkError(
      payload.length < BIDX_HEADER_LENGTH + count * BIDX_ENTRY_LENGTH ? 'E_TRUNCATED' : 'E_FORMAT',
      `BIDX payload is ${payload.length} bytes, ${count} entries need ${BIDX_HEADER_LENGTH + count * BIDX_ENTRY_LENGTH}`,
      {
        offset: base,
        chunk: 'BIDX',
      },
    );
  }
  const tableChunk = segmentTableChunkLength(count);
  const t = createSegmentTable(firstCoreIndex, count);
  t.count = count;
  let expectedOffset = 0;
  for (let i = 0; i < count; i++) {
    const at = c.fileOffset;
    const chunkOffset = c.u32('chunk_offset');
    const storedLength = c.u32('stored_length');
    const fields = {
      coreIndex: firstCoreIndex + i,
      trackNumber: c.u16('track_number'),
      flags: c.u8('flags'),
      compression: c.u8('compression'),
      duration: c.u32('duration'),
      pts: c.i64('pts'),
      dts: c.i64('dts'),
      originalLength: c.u32('original_length'),
    };
    c.zeros(4, 'BIDX entry reserved field');
    checkBlockFields(fields, at, options.maxBlockLength);
    if (storedLength > options.maxBlockLength)
      throw new H4mkError('E_LIMIT', `stored length ${storedLength} exceeds the limit`, { offset: at, coreIndex: fields.coreIndex });
    if (chunkOffset !== expectedOffset)
      throw new H4mkError('E_FORMAT', 'BIDX entries must describe contiguous CORE chunks', { offset: at, coreIndex: fields.coreIndex });
    expectedOffset += CHUNK_OVERHEAD + BLOCK_HEADER_LENGTH + storedLength;
    if (expectedOffset + tableChunk > MAX_SEGMENT_LENGTH)
      throw new H4mkError('E_LIMIT', 'segment exceeds max_segment_length (2^32 - 1 bytes)', { offset: at, chunk: 'BIDX' });
    setTableEntry(t, i, chunkOffset, storedLength, fields);
    t.digests.set(c.bytesView(DIGEST_LENGTH, 'digest'), i * DIGEST_LENGTH);
  }
  return t;
}
