/**
 * The streaming writer: blocks in, a complete container out. Memory is the
 * top-level index (per segment, not per block) plus one segment's block table.
 */
import { compressionId, getCodec } from '../compress/codec.js';
import { chainStart, chainStep, sha256, sha256Parts } from '../crypto/sha256.js';
import { type BlockFields, writeBlockHeader } from '../format/block.js';
import { crc32c } from '../format/crc32c.js';
import { chunkCrc, chunkTypeBytes, encodeChunk } from '../format/chunk.js';
import {
  BLOCK_HEADER_LENGTH,
  BlockFlag,
  CHUNK_HEADER_LENGTH,
  CHUNK_OVERHEAD,
  type Compression,
  DIGEST_LENGTH,
  FORMAT_VERSION,
  FRAME_KINDS,
  HEADER_LENGTH,
  HeaderFlag,
  type Limits,
  MAX_SHORT_STRING,
  MAX_TIMESTAMP,
  resolveLimits,
  TRACK_KINDS,
} from '../format/constants.js';
import { encodeFooter, encodeHeader } from '../format/header.js';
import { DEFAULT_SAFE, encodeIndexRegion } from '../format/index-region.js';
import type { SegmentDirectory } from '../format/segment-directory.js';
import { createSegmentTable, encodeSegmentTable, type SegmentTable } from '../format/segment-table.js';
import { ticksToUs, usToTicksExact } from '../format/time.js';
import { utf8 } from '../format/strings.js';
import { encodeTrackTable, type TrackRecord } from '../format/track-table.js';
import type { Sink, Spool } from '../io/sink.js';
import { MemorySpool } from '../io/sink.js';
import { type BlockInput, type RawBlockInput, resolveSegmentPolicy, type SegmentPolicy, type TrackOptions, type WriterOptions } from './options.js';
import { createWriterCipher, type WriterCipher } from './encryption.js';
import { SeekBuilder } from './seek-builder.js';
import { encryptedFlags, sealBlock } from '../crypto/living-cipher.js';
import type { CryptoParams } from '../format/crypto-params.js';
import { CheckpointSchedule, encodeCheckpoint, type LiveStats } from './live.js';

