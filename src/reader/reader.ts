/**
 * The indexed reader. `open` reads the header, the footer and the index
 * region only; blocks are read on demand, one segment table at a time.
 */
import { decompressPayload } from '../compress/codec.js';
import { sha256 } from '../crypto/sha256.js';
import { decodeBlockHeader } from '../format/block.js';
import { bytesEqual, toHex } from '../format/bytes.js';
import { decodeChunk } from '../format/chunk.js';
import {
  BIDX_ENTRY_LENGTH,
  BIDX_HEADER_LENGTH,
  BLOCK_HEADER_LENGTH,
  BlockFlag,
  CHUNK_OVERHEAD,
  COMPRESSIONS,
  DIGEST_LENGTH,
  FOOTER_LENGTH,
  FORMAT_VERSION,
  FRAME_KINDS,
  HEADER_LENGTH,
  HeaderFlag,
  type Limits,
  resolveLimits,
} from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import type { FileHeader } from '../format/header.js';
import { locateIndex, type OpenOptions } from './open.js';
import { explainOpenFailure } from './open-diagnosis.js';
import { locateLiveIndex } from './live-open.js';
import { type CipherContext, openBlock, SecretKeys } from '../crypto/living-cipher.js';
import { type Grant, type KeyInput, makeGrant, unlock } from '../crypto/unlock.js';
import type { CryptoParams } from '../format/crypto-params.js';
import type { Seal } from '../format/seal.js';
import { type ContainerIndex, decodeIndexRegion } from '../format/index-region.js';
import { decodeSegmentTable, segmentBlocksLength, type SegmentTable } from '../format/segment-table.js';
import { lastTickAtOrBeforeUs, ticksToUs, usToTicksFloor } from '../format/time.js';
import { readExactly, type RandomAccessSource, type SourceStats } from '../io/source.js';
import { buildTrackSearch, keyEntryAtOrBefore, lastEntryAtOrBefore, segmentOfBlock, type TrackSearch } from './index-search.js';
import { coalesceSegments, type CoalesceOptions, type PlannedRange } from './planner.js';
import { SegmentCache } from './segment-cache.js';
import type { TrackSeekTable } from '../format/seek-table.js';
import type { BlockInfo, SeekResult, TrackInfo, VerifyReport } from './types.js';
import { type VerifyOptions, verifyContainer } from './verify.js';

/** Remote reads of one block fetch its whole segment (one request instead of two) up to this size. */
export const REMOTE_WHOLE_SEGMENT_BYTES = 2 * 1024 * 1024;

export type ReaderOptions = OpenOptions & {
  limits?: Partial<Limits>;
  /** Key, passphrase or grant for encrypted blocks (see {@link H4mkReader.unlock}). */
  key?: KeyInput;
  /** Segment tables kept in memory. Default 256. */
  cacheSegments?: number;
  /**
   * §14 Open the latest durable checkpoint of a container that may still be
   * growing (a live writer's file): the reader then behaves as if the file
   * ended after that checkpoint's FOOT. A finished file opens as usual.
   * Over HTTP, open the source with `openAppendOnlyHttpSource` (an ordinary
   * HttpSource takes the growth for a changed file, E_CHANGED), and open a
   * new reader to see later checkpoints.
   */
  live?: boolean;
  /** Live opens: how far back from the end to look for the last checkpoint. Default 64 MiB. */
  liveScanLimit?: number;
};

export type RangeQuery = {
  /** Inclusive lower bound on pts, µs. Default: −∞. */
  fromUs?: number;
  /** Exclusive upper bound on pts, µs. Default: +∞. */
  toUs?: number;
  /** Track ids or numbers; default all. */
  tracks?: ReadonlyArray<string | number>;
  keyframesOnly?: boolean;
  /**
   * Decodable output: each track starts at its keyframe at or before `fromUs`
   * and includes, in file order, every block up to its last block with
   * pts < `toUs` (B-frame references included).
   */
  fromKeyframe?: boolean;
};

/** A track's bounds in a query: [from, to) in ticks; with fromKeyframe, the first core_index (−1 until the keyframe segment's table resolves it). */
type TrackBounds = { from: number; to: number; firstCoreIndex: number; keySegment: number; keyTicks: number };

/** What a query selects, per track, before any read. */
type Selection = {
  segments: number[];
  wanted: Uint8Array;
  /** Per track number: [from, to) in ticks, and the first core_index (fromKeyframe). */
  bounds: Map<number, TrackBounds>;
};

