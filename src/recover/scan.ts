/**
 * Recovery pass 1 (docs/FORMAT.md §8.5, §14.2): walks every chunk with the
 * chunk scanner (src/reader/chunk-scan.ts), whose decoded CORE headers are
 * kept as they are, accepts blocks up to the first damage, checks complete
 * segments against their tables, and keeps the latest index region that
 * decodes. After the damage it keeps walking only to count what was lost.
 */
import { sha256 } from '../crypto/sha256.js';
import { bytesEqual } from '../format/bytes.js';
import { crc32c } from '../format/crc32c.js';
import { CHUNK_OVERHEAD, FORMAT_VERSION, type FormatVersion, HEADER_LENGTH, type Limits } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import { type ContainerIndex, decodeIndexRegion } from '../format/index-region.js';
import { decodeSegmentRecord } from '../format/segment-record.js';
import { type DataRange, type SegmentTable, tableEntry } from '../format/segment-table.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';
import { type ScannedBlock, type ScannedChunk, type ScanEntry, scanChunks } from '../reader/chunk-scan.js';
import { FoundList, foundOf, type RecoverDamage, type ScannedCore } from './found.js';
import { checkSegment, damageOf, firstSegmentMismatch, type FoundSegment } from './segment-check.js';

/** Index chunk types (§5, §13): they form index regions, at the start (faststart), between segments (§14 checkpoints) or at the end. */
const INDEX_CHUNKS: ReadonlySet<string> = new Set(['TRAK', 'META', 'SAFE', 'SEEK', 'SEGX', 'KEYP', 'CRYP', 'VERI', 'SEAL']);

/** The latest index region that decoded and verified, and whether it is the file's final one. */
export type FoundIndex = { index: ContainerIndex; final: boolean; offset: number; end: number };

/** What the structural scan found. */
export type Scan = {
  /** The header's format version (this implementation's when the header is unreadable). */
  version: FormatVersion;
  inputSize: number;
  found: FoundList;
  segments: FoundSegment[];
  damage: RecoverDamage | null;
  headerDamage: RecoverDamage | null;
  layout: 'tail' | 'faststart' | null;
  index: FoundIndex | null;
  /** One past the highest core_index the file shows evidence of. */
  evidenceEnd: number;
  /** The file ended with a FOOT whose index is the final one (nothing after it). */
  endsWithFinalIndex: boolean;
};

/** Runs pass 1 over `source` (see the module comment). */
export async function scanForBlocks(source: RandomAccessSource, limits: Limits): Promise<Scan> {
  const scan = new BlockScan(source, limits, await source.size());
  for await (const entry of scanChunks(source)) {
    if (!(await scan.step(entry))) break;
  }
  return scan.result();
}

/** The state of one pass 1 walk, fed one scanner entry at a time. */
class BlockScan {
  private readonly found = new FoundList();
  private readonly segments: FoundSegment[] = [];
  /** Blocks of the current segment (no BIDX seen yet). */
  private pending: ScannedCore[] = [];
  /** v2 (§6.5): the SEGT chunk read, waiting for its SEGD chunk. */
  private record: { table: SegmentTable; offset: number; digest: Uint8Array } | null = null;
  private damage: RecoverDamage | null = null;
  private headerDamage: RecoverDamage | null = null;
  private layout: Scan['layout'] = null;
  private index: FoundIndex | null = null;
  private evidenceEnd = 0;
  /** The current run of consecutive index chunks. */
  private run: { start: number; end: number } | null = null;
  private lastChunkEnd = 0;
  private lastWasFinalFoot = false;
  /** The header's format version (2 when the header is unreadable: what this implementation writes). */
  private version: FormatVersion = FORMAT_VERSION;

  constructor(
    private readonly source: RandomAccessSource,
    private readonly limits: Limits,
    private readonly inputSize: number,
  ) {}

