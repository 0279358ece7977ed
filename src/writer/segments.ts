/**
 * The data region as the writer builds it (docs/FORMAT.md §6): CORE chunks
 * framed and written, each recorded in its segment's BIDX table, the segment
 * directory (SEGX, §5.5), the seek tables (§5.4) and the integrity chain (§7).
 */
import { chainStart, chainStep, sha256, sha256Parts } from '../crypto/sha256.js';
import { type BlockFields, writeBlockHeader } from '../format/block.js';
import { chunkCrc, chunkTypeBytes, encodeChunk } from '../format/chunk.js';
import { BLOCK_HEADER_LENGTH, CHUNK_HEADER_LENGTH, CHUNK_OVERHEAD, DIGEST_LENGTH } from '../format/constants.js';
import { crc32c } from '../format/crc32c.js';
import type { SegmentDirectory } from '../format/segment-directory.js';
import { createSegmentTable, encodeSegmentTable, type SegmentTable } from '../format/segment-table.js';
import type { Sink, Spool } from '../io/sink.js';
import type { SegmentPolicy } from './options.js';
import { SeekBuilder } from './seek-builder.js';

/** Chunks up to this size are assembled in one scratch buffer. */
const SCRATCH_LIMIT = 256 * 1024;
const CORE_TYPE = chunkTypeBytes('CORE');

export class SegmentAssembler {
  readonly seek = new SeekBuilder();
  // Segment directory, growable.
  private readonly segOffset: number[] = [];
  private readonly segLength: number[] = [];
  private readonly segBlocks: number[] = [];
  private readonly segDigests: Uint8Array[] = [];
  private readonly table: SegmentTable;
  private segmentStart = 0;
  private segmentBytes = 0;
  private segmentFirstDtsUs = 0;
  /** Bytes of the data region written so far. */
  position = 0;
  /** Blocks written so far: the next block's core_index. */
  coreIndex = 0;
  chain = chainStart();
  payloadBytes = 0;
  storedBytes = 0;
  private scratch = new Uint8Array(64 * 1024);

  constructor(
    private readonly out: Sink | Spool,
    private readonly policy: SegmentPolicy,
  ) {
    this.table = createSegmentTable(0, policy.maxBlocks);
  }

  /** Blocks in the open segment. */
  get openBlocks(): number {
    return this.table.count;
  }

  /** §6.4 Whether a block (of `chunkLength` bytes framed) closes the open segment before it. */
  shouldClose(track: number, splitTrack: number, keyframe: boolean, chunkLength: number, dtsUs: number): boolean {
    const n = this.table.count;
    if (n === 0) return false;
    if (n >= this.policy.maxBlocks) return true;
    if (this.segmentBytes + chunkLength > this.policy.maxBytes) return true;
    if (this.policy.splitAtKeyframes && keyframe && track === splitTrack) return true;
    return dtsUs - this.segmentFirstDtsUs >= this.policy.maxDurationUs;
  }

