/**
 * The segment tables (v1 §6.2 BIDX, read from the end of each segment; v2
 * §6.5 SEGT, from its start), checked against SEGX (digest, first core_index,
 * count, length) and against TRAK, and kept in a small LRU. Tables that come
 * with a segment's bytes (a span read) are taken from those bytes, not read
 * again; with v2, those bytes' SEGD chunk is checked against the table's data
 * digest each time.
 */
import { runDigest, sha256 } from '../crypto/sha256.js';
import { bytesEqual } from '../format/bytes.js';
import { decodeChunk } from '../format/chunk.js';
import { BIDX_ENTRY_LENGTH, BIDX_HEADER_LENGTH, BlockFlag, CHUNK_HEADER_LENGTH, CHUNK_OVERHEAD, DIGEST_LENGTH, type Limits } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import { decodeSegmentRecord, decodeSegmentRecords } from '../format/segment-record.js';
import { type DataRange, decodeSegmentTable, segmentBlocksLength, type SegmentTable } from '../format/segment-table.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';
import type { IndexView } from './index-view.js';
import { SegmentCache } from './segment-cache.js';

/**
 * §6.5 Reading: decodes the chunk at `bytes[offset]` checking `matches` (its
 * payload against a SHA-256 the index vouches for) first, and the chunk's
 * CRC-32C only when that fails, so damage still reads as `E_CHECKSUM` and an
 * edit as `E_DIGEST`, the codes of checking the CRC first. With `everyCrc`
 * (verification, §8.4) the CRC is checked whatever the digest says. Chunk
 * errors carry the chunk's type.
 */
function digestFirst(
  bytes: Uint8Array,
  offset: number,
  where: { base: number; expect: string; limit: number },
  matches: (payload: Uint8Array) => boolean,
  everyCrc: boolean,
): { chunk: ReturnType<typeof decodeChunk>; verified: boolean } {
  let verified = false;
  const stronger = (payload: Uint8Array): boolean => (verified = matches(payload));
  let chunk: ReturnType<typeof decodeChunk>;
  try {
    chunk = decodeChunk(bytes, offset, { ...where, ...(everyCrc ? {} : { stronger }) });
  } catch (error) {
    throw error instanceof H4mkError ? error.relocate(0, { chunk: error.chunk ?? where.expect }) : error;
  }
  if (everyCrc) stronger(chunk.payload);
  return { chunk, verified };
}

export class SegmentTables {
  private readonly cache: SegmentCache;

  constructor(
    private readonly source: RandomAccessSource,
    private readonly view: IndexView,
    private readonly limits: Limits,
    capacity: number,
  ) {
    this.cache = new SegmentCache(capacity);
  }

  /** True when the table of `segment` is held (no read needed). */
  has(segment: number): boolean {
    return this.cache.get(segment) !== undefined;
  }

  /** Reads and checks the table of `segment` (BIDX digest against SEGX), cached. */
  async get(segment: number): Promise<SegmentTable> {
    const cached = this.cache.get(segment);
    if (cached !== undefined) return cached;
    const table = await this.load(segment);
    this.cache.set(segment, table);
    return table;
  }

  /**
   * Reads the table of `segment` without caching it; with `everyCrc`
   * (verification, §8.4) its chunk's CRC-32C is checked even when the digest matches.
   */
  async load(segment: number, everyCrc = false): Promise<SegmentTable> {
    const { at, length } = this.view.tableLocation(segment);
    return this.decode(segment, await readExactly(this.source, at, length), 0, everyCrc);
  }

  /**
   * The table of `segment` from fetched bytes starting at absolute `base`
   * (cached). For a v2 segment, the SEGD chunk in those bytes is checked
   * against the table (CRC-32C, length, data digest) unless `verifyData` is false.
   */
  fromBytes(segment: number, bytes: Uint8Array, base: number, verifyData = true): SegmentTable {
    let table = this.cache.get(segment);
    if (table === undefined) {
      const { at } = this.view.tableLocation(segment);
      table = this.decode(segment, bytes, at - base);
      this.cache.set(segment, table);
    }
    if (table.data !== null && verifyData) this.checkData(segment, table, bytes, base);
    return table;
  }

  /**
   * §6.5 Checks the SEGD chunk of `segment` in `bytes` (from absolute `base`)
   * against its table's data digest; its CRC-32C only when the digest fails,
   * unless `everyCrc` (verification, §8.4, checks every byte, the CRC field too).
   */
  checkData(segment: number, table: SegmentTable, bytes: Uint8Array, base: number, everyCrc = false): void {
    const start = this.view.dataOffset + (this.view.content.segments.offset[segment] as number);
    for (const data of table.data as DataRange[]) this.checkRecordData(segment, data, start + data.offset - CHUNK_HEADER_LENGTH, bytes, base, everyCrc);
  }