  /** Takes one entry; false when the walk must stop. */
  async step(entry: ScanEntry): Promise<boolean> {
    if (entry.kind === 'header') {
      this.layout = entry.layout;
      if (entry.header !== null) this.version = entry.header.version;
      if (entry.error !== null) {
        if (entry.error.code === 'E_MAGIC' || entry.error.code === 'E_TRUNCATED') {
          this.stop(damageOf(entry.error, 0));
          return false;
        }
        this.headerDamage = damageOf(entry.error, 0);
      }
      return true;
    }
    if (entry.kind === 'damage') {
      this.record = null;
      // A chunk cut short by the end of the file (or unreadable framing): a CORE in progress is a lost block.
      const partial = await readExactly(this.source, entry.offset, Math.min(4, this.inputSize - entry.offset)).catch(() => new Uint8Array(0));
      // v2: a cut SEGT or SEGD is a segment in progress: at least one block lost.
      if (['CORE', 'SEGT', 'SEGD'].includes(String.fromCharCode(...partial))) this.evidence(this.next() + 1);
      this.stop(damageOf(entry.error, entry.offset));
      return false;
    }
    await this.chunk(entry);
    return true;
  }

  /** The scan's result, once the walk is over. */
  result(): Scan {
    const endsWithFinalIndex = this.damage === null && this.lastWasFinalFoot && this.lastChunkEnd === this.inputSize;
    if (this.damage === null && !endsWithFinalIndex) {
      this.stop({ offset: this.inputSize, code: 'E_TRUNCATED', message: 'the file ends without its index: the writer did not finish' });
    }
    const { version, inputSize, found, segments, damage, headerDamage, layout, index, evidenceEnd } = this;
    const scan: Scan = { version, inputSize, found, segments, damage, headerDamage, layout, index, evidenceEnd, endsWithFinalIndex };
    crossCheckSegments(scan);
    return scan;
  }

  private async chunk(entry: ScannedChunk): Promise<void> {
    this.lastWasFinalFoot = false;
    const end = entry.offset + CHUNK_OVERHEAD + entry.payloadLength;
    this.lastChunkEnd = end;
    const isFoot = entry.type === 'FOOT';
    // A FOOT before the end of the file is a §14 checkpoint footer: not an error.
    const error = isFoot && entry.crcOk && entry.error?.code === 'E_FORMAT' && end !== this.inputSize ? null : entry.error;
    if (this.damage !== null) {
      await this.afterDamage(entry, end);
      return;
    }
    if (error !== null) {
      if (entry.type === 'CORE' || entry.type === 'SEGT' || entry.type === 'SEGD') this.evidence(this.next() + 1);
      // The damage starts with the chunk that fails (the error's own offset may be its CRC field).
      this.stop({ offset: entry.offset, code: error.code, message: error.message });
      return;
    }
    if (entry.type === 'SEGD' || this.record !== null) {
      await this.segd(entry);
      return;
    }
    if (INDEX_CHUNKS.has(entry.type) || isFoot) {
      if (this.pending.length > 0) {
        this.stop({ offset: entry.offset, code: 'E_FORMAT', message: `${entry.type} chunk inside a segment (its blocks have no BIDX)` });
        return;
      }
      if (isFoot) {
        this.footChunk(entry.offset, end);
        this.lastWasFinalFoot = end === this.inputSize;
      } else await this.indexChunk(entry.type, entry.offset, end);
      return;
    }
    this.run = null;
    if (entry.type === 'CORE') this.core(entry);
    else if (entry.type === 'BIDX') await this.bidx(entry);
    else if (entry.type === 'SEGT') await this.segt(entry);
    // Unknown chunk types may sit between segments (§4.1), never inside one.
    else if (this.pending.length > 0) this.stop({ offset: entry.offset, code: 'E_FORMAT', message: `${entry.type} chunk inside a segment` });
  }