export type ReadBlockOptions = {
  /** Decompress the payload (default true). */
  decompress?: boolean;
  /** Check the block's SHA-256 against the index (default true). */
  verify?: boolean;
};

/** A block with its payload. */
export type Block = BlockInfo & { payload: Uint8Array };

export class H4mkReader {
  /** @internal */ readonly searches: TrackSearch[];
  private readonly cache: SegmentCache;
  private readonly trackInfos: TrackInfo[];
  private cipher: CipherContext | null = null;

  private constructor(
    readonly source: RandomAccessSource,
    /** @internal */ readonly index: ContainerIndex,
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
    this.searches = index.seek.map(buildTrackSearch);
    if (options.key !== undefined) {
      if (index.crypto === null) throw new H4mkError('E_KEY', 'this container is not encrypted');
      this.cipher = unlock(index.crypto, options.key, index.raw);
    }
    this.cache = new SegmentCache(options.cacheSegments ?? 256);
    this.trackInfos = index.tracks.map((t, i) => {
      const s = index.seek[i];
      const search = this.searches[i];
      if (s === undefined || search === undefined) throw new H4mkError('E_FORMAT', 'SEEK and TRAK disagree');
      let first: number | null = null;
      let last: number | null = null;
      for (let k = 0; k < s.entryCount; k++) {
        first = first === null ? (s.minPts[k] as number) : Math.min(first, s.minPts[k] as number);
        last = last === null ? (s.maxPts[k] as number) : Math.max(last, s.maxPts[k] as number);
      }
      return {
        ...t,
        blockCount: s.blockCount,
        keyframeCount: s.keyframeCount,
        storedBytes: s.storedBytes,
        originalBytes: s.originalBytes,
        firstPts: first,
        lastPts: last,
        firstPtsUs: first === null ? null : ticksToUs(first, t.timescale),
        lastPtsUs: last === null ? null : ticksToUs(last, t.timescale),
      };
    });
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
    const limits: Limits = resolveLimits(options.limits);
    const live = options.live === true ? await locateLiveIndex(source, limits, options) : null;
    const located = live ?? (await locateIndex(source, limits, options));
    const { size, indexOffset, indexLength, flags } = located;
    const index = live?.index ?? decodeIndexRegion(located.region, indexOffset, limits, sha256);
    const faststart = (flags & HeaderFlag.FASTSTART) !== 0;
    const dataOffset = faststart ? HEADER_LENGTH + indexLength : HEADER_LENGTH;
    const dataEnd = faststart ? size - FOOTER_LENGTH : indexOffset;
    if (index.segments.end !== dataEnd - dataOffset) {
      throw new H4mkError(index.segments.end > dataEnd - dataOffset ? 'E_TRUNCATED' : 'E_FORMAT', 'segments do not exactly fill the data region', {
        offset: dataOffset + Math.min(index.segments.end, dataEnd - dataOffset),
        chunk: 'SEGX',
      });
    }
    const header: FileHeader = located.header ?? { version: located.footer?.version ?? FORMAT_VERSION, flags, indexLength: faststart ? indexLength : 0 };
    const finished = located.footer?.checkpoint !== true && (live?.sourceSize ?? size) === size;
    return new H4mkReader(source, index, header, size, indexOffset, indexLength, dataOffset, limits, options, live?.sourceSize ?? size, finished);
  }

  /**
   * Gives the reader a key, passphrase or grant for this container's
   * encrypted blocks (§13). E_KEY when it is not this container's.
   */
  unlock(key: KeyInput): void {
    if (this.index.crypto === null) throw new H4mkError('E_KEY', 'this container is not encrypted');
    this.cipher = unlock(this.index.crypto, key, this.index.raw);
  }

  /** True when the blocks are encrypted (CRYP present). */
  get encrypted(): boolean {
    return this.index.crypto !== null;
  }

  /** True when a full key (not a grant) was given: transcript and grants available. */
  get hasContainerKey(): boolean {
    return this.cipher !== null && this.cipher.keys instanceof SecretKeys;
  }

  /** Public encryption parameters (no key material), or null. */
  get cryptoParams(): CryptoParams | null {
    return this.index.crypto;
  }

  /** The seal, if the container is sealed (check it with verifySeal). */
  get seal(): Seal | null {
    return this.index.seal;
  }

  /** A grant for `track` over [fromUs, toUs): needs the container key (§13.6). */
  grant(track: string | number, fromUs: number, toUs: number): Grant {
    const t = this.track(track);
    if (this.index.crypto === null || this.cipher === null) throw new H4mkError('E_KEY', 'a grant needs the container key');
    return makeGrant(this.index.crypto, this.cipher, t, fromUs, toUs);
  }

