/**
 * The data region as the writer builds it (docs/FORMAT.md §6): the segment
 * directory (SEGX, §5.5), the seek tables (§5.4) and the integrity chain (§7),
 * with each segment's blocks written as v2 SEGT + SEGD (§6.5: the segment is
 * gathered in memory and written whole when it closes) or as v1 CORE chunks
 * closed by a BIDX (§6.1–6.2: each block written as it comes).
 */
import { TAG_LENGTH } from '../crypto/aead.js';
import { sealAway, sha256Away } from '../crypto/primitives.js';
import { type SealBatch, SealBatchBuilder, sealBatchHere } from '../crypto/seal-batch.js';
import { chainStart, chainStep, sha256, sha256Parts } from '../crypto/sha256.js';
import { type BlockFields, writeBlockHeader } from '../format/block.js';
import { chunkCrc, chunkTypeBytes, encodeChunk } from '../format/chunk.js';
import {
  BLOCK_HEADER_LENGTH,
  CHUNK_HEADER_LENGTH,
  CHUNK_OVERHEAD,
  DIGEST_LENGTH,
  type FormatVersion,
  MAX_V2_SEGMENT_LENGTH,
  SEGT_MAX_ENTRY_LENGTH,
  SEGT_MIN_HEADER_LENGTH,
} from '../format/constants.js';
import { crc32c } from '../format/crc32c.js';
import type { SegmentDirectory } from '../format/segment-directory.js';
import { encodeSegmentRecord } from '../format/segment-record.js';
import { varintLength } from '../format/varint.js';
import { createSegmentTable, encodeSegmentTable, type SegmentTable, setTableEntry } from '../format/segment-table.js';
import type { Sink, Spool } from '../io/sink.js';
import type { SegmentPolicy } from './options.js';
import { SeekBuilder } from './seek-builder.js';

/** Placeholder for a record's data digest until it is known. */
const NO_DIGEST = new Uint8Array(DIGEST_LENGTH);
/** v2 records with this many data bytes or more are hashed off the main thread (below, the hand-off costs more than it saves)… */
const OFFLOAD_MIN_BYTES = 256 * 1024;
/** …and at most this many (each waiting record holds its buffer). */
const OFFLOAD_MAX_BYTES = 16 * 1024 * 1024;
/** Records hashed or written behind the writer at once. */
const MAX_RECORDS_IN_FLIGHT = 2;
/** Chunks up to this size are assembled in one scratch buffer. */
const SCRATCH_LIMIT = 256 * 1024;
const CORE_TYPE = chunkTypeBytes('CORE');
const SEGD_TYPE = chunkTypeBytes('SEGD');

/** §6.5 An upper bound of a v2 segment's length: `n` blocks of `dataLength` bytes, each table entry at its largest. */
function v2SegmentBound(n: number, dataLength: number): number {
  return 2 * CHUNK_OVERHEAD + SEGT_MIN_HEADER_LENGTH + 16 + n * SEGT_MAX_ENTRY_LENGTH + dataLength;
}

/** Notes a block to seal with its record, given where its plaintext lies in the record's data (see seal-batch.ts). */
export type SealLater = (batch: SealBatchBuilder, at: number, length: number) => void;

export class SegmentAssembler {
  readonly seek = new SeekBuilder();
  // Segment directory, growable.
  private readonly segOffset: number[] = [];
  private readonly segLength: number[] = [];
  private readonly segBlocks: number[] = [];
  private readonly segDigests: Uint8Array[] = [];
  private readonly segTableLengths: number[] = [];
  private readonly table: SegmentTable;
  /** v2: the open segment's stored bytes, gathered until it closes. */
  private data: Uint8Array = new Uint8Array(0);
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
  /** v2: the last queued record write, the ones not awaited yet, the first failure, and buffers that came back. */
  private tail: Promise<void> = Promise.resolve();
  private readonly inFlight: Promise<void>[] = [];
  private failure: { error: unknown } | null = null;
  private readonly spares: Uint8Array[] = [];
  /** Blocks whose bytes have been handed to the output (v1: each as it comes; v2: those of written records). */
  writtenBlocks = 0;
  /** v2: the open record's encrypted blocks, sealed when it closes (see seal-batch.ts). */
  readonly sealing = new SealBatchBuilder();

  constructor(
    private readonly out: Sink | Spool,
    private readonly policy: SegmentPolicy,
    readonly version: FormatVersion,
    /**
     * v2: large records may be hashed off the main thread and written behind
     * the next one. Not for live files: there a closed record reaches the file at once.
     */
    private readonly pipelined = false,
  ) {
    this.table = createSegmentTable(0, policy.maxBlocks, version === 1);
  }

  /** Bytes a block of `storedLength` adds to its segment (v1: its CORE chunk; v2: its stored bytes). */
  blockLength(storedLength: number): number {
    return this.version === 1 ? CHUNK_OVERHEAD + BLOCK_HEADER_LENGTH + storedLength : storedLength;
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
    // v2 (§9): the segment, its table at its largest and both chunk framings within max_v2_segment_length.
    if (this.version === 2 && v2SegmentBound(n + 1, this.segmentBytes + chunkLength) > MAX_V2_SEGMENT_LENGTH) return true;
    if (this.policy.splitAtKeyframes && keyframe && track === splitTrack) return true;
    return dtsUs - this.segmentFirstDtsUs >= this.policy.maxDurationUs;
  }

