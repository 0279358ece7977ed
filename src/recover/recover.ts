/**
 * Recovery (docs/FORMAT.md §8.5): rebuilds a valid container from a damaged
 * or unfinished one by scanning its self-describing chunks, without trusting
 * any index.
 *
 * What comes back: every block written completely before the first damage,
 * in core_index order from 0, and nothing else. Blocks after a hole cannot be
 * kept verbatim (their core_index, which their digests cover, would no longer
 * be their position), so the first damage ends the recovery. What
 * "verified" means for each block:
 *
 * - **digest** — a block of a complete segment: its CORE chunk's CRC-32C
 *   holds; its header equals its entry in the segment's BIDX table (whose own
 *   CRC-32C holds), whose first_core_index and block count continue the
 *   sequence and whose chunk offsets match the chunks found; and the SHA-256
 *   of its CORE payload equals the BIDX digest. When an index region (final,
 *   or a §14 checkpoint) survived and lists the segment, the BIDX payload's
 *   SHA-256 must also equal that SEGX digest.
 * - **crc** — a block of the unfinished last segment (no BIDX was written) or
 *   of a segment whose BIDX is missing or damaged: its CORE chunk's CRC-32C
 *   holds, its header decodes within the limits, and its self-described
 *   core_index is the next in the sequence (previous + 1, from 0). Nothing
 *   binds its bytes to a digest: a CRC-32C catches accidents, not edits.
 *
 * The track table, META, SAFE and CRYP come from the latest index region that
 * decodes and verifies (the final index, or a live checkpoint); a crashed
 * non-live writer leaves none, and then from `options.reference` (another
 * container of the same recording), else generic tracks are made up
 * (`track_N`, kind data, codec opaque, timescale 1,000,000: the tick values
 * are kept, their unit is lost), and the report says so.
 *
 * Blocks are copied verbatim with `writeRawBlock`, encrypted ones too (with
 * the surviving CRYP kept as is): the transcript MAC then covers a different
 * block sequence and the missing END_OF_TRACK blocks show the truncation to
 * anyone holding the key — the honest result for a cut recording.
 */
import { sha256 } from '../crypto/sha256.js';
import { bytesEqual } from '../format/bytes.js';
import { decodeChunk } from '../format/chunk.js';
import {
  BLOCK_HEADER_LENGTH,
  BlockFlag,
  CHUNK_HEADER_LENGTH,
  CHUNK_OVERHEAD,
  COMPRESSIONS,
  DIGEST_LENGTH,
  HEADER_LENGTH,
  type Limits,
  resolveLimits,
} from '../format/constants.js';
import type { CryptoParams } from '../format/crypto-params.js';
import { segmentOfBlock } from '../reader/index-search.js';
import { H4mkError } from '../format/errors.js';
import { type ContainerIndex, decodeIndexRegion } from '../format/index-region.js';
import { decodeSegmentTable } from '../format/segment-table.js';
import type { TrackRecord } from '../format/track-table.js';
import { ReadAheadSource } from '../io/read-ahead-source.js';
import type { Sink } from '../io/sink.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';
import { scanChunks, type ScannedBlock } from '../reader/chunk-scan.js';
import { H4mkWriter, type WriteSummary } from '../writer/writer.js';

/** Index chunk types (§5, §13): they form index regions, at the start (faststart), between segments (§14 checkpoints) or at the end. */
const INDEX_CHUNKS: ReadonlySet<string> = new Set(['TRAK', 'META', 'SAFE', 'SEEK', 'SEGX', 'CRYP', 'VERI', 'SEAL']);

/** Track table and metadata to use when the damaged file has no readable index. */
export type RecoverReference = {
  tracks: readonly Omit<TrackRecord, 'number'>[];
  meta?: Record<string, unknown>;
  safe?: Record<string, unknown>;
  crypto?: CryptoParams | null;
};

export type RecoverOptions = {
  /** Layout of the output. Default: the input's (from its header), else tail. */
  layout?: 'tail' | 'faststart';
  limits?: Partial<Limits>;
  /** Used when no index region of the input survived (see the module comment). */
  reference?: RecoverReference;
  /** Called as blocks are copied. */
  onProgress?: (blocksWritten: number, blocksToWrite: number) => void;
};

/** Where the first damage is, and what it is. */
export type RecoverDamage = { offset: number; code: string; message: string };