  /** Past the damage: only count evidence of blocks that existed, and keep the latest index region. */
  private async afterDamage(entry: ScannedChunk, end: number): Promise<void> {
    if (entry.crcOk && entry.block !== undefined) this.evidence(entry.block.coreIndex + 1);
    if (entry.crcOk && entry.segmentTable !== undefined) this.evidence(entry.segmentTable.firstCoreIndex + entry.segmentTable.blockCount);
    if (INDEX_CHUNKS.has(entry.type) && entry.crcOk) await this.indexChunk(entry.type, entry.offset, end);
    else if (entry.type === 'FOOT' && entry.crcOk) this.footChunk(entry.offset, end);
    else this.run = null;
  }

  /** A CORE chunk (CRC-checked, header decoded by the scanner): the next block of the open segment. */
  private core(entry: ScannedChunk): void {
    const block = entry.block as ScannedBlock;
    if (block.coreIndex !== this.next()) {
      this.evidence(block.coreIndex + 1);
      this.stop({ offset: entry.offset, code: 'E_ORDER', message: `block with core_index ${block.coreIndex} where ${this.next()} was expected` });
      return;
    }
    if (block.storedLength > this.limits.maxBlockLength || block.originalLength > this.limits.maxBlockLength) {
      this.stop({ offset: entry.offset, code: 'E_LIMIT', message: `block ${block.coreIndex} exceeds maxBlockLength` });
      return;
    }
    const last = this.pending[this.pending.length - 1];
    if (last !== undefined && last.offset + CHUNK_OVERHEAD + last.payloadLength !== entry.offset) {
      this.stop({ offset: entry.offset, code: 'E_FORMAT', message: 'blocks of one segment are not contiguous' });
      return;
    }
    this.pending.push({ offset: entry.offset, payloadLength: entry.payloadLength, crc: entry.storedCrc, block });
    this.evidence(this.next());
  }

  /** A BIDX chunk: closes the open segment, whose blocks its digests verify. */
  private async bidx(entry: ScannedChunk): Promise<void> {
    const problem = await checkSegment(this.source, entry.offset, entry.payloadLength, this.pending, this.limits);
    if (problem.verified > 0) {
      for (const p of this.pending.slice(0, problem.verified)) this.found.push(foundOf(p, 'digest'));
      this.pending = this.pending.slice(problem.verified);
    }
    if (problem.damage !== null) {
      // The segment's own table condemns the block it names: nothing from it on is kept, even
      // when its CRC-32C passes (a CRC binds no bytes to anyone: an edit can recompute it).
      this.pending = [];
      this.stop(problem.damage);
      return;
    }
    this.segments.push({
      firstCoreIndex: this.found.count - problem.verified,
      count: problem.verified,
      bidxDigest: problem.digest as Uint8Array,
      bidxOffset: entry.offset,
    });
  }

  /** §6.5 A SEGT chunk (CRC-checked): the table of the segment whose SEGD chunk must follow. */
  private async segt(entry: ScannedChunk): Promise<void> {
    if (this.pending.length > 0) {
      this.stop({ offset: entry.offset, code: 'E_FORMAT', message: 'SEGT chunk inside a v1 segment' });
      return;
    }
    try {
      const payload = await readExactly(this.source, entry.offset + 8, entry.payloadLength);
      const table = decodeSegmentRecord(payload, entry.offset + 8, this.limits);
      if (table.firstCoreIndex !== this.next()) {
        this.evidence(table.firstCoreIndex + table.count);
        this.stop({
          offset: entry.offset,
          code: 'E_ORDER',
          message: `segment starting at core_index ${table.firstCoreIndex} where ${this.next()} was expected`,
        });
        return;
      }
      this.record = { table, offset: entry.offset, digest: sha256(payload) };
      this.evidence(table.firstCoreIndex + table.count);
    } catch (error) {
      if (!(error instanceof H4mkError)) throw error;
      this.stop(damageOf(error, entry.offset));
    }
  }