  /** @internal The decryption context, when unlocked. */
  get cipherContext(): CipherContext | null {
    return this.cipher;
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
    return this.index.integrity.blockCount;
  }

  get segmentCount(): number {
    return this.index.segments.count;
  }

  get meta(): Record<string, unknown> {
    return this.index.meta;
  }

  get safe(): Record<string, unknown> {
    return this.index.safe;
  }

  /** Hex of the VERI chain head. */
  get chainHead(): string {
    return toHex(this.index.integrity.chainHead);
  }

  tracks(): TrackInfo[] {
    return this.trackInfos.map((t) => ({ ...t }));
  }

  /** The track with id or number `track`, or a TypeError. */
  track(track: string | number): TrackInfo {
    const t = typeof track === 'number' ? this.trackInfos[track] : this.trackInfos.find((x) => x.id === track);
    if (t === undefined) throw new TypeError(`unknown track ${JSON.stringify(track)}`);
    return t;
  }

  /**
   * The keyframe of `track` with the largest pts ≤ `ptsUs` (the last such in
   * file order on ties), and the span to read to decode up to `ptsUs`.
   *
   * A target before the track's first keyframe (a time before the track
   * starts, e.g. 0 on a video whose first frame is at 21 ms) gives the first
   * keyframe, with the span to decode it: what a player seeking there shows
   * first. The result is then the same as a seek to that keyframe's time;
   * callers tell the two cases apart by `ptsUs > target`.
   *
   * Null only when the track has no keyframe at all (an empty track).
   */
  async seek(track: string | number, ptsUs: number): Promise<SeekResult | null> {
    if (!Number.isFinite(ptsUs)) throw new RangeError('ptsUs must be a finite number');
    const t = this.track(track);
    const search = this.searches[t.number] as TrackSearch;
    const table = search.table;
    let ticks = lastTickAtOrBeforeUs(Math.floor(ptsUs), t.timescale);
    let key = this.keyframeFromIndex(t.number, ticks);
    if (key === null) {
      // Before the first keyframe: seek to it (§5.4 keyframe pts never decrease along the seek table).
      if (search.keyEntryPts.length === 0) return null;
      ticks = search.keyEntryPts[0] as number;
      key = this.keyframeFromIndex(t.number, ticks);
      if (key === null) throw new H4mkError('E_FORMAT', 'the seek table names a keyframe it cannot find', { chunk: 'SEEK' });
    }
    const { segment } = key;
    const dir = this.index.segments;
    let { coreIndex, pts } = key;
    if (coreIndex < 0) {
      // Several keyframes in this segment and the target falls among them: read its table.
      ({ coreIndex, pts } = this.keyframeInTable(await this.segmentTable(segment), t.number, ticks));
    }
    const lastEntry = lastEntryAtOrBefore(search, ticks);
    const lastSegment = Math.max(segment, table.segment[lastEntry] as number);
    const offset = this.dataOffset + (dir.offset[segment] as number);
    const end = this.dataOffset + (dir.offset[lastSegment] as number) + (dir.length[lastSegment] as number);
    return {
      trackId: t.id,
      trackNumber: t.number,
      coreIndex,
      pts,
      ptsUs: ticksToUs(pts, t.timescale),
      span: {
        offset,
        length: end - offset,
        fromCoreIndex: coreIndex,
        toCoreIndex: (dir.firstCoreIndex[lastSegment] as number) + (dir.blockCount[lastSegment] as number) - 1,
      },
    };
  }

  /**
   * §8.2 The keyframe of track `trackNumber` with the largest pts ≤ `ticks`,
   * from the top-level index alone: its segment, and its core_index and pts
   * when the index determines them (−1 when the segment's table is needed).
   * Null when there is no such keyframe.
   */
  private keyframeFromIndex(trackNumber: number, ticks: number): { segment: number; coreIndex: number; pts: number } | null {
    const search = this.searches[trackNumber] as TrackSearch;
    const table = search.table;
    const k = keyEntryAtOrBefore(search, ticks);
    if (k < 0) return null;
    const segment = table.segment[k] as number;
    const segFirst = this.index.segments.firstCoreIndex[segment] as number;
    if ((table.lastKeyPts[k] as number) <= ticks) return { segment, coreIndex: segFirst + (table.lastKeyPosition[k] as number), pts: table.lastKeyPts[k] as number };
    if ((table.keyCount[k] as number) === 1) return { segment, coreIndex: segFirst + (table.firstKeyPosition[k] as number), pts: table.firstKeyPts[k] as number };
    return { segment, coreIndex: -1, pts: Number.NaN };
  }

