/**
 * §6.5 The v2 segment: a SEGT chunk (the block table, varint-coded, with the
 * SHA-256 of the data) followed by a SEGD chunk (the blocks' stored bytes back
 * to back). This module encodes and decodes the SEGT payload into the same
 * column-wise {@link SegmentTable} the v1 BIDX decoder gives, with
 * `chunkOffset` the offset of each block's stored bytes from the segment start.
 */
import { checkBlockFields } from './block.js';
import {
  AEAD_TAG_LENGTH,
  BlockFlag,
  COMPRESSIONS,
  CHUNK_HEADER_LENGTH,
  CHUNK_OVERHEAD,
  DIGEST_LENGTH,
  MAX_SEGMENT_LENGTH,
  MAX_TIMESTAMP,
} from './constants.js';
import { decodeChunk, peekChunkHeader } from './chunk.js';
import { H4mkError } from './errors.js';
import { createSegmentTable, type DataRange, type SegmentTable } from './segment-table.js';
import { unzigzag, VarintReader, varintLength, writeVarint, zigzag } from './varint.js';

/** Largest |dts difference| two valid timestamps can have (§2.4): 2 · (2^51 − 1). */
const MAX_DTS_DELTA = 2 * MAX_TIMESTAMP;

/** §6.5 The original length a block with compression 0 implies: its stored bytes, less the tag when encrypted. */
export function impliedOriginalLength(flags: number, storedLength: number): number {
  return (flags & BlockFlag.ENCRYPTED) !== 0 ? storedLength - AEAD_TAG_LENGTH : storedLength;
}

/**
 * §6.5 Encodes the SEGT payload of `t` (its first `t.count` entries) with the
 * SHA-256 of the segment's data. Refuses (RangeError) a block whose original
 * length a compression-0 entry would not imply.
 */
export function encodeSegmentRecord(t: SegmentTable, dataDigest: Uint8Array): Uint8Array {
  let size = varintLength(t.firstCoreIndex) + varintLength(t.count) + DIGEST_LENGTH;
  const lastDts = new Map<number, number>();
  const dtsDelta = new Float64Array(t.count);
  for (let i = 0; i < t.count; i++) {
    const track = t.trackNumber[i] as number;
    const dts = t.dts[i] as number;
    dtsDelta[i] = zigzag(dts - (lastDts.get(track) ?? 0));
    lastDts.set(track, dts);
    const compression = t.compression[i] as number;
    const stored = t.storedLength[i] as number;
    if (compression === 0 && (t.originalLength[i] as number) !== impliedOriginalLength(t.flags[i] as number, stored)) {
      throw new RangeError(`block ${t.firstCoreIndex + i}: original length ${t.originalLength[i]} is not what its stored length implies`);
    }
    size +=
      varintLength(track) +
      2 +
      varintLength(stored) +
      (compression === 0 ? 0 : varintLength(t.originalLength[i] as number)) +
      varintLength(dtsDelta[i] as number) +
      varintLength(zigzag((t.pts[i] as number) - dts)) +
      varintLength(t.duration[i] as number);
  }
  const out = new Uint8Array(size);
  let p = writeVarint(out, 0, t.firstCoreIndex);
  p = writeVarint(out, p, t.count);
  out.set(dataDigest, p);
  p += DIGEST_LENGTH;
  for (let i = 0; i < t.count; i++) {
    const compression = t.compression[i] as number;
    p = writeVarint(out, p, t.trackNumber[i] as number); // track_number
    out[p++] = t.flags[i] as number; //                      flags
    out[p++] = compression; //                               compression
    p = writeVarint(out, p, t.storedLength[i] as number); // stored_length
    if (compression !== 0) p = writeVarint(out, p, t.originalLength[i] as number); // original_length
    p = writeVarint(out, p, dtsDelta[i] as number); //       dts − previous dts of the track in the segment
    p = writeVarint(out, p, zigzag((t.pts[i] as number) - (t.dts[i] as number))); // pts − dts
    p = writeVarint(out, p, t.duration[i] as number); //     duration
  }
  return out;
}

