/**
 * The indexed reader: the facade over the index view (index-view.ts: what
 * the index tells, pure and synchronous), the segment tables
 * (segment-tables.ts: read, checked, cached) and the block decoder
 * (block-decoder.ts). `open` reads the header, the footer and the index
 * region only; blocks are read on demand, one segment table at a time.
 *
 * Over 400 lines because the class is the reader's documented public API,
 * one short method or getter each, delegating to the modules above.
 */
import { type CipherContext, SecretKeys } from '../crypto/living-cipher.js';
import { type Grant, type KeyInput, makeGrant, unlock } from '../crypto/unlock.js';
import { toHex } from '../format/bytes.js';
import { HeaderFlag, type Limits } from '../format/constants.js';
import type { CryptoParams } from '../format/crypto-params.js';
import { H4mkError } from '../format/errors.js';
import type { FileHeader } from '../format/header.js';
import type { ContainerIndex } from '../format/index-region.js';
import type { Integrity } from '../format/integrity.js';
import type { Seal } from '../format/seal.js';
import type { SegmentTable } from '../format/segment-table.js';
import { lastTickAtOrBeforeUs } from '../format/time.js';
import { readExactly, type RandomAccessSource, type SourceStats } from '../io/source.js';
import { type Block, blockInfo, decodeBlock, type ReadBlockOptions } from './block-decoder.js';
import { type IndexEntry, type IndexKeyframe, IndexView, type RangeQuery } from './index-view.js';
import { openContainer, type ReaderOptions } from './opened.js';
import { explainOpenFailure } from './open-diagnosis.js';
import type { CoalesceOptions, PlannedRange } from './planner.js';
import { SegmentTables } from './segment-tables.js';
import { readKeyframeMap } from './keyframe-map-read.js';
import type { KeyframeMap } from '../format/keyframe-map.js';
import { type SeekTables, seekKeyframe, selectBlocks, type SpanContext } from './spans.js';
import type { BlockInfo, SeekResult, TrackInfo, VerifyReport } from './types.js';
import { type VerifyOptions, verifyContainer } from './verify.js';

export type { Block, ReadBlockOptions } from './block-decoder.js';
export type { IndexEntry, IndexKeyframe, RangeQuery } from './index-view.js';
export type { ReaderOptions } from './opened.js';

/** Remote reads of one block fetch its whole segment (one request instead of two) up to this size. */
export const REMOTE_WHOLE_SEGMENT_BYTES = 2 * 1024 * 1024;
/** A seek that needs a segment's table reads a local v2 segment up to this size whole (see #seekTable). */
const SEEK_WHOLE_SEGMENT_BYTES = 32 * 1024;

export class H4mkReader {
  /** What the index tells, with no read (tracks, seek tables, segment directory). */
  readonly view: IndexView;
  /** @internal The segment tables read so far. */
  readonly tables: SegmentTables;
  /** v2: the last segment read whole by readBlock, checked (see #verifiedSegment). */
  #lastSegment: { segment: number; bytes: Uint8Array; base: number } | null = null;
  private cipher: CipherContext | null = null;
  /** §6.6 The KEYS map, once asked for (see {@link keyframeMap}). */
  #keys: Promise<KeyframeMap | null> | null = null;
  /**
   * Where a seek finds a keyframe the index does not name. A local source
   * loads the KEYS map (§6.6) once, on the first seek that needs it; a remote
   * one reads the segment, which it fetches next anyway.
   */
  readonly #seekTables: SeekTables;

  private constructor(
    readonly source: RandomAccessSource,
    index: ContainerIndex,
    readonly header: FileHeader,
    readonly fileSize: number,
    /** Absolute offset of the index region. */
    readonly indexOffset: number,
    readonly indexLength: number,
    /** Absolute offset of the data region (segment offsets are relative to it). */
    readonly dataOffset: number,
    /** @internal */ readonly limits: Limits,
    options: ReaderOptions,
    /**
     * Bytes the source had when opened. Larger than {@link fileSize} when a
     * live open found its checkpoint before the end of a growing file.
     */
    readonly sourceSize: number = fileSize,
    /**
     * §5.9 True when the container is finished: the FOOT it was opened at is a
     * final one (not a live writer's checkpoint) and ends the file. A
     * faststart container opened without seeing its FOOT counts as finished
     * (live writers write the tail layout).
     */
    readonly finished: boolean = true,
  ) {
    this.view = new IndexView(index, dataOffset);
    if (options.key !== undefined) {
      if (index.crypto === null) throw new H4mkError('E_KEY', 'this container is not encrypted');
      this.cipher = unlock(index.crypto, options.key, index.raw);
    }
    this.tables = new SegmentTables(source, this.view, limits, options.cacheSegments ?? 256);
    const get = (segment: number) => this.#seekTable(segment);
    this.#seekTables = source.remote === true ? { get } : { get, keys: () => this.keyframeMap() };
  }