  /**
   * Records a block in the open segment's table: v2 (§6.5) gathers its stored
   * bytes for the SEGD chunk; v1 (§6.1) frames and writes it as a CORE chunk.
   * Returns the bytes it adds to the segment.
   */
  async writeBlock(fields: BlockFields, stored: Uint8Array, keyframe: boolean, dtsUs: number, seal?: SealLater): Promise<number> {
    if (this.version === 2) return this.gatherBlock(fields, stored, keyframe, dtsUs, seal);
    if (seal !== undefined) throw new TypeError('version 1 blocks are sealed before they are written');
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

    const i = this.table.count;
    this.record(i, this.segmentBytes, fields, stored.length);
    this.table.digests.set(digest, i * DIGEST_LENGTH);
    this.seek.add(fields.trackNumber, i, fields.pts, keyframe, stored.length, fields.originalLength);
    this.chain = chainStep(this.chain, digest);
    this.segmentBytes += chunkLength;
    this.position += chunkLength;
    this.coreIndex++;
    this.writtenBlocks++;
    this.payloadBytes += fields.originalLength;
    this.storedBytes += stored.length;
    return chunkLength;
  }

  /**
   * §6.5 Adds a block's stored bytes to the open v2 segment. With `seal`, the
   * bytes are a plaintext the record seals when it closes (§13.1): it takes
   * TAG_LENGTH more bytes, and `seal` notes the block in {@link sealing}.
   */
  private gatherBlock(fields: BlockFields, bytes: Uint8Array, keyframe: boolean, dtsUs: number, seal?: SealLater): number {
    const storedLength = bytes.length + (seal === undefined ? 0 : TAG_LENGTH);
    if (v2SegmentBound(1, storedLength) > MAX_V2_SEGMENT_LENGTH)
      throw new RangeError(`a block of ${storedLength} bytes does not fit a version 2 segment (max_v2_segment_length 2^28 bytes)`);
    const i = this.table.count;
    if (i === 0) this.segmentFirstDtsUs = dtsUs;
    const at = this.segmentBytes;
    if (this.data.length < at + storedLength) {
      const grown = new Uint8Array(Math.max(at + storedLength, this.data.length * 2, 64 * 1024));
      grown.set(this.data.subarray(0, at));
      this.data = grown;
    }
    this.data.set(bytes, at);
    seal?.(this.sealing, at, bytes.length);
    this.record(i, at, fields, storedLength);
    this.seek.add(fields.trackNumber, i, fields.pts, keyframe, storedLength, fields.originalLength);
    this.segmentBytes += storedLength;
    this.coreIndex++;
    this.payloadBytes += fields.originalLength;
    this.storedBytes += storedLength;
    return storedLength;
  }

  private record(i: number, offset: number, fields: BlockFields, storedLength: number): void {
    this.table.count = i + 1;
    setTableEntry(this.table, i, offset, storedLength, fields);
  }

  /**
   * Closes the open segment: v2 writes its SEGT and SEGD chunks (§6.5), v1 its
   * BIDX chunk (§6.2); either way it enters the directory and the chain (§7).
   * Returns the bytes the segment adds beyond its blocks' (writeBlock's counts):
   * the table and, in v2, the chunk framing.
   */
  async closeSegment(before?: () => Uint8Array | null): Promise<number> {
    if (this.version === 2) return this.closeRecord(before);
    const segment = this.segOffset.length;
    const payload = encodeSegmentTable(this.table);
    const chunk = encodeChunk('BIDX', payload);
    await this.out.write(chunk);
    this.segOffset.push(this.segmentStart);
    this.segLength.push(this.segmentBytes + chunk.length);
    this.segBlocks.push(this.table.count);
    this.segDigests.push(sha256(payload));
    this.segTableLengths.push(payload.length);
    this.seek.closeSegment(segment);
    this.position += chunk.length;
    this.segmentStart = this.position;
    this.segmentBytes = 0;
    this.table.count = 0;
    this.table.firstCoreIndex = this.coreIndex;
    return chunk.length;
  }