/**
 * §6.5 Decodes a SEGT payload found at absolute offset `base` (the SEGT
 * chunk starts 8 bytes before it). `chunkOffset` of each entry is the offset
 * of its stored bytes from the segment's start (the SEGT chunk's first byte).
 */
export function decodeSegmentRecord(payload: Uint8Array, base: number, options: { maxBlockLength: number; maxSegmentBlocks: number }): SegmentTable {
  const end = payload.length;
  const at = (p: number) => ({ offset: base + p, chunk: 'SEGT' });
  const r = new VarintReader(payload, 0, end, base, 'SEGT');
  const firstCoreIndex = r.next();
  const countAt = r.offset;
  const count = r.next();
  if (count === 0) throw new H4mkError('E_FORMAT', 'a segment holds at least one block', at(countAt));
  if (count > options.maxSegmentBlocks) throw new H4mkError('E_LIMIT', `segment of ${count} blocks exceeds the limit`, at(countAt));
  if (r.offset + DIGEST_LENGTH > end) throw new H4mkError('E_TRUNCATED', 'SEGT ends inside its data digest', at(r.offset));
  const dataDigest = payload.slice(r.offset, r.offset + DIGEST_LENGTH);
  r.offset += DIGEST_LENGTH;
  // Each entry takes at least 7 bytes: bound the allocation by the bytes present (§4.2: short is E_TRUNCATED).
  if (count * 7 > end - r.offset) throw new H4mkError('E_TRUNCATED', `SEGT holds fewer bytes than ${count} entries need`, at(countAt));
  const t = createSegmentTable(firstCoreIndex, count, false);
  t.count = count;
  // The previous dts of each track in this segment (dense for the usual small track numbers).
  const lastDts: number[] = [];
  // The SEGD payload starts after the SEGT chunk (framing and payload) and the SEGD chunk header.
  const dataStart = CHUNK_OVERHEAD + end + CHUNK_HEADER_LENGTH;
  let dataLength = 0;
  // This loop runs once per block of every segment read: no per-entry allocation, a local cursor,
  // one-byte varints and small zig-zag values decoded inline (longer varints and every error go
  // through the reader and its checks), and the shared field checks run only to raise the error
  // when one fails.
  const bytes = payload;
  let p = r.offset;
  const varint = (): number => {
    r.offset = p;
    const value = r.next();
    p = r.offset;
    return value;
  };
  for (let i = 0; i < count; i++) {
    const entryAt = p;
    let track = p < end ? (bytes[p] as number) : 0x80;
    if (track < 0x80) p++;
    else track = varint();
    if (p + 2 > end) throw new H4mkError('E_TRUNCATED', 'SEGT entry ends inside its flags', at(p));
    const flags = bytes[p] as number;
    const compression = bytes[p + 1] as number;
    p += 2;
    let stored = p < end ? (bytes[p] as number) : 0x80;
    if (stored < 0x80) p++;
    else stored = varint();
    const original = compression !== 0 ? varint() : impliedOriginalLength(flags, stored);
    let delta = p < end ? (bytes[p] as number) : 0x80;
    if (delta < 0x80) {
      p++;
      delta = (delta >>> 1) ^ -(delta & 1);
    } else delta = unzigzag(varint());
    let offset = p < end ? (bytes[p] as number) : 0x80;
    if (offset < 0x80) {
      p++;
      offset = (offset >>> 1) ^ -(offset & 1);
    } else offset = unzigzag(varint());
    let duration = p < end ? (bytes[p] as number) : 0x80;
    if (duration < 0x80) p++;
    else duration = varint();
    const coreIndex = firstCoreIndex + i;
    if (track > 0xffff) throw new H4mkError('E_FORMAT', `track number ${track} above 65535`, { ...at(entryAt), coreIndex });
    if (duration > 0xffff_ffff) throw new H4mkError('E_LIMIT', `duration ${duration} above 2^32 - 1`, { ...at(entryAt), coreIndex });
    if (original < 0) throw new H4mkError('E_FORMAT', 'encrypted block shorter than its tag', { ...at(entryAt), coreIndex });
    if (delta > MAX_DTS_DELTA || delta < -MAX_DTS_DELTA || offset > MAX_DTS_DELTA || offset < -MAX_DTS_DELTA)
      throw new H4mkError('E_LIMIT', 'timestamp magnitude exceeds 2^51 - 1', { ...at(entryAt), coreIndex });
    const dts = (lastDts[track] ?? 0) + delta;
    lastDts[track] = dts;
    const pts = dts + offset;
    if (
      (flags & BlockFlag.RESERVED_MASK) !== 0 ||
      compression >= COMPRESSIONS.length ||
      pts > MAX_TIMESTAMP ||
      pts < -MAX_TIMESTAMP ||
      dts > MAX_TIMESTAMP ||
      dts < -MAX_TIMESTAMP ||
      original > options.maxBlockLength
    ) {
      checkBlockFields(
        { coreIndex, trackNumber: track, flags, compression, duration, pts, dts, originalLength: original },
        base + entryAt,
        options.maxBlockLength,
      );
    }
    if (stored > options.maxBlockLength) throw new H4mkError('E_LIMIT', `stored length ${stored} exceeds the limit`, { ...at(entryAt), coreIndex });
    dataLength += stored;
    if (dataStart + dataLength + CHUNK_TRAILER > MAX_SEGMENT_LENGTH)
      throw new H4mkError('E_LIMIT', 'segment exceeds max_segment_length (2^32 - 1 bytes)', { ...at(entryAt), coreIndex });
    t.chunkOffset[i] = dataStart + dataLength - stored;
    t.storedLength[i] = stored;
    t.trackNumber[i] = track;
    t.flags[i] = flags;
    t.compression[i] = compression;
    t.duration[i] = duration;
    t.pts[i] = pts;
    t.dts[i] = dts;
    t.originalLength[i] = original;
  }
  r.offset = p;
  if (r.offset !== end) throw new H4mkError('E_FORMAT', 'bytes left after the last SEGT entry', at(r.offset));
  t.data = [{ digest: dataDigest, offset: dataStart, length: dataLength }];
  return t;
}