  /** §6.1 Frames a block as a CORE chunk, writes it and records it in the segment table. Returns the chunk's length. */
  async writeBlock(fields: BlockFields, stored: Uint8Array, keyframe: boolean, dtsUs: number): Promise<number> {
    const bodyLength = BLOCK_HEADER_LENGTH + stored.length;
    const chunkLength = CHUNK_OVERHEAD + bodyLength;
    if (this.table.count === 0) this.segmentFirstDtsUs = dtsUs;

    let digest: Uint8Array;
    if (chunkLength <= SCRATCH_LIMIT) {
      // Small blocks: assemble the whole chunk once, then one CRC, one hash, one write.
      if (this.scratch.length < chunkLength) this.scratch = new Uint8Array(Math.max(chunkLength, this.scratch.length * 2));
      const chunk = this.scratch.subarray(0, chunkLength);
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunkLength);
      chunk.set(CORE_TYPE, 0);
      view.setUint32(4, bodyLength, true);
      writeBlockHeader(chunk, CHUNK_HEADER_LENGTH, fields);
      chunk.set(stored, CHUNK_HEADER_LENGTH + BLOCK_HEADER_LENGTH);
      view.setUint32(CHUNK_HEADER_LENGTH + bodyLength, crc32c(chunk.subarray(0, CHUNK_HEADER_LENGTH + bodyLength)), true);
      digest = sha256(chunk.subarray(CHUNK_HEADER_LENGTH, CHUNK_HEADER_LENGTH + bodyLength));
      const pending = this.out.write(chunk);
      if (pending !== undefined) await pending;
    } else {
      const head = new Uint8Array(CHUNK_HEADER_LENGTH + BLOCK_HEADER_LENGTH);
      head.set(CORE_TYPE, 0);
      new DataView(head.buffer).setUint32(4, bodyLength, true);
      writeBlockHeader(head, CHUNK_HEADER_LENGTH, fields);
      const trailer = new Uint8Array(4);
      new DataView(trailer.buffer).setUint32(0, chunkCrc(head, stored), true);
      digest = sha256Parts(head.subarray(CHUNK_HEADER_LENGTH), stored);
      await this.out.write(head);
      await this.out.write(stored);
      await this.out.write(trailer);
    }

    const i = this.table.count++;
    const tb = this.table;
    tb.chunkOffset[i] = this.segmentBytes;
    tb.storedLength[i] = stored.length;
    tb.trackNumber[i] = fields.trackNumber;
    tb.flags[i] = fields.flags;
    tb.compression[i] = fields.compression;
    tb.duration[i] = fields.duration;
    tb.pts[i] = fields.pts;
    tb.dts[i] = fields.dts;
    tb.originalLength[i] = fields.originalLength;
    tb.digests.set(digest, i * DIGEST_LENGTH);
    this.seek.add(fields.trackNumber, i, fields.pts, keyframe, stored.length, fields.originalLength);
    this.chain = chainStep(this.chain, digest);
    this.segmentBytes += chunkLength;
    this.position += chunkLength;
    this.coreIndex++;
    this.payloadBytes += fields.originalLength;
    this.storedBytes += stored.length;
    return chunkLength;
  }

  /** §6.2 Writes the open segment's BIDX chunk and enters the segment in the directory. Returns the chunk's length. */
  async closeSegment(): Promise<number> {
    const segment = this.segOffset.length;
    const payload = encodeSegmentTable(this.table);
    const chunk = encodeChunk('BIDX', payload);
    await this.out.write(chunk);
    this.segOffset.push(this.segmentStart);
    this.segLength.push(this.segmentBytes + chunk.length);
    this.segBlocks.push(this.table.count);
    this.segDigests.push(sha256(payload));
    this.seek.closeSegment(segment);
    this.position += chunk.length;
    this.segmentStart = this.position;
    this.segmentBytes = 0;
    this.table.count = 0;
    this.table.firstCoreIndex = this.coreIndex;
    return chunk.length;
  }

  /** Bytes written between two segments (a §14 checkpoint): the next segment starts after them. */
  skip(length: number): void {
    this.position += length;
    this.segmentStart = this.position;
  }

  /** §5.5 The segment directory of the segments closed so far. */
  directory(): SegmentDirectory {
    const count = this.segOffset.length;
    const digests = new Uint8Array(count * DIGEST_LENGTH);
    for (const [i, d] of this.segDigests.entries()) digests.set(d, i * DIGEST_LENGTH);
    const firstCoreIndex = new Float64Array(count);
    let total = 0;
    for (let s = 0; s < count; s++) {
      firstCoreIndex[s] = total;
      total += this.segBlocks[s] as number;
    }
    return {
      count,
      offset: Float64Array.from(this.segOffset),
      length: Float64Array.from(this.segLength),
      blockCount: Uint32Array.from(this.segBlocks),
      firstCoreIndex,
      digests,
      totalBlocks: total,
      // End of the last segment (a live checkpoint may follow it).
      end: count === 0 ? 0 : (this.segOffset[count - 1] as number) + (this.segLength[count - 1] as number),
    };
  }
}