/** What {@link recoverContainer} did. */
export type RecoverReport = {
  inputSize: number;
  /** Blocks copied to the output (core_index 0 … recoveredBlocks − 1). */
  recoveredBlocks: number;
  /** Of those, verified against their segment table digest. */
  digestVerified: number;
  /** Of those, verified by CRC-32C and core_index sequence only (unfinished segment). */
  crcVerified: number;
  /**
   * Blocks known to have existed but not recovered: from the surviving index,
   * block headers and segment tables found after the damage, and a block cut
   * short by the end of the file. A lower bound: blocks whose every trace is
   * damaged cannot be counted.
   */
  lostBlocks: number;
  /** The first damage, null when there is none. An unfinished file (no index at its end) is damage at its end. */
  damage: RecoverDamage | null;
  /** A damaged file header (the output gets a new one; blocks carry their own checks). */
  headerDamage: RecoverDamage | null;
  /** True when the input was a complete, undamaged container and every block came back. */
  complete: boolean;
  /** Where the track table came from. */
  tracksFrom: 'final-index' | 'checkpoint' | 'reference' | 'made-up' | 'none';
  /** Blocks of the input are encrypted (copied verbatim; CRYP kept). */
  encrypted: boolean;
  /** The output, or null when nothing was recoverable (then nothing was written). */
  summary: WriteSummary | null;
};

/** One block found by the scan, accepted for copying. */
type Found = { offset: number; payloadLength: number; crc: number; verifiedBy: 'digest' | 'crc'; trackNumber: number; flags: number };

/** Accepted blocks, growable, column-wise (a movie has ~10^6 blocks). */
class FoundList {
  count = 0;
  private offset = new Float64Array(1024);
  private payloadLength = new Uint32Array(1024);
  private crc = new Uint32Array(1024);
  private digest = new Uint8Array(1024);
  private track = new Uint16Array(1024);
  private flags = new Uint8Array(1024);

  push(f: Found): void {
    if (this.count === this.offset.length) {
      const grow = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.offset = grow(this.offset);
      this.payloadLength = grow(this.payloadLength);
      this.crc = grow(this.crc);
      this.digest = grow(this.digest);
      this.track = grow(this.track);
      this.flags = grow(this.flags);
    }
    const i = this.count++;
    this.offset[i] = f.offset;
    this.payloadLength[i] = f.payloadLength;
    this.crc[i] = f.crc;
    this.digest[i] = f.verifiedBy === 'digest' ? 1 : 0;
    this.track[i] = f.trackNumber;
    this.flags[i] = f.flags;
  }

  get(i: number): Found {
    return {
      offset: this.offset[i] as number,
      payloadLength: this.payloadLength[i] as number,
      crc: this.crc[i] as number,
      verifiedBy: this.digest[i] === 1 ? 'digest' : 'crc',
      trackNumber: this.track[i] as number,
      flags: this.flags[i] as number,
    };
  }

  truncate(n: number): void {
    this.count = Math.min(this.count, n);
  }

  countDigest(n = this.count): number {
    let k = 0;
    for (let i = 0; i < n; i++) k += this.digest[i] as number;
    return k;
  }
}

/** A pending block of the current segment (no BIDX seen yet). */
type Pending = { offset: number; payloadLength: number; crc: number; block: ScannedBlock };

/** A segment found complete: for the cross-check against a surviving SEGX. */
type FoundSegment = { firstCoreIndex: number; count: number; bidxDigest: Uint8Array; bidxOffset: number };

/** What the structural scan found. */
type Scan = {
  inputSize: number;
  found: FoundList;
  segments: FoundSegment[];
  damage: RecoverDamage | null;
  headerDamage: RecoverDamage | null;
  layout: 'tail' | 'faststart' | null;
  /** The latest index region that decoded and verified, and whether it is the file's final one. */
  index: { index: ContainerIndex; final: boolean; offset: number; end: number } | null;
  /** One past the highest core_index the file shows evidence of. */
  evidenceEnd: number;
  /** The file ended with a FOOT whose index is the final one (nothing after it). */
  endsWithFinalIndex: boolean;
};

function damageOf(error: H4mkError, fallbackOffset: number): RecoverDamage {
  return { offset: error.offset ?? fallbackOffset, code: error.code, message: error.message };
}

/**
 * Pass 1: walks every chunk (scanChunks), accepts blocks up to the first
 * damage, checks complete segments against their tables, and keeps the latest
 * index region that decodes. After the damage it keeps walking only to count
 * what was lost.
 */