const CHUNK_TRAILER = CHUNK_OVERHEAD - CHUNK_HEADER_LENGTH;

/** §6.5 Bytes of a v2 segment: SEGT chunk (payload `tableLength`) and SEGD chunk (payload `dataLength`). */
export function segmentRecordLength(tableLength: number, dataLength: number): number {
  return CHUNK_OVERHEAD + tableLength + CHUNK_OVERHEAD + dataLength;
}

/** A v2 segment of several records, decoded (§5.5, §6.5). */
export type SegmentRecords = {
  /** The records' tables as one: core indexes run on, offsets are from the segment start. */
  table: SegmentTable;
  /** The SHA-256 of each record's SEGT payload, in file order. */
  recordDigests: Uint8Array[];
  /** The sum of the records' SEGT payload lengths. */
  tableLength: number;
};

/**
 * §5.5 / §6.5 Decodes the records of a v2 segment from its bytes:
 * `bytes[offset … offset + length)` is the whole segment and `base` the
 * absolute offset of `bytes[0]`. Each SEGT is checked (CRC-32C) and decoded;
 * a record's SEGD is stepped over by the length its table gives (its bytes
 * are checked when used, like a one-record segment's). Whole chunks of other
 * types between two records (a live writer's checkpoints, §14.1) are stepped
 * over by their declared length.
 */
