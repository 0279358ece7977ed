/**
 * §5.5 SEGX: the segment directory. One varint-coded entry per segment:
 * where it is, how long, how many blocks, (v2) how long its table is, and
 * the SHA-256 of its table payload (v1 BIDX, v2 SEGT).
 */
import { ByteWriter, Cursor } from './bytes.js';
import {
  BIDX_ENTRY_LENGTH,
  BIDX_HEADER_LENGTH,
  BLOCK_HEADER_LENGTH,
  CHUNK_OVERHEAD,
  DIGEST_LENGTH,
  type FormatVersion,
  MAX_SEGMENT_LENGTH,
  MAX_V2_SEGMENT_LENGTH,
  SEGT_MIN_ENTRY_LENGTH,
  SEGT_MIN_HEADER_LENGTH,
} from './constants.js';
import { H4mkError } from './errors.js';
import { VarintReader } from './varint.js';

/** The segment directory, column-wise. Offsets are relative to the data region start. */
export type SegmentDirectory = {
  count: number;
  offset: Float64Array;
  length: Float64Array;
  blockCount: Uint32Array;
  /** Cumulative: core_index of each segment's first block. */
  firstCoreIndex: Float64Array;
  /** SHA-256 of each segment's table payload (v1 BIDX, v2 SEGT), 32 bytes each. */
  digests: Uint8Array;
  /** Payload length of each segment's table chunk (v1: 16 + 72 · block_count; v2: from SEGX). */
  tableLength: Float64Array;
  /** The format version whose segments these are. */
  version: FormatVersion;
  /**
   * v2 (§5.5): records (SEGT + SEGD pairs, §6.5) in each segment, the last
   * segment holding 1 … this many; 1 in v1 and in v2 files whose index fits
   * its budget one record per segment.
   */
  recordsPerSegment: number;
  /** Total blocks in all segments. */
  totalBlocks: number;
  /** End of the last segment, relative to the data region (0 if none). */
  end: number;
};

/** An empty directory of `count` segments, its columns zeroed, for a decoder or a writer to fill. */
export function createSegmentDirectory(count: number, version: FormatVersion, recordsPerSegment: number): SegmentDirectory {
  // One buffer for all columns (8-byte columns first), as the seek tables: one ArrayBuffer per open, not six.
  const buffer = new ArrayBuffer(count * (4 * 8 + 4 + DIGEST_LENGTH));
  const f64 = (k: number) => new Float64Array(buffer, k * 8 * count, count);
  return {
    count,
    offset: f64(0),
    length: f64(1),
    firstCoreIndex: f64(2),
    tableLength: f64(3),
    blockCount: new Uint32Array(buffer, 32 * count, count),
    digests: new Uint8Array(buffer, 36 * count, count * DIGEST_LENGTH),
    version,
    recordsPerSegment,
    totalBlocks: 0,
    end: 0,
  };
}

/** The smallest segment that can hold `n` blocks (v1 §6.2, v2 §6.5: empty payloads, smallest entries). */
export function minimalSegmentLength(n: number, version: FormatVersion): number {
  if (version === 2) return 2 * CHUNK_OVERHEAD + minimalTableLength(n);
  return n * (CHUNK_OVERHEAD + BLOCK_HEADER_LENGTH) + CHUNK_OVERHEAD + BIDX_HEADER_LENGTH + n * BIDX_ENTRY_LENGTH;
}

/** §6.5 The smallest SEGT payload of `n` entries. */
function minimalTableLength(n: number): number {
  return SEGT_MIN_HEADER_LENGTH + n * SEGT_MIN_ENTRY_LENGTH;
}

/** §6.2 The BIDX payload length of a v1 segment of `n` blocks. */
export function bidxPayloadLength(n: number): number {
  return BIDX_HEADER_LENGTH + n * BIDX_ENTRY_LENGTH;
}

/** §5.5 Encodes SEGX. */
export function encodeSegmentDirectory(d: SegmentDirectory): Uint8Array {
  const w = new ByteWriter(8 + d.count * 44);
  w.u32(d.count).u32(d.version === 2 ? d.recordsPerSegment - 1 : 0); // v2: extra_records; v1: reserved
  let prevEnd = 0;
  for (let s = 0; s < d.count; s++) {
    const offset = d.offset[s] as number;
    if ((d.length[s] as number) > MAX_SEGMENT_LENGTH) throw new RangeError(`segment ${s} of ${d.length[s]} bytes exceeds max_segment_length (2^32 - 1)`);
    w.varint(offset - prevEnd) // gap after the previous segment
      .varint(d.length[s] as number) // length
      .varint(d.blockCount[s] as number); // block_count
    if (d.version === 2) w.varint(d.tableLength[s] as number); // table_length
    w.bytes(d.digests.subarray(s * DIGEST_LENGTH, (s + 1) * DIGEST_LENGTH)); // bidx_digest
    prevEnd = offset + (d.length[s] as number);
  }
  return w.finish();
}