async function scanForBlocks(source: RandomAccessSource, limits: Limits): Promise<Scan> {
  const found = new FoundList();
  const segments: FoundSegment[] = [];
  let pending: Pending[] = [];
  let damage: RecoverDamage | null = null;
  let headerDamage: RecoverDamage | null = null;
  let layout: Scan['layout'] = null;
  let index: Scan['index'] = null;
  let evidenceEnd = 0;
  /** The current run of consecutive index chunks. */
  let run: { start: number; end: number } | null = null;
  let lastChunkEnd = 0;
  let lastWasFinalFoot = false;
  const inputSize = await source.size();

  const stop = (d: RecoverDamage): void => {
    if (damage !== null) return;
    damage = d;
    // The blocks of the open segment were complete before the damage: CRC- and sequence-verified.
    for (const p of pending) found.push({ offset: p.offset, payloadLength: p.payloadLength, crc: p.crc, verifiedBy: 'crc', trackNumber: p.block.trackNumber, flags: p.block.flags });
    pending = [];
  };
  const next = (): number => found.count + pending.length;

  /**
   * An index chunk (CRC-checked) extends the current run; once the run ends
   * with VERI (or a SEAL after it) it is tried as an index region. The latest
   * region that decodes and verifies wins; a faststart index (right after the
   * header) and one whose FOOT ends the file are final.
   */
  const indexChunk = async (type: string, offset: number, end: number): Promise<void> => {
    if (run === null || run.end !== offset) run = { start: offset, end };
    else run.end = end;
    if (type !== 'VERI' && type !== 'SEAL') return;
    const { start } = run;
    try {
      const decoded = decodeIndexRegion(await readExactly(source, start, end - start), start, limits, sha256);
      if (index === null || start >= index.offset) index = { index: decoded, final: layout === 'faststart' && start === HEADER_LENGTH, offset: start, end };
      evidenceEnd = Math.max(evidenceEnd, decoded.integrity.blockCount);
    } catch (error) {
      if (!(error instanceof H4mkError)) throw error;
      // A torn or damaged index region: it describes nothing we rely on.
    }
  };
  /** A valid FOOT: the index region right before it, if it ends the file, is the final one. */
  const footChunk = (offset: number, end: number): void => {
    if (index !== null && index.end === offset && end === inputSize) index.final = true;
    run = null;
  };

  for await (const entry of scanChunks(source)) {
    if (entry.kind === 'header') {
      layout = entry.layout;
      if (entry.error !== null) {
        if (entry.error.code === 'E_MAGIC' || entry.error.code === 'E_TRUNCATED') {
          stop(damageOf(entry.error, 0));
          break;
        }
        headerDamage = damageOf(entry.error, 0);
      }
      continue;
    }
    if (entry.kind === 'damage') {
      // A chunk cut short by the end of the file (or unreadable framing): a CORE in progress is a lost block.
      const partial = await readExactly(source, entry.offset, Math.min(4, inputSize - entry.offset)).catch(() => new Uint8Array(0));
      if (String.fromCharCode(...partial) === 'CORE') evidenceEnd = Math.max(evidenceEnd, next() + 1);
      stop(damageOf(entry.error, entry.offset));
      break;
    }
    lastWasFinalFoot = false;
    const end = entry.offset + CHUNK_OVERHEAD + entry.payloadLength;
    lastChunkEnd = end;
    const isFoot = entry.type === 'FOOT';
    // A FOOT before the end of the file is a §14 checkpoint footer: not an error.
    const error = isFoot && entry.crcOk && entry.error?.code === 'E_FORMAT' && end !== inputSize ? null : entry.error;
    if (damage !== null) {
      // Past the damage: only count evidence of blocks that existed.
      if (entry.crcOk && entry.block !== undefined) evidenceEnd = Math.max(evidenceEnd, entry.block.coreIndex + 1);
      if (entry.crcOk && entry.segmentTable !== undefined) evidenceEnd = Math.max(evidenceEnd, entry.segmentTable.firstCoreIndex + entry.segmentTable.blockCount);
      if (INDEX_CHUNKS.has(entry.type) && entry.crcOk) await indexChunk(entry.type, entry.offset, end);
      else if (isFoot && entry.crcOk) footChunk(entry.offset, end);
      else run = null;
      continue;
    }
    if (error !== null) {
      if (entry.type === 'CORE') evidenceEnd = Math.max(evidenceEnd, next() + 1);
      // The damage starts with the chunk that fails (the error's own offset may be its CRC field).
      stop({ offset: entry.offset, code: error.code, message: error.message });
      continue;
    }
    if (INDEX_CHUNKS.has(entry.type) || isFoot) {
      if (pending.length > 0) {
        stop({ offset: entry.offset, code: 'E_FORMAT', message: `${entry.type} chunk inside a segment (its blocks have no BIDX)` });
        continue;
      }
      if (isFoot) {
        footChunk(entry.offset, end);
        lastWasFinalFoot = end === inputSize;
      } else await indexChunk(entry.type, entry.offset, end);
      continue;
    }
    run = null;
    if (entry.type === 'CORE') {
      const block = entry.block as ScannedBlock;
      if (block.coreIndex !== next()) {
        evidenceEnd = Math.max(evidenceEnd, block.coreIndex + 1);
        stop({ offset: entry.offset, code: 'E_ORDER', message: `block with core_index ${block.coreIndex} where ${next()} was expected` });
        continue;
      }
      if (block.storedLength > limits.maxBlockLength || block.originalLength > limits.maxBlockLength) {
        stop({ offset: entry.offset, code: 'E_LIMIT', message: `block ${block.coreIndex} exceeds maxBlockLength` });
        continue;
      }
      const last = pending[pending.length - 1];
      if (last !== undefined && last.offset + CHUNK_OVERHEAD + last.payloadLength !== entry.offset) {
        stop({ offset: entry.offset, code: 'E_FORMAT', message: 'blocks of one segment are not contiguous' });
        continue;
      }
      pending.push({ offset: entry.offset, payloadLength: entry.payloadLength, crc: entry.storedCrc, block });
      evidenceEnd = Math.max(evidenceEnd, next());
      continue;
    }
    if (entry.type === 'BIDX') {
      const problem = await checkSegment(source, entry.offset, entry.payloadLength, pending, limits);
      if (problem.verified > 0) {
        for (const p of pending.slice(0, problem.verified)) {
          found.push({ offset: p.offset, payloadLength: p.payloadLength, crc: p.crc, verifiedBy: 'digest', trackNumber: p.block.trackNumber, flags: p.block.flags });
        }
        pending = pending.slice(problem.verified);
      }
      if (problem.damage !== null) {
        // The segment's own table condemns the block it names: nothing from it on is kept, even
        // when its CRC-32C passes (a CRC binds no bytes to anyone: an edit can recompute it).
        pending = [];
        stop(problem.damage);
        continue;
      }
      segments.push({ firstCoreIndex: found.count - problem.verified, count: problem.verified, bidxDigest: problem.digest as Uint8Array, bidxOffset: entry.offset });
      continue;
    }
    // Unknown chunk types may sit between segments (§4.1), never inside one.
    if (pending.length > 0) stop({ offset: entry.offset, code: 'E_FORMAT', message: `${entry.type} chunk inside a segment` });
  }
  const endsWithFinalIndex = damage === null && lastWasFinalFoot && lastChunkEnd === inputSize;
  if (damage === null && !endsWithFinalIndex) {
    stop({ offset: inputSize, code: 'E_TRUNCATED', message: 'the file ends without its index: the writer did not finish' });
  }
  const scan: Scan = { inputSize, found, segments, damage, headerDamage, layout, index, evidenceEnd, endsWithFinalIndex };
  crossCheckSegments(scan);
  return scan;
}