export function decodeSegmentRecords(
  bytes: Uint8Array,
  offset: number,
  length: number,
  base: number,
  options: { maxBlockLength: number; maxSegmentBlocks: number },
  digest: (payload: Uint8Array) => Uint8Array,
): SegmentRecords {
  const end = offset + length;
  const parts: { table: SegmentTable; at: number }[] = [];
  const recordDigests: Uint8Array[] = [];
  let tableLength = 0;
  let total = 0;
  let p = offset;
  let afterRecord = false;
  while (p < end) {
    const { type, length: declared } = peekChunkHeader(bytes.subarray(0, end), p, base);
    if (type !== 'SEGT') {
      if (parts.length === 0 || type === 'SEGD')
        throw new H4mkError('E_FORMAT', `${JSON.stringify(type)} chunk where a record's SEGT must start`, { offset: base + p, chunk: type });
      p += CHUNK_OVERHEAD + declared;
      if (p > end)
        throw new H4mkError('E_TRUNCATED', `${type} chunk runs past the end of its segment`, { offset: base + p - CHUNK_OVERHEAD - declared, chunk: type });
      afterRecord = false;
      continue;
    }
    let payload: Uint8Array;
    try {
      payload = decodeChunk(bytes, p, { base, limit: end, expect: 'SEGT' }).payload;
    } catch (error) {
      throw error instanceof H4mkError ? error.relocate(0, { chunk: error.chunk ?? 'SEGT' }) : error;
    }
    const table = decodeSegmentRecord(payload, base + p + CHUNK_HEADER_LENGTH, options);
    const previous = parts[parts.length - 1];
    if (previous !== undefined && table.firstCoreIndex !== previous.table.firstCoreIndex + previous.table.count)
      throw new H4mkError('E_FORMAT', 'the records of a segment do not number their blocks on from each other', { offset: base + p, chunk: 'SEGT' });
    total += table.count;
    if (total > options.maxSegmentBlocks) throw new H4mkError('E_LIMIT', `segment of ${total} blocks exceeds the limit`, { offset: base + p, chunk: 'SEGT' });
    recordDigests.push(digest(payload));
    tableLength += payload.length;
    parts.push({ table, at: p - offset });
    const data = (table.data as DataRange[])[0] as DataRange;
    p += data.offset + data.length + CHUNK_TRAILER;
    if (p > end)
      throw new H4mkError('E_TRUNCATED', 'a record runs past the end of its segment', { offset: base + p - data.length - CHUNK_TRAILER, chunk: 'SEGD' });
    afterRecord = true;
  }
  const first = parts[0];
  if (first === undefined || !afterRecord) throw new H4mkError('E_FORMAT', 'a segment ends with its last record', { offset: base + end, chunk: 'SEGX' });
  const merged = createSegmentTable(first.table.firstCoreIndex, total, false);
  merged.count = total;
  const ranges: DataRange[] = [];
  let i = 0;
  for (const { table: t, at } of parts) {
    for (let k = 0; k < t.count; k++) merged.chunkOffset[i + k] = (t.chunkOffset[k] as number) + at;
    merged.storedLength.set(t.storedLength.subarray(0, t.count), i);
    merged.trackNumber.set(t.trackNumber.subarray(0, t.count), i);
    merged.flags.set(t.flags.subarray(0, t.count), i);
    merged.compression.set(t.compression.subarray(0, t.count), i);
    merged.duration.set(t.duration.subarray(0, t.count), i);
    merged.pts.set(t.pts.subarray(0, t.count), i);
    merged.dts.set(t.dts.subarray(0, t.count), i);
    merged.originalLength.set(t.originalLength.subarray(0, t.count), i);
    const data = (t.data as DataRange[])[0] as DataRange;
    ranges.push({ digest: data.digest, offset: data.offset + at, length: data.length });
    i += t.count;
  }
  merged.data = ranges;
  return { table: merged, recordDigests, tableLength };
}