  /** @internal The decoded index region; read it through {@link view}. */
  get index(): ContainerIndex {
    return this.view.content;
  }

  /**
   * Opens a container: finds and reads the index region (§8.1) and checks it.
   * Local sources: header, footer and index (three reads). Sources with
   * `readTail`/`readHead` (HTTP): one request when the index fits `openBytes`.
   */
  static async open(source: RandomAccessSource, options: ReaderOptions = {}): Promise<H4mkReader> {
    try {
      return await H4mkReader.#open(source, options);
    } catch (error) {
      throw await explainOpenFailure(source, error);
    }
  }

  static async #open(source: RandomAccessSource, options: ReaderOptions): Promise<H4mkReader> {
    const o = await openContainer(source, options);
    return new H4mkReader(source, o.index, o.header, o.size, o.indexOffset, o.indexLength, o.dataOffset, o.limits, options, o.sourceSize, o.finished);
  }

  /**
   * Gives the reader a key, passphrase or grant for this container's
   * encrypted blocks (§13). E_KEY when it is not this container's.
   */
  unlock(key: KeyInput): void {
    if (this.view.content.crypto === null) throw new H4mkError('E_KEY', 'this container is not encrypted');
    this.cipher = unlock(this.view.content.crypto, key, this.view.content.raw);
  }

  /** True when the blocks are encrypted (CRYP present). */
  get encrypted(): boolean {
    return this.view.content.crypto !== null;
  }

  /** True when a full key (not a grant) was given: transcript and grants available. */
  get hasContainerKey(): boolean {
    return this.cipher !== null && this.cipher.keys instanceof SecretKeys;
  }

  /** Public encryption parameters (no key material), or null. */
  get cryptoParams(): CryptoParams | null {
    return this.view.content.crypto;
  }

  /** The seal, if the container is sealed (check it with verifySeal). */
  get seal(): Seal | null {
    return this.view.content.seal;
  }

  /** A grant for `track` over [fromUs, toUs): needs the container key (§13.6). */
  grant(track: string | number, fromUs: number, toUs: number): Grant {
    const t = this.track(track);
    if (this.view.content.crypto === null || this.cipher === null) throw new H4mkError('E_KEY', 'a grant needs the container key');
    return makeGrant(this.view.content.crypto, this.cipher, t, fromUs, toUs);
  }

  /** @internal The decryption context, when unlocked. */
  get cipherContext(): CipherContext | null {
    return this.cipher;
  }

  /** True when a key or grant was given ({@link unlock}). */
  get unlocked(): boolean {
    return this.cipher !== null;
  }

  /** The source's counters (requests, bytes) for diagnostics. */
  get stats(): SourceStats {
    return { reads: 0, bytesRead: 0, ...this.source.stats };
  }

  /** "tail" or "faststart". */
  get layout(): 'tail' | 'faststart' {
    return (this.header.flags & HeaderFlag.FASTSTART) !== 0 ? 'faststart' : 'tail';
  }

  get blockCount(): number {
    return this.view.blockCount;
  }

  get segmentCount(): number {
    return this.view.segmentCount;
  }

  get meta(): Record<string, unknown> {
    return this.view.content.meta;
  }

  get safe(): Record<string, unknown> {
    return this.view.content.safe;
  }

  /** Hex of the VERI chain head. */
  get chainHead(): string {
    return toHex(this.view.content.integrity.chainHead);
  }

  /** §7 VERI: block and segment counts, chain head and index digest. */
  get integrity(): Integrity {
    return this.view.integrity;
  }

  /** §12.1 Bytes of the index region a seal signs (everything before SEAL). */
  get unsealedLength(): number {
    return this.view.content.unsealedLength;
  }

  /** §13.4 The TRAK, META and SAFE payloads encrypted blocks are bound to (what a key check and WebCipher need). */
  get bindings(): { trak: Uint8Array; meta: Uint8Array; safe: Uint8Array } {
    return this.view.content.raw;
  }

  tracks(): TrackInfo[] {
    return this.view.tracks();
  }

  /** The track with id or number `track`, or a TypeError. */
  track(track: string | number): TrackInfo {
    return this.view.track(track);
  }

  /**
   * The keyframe of `track` with the largest pts ≤ `ptsUs` (the last such in
   * file order on ties), and the span to read to decode up to `ptsUs`; before
   * the first keyframe, the first keyframe; null only for a track with no
   * keyframe. See {@link seekKeyframe}.
   */
  seek(track: string | number, ptsUs: number): Promise<SeekResult | null> {
    return seekKeyframe(this.view, this.#seekTables, track, ptsUs);
  }

  /**
   * §6.6 The container's keyframe map (read, checked against its KEYP
   * digest, SEEK and SEGX on the first call, then kept), or null when the
   * index names none. A failed read is not kept: the next call tries again.
   */
  keyframeMap(): Promise<KeyframeMap | null> {
    if (this.#keys === null) {
      this.#keys = readKeyframeMap(this.source, this.view.content, this.dataOffset);
      this.#keys.catch(() => {
        this.#keys = null;
      });
    }
    return this.#keys;
  }

  /**
   * The table a seek needs (§8.2 step 3: several keyframes of the track in
   * the segment). A small v2 segment on a local source is read whole and
   * checked instead of its table alone: one read either way, and the block
   * a seek is usually followed by is then in hand (readBlock keeps it).
   */
  async #seekTable(segment: number): Promise<SegmentTable> {
    const dir = this.view.content.segments;
    if (dir.version === 2 && this.source.readTail === undefined && !this.tables.has(segment) && (dir.length[segment] as number) <= SEEK_WHOLE_SEGMENT_BYTES) {
      await this.#verifiedSegment(segment, true);
    }
    return this.tables.get(segment);
  }

  /** §5.4 The keyframes of `track` the index names exactly (no read); see {@link IndexView.indexKeyframes}. */
  indexKeyframes(track: string | number): IndexKeyframe[] {
    return this.view.indexKeyframes(track);
  }

  /** §5.4 Per seek entry of `track`: segment, counts, pts bounds (no read). */
  indexEntries(track: string | number): IndexEntry[] {
    return this.view.indexEntries(track);
  }

  /**
   * The blocks with `fromCore ≤ core_index < toCore` of the chosen tracks
   * (default all), with payloads (decompressed and verified by default), in
   * file order. The segments holding them are read together: one read when
   * they are adjacent and within the coalescing limits.
   */
  async *readBlocks(fromCore: number, toCore: number, options: ReadBlockOptions & { tracks?: ReadonlyArray<string | number> } = {}): AsyncGenerator<Block> {
    const end = Math.min(toCore, this.blockCount);
    if (!(fromCore < end)) return;
    const wanted = new Uint8Array(this.view.trackInfos.length);
    for (const t of options.tracks ?? this.view.trackInfos.map((x) => x.number)) wanted[this.track(t).number] = 1;
    const first = this.segmentOf(Math.max(0, fromCore));
    const last = this.segmentOf(end - 1);
    const segments: number[] = [];
    for (let s = first; s <= last; s++) segments.push(s);
    for (const range of this.view.coalesce(segments)) {
      const bytes = await readExactly(this.source, range.offset, range.length);
      for (const segment of range.segments) {
        const table = this.tables.fromBytes(segment, bytes, range.offset, options.verify !== false);
        for (let i = 0; i < table.count; i++) {
          const core = table.firstCoreIndex + i;
          if (core < fromCore || core >= end || wanted[table.trackNumber[i] as number] !== 1) continue;
          yield this.decodeBlock(this.info(segment, table, i), bytes, range.offset, options);
        }
      }
    }
  }

  /** §5.5 The SHA-256 of segment `segment`'s BIDX payload, from SEGX. */
  segmentDigest(segment: number): Uint8Array {
    return this.view.segmentDigest(segment);
  }

  /** §5.3 Where `segment` is and what it holds, from SEGX alone (no read). */
  segmentSpan(segment: number): { offset: number; length: number; firstCoreIndex: number; blockCount: number } {
    return this.view.segmentSpan(segment);
  }

  /** The segment holding block `coreIndex`. */
  segmentOf(coreIndex: number): number {
    return this.view.segmentOf(coreIndex);
  }

  /** {@link seek} for every track, keyed by track id. */
  async seekAll(ptsUs: number): Promise<Record<string, SeekResult | null>> {
    const out: Record<string, SeekResult | null> = {};
    for (const t of this.view.trackInfos) out[t.id] = await this.seek(t.number, ptsUs);
    return out;
  }

  /** Metadata of block `coreIndex` (reads its segment table if not cached). */
  async blockInfo(coreIndex: number): Promise<BlockInfo> {
    const segment = this.segmentOf(coreIndex);
    const table = await this.segmentTable(segment);
    return this.info(segment, table, coreIndex - (this.view.content.segments.firstCoreIndex[segment] as number));
  }

  /** Reads block `coreIndex`: its payload decompressed (default) and verified (default). */
  async readBlock(coreIndex: number, options: ReadBlockOptions = {}): Promise<Block> {
    // Over a remote source (one with readTail: HTTP), a segment whose table is not cached is read whole,
    // table and block in one request, when it is small enough (§6.2: the table ends the segment).
    const segment = this.segmentOf(coreIndex);
    // v2 (§6.5): a block is verified with its whole segment's data; the last segment read stays for the next block.
    if (this.view.content.segments.version === 2) {
      const held = await this.#verifiedSegment(segment, options.verify !== false);
      const table = await this.segmentTable(segment);
      return this.decodeBlock(this.info(segment, table, coreIndex - table.firstCoreIndex), held.bytes, held.base, options);
    }
    if (
      this.source.readTail !== undefined &&
      !this.tables.has(segment) &&
      (this.view.content.segments.length[segment] as number) <= REMOTE_WHOLE_SEGMENT_BYTES
    ) {
      for await (const b of this.readBlocks(coreIndex, coreIndex + 1, options)) return b;
      throw new H4mkError('E_FORMAT', `segment ${segment} does not hold block ${coreIndex}`, { coreIndex });
    }
    const info = await this.blockInfo(coreIndex);
    const bytes = await readExactly(this.source, info.offset, info.chunkLength);
    return this.decodeBlock(info, bytes, info.offset, options);
  }

  /**
   * v2: segment `segment` read whole, its table and (unless `verify` is false)
   * its data checked (§6.5). The last checked one is kept (up to 16 MiB).
   */
  async #verifiedSegment(segment: number, verify: boolean): Promise<{ bytes: Uint8Array; base: number }> {
    if (this.#lastSegment?.segment === segment) return this.#lastSegment;
    const { offset, length } = this.view.segmentSpan(segment);
    const bytes = await readExactly(this.source, offset, length);
    this.tables.fromBytes(segment, bytes, offset, verify);
    const held = { segment, bytes, base: offset };
    if (verify) this.#lastSegment = length <= 16 * 1024 * 1024 ? held : null;
    return held;
  }

  /** The metadata of the blocks a query selects (no payloads), in file order; see {@link RangeQuery}. */
  async *infos(query: RangeQuery = {}): AsyncGenerator<BlockInfo> {
    yield* this.#select(query, null);
  }

  /** The blocks a query selects, with payloads, in file order; reads follow {@link plan}. */
  async *blocks(query: RangeQuery = {}, options: ReadBlockOptions = {}): AsyncGenerator<Block> {
    yield* this.#select(query, options) as AsyncGenerator<Block>;
  }

  /** The metadata (options null) or blocks of a query; see {@link selectBlocks}. */
  #select(query: RangeQuery, options: ReadBlockOptions | null): AsyncGenerator<Block | BlockInfo> {
    return selectBlocks(this.#context, query, options);
  }

  get #context(): SpanContext {
    return {
      source: this.source,
      view: this.view,
      segmentTable: (segment) => this.segmentTable(segment),
      fromBytes: (segment, bytes, base, verifyData) => this.tables.fromBytes(segment, bytes, base, verifyData),
      decode: (info, bytes, base, options) => this.decodeBlock(info, bytes, base, options),
    };
  }

  /**
   * The byte ranges {@link range} with payloads would read for `query`, in
   * order, computed from the index alone (for prefetching and CDNs).
   */
  async plan(query: RangeQuery = {}, options: CoalesceOptions = {}): Promise<PlannedRange[]> {
    return this.view.coalesce(this.view.select(query).segments, options);
  }

  /**
   * Everything needed to decode `track` at `ptsUs`, in one read: the keyframe
   * at or before it and every block of the track from there to the target.
   */
  async readSpan(track: string | number, ptsUs: number, options: ReadBlockOptions = {}): Promise<{ keyframe: SeekResult; blocks: Block[] } | null> {
    if (!Number.isFinite(ptsUs)) throw new RangeError('ptsUs must be a finite number');
    const t = this.track(track);
    if (this.view.keyframeFromIndex(t.number, lastTickAtOrBeforeUs(Math.floor(ptsUs), t.timescale)) === null) return null;
    const query: RangeQuery = { tracks: [t.number], fromUs: ptsUs, toUs: Math.floor(ptsUs) + 1, fromKeyframe: true };
    const selection = this.view.select(query);
    const blocks: Block[] = [];
    for await (const b of this.blocks(query, options)) blocks.push(b);
    const key = blocks[0];
    if (key === undefined || !key.keyframe) throw new H4mkError('E_FORMAT', 'the decode span does not start at a keyframe', { chunk: 'SEEK' });
    const dir = this.view.content.segments;
    const first = selection.segments[0] as number;
    const last = selection.segments[selection.segments.length - 1] as number;
    const offset = this.dataOffset + (dir.offset[first] as number);
    const keyframe: SeekResult = {
      trackId: t.id,
      trackNumber: t.number,
      coreIndex: key.coreIndex,
      pts: key.pts,
      ptsUs: key.ptsUs,
      span: {
        offset,
        length: this.dataOffset + (dir.offset[last] as number) + (dir.length[last] as number) - offset,
        fromCoreIndex: key.coreIndex,
        toCoreIndex: (dir.firstCoreIndex[last] as number) + (dir.blockCount[last] as number) - 1,
      },
    };
    return { keyframe, blocks };
  }

  /**
   * The metadata of every block of `segment` (no payloads), in file order:
   * one read of its table (cached). What timelines of a zoomed window use.
   */
  async segmentBlocks(segment: number): Promise<BlockInfo[]> {
    if (!Number.isInteger(segment) || segment < 0 || segment >= this.segmentCount)
      throw new RangeError(`segment ${segment} is not in 0..${this.segmentCount - 1}`);
    const table = await this.segmentTable(segment);
    const out: BlockInfo[] = [];
    for (let i = 0; i < table.count; i++) out.push(this.info(segment, table, i));
    return out;
  }

  /** Reads and checks the table of `segment` (BIDX digest against SEGX), cached. */
  segmentTable(segment: number): Promise<SegmentTable> {
    return this.tables.get(segment);
  }

  /** @internal §6.5 Checks a v2 segment's SEGD chunk (its CRC-32C too), in `bytes` read from absolute `base`, against its table. */
  checkSegmentData(segment: number, table: SegmentTable, bytes: Uint8Array, base: number): void {
    this.tables.checkData(segment, table, bytes, base, true);
  }

  /** @internal Reads a segment table without caching, every CRC checked (verification, §8.4). */
  loadSegmentTable(segment: number): Promise<SegmentTable> {
    return this.tables.load(segment, true);
  }

  /** Checks every byte of the container; see {@link verifyContainer}. */
  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyContainer(this, options);
  }

  /** Closes the source. */
  async close(): Promise<void> {
    await this.source.close?.();
  }

  /** @internal The metadata of entry `i` of `segment`'s table. */
  info(segment: number, table: SegmentTable, i: number): BlockInfo {
    return blockInfo(this.view, segment, table, i);
  }

  /** @internal Checks and opens the CORE chunk of `info` found in `bytes` (starting at absolute `base`). */
  decodeBlock(info: BlockInfo, bytes: Uint8Array, base: number, options: ReadBlockOptions): Block {
    return decodeBlock(this.view, this.limits, this.cipher, info, bytes, base, options);
  }
}
