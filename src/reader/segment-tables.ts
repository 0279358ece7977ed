/**
 * The segment tables (§6.2 BIDX): read from the end of each segment, checked
 * against SEGX (digest, first core_index, count, length) and against TRAK,
 * and kept in a small LRU. Tables that come with a segment's bytes (a span
 * read) are taken from those bytes, not read again.
 */
import { sha256 } from '../crypto/sha256.js';
import { bytesEqual } from '../format/bytes.js';
import { decodeChunk } from '../format/chunk.js';
import { BIDX_ENTRY_LENGTH, BIDX_HEADER_LENGTH, DIGEST_LENGTH, type Limits } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import { decodeSegmentTable, segmentBlocksLength, type SegmentTable } from '../format/segment-table.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';
import type { IndexView } from './index-view.js';
import { SegmentCache } from './segment-cache.js';

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

  /** Reads the table of `segment` without caching it. */
  async load(segment: number): Promise<SegmentTable> {
    const { at, length } = this.view.tableLocation(segment);
    return this.decode(segment, await readExactly(this.source, at, length), 0);
  }

  /** The table of `segment` from fetched bytes starting at absolute `base` (cached). */
  fromBytes(segment: number, bytes: Uint8Array, base: number): SegmentTable {
    const cached = this.cache.get(segment);
    if (cached !== undefined) return cached;
    const { at } = this.view.tableLocation(segment);
    const table = this.decode(segment, bytes, at - base);
    this.cache.set(segment, table);
    return table;
  }

  /** §6.2 Checks and decodes the BIDX chunk of `segment` found at `bytes[offset]`. */
  private decode(segment: number, bytes: Uint8Array, offset: number): SegmentTable {
    const dir = this.view.content.segments;
    const n = dir.blockCount[segment] as number;
    const { at, length: bidxLength } = this.view.tableLocation(segment);
    const chunk = decodeChunk(bytes, offset, { base: at - offset, expect: 'BIDX', limit: offset + bidxLength });
    const digest = sha256(chunk.payload);
    if (!bytesEqual(digest, dir.digests.subarray(segment * DIGEST_LENGTH, (segment + 1) * DIGEST_LENGTH))) {
      throw new H4mkError('E_DIGEST', `segment ${segment} table digest mismatch`, { offset: at, chunk: 'BIDX' });
    }
    const table = decodeSegmentTable(chunk.payload, at + 8, this.limits);
    if (table.firstCoreIndex !== dir.firstCoreIndex[segment] || table.count !== n || segmentBlocksLength(table) + bidxLength !== dir.length[segment]) {
      throw new H4mkError('E_FORMAT', `segment ${segment} table disagrees with the segment directory`, { offset: at, chunk: 'BIDX' });
    }
    const trackCount = this.view.content.tracks.length;
    for (let i = 0; i < n; i++) {
      if ((table.trackNumber[i] as number) >= trackCount) {
        throw new H4mkError('E_FORMAT', `block names track ${table.trackNumber[i]}, TRAK has ${trackCount}`, {
          offset: at + 8 + BIDX_HEADER_LENGTH + i * BIDX_ENTRY_LENGTH + 8,
          coreIndex: table.firstCoreIndex + i,
          chunk: 'BIDX',
        });
      }
    }
    return table;
  }
}
