/**
 * The streaming writer: blocks in, a complete container out. Memory is the
 * top-level index (per segment, not per block) plus one segment's block table.
 *
 * This is the public facade: track and block checks (checks.ts), the data
 * region (segments.ts), the index region and the file's end
 * (index-builder.ts), encryption (encryption.ts) and §14 checkpoints
 * (live.ts) sit beside it.
 *
 * Over 400 lines because the class is the writer's documented public API
 * (create, addTrack, writeBlock, writeRawBlock, finish, abort, blockCount, writtenBlockCount)
 * plus the per-block path that orders compression, encryption and segment
 * cuts; each step it takes lives in the modules above.
 */
import { compressionId, getCodec } from '../compress/codec.js';
import type { BlockFields } from '../format/block.js';
import { BlockFlag, CHUNK_OVERHEAD, type Compression, FORMAT_VERSION, FRAME_KINDS, type Limits, resolveLimits } from '../format/constants.js';
import { encodeHeader } from '../format/header.js';
import { DEFAULT_SAFE } from '../format/index-region.js';
import { ticksToUs } from '../format/time.js';
import { utf8 } from '../format/strings.js';
import { encodeTrackTable } from '../format/track-table.js';
import type { Sink, Spool } from '../io/sink.js';
import { MemorySpool } from '../io/sink.js';
import { type BlockInput, DEFAULT_INDEX_BUDGET, type RawBlockInput, resolveSegmentPolicy, type TrackOptions, type WriterOptions } from './options.js';
import { createWriterCipher, type WriterCipher } from './encryption.js';
import { encryptedFlags, sealBlock, sealLater } from '../crypto/living-cipher.js';
import { TAG_LENGTH } from '../crypto/aead.js';
import type { CryptoParams } from '../format/crypto-params.js';
import { CheckpointSchedule, encodeCheckpoint, type LiveStats } from './live.js';
import { blockTimestamps, checkOrder, jsonObject, type TrackOrder, trackRecord } from './checks.js';
import { buildIndexRegion, writeFinalIndex } from './index-builder.js';
import { groupRecords, groupsFit } from './segment-groups.js';
import { type SealLater, SegmentAssembler } from './segments.js';
import type { SegmentDirectory } from '../format/segment-directory.js';
import type { TrackSeekTable } from '../format/seek-table.js';
import { encodeChunk } from '../format/chunk.js';
import { type KeyframeMapRef, needsKeyframeMap } from '../format/keyframe-map.js';
import { sha256 } from '../crypto/sha256.js';

/** Sizes a final index before its KEYS exists: KEYP's size does not depend on its values. */
const KEYP_PLACEHOLDER: KeyframeMapRef = Object.freeze({ offset: 0, length: 1, digest: new Uint8Array(32) });

type TrackState = TrackOrder & {
  /** Consecutive blocks that compression did not shrink. */
  incompressible: number;
  /** Blocks still to store without trying compression. */
  skipCompression: number;
  /** Blocks of this track appended to the file, and the last one's core_index. */
  written: number;
  lastCoreIndex: number;
  /** Encrypting: the track's latest block, held until it is known whether it is the last (§13.5). */
  pending: PendingBlock | null;
};

/** A block accepted but not yet encrypted and written. */
type PendingBlock = { fields: Omit<BlockFields, 'coreIndex'>; stored: Uint8Array; arrival: number };

/** After this many blocks in a row that do not shrink, stop compressing a track… */
const INCOMPRESSIBLE_STREAK = 16;
/** …for this many blocks, then try again. */
const INCOMPRESSIBLE_PAUSE = 256;
/**
 * §5.5 The longest run of records this writer lists as one segment: past it a
 * seek would read more than ~2 minutes of 2-second records, and an index that
 * still does not fit its budget is left larger instead.
 */
const MAX_RECORDS_PER_SEGMENT = 64;

/** What {@link H4mkWriter.finish} reports. */
export type WriteSummary = {
  blockCount: number;
  segmentCount: number;
  trackCount: number;
  /** Total bytes of the container. */
  bytes: number;
  payloadBytes: number;
  storedBytes: number;
  indexLength: number;
  chainHead: Uint8Array;
  layout: 'tail' | 'faststart';
  /** Live writers (§14): checkpoints written and skipped. */
  live?: LiveStats;
};