  /** The last keyframe of `trackNumber` with pts ≤ `ticks` in a segment's table (its seek entry says there is one). */
  private keyframeInTable(st: SegmentTable, trackNumber: number, ticks: number): { coreIndex: number; pts: number } {
    let best = -1;
    for (let i = 0; i < st.count; i++) {
      if (st.trackNumber[i] === trackNumber && ((st.flags[i] as number) & BlockFlag.KEYFRAME) !== 0 && (st.pts[i] as number) <= ticks) best = i;
    }
    if (best < 0) throw new H4mkError('E_FORMAT', 'segment table disagrees with the seek table', { chunk: 'BIDX' });
    return { coreIndex: st.firstCoreIndex + best, pts: st.pts[best] as number };
  }

  /**
   * §5.4 The keyframes of `track` that the top-level index names exactly
   * (each seek entry's first and last keyframe), in order, with their
   * core_index and pts: no read. With this implementation's writer (a
   * segment per keyframe of the first video track, §6.4) that is every
   * keyframe of that track.
   */
  indexKeyframes(track: string | number): { coreIndex: number; pts: number; ptsUs: number; segment: number }[] {
    const t = this.track(track);
    const table = (this.searches[t.number] as TrackSearch).table;
    const out: { coreIndex: number; pts: number; ptsUs: number; segment: number }[] = [];
    const dir = this.index.segments;
    for (let k = 0; k < table.entryCount; k++) {
      const keys = table.keyCount[k] as number;
      if (keys === 0) continue;
      const segment = table.segment[k] as number;
      const first = dir.firstCoreIndex[segment] as number;
      const add = (pts: number, position: number) => out.push({ coreIndex: first + position, pts, ptsUs: ticksToUs(pts, t.timescale), segment });
      add(table.firstKeyPts[k] as number, table.firstKeyPosition[k] as number);
      if (keys > 1) add(table.lastKeyPts[k] as number, table.lastKeyPosition[k] as number);
    }
    return out;
  }

  /**
   * §5.4 Per seek entry of `track`, from the index alone: its segment, block
   * and keyframe counts and pts bounds (ticks). What summaries and playlists
   * are built from.
   */
  indexEntries(track: string | number): { segment: number; count: number; keyCount: number; minPts: number; maxPts: number }[] {
    const t = this.track(track);
    const table = (this.searches[t.number] as TrackSearch).table;
    const out: { segment: number; count: number; keyCount: number; minPts: number; maxPts: number }[] = [];
    for (let k = 0; k < table.entryCount; k++) {
      out.push({
        segment: table.segment[k] as number,
        count: table.count[k] as number,
        keyCount: table.keyCount[k] as number,
        minPts: table.minPts[k] as number,
        maxPts: table.maxPts[k] as number,
      });
    }
    return out;
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
    const wanted = new Uint8Array(this.trackInfos.length);
    for (const t of options.tracks ?? this.trackInfos.map((x) => x.number)) wanted[this.track(t).number] = 1;
    const first = this.segmentOf(Math.max(0, fromCore));
    const last = this.segmentOf(end - 1);
    const segments: number[] = [];
    for (let s = first; s <= last; s++) segments.push(s);
    for (const range of this.coalesce(segments)) {
      const bytes = await readExactly(this.source, range.offset, range.length);
      for (const segment of range.segments) {
        const table = this.tableFromBytes(segment, bytes, range.offset);
        for (let i = 0; i < table.count; i++) {
          const core = table.firstCoreIndex + i;
          if (core < fromCore || core >= end || wanted[table.trackNumber[i] as number] !== 1) continue;
          yield this.decodeBlock(this.info(segment, table, i), bytes, range.offset, options);
        }
      }
    }
  }

  /** §5.5 The SHA-256 of segment `segment`'s BIDX payload, from SEGX (names the segment's exact blocks). */
  segmentDigest(segment: number): Uint8Array {
    if (!Number.isSafeInteger(segment) || segment < 0 || segment >= this.segmentCount) throw new RangeError(`segment ${segment} out of range 0..${this.segmentCount - 1}`);
    return this.index.segments.digests.slice(segment * DIGEST_LENGTH, (segment + 1) * DIGEST_LENGTH);
  }