/**
 * Checks a BIDX chunk against the blocks of its segment. Returns how many
 * leading blocks its digests verify, and the damage if not all of them.
 */
async function checkSegment(
  source: RandomAccessSource,
  offset: number,
  payloadLength: number,
  pending: readonly Pending[],
  limits: Limits,
): Promise<{ verified: number; damage: RecoverDamage | null; digest?: Uint8Array }> {
  const first = pending[0];
  const last = pending[pending.length - 1];
  if (first === undefined || last === undefined) return { verified: 0, damage: { offset, code: 'E_FORMAT', message: 'BIDX chunk without blocks before it' } };
  let payload: Uint8Array;
  let table: ReturnType<typeof decodeSegmentTable>;
  try {
    payload = await readExactly(source, offset + CHUNK_HEADER_LENGTH, payloadLength);
    table = decodeSegmentTable(payload, offset + CHUNK_HEADER_LENGTH, limits);
  } catch (error) {
    if (!(error instanceof H4mkError)) throw error;
    return { verified: 0, damage: damageOf(error, offset) };
  }
  const mismatch = (message: string): { verified: number; damage: RecoverDamage } => ({ verified: 0, damage: { offset, code: 'E_FORMAT', message } });
  if (last.offset + CHUNK_OVERHEAD + last.payloadLength !== offset) return mismatch('BIDX does not follow the last block of its segment');
  if (table.firstCoreIndex !== first.block.coreIndex || table.count !== pending.length) {
    return mismatch(`BIDX describes blocks ${table.firstCoreIndex}+${table.count}, the segment has ${first.block.coreIndex}+${pending.length}`);
  }
  for (let i = 0; i < pending.length; i++) {
    const p = pending[i] as Pending;
    const b = p.block;
    const same =
      table.chunkOffset[i] === p.offset - first.offset &&
      table.storedLength[i] === b.storedLength &&
      table.trackNumber[i] === b.trackNumber &&
      table.flags[i] === b.flags &&
      table.compression[i] === b.compression &&
      table.duration[i] === b.duration &&
      table.pts[i] === b.pts &&
      table.dts[i] === b.dts &&
      table.originalLength[i] === b.originalLength;
    const digest = same ? sha256((await readExactly(source, p.offset + CHUNK_HEADER_LENGTH, p.payloadLength)) as Uint8Array) : null;
    if (digest === null || !bytesEqual(digest, table.digests.subarray(i * DIGEST_LENGTH, (i + 1) * DIGEST_LENGTH))) {
      return {
        verified: i,
        damage: {
          offset: p.offset,
          code: digest === null ? 'E_FORMAT' : 'E_DIGEST',
          message: `block ${b.coreIndex} ${digest === null ? 'disagrees with its segment table entry' : 'does not match its segment table digest'}`,
        },
      };
    }
  }
  return { verified: pending.length, damage: null, digest: sha256(payload) };
}