  /** §6.5 One SEGD chunk, at absolute `at`, against its record's data digest. */
  private checkRecordData(segment: number, data: DataRange, at: number, bytes: Uint8Array, base: number, everyCrc: boolean): void {
    const { chunk, verified } = digestFirst(
      bytes,
      at - base,
      { base, expect: 'SEGD', limit: at - base + CHUNK_OVERHEAD + data.length },
      (payload) => payload.length === data.length && bytesEqual(sha256(payload), data.digest),
      everyCrc,
    );
    if (verified) return;
    if (chunk.payload.length !== data.length) {
      throw new H4mkError('E_FORMAT', `segment ${segment} data is ${chunk.payload.length} bytes, its table describes ${data.length}`, {
        offset: at,
        chunk: 'SEGD',
      });
    }
    throw new H4mkError('E_DIGEST', `segment ${segment} data digest mismatch`, { offset: at + CHUNK_HEADER_LENGTH, chunk: 'SEGD' });
  }

  /** §6.2 / §6.5 Checks and decodes the table chunk (BIDX / SEGT) of `segment` found at `bytes[offset]`. */
  private decode(segment: number, bytes: Uint8Array, offset: number, everyCrc = false): SegmentTable {
    const dir = this.view.content.segments;
    const n = dir.blockCount[segment] as number;
    const type = dir.version === 2 ? 'SEGT' : 'BIDX';
    const { at, length: tableChunkLength } = this.view.tableLocation(segment);
    if (dir.recordsPerSegment > 1) return this.checkTracks(this.decodeRecords(segment, bytes, offset), at);
    const expected = dir.digests.subarray(segment * DIGEST_LENGTH, (segment + 1) * DIGEST_LENGTH);
    const { chunk, verified } = digestFirst(
      bytes,
      offset,
      { base: at - offset, expect: type, limit: offset + tableChunkLength },
      (payload) => bytesEqual(sha256(payload), expected),
      everyCrc,
    );
    if (!verified) throw new H4mkError('E_DIGEST', `segment ${segment} table digest mismatch`, { offset: at, chunk: type });
    const table = dir.version === 2 ? decodeSegmentRecord(chunk.payload, at + 8, this.limits) : decodeSegmentTable(chunk.payload, at + 8, this.limits);
    const length =
      table.data !== null ? tableChunkLength + CHUNK_OVERHEAD + (table.data[0] as DataRange).length : segmentBlocksLength(table) + tableChunkLength;
    if (table.firstCoreIndex !== dir.firstCoreIndex[segment] || table.count !== n || length !== dir.length[segment]) {
      throw new H4mkError('E_FORMAT', `segment ${segment} table disagrees with the segment directory`, { offset: at, chunk: type });
    }
    return this.checkTracks(table, at);
  }

  /**
   * §5.5 A segment of several records: every record's SEGT (CRC-32C, §6.5
   * rules), the SHA-256 of their digests against SEGX, and the records
   * against SEGX's block count, table length and records per segment.
   */
  private decodeRecords(segment: number, bytes: Uint8Array, offset: number): SegmentTable {
    const dir = this.view.content.segments;
    const at = this.view.dataOffset + (dir.offset[segment] as number);
    const length = dir.length[segment] as number;
    const { table, recordDigests, tableLength } = decodeSegmentRecords(bytes, offset, length, at - offset, this.limits, sha256);
    if (!bytesEqual(runDigest(recordDigests), dir.digests.subarray(segment * DIGEST_LENGTH, (segment + 1) * DIGEST_LENGTH))) {
      throw new H4mkError('E_DIGEST', `segment ${segment} table digest mismatch`, { offset: at, chunk: 'SEGT' });
    }
    const records = recordDigests.length;
    const last = segment === dir.count - 1;
    if (
      table.firstCoreIndex !== dir.firstCoreIndex[segment] ||
      table.count !== dir.blockCount[segment] ||
      tableLength !== dir.tableLength[segment] ||
      records > dir.recordsPerSegment ||
      (!last && records !== dir.recordsPerSegment)
    ) {
      throw new H4mkError('E_FORMAT', `segment ${segment} records disagree with the segment directory`, { offset: at, chunk: 'SEGT' });
    }
    return table;
  }

  /**
   * Every block of `table` names a track of TRAK, and none is ENCRYPTED in a
   * container without CRYP (§13.3); either is `E_FORMAT`.
   */
  private checkTracks(table: SegmentTable, at: number): SegmentTable {
    const dir = this.view.content.segments;
    const type = dir.version === 2 ? 'SEGT' : 'BIDX';
    const n = table.count;
    const trackCount = this.view.content.tracks.length;
    const plain = this.view.content.crypto === null;
    for (let i = 0; i < n; i++) {
      if (plain && ((table.flags[i] as number) & BlockFlag.ENCRYPTED) !== 0)
        throw new H4mkError('E_FORMAT', 'encrypted block in a container without CRYP', { offset: at, coreIndex: table.firstCoreIndex + i, chunk: type });
      if ((table.trackNumber[i] as number) >= trackCount) {
        throw new H4mkError('E_FORMAT', `block names track ${table.trackNumber[i]}, TRAK has ${trackCount}`, {
          offset: dir.version === 2 ? at : at + 8 + BIDX_HEADER_LENGTH + i * BIDX_ENTRY_LENGTH + 8,
          coreIndex: table.firstCoreIndex + i,
          chunk: type,
        });
      }
    }
    return table;
  }
}