export class H4mkWriter {
  private readonly tracksById = new Map<string, TrackState>();
  private readonly tracks: TrackState[] = [];
  private readonly limits: Limits;
  private readonly layout: 'tail' | 'faststart';
  private readonly compression: Compression;
  private readonly meta: Record<string, unknown>;
  private readonly safe: Record<string, unknown>;
  /** The data region: blocks, segments, seek tables and the chain. */
  private readonly data: SegmentAssembler;
  private splitTrack = -1;
  /** Blocks accepted by writeBlock/writeRawBlock (≥ blocks written while encryption holds some). */
  private accepted = 0;
  private readonly cipher: WriterCipher | null;
  private readonly preservedCrypto: CryptoParams | null;
  private state: 'open' | 'busy' | 'finished' | 'failed' = 'open';
  /** §14 Live writers: the checkpoint schedule. */
  private readonly live: CheckpointSchedule | null;
  /** §5.5 Version 2: the index region's budget, and the records per segment the last index used. */
  private readonly indexBudget: number;
  private recordsPerSegment = 1;
  /** What the last index region listed. */
  private indexed: { segmentCount: number; chainHead: Uint8Array } = { segmentCount: 0, chainHead: new Uint8Array(32) };
  /** §6.6 The KEYS chunk written before the last record, and the runs (§5.5) it was made for; set at finish. */
  private keysPlan: { g: number; payload: Uint8Array; offset: number } | null = null;

  private constructor(
    private readonly sink: Sink,
    private readonly out: Sink | Spool,
    options: WriterOptions,
  ) {
    this.limits = resolveLimits(options.limits);
    const policy = resolveSegmentPolicy(options.segment, this.limits.maxSegmentBlocks);
    this.layout = options.layout ?? 'tail';
    this.compression = options.compression ?? 'none';
    this.meta = jsonObject(options.meta ?? {}, 'meta', this.limits.maxJsonLength);
    this.safe = jsonObject(options.safe ?? { ...DEFAULT_SAFE }, 'safe', this.limits.maxJsonLength);
    const version = options.formatVersion ?? FORMAT_VERSION;
    if (version !== 1 && version !== 2) throw new RangeError(`formatVersion must be 1 or 2, got ${String(version)}`);
    // Not live (§14): a large closed record may reach the file behind the next one (hashed off the main thread).
    this.data = new SegmentAssembler(out, policy, version, options.live === undefined);
    this.indexBudget = options.indexBudget ?? DEFAULT_INDEX_BUDGET;
    if (!Number.isSafeInteger(this.indexBudget) || this.indexBudget < 1) throw new RangeError('indexBudget must be a positive integer (bytes)');
    if (options.encryption !== undefined && options.preserveCrypto !== undefined) throw new TypeError('give encryption or preserveCrypto, not both');
    this.cipher = options.encryption === undefined ? null : createWriterCipher(options.encryption);
    this.preservedCrypto = options.preserveCrypto ?? null;
    if (options.live !== undefined && this.layout !== 'tail') throw new RangeError('a live container uses the tail layout');
    this.live = options.live === undefined ? null : new CheckpointSchedule(options.live);
  }

  /**
   * Starts a container on `sink`. Tail layout streams straight to the sink;
   * faststart spools the data region and writes the index first on finish.
   */
  static async create(sink: Sink, options: WriterOptions = {}): Promise<H4mkWriter> {
    try {
      getCodec(options.compression ?? 'none');
      if (options.layout === 'faststart') {
        const spool = sink.createSpool ? await sink.createSpool() : new MemorySpool();
        try {
          return new H4mkWriter(sink, spool, options);
        } catch (error) {
          await spool.dispose();
          throw error;
        }
      }
      if (options.layout !== undefined && options.layout !== 'tail') throw new RangeError(`unknown layout ${String(options.layout)}`);
      const writer = new H4mkWriter(sink, sink, options);
      await sink.write(encodeHeader({ version: writer.data.version, flags: 0, indexLength: 0 }));
      return writer;
    } catch (error) {
      // The writer owns the sink: rejected options leave nothing behind (no temporary file).
      await sink.abort().catch(() => {});
      throw error;
    }
  }

  /** Declares a track; returns its number. Tracks may be added until the first block. */
  addTrack(options: TrackOptions): number {
    this.assertOpen();
    if (this.accepted > 0) throw new TypeError('tracks must be added before the first block');
    if (typeof options.id !== 'string' || options.id.length === 0) throw new TypeError('track id must be a non-empty string');
    if (this.tracksById.has(options.id)) throw new TypeError(`track ${JSON.stringify(options.id)} already exists`);
    const record = trackRecord(options, this.tracks.length, this.compression, this.limits);
    const state: TrackState = {
      record,
      blocks: 0,
      lastDts: -Infinity,
      lastKeyPts: -Infinity,
      incompressible: 0,
      skipCompression: 0,
      written: 0,
      lastCoreIndex: -1,
      pending: null,
    };
    this.tracks.push(state);
    this.tracksById.set(record.id, state);
    this.data.seek.addTrack();
    if (this.splitTrack < 0 && record.kind === 'video') this.splitTrack = record.number;
    return record.number;
  }