  /** §5.3 Where `segment` is and what it holds, from SEGX alone (no read): absolute offset, length, first core_index, block count. */
  segmentSpan(segment: number): { offset: number; length: number; firstCoreIndex: number; blockCount: number } {
    const dir = this.index.segments;
    if (!Number.isInteger(segment) || segment < 0 || segment >= dir.count) throw new RangeError(`segment ${segment} is not in 0..${dir.count - 1}`);
    return { offset: this.dataOffset + (dir.offset[segment] as number), length: dir.length[segment] as number, firstCoreIndex: dir.firstCoreIndex[segment] as number, blockCount: dir.blockCount[segment] as number };
  }

  /** {@link seek} for every track, keyed by track id. */
  async seekAll(ptsUs: number): Promise<Record<string, SeekResult | null>> {
    const out: Record<string, SeekResult | null> = {};
    for (const t of this.trackInfos) out[t.id] = await this.seek(t.number, ptsUs);
    return out;
  }

  /** Metadata of block `coreIndex` (reads its segment table if not cached). */
  async blockInfo(coreIndex: number): Promise<BlockInfo> {
    const segment = this.segmentOf(coreIndex);
    const table = await this.segmentTable(segment);
    return this.info(segment, table, coreIndex - (this.index.segments.firstCoreIndex[segment] as number));
  }

  /** Reads block `coreIndex`: its payload decompressed (default) and verified (default). */
  async readBlock(coreIndex: number, options: ReadBlockOptions = {}): Promise<Block> {
    // Over a remote source (one with readTail: HTTP), a segment whose table is not cached is read whole,
    // table and block in one request, when it is small enough (§6.2: the table ends the segment).
    const segment = this.segmentOf(coreIndex);
    if (this.source.readTail !== undefined && this.cache.get(segment) === undefined && (this.index.segments.length[segment] as number) <= REMOTE_WHOLE_SEGMENT_BYTES) {
      for await (const b of this.readBlocks(coreIndex, coreIndex + 1, options)) return b;
    }
    const info = await this.blockInfo(coreIndex);
    const bytes = await readExactly(this.source, info.offset, info.chunkLength);
    return this.decodeBlock(info, bytes, info.offset, options);
  }

  /**
   * Blocks with `fromUs ≤ pts < toUs` of the chosen tracks, in file order
   * (see {@link RangeQuery.fromKeyframe} for decodable spans), with payloads
   * when `payloads` is set. Reads follow {@link plan}: adjacent segments are
   * fetched together, each planned range in one read.
   */
  async *range(query: RangeQuery = {}, options: ReadBlockOptions & { payloads?: boolean } = {}): AsyncGenerator<Block | BlockInfo> {
    const selection = await this.select(query);
    const held = new Map<number, BlockInfo[]>();
    const planned = options.payloads ? this.coalesce(selection.segments) : selection.segments.map((s) => ({ offset: 0, length: 0, segments: [s] }));
    for (const range of planned) {
      const bytes = options.payloads ? await readExactly(this.source, range.offset, range.length) : null;
      for (const segment of range.segments) {
        const table = bytes === null ? await this.segmentTable(segment) : this.tableFromBytes(segment, bytes, range.offset);
        for (let i = 0; i < table.count; i++) {
          const track = table.trackNumber[i] as number;
          if (selection.wanted[track] !== 1) continue;
          const b = selection.bounds.get(track) as TrackBounds;
          if (b.firstCoreIndex < 0 && segment === b.keySegment) b.firstCoreIndex = this.keyframeInTable(table, track, b.keyTicks).coreIndex;
          const pts = table.pts[i] as number;
          const flags = table.flags[i] as number;
          if (query.keyframesOnly && (flags & BlockFlag.KEYFRAME) === 0) continue;
          if (query.fromKeyframe) {
            if (table.firstCoreIndex + i < b.firstCoreIndex) continue;
            // Blocks at or after `to` are held until a later block before `to` shows they are needed.
            const pending = held.get(track) ?? [];
            const info = this.info(segment, table, i);
            if (pts >= b.to) {
              pending.push(info);
              held.set(track, pending);
              continue;
            }
            for (const p of pending) yield bytes === null ? p : this.decodeBlock(p, bytes, range.offset, options);
            held.set(track, []);
            yield bytes === null ? info : this.decodeBlock(info, bytes, range.offset, options);
            continue;
          }
          if (pts < b.from || pts >= b.to) continue;
          const info = this.info(segment, table, i);
          yield bytes === null ? info : this.decodeBlock(info, bytes, range.offset, options);
        }
      }
    }
  }