/** Segments the surviving index lists must have its SEGX digest; the first that does not ends the recovery there. */
function crossCheckSegments(scan: Scan): void {
  const index = scan.index?.index;
  if (index === undefined) return;
  const dir = index.segments;
  for (const s of scan.segments) {
    const k = segmentOfBlock(dir, s.firstCoreIndex);
    if (k < 0 || dir.firstCoreIndex[k] !== s.firstCoreIndex) continue;
    if (dir.blockCount[k] !== s.count || !bytesEqual(dir.digests.subarray(k * DIGEST_LENGTH, (k + 1) * DIGEST_LENGTH), s.bidxDigest)) {
      scan.found.truncate(s.firstCoreIndex);
      scan.damage = { offset: s.bidxOffset, code: 'E_DIGEST', message: `segment ${k} (blocks from ${s.firstCoreIndex}) does not match the index's digest` };
      scan.endsWithFinalIndex = false;
      return;
    }
  }
}

/** Made-up tracks for blocks whose track table was lost. */
function madeUpTracks(found: FoundList): Omit<TrackRecord, 'number'>[] {
  let max = -1;
  for (let i = 0; i < found.count; i++) max = Math.max(max, found.get(i).trackNumber);
  return Array.from({ length: max + 1 }, (_, n) => ({
    id: `track_${n}`,
    kind: 'data' as const,
    codec: 'opaque',
    config: new Uint8Array(0),
    timescale: 1_000_000,
    compression: 'none' as const,
    name: '',
    language: '',
    extra: { recovered: 'the track table was lost: kind, codec and timescale are unknown' },
  }));
}

/**
 * Rebuilds a container from `source` into `sink` (see the module comment).
 * The sink is committed when at least one block (or a complete empty
 * container) is recovered, aborted otherwise. Callers that publish the result
 * should verify it first (`recoverFile` in src/tools does).
 */