  /**
   * Writes one block. Blocks of different tracks may interleave in any order.
   *
   * @throws H4mkError `E_ORDER` when the block breaks an ordering rule of its track (§6.1).
   */
  async writeBlock(block: BlockInput): Promise<void> {
    this.assertOpen();
    const t = this.resolveTrack(block.track);
    const { pts, dts, duration } = blockTimestamps(block, t.record.timescale);
    const keyframe = block.keyframe === true;
    if (!(block.payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
    if (block.payload.length > this.limits.maxBlockLength) throw new RangeError(`payload of ${block.payload.length} bytes exceeds maxBlockLength`);
    checkOrder(t, pts, dts, keyframe);
    const kindBits = block.kind === undefined ? 0 : FRAME_KINDS.indexOf(block.kind);
    if (kindBits < 1 && block.kind !== undefined) throw new TypeError('frame kind must be "I", "P" or "B"');
    const compression = block.compression ?? t.record.compression;
    // Check the codec before the write starts, so a bad name is a plain misuse error.
    if (block.compression !== undefined) compressionId(getCodec(block.compression).name);
    if (this.preservedCrypto !== null) throw new TypeError("a writer preserving another container's encryption takes raw blocks only");

    this.state = 'busy';
    try {
      let stored = block.payload;
      let codec = 0;
      if (t.skipCompression > 0) t.skipCompression--;
      else if (compression !== 'none' && block.payload.length > 0) {
        const packed = getCodec(compression).compress(block.payload);
        if (packed.length < block.payload.length) {
          stored = packed;
          codec = compressionId(compression);
          t.incompressible = 0;
        } else if (++t.incompressible >= INCOMPRESSIBLE_STREAK) {
          // Already-compressed media: stop paying for compression, probe again later.
          t.skipCompression = INCOMPRESSIBLE_PAUSE;
          t.incompressible = 0;
        }
      }
      const flags = (keyframe ? BlockFlag.KEYFRAME : 0) | (Math.max(0, kindBits) << BlockFlag.FRAME_KIND_SHIFT);
      const fields = { trackNumber: t.record.number, flags, compression: codec, duration, pts, dts, originalLength: block.payload.length };
      this.accept(t, pts, dts, keyframe);
      if (this.cipher !== null) {
        // Hold the block until the track's next one shows it is not the last (END_OF_TRACK, §13.5).
        const previous = t.pending;
        t.pending = { fields, stored: stored === block.payload ? stored.slice() : stored, arrival: this.accepted };
        if (previous !== null) await this.emitEncrypted(t, previous, false);
      } else {
        await this.append(t, { coreIndex: this.data.coreIndex, ...fields }, stored);
      }
      this.state = 'open';
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
  }

  /**
   * Writes a block whose stored bytes are already final (compressed and/or
   * encrypted elsewhere), verbatim: for layout conversion, recovery and
   * editing without recompressing. The same ordering rules apply.
   *
   * @throws H4mkError `E_ORDER` when the block breaks an ordering rule of its track (§6.1).
   */
  async writeRawBlock(block: RawBlockInput): Promise<void> {
    this.assertOpen();
    const t = this.resolveTrack(block.track);
    const { pts, dts, duration } = blockTimestamps(block, t.record.timescale);
    if (!(block.stored instanceof Uint8Array)) throw new TypeError('stored must be a Uint8Array');
    if (block.stored.length > this.limits.maxBlockLength) throw new RangeError(`stored block of ${block.stored.length} bytes exceeds maxBlockLength`);
    if (!Number.isInteger(block.originalLength) || block.originalLength < 0 || block.originalLength > this.limits.maxBlockLength) {
      throw new RangeError('originalLength must be an integer within 0..maxBlockLength');
    }
    if (!Number.isInteger(block.flags) || block.flags < 0 || (block.flags & BlockFlag.RESERVED_MASK) !== 0 || block.flags > 0xff)
      throw new RangeError('flags has reserved bits set');
    const keyframe = (block.flags & BlockFlag.KEYFRAME) !== 0;
    checkOrder(t, pts, dts, keyframe);
    const codec = compressionId(block.compression);
    if (codec === 0 && (block.flags & BlockFlag.ENCRYPTED) === 0 && block.stored.length !== block.originalLength) {
      throw new RangeError('an uncompressed, unencrypted block must have stored length = originalLength');
    }
    if (this.cipher !== null) throw new TypeError('an encrypting writer takes writeBlock only (raw blocks are already final)');
    if ((block.flags & BlockFlag.ENCRYPTED) !== 0 && this.preservedCrypto === null)
      throw new TypeError('an encrypted raw block needs preserveCrypto: a container without CRYP holds no encrypted block (§13.3)');
    this.state = 'busy';
    try {
      this.accept(t, pts, dts, keyframe);
      const fields = {
        coreIndex: this.data.coreIndex,
        trackNumber: t.record.number,
        flags: block.flags,
        compression: codec,
        duration,
        pts,
        dts,
        originalLength: block.originalLength,
      };
      await this.append(t, fields, block.stored);
      this.state = 'open';
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
  }

  /** Appends a block to the data region, closing the segment (and writing a due checkpoint) before it when it is time. */
  private async append(t: TrackState, fields: BlockFields, stored: Uint8Array, seal?: SealLater): Promise<void> {
    const dtsUs = ticksToUs(fields.dts, t.record.timescale);
    const keyframe = (fields.flags & BlockFlag.KEYFRAME) !== 0;
    const chunkLength = this.data.blockLength(stored.length + (seal === undefined ? 0 : TAG_LENGTH));
    // Live: a segment also closes once a checkpoint is due by time, so readers see blocks within checkpointMs.
    if (
      this.data.shouldClose(t.record.number, this.splitTrack, keyframe, chunkLength, dtsUs) ||
      (this.live !== null && this.data.openBlocks > 0 && this.live.timeDue())
    ) {
      await this.closeSegment();
      if (this.live !== null) await this.checkpointIfDue(this.live);
    }
    await this.data.writeBlock(fields, stored, keyframe, dtsUs, seal);
    t.written++;
    t.lastCoreIndex = fields.coreIndex;
    if (this.live !== null) {
      this.live.block(chunkLength);
      // Every block reaches the file at once: a crash loses at most the block being written, and a
      // checkpoint is never the end of the file for longer than it takes to write the block that
      // closed its segment (so a file that ends with a FOOT is a finished one).
      await this.sink.flush?.();
    }
  }

  private async closeSegment(before?: () => Uint8Array | null): Promise<void> {
    const length = await this.data.closeSegment(before);
    this.live?.segment(length);
  }

  /**
   * §5 The index region for everything written so far (at finish, or as a
   * §14 checkpoint). Version 2: when it would exceed the index budget, the
   * records are listed by runs (§5.5), the shortest run that fits; runs only
   * grow as the file does, so a live writer's search starts from the last.
   * A final index that follows a KEYS chunk (§5.10) lists the runs its plan
   * chose, so that the map and the index agree.
   */
  private indexRegion(): Uint8Array {
    const data = this.data;
    const records = data.directory();
    const seek = data.seek.tables();
    const plan = this.keysPlan;
    if (plan === null) {
      const chosen = this.layoutIndex(records, seek, data.chain, () => null);
      if (chosen.g > 1) this.recordsPerSegment = chosen.g;
      return this.checkedIndex(chosen.index);
    }
    const chosen = plan.g > 1 ? groupRecords(records, seek, plan.g) : { segments: records, seek, chainHead: data.chain };
    this.recordsPerSegment = Math.max(this.recordsPerSegment, plan.g);
    const ref = { offset: plan.offset, length: plan.payload.length, digest: sha256(plan.payload) };
    return this.checkedIndex(this.encodeIndex(chosen.segments, chosen.seek, chosen.chainHead, ref));
  }

  private checkedIndex(index: Uint8Array): Uint8Array {
    if (index.length > this.limits.maxIndexLength) throw new RangeError(`index of ${index.length} bytes exceeds maxIndexLength`);
    return index;
  }

  /**
   * §5.5 The index of `records` listed one by one, or by the shortest runs
   * whose index fits the budget (`g`: records per segment), trying runs from
   * the ones an earlier index listed.
   */
  private layoutIndex(
    records: SegmentDirectory,
    seek: TrackSeekTable[],
    chain: Uint8Array,
    keyed: (seek: TrackSeekTable[]) => KeyframeMapRef | null,
  ): { index: Uint8Array; g: number; segments: SegmentDirectory; seek: TrackSeekTable[] } {
    let chosen = { index: this.encodeIndex(records, seek, chain, keyed(seek)), g: 1, segments: records, seek };
    if (records.version === 2 && (chosen.index.length > this.indexBudget || this.recordsPerSegment > 1)) {
      const longest = Math.min(records.count, MAX_RECORDS_PER_SEGMENT);
      for (let g = Math.max(2, this.recordsPerSegment); g <= longest && groupsFit(records, g, this.limits.maxSegmentBlocks); g++) {
        const grouped = groupRecords(records, seek, g);
        chosen = { index: this.encodeIndex(grouped.segments, grouped.seek, grouped.chainHead, keyed(grouped.seek)), g, ...grouped };
        if (chosen.index.length <= this.indexBudget) break;
      }
    }
    return chosen;
  }

  /**
   * §6.6 At finish, when the last record has just closed (entered in the
   * directory and the seek tables, not yet written): the KEYS chunk to write
   * right before it, or null. The record moves back by the chunk's length,
   * which can change the runs (§5.5: a longer gap or run in SEGX), which
   * change the map: the plan is remade until the two agree (at most a few
   * rounds: the map depends only on the runs).
   */
  private planKeys(): Uint8Array | null {
    const data = this.data;
    const records = data.directory();
    const seek = data.seek.tables();
    const last = records.count - 1;
    const offset = records.offset[last] as number;
    let shift = 0;
    let plan: { g: number; payload: Uint8Array } | null = null;
    for (let round = 0; round < 4; round++) {
      const moved = { ...records, offset: Float64Array.from(records.offset), end: records.end + shift };
      moved.offset[last] = offset + shift;
      // KEYP's size does not depend on KEYS, so a placeholder sizes the index.
      const layout = this.layoutIndex(moved, seek, data.chain, (s) => (needsKeyframeMap(s) ? KEYP_PLACEHOLDER : null));
      const payload = needsKeyframeMap(layout.seek) ? data.seek.keyframeMap(layout.seek, layout.segments, moved) : null;
      // KEYS is optional (§5.10): one larger than max_index_length is left out, and seeks read segment tables.
      plan = payload !== null && payload.length <= this.limits.maxIndexLength ? { g: layout.g, payload } : null;
      const next = plan === null ? 0 : CHUNK_OVERHEAD + plan.payload.length;
      if (next === shift) break;
      shift = next;
    }
    if (plan === null) return null;
    this.keysPlan = { ...plan, offset };
    return encodeChunk('KEYS', plan.payload);
  }

  /** §5 Encodes an index region; its chain head also enters the transcript MAC of an encrypted container (§13.5). */
  private encodeIndex(segments: SegmentDirectory, seek: TrackSeekTable[], chainHead: Uint8Array, keys: KeyframeMapRef | null): Uint8Array {
    const data = this.data;
    const crypto: CryptoParams | null =
      this.cipher !== null
        ? {
            ...this.cipher.params,
            transcriptMac: this.cipher.mac(
              chainHead,
              data.coreIndex,
              this.tracks.map((t) => ({ blockCount: t.written, lastCoreIndex: t.lastCoreIndex })),
            ),
          }
        : this.preservedCrypto;
    this.indexed = { segmentCount: segments.count, chainHead };
    const parts = { tracks: this.tracks.map((t) => t.record), meta: this.meta, safe: this.safe, seek, segments, keys, chainHead, crypto };
    return buildIndexRegion(parts);
  }

  /**
   * §14 Right after a segment closed: writes a checkpoint (index region + FOOT
   * for everything so far) when one is due, then makes the file durable. The
   * bytes sit between two segments: the next segment's SEGX gap covers them.
   */
  private async checkpointIfDue(live: CheckpointSchedule): Promise<void> {
    const reason = live.due();
    if (reason === null) return;
    await this.data.drain();
    const index = this.indexRegion();
    if (reason === 'blocks' && !live.affordable(index.length)) {
      live.skip();
      return;
    }
    const checkpoint = encodeCheckpoint(index, this.data.position, this.data.version);
    await this.sink.write(checkpoint);
    await this.sink.sync?.();
    this.data.skip(checkpoint.length);
    live.wrote(index.length, checkpoint.length);
  }

  /** Records an accepted block in the track's ordering state. */
  private accept(t: TrackState, pts: number, dts: number, keyframe: boolean): void {
    if (this.accepted === 0 && this.cipher !== null) {
      // Tracks, META and SAFE are final now: bind every block to them (§13.4).
      this.cipher.bindIndex({
        trak: encodeTrackTable(this.tracks.map((x) => x.record)),
        meta: utf8(JSON.stringify(this.meta)),
        safe: utf8(JSON.stringify(this.safe)),
      });
    }
    t.blocks++;
    t.lastDts = dts;
    if (keyframe) t.lastKeyPts = pts;
    this.accepted++;
  }

  /** §13.1 Encrypts a held block at the next core_index and appends it. */
  private async emitEncrypted(t: TrackState, p: PendingBlock, endOfTrack: boolean): Promise<void> {
    const cipher = this.cipher as WriterCipher;
    const fields: BlockFields = { ...p.fields, coreIndex: this.data.coreIndex, flags: encryptedFlags(p.fields.flags, endOfTrack) };
    const timescale = t.record.timescale;
    // v2: sealed with its record, on a worker thread where the platform has one (seal-batch.ts); v1: here, now.
    if (this.data.version === 2) await this.append(t, fields, p.stored, (batch, at, length) => sealLater(cipher.context, fields, timescale, batch, at, length));
    else await this.append(t, fields, sealBlock(cipher.context, fields, timescale, p.stored));
  }

  /** Writes the last segment, the index and the footer, then commits the sink. */
  async finish(): Promise<WriteSummary> {
    this.assertOpen();
    this.state = 'busy';
    try {
      if (this.cipher !== null) {
        // Each track's held block is its last: it carries END_OF_TRACK (§13.5). Arrival order is kept.
        const held = this.tracks.filter((t) => t.pending !== null).sort((a, b) => (a.pending as PendingBlock).arrival - (b.pending as PendingBlock).arrival);
        for (const t of held) {
          await this.emitEncrypted(t, t.pending as PendingBlock, true);
          t.pending = null;
        }
      }
      const data = this.data;
      // v2: the KEYS chunk (§6.6) goes right before the last record, planned as it closes.
      if (data.openBlocks > 0) await this.closeSegment(data.version === 2 ? () => this.planKeys() : undefined);
      await data.drain();
      const index = this.indexRegion();
      const bytes = await writeFinalIndex(this.sink, this.out, index, data.position, data.version);
      await this.sink.commit();
      this.state = 'finished';
      return {
        blockCount: data.coreIndex,
        segmentCount: this.indexed.segmentCount,
        trackCount: this.tracks.length,
        bytes: bytes + CHUNK_OVERHEAD + 24,
        payloadBytes: data.payloadBytes,
        storedBytes: data.storedBytes,
        indexLength: index.length,
        chainHead: this.indexed.chainHead,
        layout: this.layout,
        ...(this.live === null ? {} : { live: { ...this.live.stats } }),
      };
    } catch (error) {
      this.state = 'failed';
      await this.abort();
      throw error;
    }
  }

  /** Abandons the container: nothing appears at the destination. */
  async abort(): Promise<void> {
    if (this.state === 'finished') return;
    this.state = 'failed';
    // Records still on their way (hashed off the main thread) settle before the output goes.
    await this.data.drain().catch(() => {});
    if (this.out !== this.sink) await (this.out as Spool).dispose().catch(() => {});
    await this.sink.abort();
  }

  /** Blocks written so far. */
  get blockCount(): number {
    return this.data.coreIndex;
  }

  /**
   * Blocks whose bytes have been handed to the sink: all of them in v1 (each
   * CORE chunk is written as it comes); in v2, those of written records (§6.5:
   * the open record is written whole when it closes, a large one once its
   * digest, computed off the main thread, is back). The blocks counted when
   * a `sink.sync()` begins survive a crash once it returns (§14.2); read the
   * count before the sync, not after: a record may reach the sink while the
   * sync runs, behind its flush. Tail layout only: a faststart writer hands
   * its records to a spool, and nothing of it survives a crash.
   */
  get writtenBlockCount(): number {
    return this.data.writtenBlocks;
  }

  private assertOpen(): void {
    if (this.state === 'busy') throw new TypeError('a write is in progress: await each writeBlock before the next');
    if (this.state !== 'open') throw new TypeError(`writer is ${this.state}`);
  }

  private resolveTrack(track: string | number): TrackState {
    const t = typeof track === 'number' ? this.tracks[track] : this.tracksById.get(track);
    if (t === undefined) throw new TypeError(`unknown track ${JSON.stringify(track)}`);
    return t;
  }
}