  /**
   * §6.5 Closes the open v2 record: enters it in the directory and the seek
   * tables at once, and writes it (SEGT, then SEGD) with its digests and
   * chain step. In a pipelined writer, a large record is hashed off the main
   * thread where the platform can (node: a worker thread) and written once
   * its digest is back, while the next record gathers in another buffer: at
   * most {@link MAX_RECORDS_IN_FLIGHT} wait so. Records reach the output in
   * order either way, and {@link drain} waits for them all.
   */
  private async closeRecord(before?: () => Uint8Array | null): Promise<number> {
    const segment = this.segOffset.length;
    const data = this.data.subarray(0, this.segmentBytes);
    const blocks = this.table.count;
    // The data digest goes right after the two leading varints; the rest of the table is final now.
    const table = encodeSegmentRecord(this.table, NO_DIGEST);
    const digestAt = varintLength(this.table.firstCoreIndex) + varintLength(blocks);
    const length = 2 * CHUNK_OVERHEAD + table.length + data.length;
    this.segOffset.push(this.segmentStart);
    this.segLength.push(length);
    this.segBlocks.push(blocks);
    this.segDigests.push(NO_DIGEST);
    this.segTableLengths.push(table.length);
    this.seek.closeSegment(segment);
    // Chunks to write right before this record (the last one's KEYS, §6.6), made now that it is in the directory: it moves back by them.
    const prefix = before?.() ?? null;
    if (prefix !== null) {
      this.segOffset[segment] = this.segmentStart + prefix.length;
      this.position += prefix.length;
    }
    this.position += length;
    const beyondBlocks = length - this.segmentBytes + (prefix?.length ?? 0);
    this.segmentStart = this.position;
    this.segmentBytes = 0;
    this.table.count = 0;
    this.table.firstCoreIndex = this.coreIndex;

    const { hashed, away } = this.sealAndHash(data, this.sealing.take());
    // A record behind a failed one is never awaited: its rejection is handled here.
    hashed.catch(() => {});
    const job = this.tail.then(async () => {
      if (this.failure !== null) return;
      const { digest, bytes } = await hashed;
      table.set(digest, digestAt);
      if (prefix !== null) await this.out.write(prefix);
      await this.writeRecord(table, bytes);
      const tableDigest = sha256(table);
      this.segDigests[segment] = tableDigest;
      this.chain = chainStep(this.chain, tableDigest);
      this.writtenBlocks += blocks;
      if (away && this.spares.length < MAX_RECORDS_IN_FLIGHT) this.spares.push(new Uint8Array(bytes.buffer));
    });
    this.tail = job.catch((error: unknown) => {
      this.failure ??= { error };
    });
    if (!away) {
      await this.drain();
      return beyondBlocks;
    }
    this.inFlight.push(this.tail);
    while (this.inFlight.length > MAX_RECORDS_IN_FLIGHT) await this.inFlight.shift();
    if (this.failure !== null) throw this.failure.error;
    return beyondBlocks;
  }

  /**
   * A closed record's data: sealed (its encrypted blocks, §13.1) and hashed,
   * off the main thread where the platform can and the record is worth the
   * hand-off (any sealing is; a plain record from OFFLOAD_MIN_BYTES). Data
   * that goes away takes its buffer along; the next record gathers in a spare.
   */
  private sealAndHash(data: Uint8Array, batch: SealBatch | null): { hashed: Promise<{ digest: Uint8Array; bytes: Uint8Array }>; away: boolean } {
    const fits = this.pipelined && data.length <= OFFLOAD_MAX_BYTES;
    let hashed: Promise<{ digest: Uint8Array; bytes: Uint8Array }> | null = null;
    const capacity = this.data.length;
    if (batch !== null) {
      hashed = fits ? (sealAway()?.(data, batch) ?? null) : null;
      if (hashed === null) sealBatchHere(data, batch);
    }
    if (hashed === null && fits && data.length >= OFFLOAD_MIN_BYTES) hashed = sha256Away()?.(data) ?? null;
    if (hashed === null) return { hashed: Promise.resolve({ digest: sha256(data), bytes: data }), away: false };
    this.data = this.spares.pop() ?? new Uint8Array(capacity);
    return { hashed, away: true };
  }

  /** Writes a record's SEGT and SEGD chunks. */
  private async writeRecord(table: Uint8Array, data: Uint8Array): Promise<void> {
    const tableChunk = encodeChunk('SEGT', table);
    const head = new Uint8Array(CHUNK_HEADER_LENGTH);
    head.set(SEGD_TYPE, 0);
    new DataView(head.buffer).setUint32(4, data.length, true);
    const trailer = new Uint8Array(4);
    new DataView(trailer.buffer).setUint32(0, chunkCrc(head, data), true);
    const length = tableChunk.length + head.length + data.length + trailer.length;
    if (length <= SCRATCH_LIMIT) {
      // Small segments: one write.
      const all = new Uint8Array(length);
      all.set(tableChunk, 0);
      all.set(head, tableChunk.length);
      all.set(data, tableChunk.length + head.length);
      all.set(trailer, length - trailer.length);
      await this.out.write(all);
      return;
    }
    await this.out.write(tableChunk);
    await this.out.write(head);
    // Sinks copy or finish with the bytes before the write settles, so the buffer is reused after it.
    await this.out.write(data);
    await this.out.write(trailer);
  }

  /** Waits until every closed record is written and entered in the chain; rethrows a failure. */
  async drain(): Promise<void> {
    await this.tail;
    this.inFlight.length = 0;
    if (this.failure !== null) throw this.failure.error;
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
      tableLength: Float64Array.from(this.segTableLengths),
      version: this.version,
      recordsPerSegment: 1,
      totalBlocks: total,
      // End of the last segment (a live checkpoint may follow it).
      end: count === 0 ? 0 : (this.segOffset[count - 1] as number) + (this.segLength[count - 1] as number),
    };
  }
}