/** §5.5 Decodes SEGX (`base` = absolute payload offset). */
export function decodeSegmentDirectory(
  payload: Uint8Array,
  base: number,
  limits: { maxSegmentBlocks: number; maxBlocks: number },
  version: FormatVersion,
): SegmentDirectory {
  const c = new Cursor(payload, 0, payload.length, base);
  const count = c.u32('segment_count');
  let recordsPerSegment = 1;
  if (version === 2) {
    recordsPerSegment = c.u32('extra_records') + 1;
    if (recordsPerSegment > limits.maxSegmentBlocks)
      throw new H4mkError('E_LIMIT', `${recordsPerSegment} records per segment exceed max_segment_blocks`, { offset: base + 4, chunk: 'SEGX' });
  } else c.zeros(4, 'SEGX reserved field');
  // Each entry takes at least 35 (v2: 36) bytes: bound the allocation by the bytes present.
  // (Short is E_TRUNCATED, §4.2: the count declares more entries than the payload holds.)
  const varints = version === 2 ? 4 : 3;
  if (count * (varints + DIGEST_LENGTH) > c.remaining)
    throw new H4mkError('E_TRUNCATED', 'SEGX segment_count does not fit its entries', { offset: base, chunk: 'SEGX' });
  const d = createSegmentDirectory(count, version, recordsPerSegment);
  const bytes = c.bytes;
  let p = c.position;
  const end = payload.length;
  let prevEnd = 0;
  let total = 0;
  // Varints through one reader (no allocation per value; errors carry file offsets and the chunk).
  const r = new VarintReader(bytes, p, end, base, 'SEGX');
  for (let s = 0; s < count; s++) {
    r.offset = p;
    const at = base + p;
    const gap = r.next();
    const length = r.next();
    const n = r.next();
    const tableLength = version === 2 ? r.next() : bidxPayloadLength(n);
    p = r.offset;
    if (n === 0) throw new H4mkError('E_FORMAT', 'a segment holds at least one block', { offset: at, chunk: 'SEGX' });
    if (n > limits.maxSegmentBlocks)
      throw new H4mkError('E_LIMIT', `segment block count ${n} outside 1..${limits.maxSegmentBlocks}`, { offset: at, chunk: 'SEGX' });
    if (length > MAX_SEGMENT_LENGTH)
      throw new H4mkError('E_LIMIT', `segment of ${length} bytes exceeds max_segment_length (2^32 - 1)`, { offset: at, chunk: 'SEGX' });
    if (version === 2 && length > MAX_V2_SEGMENT_LENGTH)
      throw new H4mkError('E_LIMIT', `segment of ${length} bytes exceeds max_v2_segment_length (2^28)`, { offset: at, chunk: 'SEGX' });
    if (length < minimalSegmentLength(n, version)) throw new H4mkError('E_FORMAT', 'segment too short for its blocks', { offset: at, chunk: 'SEGX' });
    if (version === 2 && (tableLength < minimalTableLength(n) || tableLength + 2 * CHUNK_OVERHEAD > length))
      throw new H4mkError('E_FORMAT', 'segment table length does not fit its segment', { offset: at, chunk: 'SEGX' });
    if (p + DIGEST_LENGTH > end) throw new H4mkError('E_TRUNCATED', 'SEGX digest runs past the chunk', { offset: base + p, chunk: 'SEGX' });
    d.digests.set(bytes.subarray(p, p + DIGEST_LENGTH), s * DIGEST_LENGTH);
    p += DIGEST_LENGTH;
    const offset = prevEnd + gap;
    d.offset[s] = offset;
    d.length[s] = length;
    d.blockCount[s] = n;
    d.tableLength[s] = tableLength;
    d.firstCoreIndex[s] = total;
    total += n;
    prevEnd = offset + length;
    if (!Number.isSafeInteger(prevEnd) || total > limits.maxBlocks)
      throw new H4mkError('E_LIMIT', 'segment directory exceeds the limits', { offset: at, chunk: 'SEGX' });
  }
  if (p !== end) throw new H4mkError('E_FORMAT', 'trailing bytes after the segment directory', { offset: base + p, chunk: 'SEGX' });
  d.totalBlocks = total;
  d.end = prevEnd;
  return d;
}