  /** §6.5 The chunk after a SEGT: its SEGD, whose data digest accepts every block of the segment, or the damage. */
  private async segd(entry: ScannedChunk): Promise<void> {
    const record = this.record;
    this.record = null;
    if (record === null || entry.type !== 'SEGD') {
      this.stop({
        offset: entry.offset,
        code: 'E_FORMAT',
        message: record === null ? 'SEGD chunk without its SEGT' : `${entry.type} chunk where a SEGD chunk must follow its SEGT`,
      });
      return;
    }
    const { table } = record;
    const data = (table.data as DataRange[])[0] as DataRange; // a record's table: one range
    const start = entry.offset + 8;
    if (entry.payloadLength !== data.length || entry.offset !== record.offset + data.offset - 8) {
      this.stop({ offset: entry.offset, code: 'E_FORMAT', message: `SEGD of ${entry.payloadLength} bytes where its table describes ${data.length}` });
      return;
    }
    const bytes = await readExactly(this.source, start, data.length);
    if (!bytesEqual(sha256(bytes), data.digest)) {
      this.stop({ offset: start, code: 'E_DIGEST', message: 'segment data digest mismatch' });
      return;
    }
    let at = 0;
    for (let i = 0; i < table.count; i++) {
      const length = table.storedLength[i] as number;
      this.found.push(
        foundOf({ offset: start + at, payloadLength: length, crc: crc32c(bytes.subarray(at, at + length)), block: tableEntry(table, i) }, 'digest', false),
      );
      at += length;
    }
    this.segments.push({ firstCoreIndex: table.firstCoreIndex, count: table.count, bidxDigest: record.digest, bidxOffset: record.offset });
  }

  /**
   * An index chunk (CRC-checked) extends the current run; once the run ends
   * with VERI (or a SEAL after it) it is tried as an index region. The latest
   * region that decodes and verifies wins; a faststart index (right after the
   * header) and one whose FOOT ends the file are final.
   */
  private async indexChunk(type: string, offset: number, end: number): Promise<void> {
    if (this.run === null || this.run.end !== offset) this.run = { start: offset, end };
    else this.run.end = end;
    if (type !== 'VERI' && type !== 'SEAL') return;
    const { start } = this.run;
    try {
      const decoded = decodeIndexRegion(await readExactly(this.source, start, end - start), start, this.limits, sha256, this.version);
      if (this.index === null || start >= this.index.offset)
        this.index = { index: decoded, final: this.layout === 'faststart' && start === HEADER_LENGTH, offset: start, end };
      this.evidence(decoded.integrity.blockCount);
    } catch (error) {
      if (!(error instanceof H4mkError)) throw error;
      // A torn or damaged index region: it describes nothing we rely on.
    }
  }

  /** A valid FOOT: the index region right before it, if it ends the file, is the final one. */
  private footChunk(offset: number, end: number): void {
    if (this.index !== null && this.index.end === offset && end === this.inputSize) this.index.final = true;
    this.run = null;
  }

  /** The first damage ends acceptance; the blocks of the open segment were complete before it: CRC- and sequence-verified. */
  private stop(d: RecoverDamage): void {
    if (this.damage !== null) return;
    this.damage = d;
    for (const p of this.pending) this.found.push(foundOf(p, 'crc'));
    this.pending = [];
  }

  /** The core_index the next block must have. */
  private next(): number {
    return this.found.count + this.pending.length;
  }

  private evidence(end: number): void {
    this.evidenceEnd = Math.max(this.evidenceEnd, end);
  }
}

/** Segments the surviving index lists must have its SEGX digest; the first that does not ends the recovery there. */
function crossCheckSegments(scan: Scan): void {
  const index = scan.index?.index;
  if (index === undefined) return;
  const mismatch = firstSegmentMismatch(index.segments, scan.segments);
  if (mismatch === null) return;
  scan.found.truncate(mismatch.segment.firstCoreIndex);
  scan.damage = mismatch.damage;
  scan.endsWithFinalIndex = false;
}