  /**
   * The byte ranges {@link range} with payloads would read for `query`, in
   * order, computed from the index alone (for prefetching and CDNs).
   */
  async plan(query: RangeQuery = {}, options: CoalesceOptions = {}): Promise<PlannedRange[]> {
    return this.coalesce((await this.select(query)).segments, options);
  }

  /**
   * Everything needed to decode `track` at `ptsUs`, in one read: the keyframe
   * at or before it and every block of the track from there to the target.
   */
  async readSpan(track: string | number, ptsUs: number, options: ReadBlockOptions = {}): Promise<{ keyframe: SeekResult; blocks: Block[] } | null> {
    if (!Number.isFinite(ptsUs)) throw new RangeError('ptsUs must be a finite number');
    const t = this.track(track);
    if (this.keyframeFromIndex(t.number, lastTickAtOrBeforeUs(Math.floor(ptsUs), t.timescale)) === null) return null;
    const query: RangeQuery = { tracks: [t.number], fromUs: ptsUs, toUs: Math.floor(ptsUs) + 1, fromKeyframe: true };
    const selection = await this.select(query);
    const blocks: Block[] = [];
    for await (const b of this.range(query, { ...options, payloads: true })) blocks.push(b as Block);
    const key = blocks[0];
    if (key === undefined || !key.keyframe) throw new H4mkError('E_FORMAT', 'the decode span does not start at a keyframe', { chunk: 'SEEK' });
    const dir = this.index.segments;
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

  private coalesce(segments: number[], options: CoalesceOptions = {}): PlannedRange[] {
    return coalesceSegments(this.index.segments, this.dataOffset, segments, options);
  }

  /** The segments and per-track bounds of a query (index only, except seeks for fromKeyframe). */
  private async select(query: RangeQuery): Promise<Selection> {
    const tracks = (query.tracks ?? this.trackInfos.map((t) => t.number)).map((t) => this.track(t));
    const wanted = new Uint8Array(this.trackInfos.length);
    const segments = new Set<number>();
    const bounds = new Map<number, TrackBounds>();
    for (const t of tracks) {
      wanted[t.number] = 1;
      const from = rangeBound(query.fromUs, -Infinity, 'fromUs', t.timescale);
      const to = rangeBound(query.toUs, Infinity, 'toUs', t.timescale);
      const table = this.index.seek[t.number] as TrackSeekTable;
      const search = this.searches[t.number] as TrackSearch;
      if (query.fromKeyframe) {
        // From the keyframe's segment to the last segment holding a block before `to`, from the
        // index alone: when the keyframe is only known from its segment's table, that table comes
        // with the segment's bytes, so the span is still one read.
        const keyTicks = query.fromUs === undefined || !Number.isFinite(query.fromUs) ? null : lastTickAtOrBeforeUs(Math.floor(query.fromUs), t.timescale);
        const key = keyTicks === null ? null : this.keyframeFromIndex(t.number, keyTicks);
        const first = key === null ? (table.segment[0] as number | undefined) : key.segment;
        const lastEntry = to === Infinity ? table.entryCount - 1 : lastEntryAtOrBefore(search, to - 1);
        bounds.set(t.number, { from, to, firstCoreIndex: key?.coreIndex ?? 0, keySegment: key?.segment ?? -1, keyTicks: keyTicks ?? 0 });
        if (lastEntry < 0 || first === undefined) continue;
        const last = Math.max(first, table.segment[lastEntry] as number);
        for (let s = first; s <= last; s++) segments.add(s);
        continue;
      }
      bounds.set(t.number, { from, to, firstCoreIndex: 0, keySegment: -1, keyTicks: 0 });
      for (let k = 0; k < table.entryCount; k++) {
        if ((table.maxPts[k] as number) < from || (table.minPts[k] as number) >= to) continue;
        if (query.keyframesOnly && (table.keyCount[k] as number) === 0) continue;
        segments.add(table.segment[k] as number);
      }
    }
    return { segments: [...segments].sort((a, b) => a - b), wanted, bounds };
  }

  /**
   * The metadata of every block of `segment` (no payloads), in file order:
   * one read of its table (cached). What timelines of a zoomed window use.
   */
  async segmentBlocks(segment: number): Promise<BlockInfo[]> {
    if (!Number.isInteger(segment) || segment < 0 || segment >= this.segmentCount) throw new RangeError(`segment ${segment} is not in 0..${this.segmentCount - 1}`);
    const table = await this.segmentTable(segment);
    const out: BlockInfo[] = [];
    for (let i = 0; i < table.count; i++) out.push(this.info(segment, table, i));
    return out;
  }

  /** Reads and checks the table of `segment` (BIDX digest against SEGX). */
  async segmentTable(segment: number): Promise<SegmentTable> {
    const cached = this.cache.get(segment);
    if (cached !== undefined) return cached;
    const table = await this.loadSegmentTable(segment);
    this.cache.set(segment, table);
    return table;
  }

  /** @internal Reads a segment table without caching. */
  async loadSegmentTable(segment: number): Promise<SegmentTable> {
    const { at, length } = this.tableLocation(segment);
    return this.decodeTable(segment, await readExactly(this.source, at, length), 0);
  }

  /** Where the BIDX chunk of `segment` is: the segment's last bytes (§6.2). */
  private tableLocation(segment: number): { at: number; length: number } {
    const dir = this.index.segments;
    const length = CHUNK_OVERHEAD + BIDX_HEADER_LENGTH + (dir.blockCount[segment] as number) * BIDX_ENTRY_LENGTH;
    return { at: this.dataOffset + (dir.offset[segment] as number) + (dir.length[segment] as number) - length, length };
  }

  /** The table of `segment` from fetched bytes starting at absolute `base` (cached). */
  private tableFromBytes(segment: number, bytes: Uint8Array, base: number): SegmentTable {
    const cached = this.cache.get(segment);
    if (cached !== undefined) return cached;
    const { at } = this.tableLocation(segment);
    const table = this.decodeTable(segment, bytes, at - base);
    this.cache.set(segment, table);
    return table;
  }

  /** §6.2 Checks and decodes the BIDX chunk of `segment` found at `bytes[offset]`. */
  private decodeTable(segment: number, bytes: Uint8Array, offset: number): SegmentTable {
    const dir = this.index.segments;
    const n = dir.blockCount[segment] as number;
    const { at, length: bidxLength } = this.tableLocation(segment);
    const chunk = decodeChunk(bytes, offset, { base: at - offset, expect: 'BIDX', limit: offset + bidxLength });
    const digest = sha256(chunk.payload);
    if (!bytesEqual(digest, dir.digests.subarray(segment * DIGEST_LENGTH, (segment + 1) * DIGEST_LENGTH))) {
      throw new H4mkError('E_DIGEST', `segment ${segment} table digest mismatch`, { offset: at, chunk: 'BIDX' });
    }
    const table = decodeSegmentTable(chunk.payload, at + 8, this.limits);
    if (table.firstCoreIndex !== dir.firstCoreIndex[segment] || table.count !== n || segmentBlocksLength(table) + bidxLength !== dir.length[segment]) {
      throw new H4mkError('E_FORMAT', `segment ${segment} table disagrees with the segment directory`, { offset: at, chunk: 'BIDX' });
    }
    const trackCount = this.index.tracks.length;
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

  /** Checks every byte of the container; see {@link verifyContainer}. */
  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyContainer(this, options);
  }

  /** Closes the source. */
  async close(): Promise<void> {
    await this.source.close?.();
  }

  /** @internal */
  segmentOf(coreIndex: number): number {
    if (!Number.isSafeInteger(coreIndex) || coreIndex < 0 || coreIndex >= this.blockCount) {
      throw new RangeError(`core_index ${coreIndex} out of range 0..${this.blockCount - 1}`);
    }
    return segmentOfBlock(this.index.segments, coreIndex);
  }

  /** @internal */
  info(segment: number, table: SegmentTable, i: number): BlockInfo {
    const trackNumber = table.trackNumber[i] as number;
    const track = this.trackInfos[trackNumber];
    const coreIndex = table.firstCoreIndex + i;
    if (track === undefined) throw new H4mkError('E_FORMAT', `block names track ${trackNumber}, which does not exist`, { coreIndex, chunk: 'BIDX' });
    const flags = table.flags[i] as number;
    const storedLength = table.storedLength[i] as number;
    const ts = track.timescale;
    return {
      coreIndex,
      trackNumber,
      trackId: track.id,
      pts: table.pts[i] as number,
      dts: table.dts[i] as number,
      duration: table.duration[i] as number,
      ptsUs: ticksToUs(table.pts[i] as number, ts),
      dtsUs: ticksToUs(table.dts[i] as number, ts),
      durationUs: ticksToUs(table.duration[i] as number, ts),
      keyframe: (flags & BlockFlag.KEYFRAME) !== 0,
      frameKind: FRAME_KINDS[(flags & BlockFlag.FRAME_KIND_MASK) >> BlockFlag.FRAME_KIND_SHIFT] ?? null,
      encrypted: (flags & BlockFlag.ENCRYPTED) !== 0,
      endOfTrack: (flags & BlockFlag.END_OF_TRACK) !== 0,
      compression: COMPRESSIONS[table.compression[i] as number] ?? 'none',
      storedLength,
      originalLength: table.originalLength[i] as number,
      offset: this.dataOffset + (this.index.segments.offset[segment] as number) + (table.chunkOffset[i] as number),
      chunkLength: CHUNK_OVERHEAD + BLOCK_HEADER_LENGTH + storedLength,
      digest: table.digests.subarray(i * DIGEST_LENGTH, (i + 1) * DIGEST_LENGTH),
    };
  }

  /** @internal Checks a CORE chunk found at `bytes[info.offset − base]` against its table entry. */
  decodeBlock(info: BlockInfo, bytes: Uint8Array, base: number, options: ReadBlockOptions): Block {
    const at = info.offset - base;
    let chunk: Uint8Array;
    try {
      chunk = decodeChunk(bytes, at, { base, expect: 'CORE', limit: at + info.chunkLength }).payload;
    } catch (error) {
      throw error instanceof H4mkError ? error.relocate(0, { coreIndex: info.coreIndex }) : error;
    }
    const blockBase = info.offset + 8;
    let h: ReturnType<typeof decodeBlockHeader>;
    try {
      h = decodeBlockHeader(chunk, blockBase, this.limits.maxBlockLength);
    } catch (error) {
      throw error instanceof H4mkError ? error.relocate(0, { coreIndex: info.coreIndex }) : error;
    }
    if (
      h.coreIndex !== info.coreIndex ||
      h.trackNumber !== info.trackNumber ||
      h.pts !== info.pts ||
      h.dts !== info.dts ||
      h.duration !== info.duration ||
      h.originalLength !== info.originalLength ||
      h.storedLength !== info.storedLength ||
      COMPRESSIONS[h.compression] !== info.compression ||
      ((h.flags ^ ((info.keyframe ? BlockFlag.KEYFRAME : 0) | (info.encrypted ? BlockFlag.ENCRYPTED : 0) | (info.endOfTrack ? BlockFlag.END_OF_TRACK : 0))) & (BlockFlag.KEYFRAME | BlockFlag.ENCRYPTED | BlockFlag.END_OF_TRACK)) !== 0
    ) {
      throw new H4mkError('E_FORMAT', 'block header disagrees with its segment table entry', { offset: blockBase, coreIndex: info.coreIndex });
    }
    if (options.verify !== false && !bytesEqual(sha256(chunk), info.digest)) {
      throw new H4mkError('E_DIGEST', 'block digest mismatch', { offset: blockBase, coreIndex: info.coreIndex });
    }
    let stored = chunk.subarray(BLOCK_HEADER_LENGTH);
    if (options.decompress === false) return { ...info, payload: stored };
    const compression = COMPRESSIONS.indexOf(info.compression);
    if (info.encrypted) {
      if (this.cipher === null) {
        throw new H4mkError(this.index.crypto === null ? 'E_FORMAT' : 'E_KEY', this.index.crypto === null ? 'encrypted block in a container without CRYP' : 'block is encrypted; a key or grant is needed', {
          coreIndex: info.coreIndex,
        });
      }
      const timescale = (this.trackInfos[info.trackNumber] as TrackInfo).timescale;
      stored = openBlock(this.cipher, { ...h, compression }, timescale, stored);
    }
    try {
      return { ...info, payload: decompressPayload(stored, compression, info.originalLength, info.coreIndex) };
    } catch (error) {
      throw error instanceof H4mkError ? error.relocate(0, { coreIndex: info.coreIndex }) : error;
    }
  }
}

/** A range bound in ticks: absent → `unbounded`; ±Infinity kept; NaN is a RangeError. */
function rangeBound(us: number | undefined, unbounded: number, what: string, timescale: number): number {
  if (us === undefined) return unbounded;
  if (typeof us !== 'number' || Number.isNaN(us)) throw new RangeError(`${what} must be a number of microseconds, got ${String(us)}`);
  return Number.isFinite(us) ? usToTicksCeil(us, timescale) : us;
}

/** Smallest tick count whose µs view is ≥ `us` (for half-open [from, to) filters). */
function usToTicksCeil(us: number, timescale: number): number {
  const floor = usToTicksFloor(Math.ceil(us), timescale);
  return ticksToUs(floor, timescale) >= Math.ceil(us) ? floor : floor + 1;
}