export async function recoverContainer(source: RandomAccessSource, sink: Sink, options: RecoverOptions = {}): Promise<RecoverReport> {
  const limits = resolveLimits(options.limits);
  const input = new ReadAheadSource(source);
  const scan = await scanForBlocks(input, limits);
  const found = scan.found;

  let tracksFrom: RecoverReport['tracksFrom'];
  let tracks: readonly Omit<TrackRecord, 'number'>[];
  let meta: Record<string, unknown> | undefined;
  let safe: Record<string, unknown> | undefined;
  let crypto: CryptoParams | null;
  if (scan.index !== null) {
    tracksFrom = scan.index.final ? 'final-index' : 'checkpoint';
    ({ tracks, meta, safe, crypto } = scan.index.index);
  } else if (options.reference !== undefined) {
    tracksFrom = 'reference';
    tracks = options.reference.tracks;
    meta = options.reference.meta;
    safe = options.reference.safe;
    crypto = options.reference.crypto ?? null;
  } else {
    tracksFrom = found.count === 0 ? 'none' : 'made-up';
    tracks = madeUpTracks(found);
    crypto = null;
  }

  // Blocks the output cannot hold as they are: an unknown track, or encryption without any CRYP.
  let damage = scan.damage;
  let encrypted = false;
  for (let i = 0; i < found.count; i++) {
    const f = found.get(i);
    const problem =
      f.trackNumber >= tracks.length
        ? `block ${i} names track ${f.trackNumber}, the track table has ${tracks.length}`
        : (f.flags & BlockFlag.ENCRYPTED) !== 0 && crypto === null
          ? `block ${i} is encrypted, but no CRYP record survived (its keys cannot be derived)`
          : null;
    if ((f.flags & BlockFlag.ENCRYPTED) !== 0) encrypted = true;
    if (problem !== null) {
      found.truncate(i);
      damage = { offset: f.offset, code: 'E_FORMAT', message: problem };
      break;
    }
  }

  const report: RecoverReport = {
    inputSize: scan.inputSize,
    recoveredBlocks: 0,
    digestVerified: 0,
    crcVerified: 0,
    lostBlocks: 0,
    damage,
    headerDamage: scan.headerDamage,
    complete: false,
    tracksFrom,
    encrypted,
    summary: null,
  };
  const emptyAndComplete = found.count === 0 && damage === null && scan.endsWithFinalIndex;
  if (found.count === 0 && !emptyAndComplete) {
    report.lostBlocks = scan.evidenceEnd;
    await sink.abort();
    return report;
  }

  const writer = await H4mkWriter.create(sink, {
    layout: options.layout ?? scan.layout ?? 'tail',
    limits,
    ...(meta === undefined ? {} : { meta }),
    ...(safe === undefined ? {} : { safe }),
    ...(crypto === null ? {} : { preserveCrypto: crypto }),
  });
  try {
    for (const t of tracks) {
      writer.addTrack({ id: t.id, kind: t.kind, codec: t.codec, config: t.config, timescale: t.timescale, name: t.name, language: t.language, extra: t.extra, compression: t.compression });
    }
    let written = 0;
    for (; written < found.count; written++) {
      const f = found.get(written);
      const problem = await copyBlock(input, writer, f, written);
      if (problem !== null) {
        damage = problem;
        break;
      }
      if (written % 1024 === 1023) options.onProgress?.(written + 1, found.count);
    }
    found.truncate(written);
    report.summary = await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  report.damage = damage;
  report.recoveredBlocks = found.count;
  report.digestVerified = found.countDigest();
  report.crcVerified = found.count - report.digestVerified;
  report.lostBlocks = Math.max(0, scan.evidenceEnd - found.count);
  report.complete = damage === null && scan.endsWithFinalIndex && report.headerDamage === null && report.lostBlocks === 0;
  return report;
}

/** Pass 2: re-reads one accepted block, checks it is unchanged, and copies it verbatim. */
async function copyBlock(source: RandomAccessSource, writer: H4mkWriter, f: Found, coreIndex: number): Promise<RecoverDamage | null> {
  try {
    const bytes = await readExactly(source, f.offset, CHUNK_OVERHEAD + f.payloadLength);
    const payload = decodeChunk(bytes, 0, { base: f.offset, expect: 'CORE' }).payload;
    const crc = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
    if (crc !== f.crc) throw new H4mkError('E_CHECKSUM', 'the block changed while being recovered', { offset: f.offset, coreIndex });
    const view = new DataView(payload.buffer, payload.byteOffset, BLOCK_HEADER_LENGTH);
    // §6.1 header fields, copied as they are.
    await writer.writeRawBlock({
      track: view.getUint16(8, true),
      flags: view.getUint8(10),
      compression: COMPRESSIONS[view.getUint8(11)] ?? 'none',
      duration: view.getUint32(12, true),
      pts: Number(view.getBigInt64(16, true)),
      dts: Number(view.getBigInt64(24, true)),
      originalLength: view.getUint32(32, true),
      stored: payload.subarray(BLOCK_HEADER_LENGTH),
    });
    return null;
  } catch (error) {
    if (error instanceof H4mkError) return damageOf(error, f.offset);
    if (error instanceof RangeError || error instanceof TypeError) return { offset: f.offset, code: 'E_ORDER', message: `block ${coreIndex} cannot be written back: ${error.message}` };
    throw error;
  }
}