type TrackState = {
  record: TrackRecord;
  blocks: number;
  lastDts: number;
  lastKeyPts: number;
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
/** Chunks up to this size are assembled in one scratch buffer. */
const SCRATCH_LIMIT = 256 * 1024;
const CORE_TYPE = chunkTypeBytes('CORE');

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
  private readonly seek = new SeekBuilder();
  private readonly policy: SegmentPolicy;
  private readonly limits: Limits;
  private readonly layout: 'tail' | 'faststart';
  private readonly compression: Compression;
  private readonly meta: Record<string, unknown>;
  private readonly safe: Record<string, unknown>;
  // Segment directory, growable.
  private readonly segOffset: number[] = [];
  private readonly segLength: number[] = [];
  private readonly segBlocks: number[] = [];
  private readonly segDigests: Uint8Array[] = [];
  private table: SegmentTable;
  private segmentStart = 0;
  private segmentBytes = 0;
  private segmentFirstDtsUs = 0;
  private splitTrack = -1;
  /** Bytes of the data region written so far. */
  private position = 0;
  private coreIndex = 0;
  private chain = chainStart();
  /** Blocks accepted by writeBlock/writeRawBlock (≥ blocks written while encryption holds some). */
  private accepted = 0;
  private readonly cipher: WriterCipher | null;
  private readonly preservedCrypto: CryptoParams | null;
  private scratch = new Uint8Array(64 * 1024);
  private payloadBytes = 0;
  private storedBytes = 0;
  private state: 'open' | 'busy' | 'finished' | 'failed' = 'open';
  /** §14 Live writers: the checkpoint schedule. */
  private readonly live: CheckpointSchedule | null;

  private constructor(
    private readonly sink: Sink,
    private readonly out: Sink | Spool,
    options: WriterOptions,
  ) {
    this.limits = resolveLimits(options.limits);
    this.policy = resolveSegmentPolicy(options.segment, this.limits.maxSegmentBlocks);
    this.layout = options.layout ?? 'tail';
    this.compression = options.compression ?? 'none';
    this.meta = jsonObject(options.meta ?? {}, 'meta', this.limits.maxJsonLength);
    this.safe = jsonObject(options.safe ?? { ...DEFAULT_SAFE }, 'safe', this.limits.maxJsonLength);
    this.table = createSegmentTable(0, this.policy.maxBlocks);
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
      await sink.write(encodeHeader({ version: FORMAT_VERSION, flags: 0, indexLength: 0 }));
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
    if (!TRACK_KINDS.includes(options.kind)) throw new TypeError(`track kind must be one of ${TRACK_KINDS.join(', ')}`);
    if (this.tracks.length >= this.limits.maxTracks) throw new RangeError(`more than ${this.limits.maxTracks} tracks`);
    const timescale = options.timescale ?? 1_000_000;
    if (!Number.isInteger(timescale) || timescale < 1 || timescale > 0xffff_ffff) throw new RangeError('timescale must be an integer in 1..2^32-1');
    const compression = options.compression ?? this.compression;
    getCodec(compression);
    const config = options.config ?? new Uint8Array(0);
    if (!(config instanceof Uint8Array)) throw new TypeError('codec configuration must be a Uint8Array');
    // §5.1 short strings and the extra object are checked now, not at finish (which would lose the container).
    const codec = shortString(options.codec ?? 'opaque', 'codec');
    const name = shortString(options.name ?? '', 'name');
    const language = shortString(options.language ?? '', 'language');
    shortString(options.id, 'track id');
    const extra = jsonObject(options.extra ?? {}, 'track extra', this.limits.maxJsonLength);
    if (config.length > this.limits.maxJsonLength) throw new RangeError('codec configuration exceeds the limit');
    const record: TrackRecord = {
      number: this.tracks.length,
      id: options.id,
      kind: options.kind,
      codec,
      config: config.slice(),
      timescale,
      compression,
      name,
      language,
      extra,
    };
    const state: TrackState = { record, blocks: 0, lastDts: -Infinity, lastKeyPts: -Infinity, incompressible: 0, skipCompression: 0, written: 0, lastCoreIndex: -1, pending: null };
    this.tracks.push(state);
    this.tracksById.set(record.id, state);
    this.seek.addTrack();
    if (this.splitTrack < 0 && record.kind === 'video') this.splitTrack = record.number;
    return record.number;
  }

  /** Writes one block. Blocks of different tracks may interleave in any order. */
  async writeBlock(block: BlockInput): Promise<void> {
    this.assertOpen();
    const t = this.resolveTrack(block.track);
    const { pts, dts, duration } = this.timestamps(block, t.record.timescale);
    const keyframe = block.keyframe === true;
    if (!(block.payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
    if (block.payload.length > this.limits.maxBlockLength) throw new RangeError(`payload of ${block.payload.length} bytes exceeds maxBlockLength`);
    this.checkOrder(t, pts, dts, keyframe);
    const kindBits = block.kind === undefined ? 0 : FRAME_KINDS.indexOf(block.kind);
    if (kindBits < 1 && block.kind !== undefined) throw new TypeError('frame kind must be "I", "P" or "B"');
    const compression = block.compression ?? t.record.compression;
    // Check the codec before the write starts, so a bad name is a plain misuse error.
    if (block.compression !== undefined) compressionId(getCodec(block.compression).name);
    if (this.preservedCrypto !== null) throw new TypeError('a writer preserving another container\'s encryption takes raw blocks only');

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
        await this.append(t, { coreIndex: this.coreIndex, ...fields }, stored);
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
   */
  async writeRawBlock(block: RawBlockInput): Promise<void> {
    this.assertOpen();
    const t = this.resolveTrack(block.track);
    const { pts, dts, duration } = this.timestamps(block, t.record.timescale);
    if (!(block.stored instanceof Uint8Array)) throw new TypeError('stored must be a Uint8Array');
    if (block.stored.length > this.limits.maxBlockLength) throw new RangeError(`stored block of ${block.stored.length} bytes exceeds maxBlockLength`);
    if (!Number.isInteger(block.originalLength) || block.originalLength < 0 || block.originalLength > this.limits.maxBlockLength) {
      throw new RangeError('originalLength must be an integer within 0..maxBlockLength');
    }
    if (!Number.isInteger(block.flags) || block.flags < 0 || (block.flags & BlockFlag.RESERVED_MASK) !== 0 || block.flags > 0xff) throw new RangeError('flags has reserved bits set');
    const keyframe = (block.flags & BlockFlag.KEYFRAME) !== 0;
    this.checkOrder(t, pts, dts, keyframe);
    const codec = compressionId(block.compression);
    if (codec === 0 && (block.flags & BlockFlag.ENCRYPTED) === 0 && block.stored.length !== block.originalLength) {
      throw new RangeError('an uncompressed, unencrypted block must have stored length = originalLength');
    }
    if (this.cipher !== null) throw new TypeError('an encrypting writer takes writeBlock only (raw blocks are already final)');
    this.state = 'busy';
    try {
      this.accept(t, pts, dts, keyframe);
      await this.append(t, { coreIndex: this.coreIndex, trackNumber: t.record.number, flags: block.flags, compression: codec, duration, pts, dts, originalLength: block.originalLength }, block.stored);
      this.state = 'open';
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
  }

  private checkOrder(t: TrackState, pts: number, dts: number, keyframe: boolean): void {
    if (t.blocks === 0 && !keyframe) throw new RangeError(`the first block of track ${t.record.id} must be a keyframe`);
    if (dts < t.lastDts) throw new RangeError(`dts must not decrease within track ${t.record.id} (${dts} after ${t.lastDts})`);
    if (keyframe && pts < t.lastKeyPts) throw new RangeError(`keyframe pts must not decrease within track ${t.record.id}`);
  }

  /** §6.1 Frames a block as a CORE chunk, writes it and records it in the segment table. */
  private async append(t: TrackState, fields: BlockFields, stored: Uint8Array): Promise<void> {
    const dtsUs = ticksToUs(fields.dts, t.record.timescale);
    const keyframe = (fields.flags & BlockFlag.KEYFRAME) !== 0;
    const bodyLength = BLOCK_HEADER_LENGTH + stored.length;
    const chunkLength = CHUNK_OVERHEAD + bodyLength;
    // Live: a segment also closes once a checkpoint is due by time, so readers see blocks within checkpointMs.
    if (this.shouldCloseSegment(t.record.number, keyframe, chunkLength, dtsUs) || (this.live !== null && this.table.count > 0 && this.live.timeDue())) {
      await this.closeSegment();
      if (this.live !== null) await this.checkpointIfDue(this.live);
    }
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

  /** §5 The index region for everything written so far (at finish, or as a §14 checkpoint). */
  private indexRegion(): Uint8Array {
    const segments = this.directory();
    const crypto: CryptoParams | null =
      this.cipher !== null
        ? { ...this.cipher.params, transcriptMac: this.cipher.mac(this.chain, this.coreIndex, this.tracks.map((t) => ({ blockCount: t.written, lastCoreIndex: t.lastCoreIndex }))) }
        : this.preservedCrypto;
    const index = encodeIndexRegion(
      { tracks: this.tracks.map((t) => t.record), meta: this.meta, safe: this.safe, seek: this.seek.tables(), segments, chainHead: this.chain, crypto },
      sha256,
    );
    if (index.length > this.limits.maxIndexLength) throw new RangeError(`index of ${index.length} bytes exceeds maxIndexLength`);
    return index;
  }

  /**
   * §14 Right after a segment closed: writes a checkpoint (index region + FOOT
   * for everything so far) when one is due, then makes the file durable. The
   * bytes sit between two segments: the next segment's SEGX gap covers them.
   */
  private async checkpointIfDue(live: CheckpointSchedule): Promise<void> {
    const reason = live.due();
    if (reason === null) return;
    const index = this.indexRegion();
    if (reason === 'blocks' && !live.affordable(index.length)) {
      live.skip();
      return;
    }
    const checkpoint = encodeCheckpoint(index, this.position);
    await this.sink.write(checkpoint);
    await this.sink.sync?.();
    this.position += checkpoint.length;
    this.segmentStart = this.position;
    live.wrote(index.length, checkpoint.length);
  }

  /** Records an accepted block in the track's ordering state. */
  private accept(t: TrackState, pts: number, dts: number, keyframe: boolean): void {
    if (this.accepted === 0 && this.cipher !== null) {
      // Tracks, META and SAFE are final now: bind every block to them (§13.4).
      this.cipher.bindIndex({ trak: encodeTrackTable(this.tracks.map((x) => x.record)), meta: utf8(JSON.stringify(this.meta)), safe: utf8(JSON.stringify(this.safe)) });
    }
    t.blocks++;
    t.lastDts = dts;
    if (keyframe) t.lastKeyPts = pts;
    this.accepted++;
  }

  /** §13.1 Encrypts a held block at the next core_index and appends it. */
  private async emitEncrypted(t: TrackState, p: PendingBlock, endOfTrack: boolean): Promise<void> {
    const cipher = this.cipher as WriterCipher;
    const fields: BlockFields = { ...p.fields, coreIndex: this.coreIndex, flags: encryptedFlags(p.fields.flags, endOfTrack) };
    await this.append(t, fields, sealBlock(cipher.context, fields, t.record.timescale, p.stored));
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
      if (this.table.count > 0) await this.closeSegment();
      const segments = this.directory();
      const index = this.indexRegion();
      let bytes: number;
      // §14 A live file never ends at a checkpoint here: the block that closed a checkpoint's
      // segment follows it, so the final index always comes after a segment.
      if (this.out === this.sink) {
        const indexOffset = HEADER_LENGTH + this.position;
        await this.sink.write(index);
        await this.sink.write(encodeFooter({ indexOffset, indexLength: index.length, version: FORMAT_VERSION, flags: 0 }));
        bytes = indexOffset + index.length;
      } else {
        const spool = this.out as Spool;
        await this.sink.write(encodeHeader({ version: FORMAT_VERSION, flags: HeaderFlag.FASTSTART, indexLength: index.length }));
        await this.sink.write(index);
        for await (const part of spool.replay()) await this.sink.write(part);
        await spool.dispose();
        await this.sink.write(encodeFooter({ indexOffset: HEADER_LENGTH, indexLength: index.length, version: FORMAT_VERSION, flags: HeaderFlag.FASTSTART }));
        bytes = HEADER_LENGTH + index.length + this.position;
      }
      await this.sink.commit();
      this.state = 'finished';
      return {
        blockCount: this.coreIndex,
        segmentCount: segments.count,
        trackCount: this.tracks.length,
        bytes: bytes + CHUNK_OVERHEAD + 24,
        payloadBytes: this.payloadBytes,
        storedBytes: this.storedBytes,
        indexLength: index.length,
        chainHead: this.chain,
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
    if (this.out !== this.sink) await (this.out as Spool).dispose().catch(() => {});
    await this.sink.abort();
  }

  /** Blocks written so far. */
  get blockCount(): number {
    return this.coreIndex;
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

  private timestamps(block: Pick<BlockInput, 'pts' | 'dts' | 'duration' | 'ptsUs' | 'dtsUs' | 'durationUs'>, timescale: number): { pts: number; dts: number; duration: number } {
    const pick = (ticks: number | undefined, us: number | undefined, what: string): number | undefined => {
      if (ticks !== undefined && us !== undefined) throw new TypeError(`give ${what} or ${what}Us, not both`);
      const v = ticks ?? (us === undefined ? undefined : usToTicksExact(checkInteger(us, `${what}Us`), timescale, what));
      return v === undefined ? undefined : checkInteger(v, what);
    };
    const pts = pick(block.pts, block.ptsUs, 'pts');
    if (pts === undefined) throw new TypeError('a block needs pts or ptsUs');
    const dts = pick(block.dts, block.dtsUs, 'dts') ?? pts;
    const duration = pick(block.duration, block.durationUs, 'duration') ?? 0;
    if (Math.abs(pts) > MAX_TIMESTAMP || Math.abs(dts) > MAX_TIMESTAMP) throw new RangeError('timestamps must lie within ±(2^51 - 1) ticks');
    if (duration < 0 || duration > 0xffff_ffff) throw new RangeError('duration must be within 0..2^32-1 ticks');
    return { pts, dts, duration };
  }

  private shouldCloseSegment(track: number, keyframe: boolean, chunkLength: number, dtsUs: number): boolean {
    const n = this.table.count;
    if (n === 0) return false;
    if (n >= this.policy.maxBlocks) return true;
    if (this.segmentBytes + chunkLength > this.policy.maxBytes) return true;
    if (this.policy.splitAtKeyframes && keyframe && track === this.splitTrack) return true;
    return dtsUs - this.segmentFirstDtsUs >= this.policy.maxDurationUs;
  }

  private async closeSegment(): Promise<void> {
    const segment = this.segOffset.length;
    const payload = encodeSegmentTable(this.table);
    const chunk = encodeChunk('BIDX', payload);
    await this.out.write(chunk);
    this.segOffset.push(this.segmentStart);
    this.segLength.push(this.segmentBytes + chunk.length);
    this.segBlocks.push(this.table.count);
    this.segDigests.push(sha256(payload));
    this.seek.closeSegment(segment);
    this.live?.segment(chunk.length);
    this.position += chunk.length;
    this.segmentStart = this.position;
    this.segmentBytes = 0;
    this.table.count = 0;
    this.table.firstCoreIndex = this.coreIndex;
  }

  private directory(): SegmentDirectory {
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

/** §5.1 A short string: well-formed Unicode, at most 255 UTF-8 bytes. */
function shortString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  const bytes = utf8(value);
  if (bytes.length > MAX_SHORT_STRING) throw new RangeError(`${what} longer than ${MAX_SHORT_STRING} UTF-8 bytes`);
  if (new TextDecoder().decode(bytes) !== value) throw new TypeError(`${what} is not well-formed Unicode (lone surrogate)`);
  return value;
}

/**
 * §5.2 A JSON object the reader will accept back: a plain object, serializable,
 * within max_json_length. Returns a snapshot (later edits by the caller do not leak in).
 */
function jsonObject(value: unknown, what: string, maxLength: number): Record<string, unknown> {
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(value)) throw new TypeError(`${what} must be a JSON object`);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${what} is not serializable as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const copy: unknown = JSON.parse(text);
  if (!isObject(copy)) throw new TypeError(`${what} must serialize to a JSON object`);
  if (utf8(text).length > maxLength) throw new RangeError(`${what} is ${utf8(text).length} bytes of JSON, over maxJsonLength (${maxLength})`);
  return copy as Record<string, unknown>;
}

function checkInteger(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} must be an integer, got ${v}`);
  return v;
}
