/**
 * Recovery's digest checks (docs/FORMAT.md §6.2, §14.2): a complete segment
 * against its BIDX table, and the segments found against the SEGX of a
 * surviving index region.
 */
import { runDigest, sha256 } from '../crypto/sha256.js';
import { bytesEqual } from '../format/bytes.js';
import { CHUNK_HEADER_LENGTH, CHUNK_OVERHEAD, DIGEST_LENGTH, type Limits } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import type { SegmentDirectory } from '../format/segment-directory.js';
import { decodeSegmentTable } from '../format/segment-table.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';
import { segmentOfBlock } from '../reader/index-search.js';
import type { RecoverDamage, ScannedCore } from './found.js';

/** A segment found complete: for the cross-check against a surviving SEGX. */
export type FoundSegment = { firstCoreIndex: number; count: number; bidxDigest: Uint8Array; bidxOffset: number };

/** What {@link checkSegment} found: how many leading blocks its digests verify, and the damage if not all of them. */
export type SegmentCheck = { verified: number; damage: RecoverDamage | null; digest?: Uint8Array };

export function damageOf(error: H4mkError, fallbackOffset: number): RecoverDamage {
  return { offset: error.offset ?? fallbackOffset, code: error.code, message: error.message };
}

/**
 * Checks a BIDX chunk against the blocks of its segment. Returns how many
 * leading blocks its digests verify, and the damage if not all of them.
 */
export async function checkSegment(
  source: RandomAccessSource,
  offset: number,
  payloadLength: number,
  pending: readonly ScannedCore[],
  limits: Limits,
): Promise<SegmentCheck> {
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
  const mismatch = (message: string): SegmentCheck => ({ verified: 0, damage: { offset, code: 'E_FORMAT', message } });
  if (last.offset + CHUNK_OVERHEAD + last.payloadLength !== offset) return mismatch('BIDX does not follow the last block of its segment');
  if (table.firstCoreIndex !== first.block.coreIndex || table.count !== pending.length) {
    return mismatch(`BIDX describes blocks ${table.firstCoreIndex}+${table.count}, the segment has ${first.block.coreIndex}+${pending.length}`);
  }
  for (let i = 0; i < pending.length; i++) {
    const p = pending[i] as ScannedCore;
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

/**
 * The first segment found whose SEGX entry in the surviving index (`dir`)
 * disagrees (block count or BIDX digest), as the damage it is; null when
 * every listed segment agrees. Segments the index does not list are not checked.
 */
export function firstSegmentMismatch(dir: SegmentDirectory, segments: readonly FoundSegment[]): { segment: FoundSegment; damage: RecoverDamage } | null {
  if (dir.recordsPerSegment > 1) return firstRunMismatch(dir, segments);
  for (const s of segments) {
    const k = segmentOfBlock(dir, s.firstCoreIndex);
    if (k < 0 || dir.firstCoreIndex[k] !== s.firstCoreIndex) continue;
    if (dir.blockCount[k] !== s.count || !bytesEqual(dir.digests.subarray(k * DIGEST_LENGTH, (k + 1) * DIGEST_LENGTH), s.bidxDigest)) {
      return {
        segment: s,
        damage: { offset: s.bidxOffset, code: 'E_DIGEST', message: `segment ${k} (blocks from ${s.firstCoreIndex}) does not match the index's digest` },
      };
    }
  }
  return null;
}

/**
 * §5.5 The same for an index that lists records by runs: the records found
 * for each listed segment, when they make it up whole, against its digest
 * (the SHA-256 of their table digests).
 */
function firstRunMismatch(dir: SegmentDirectory, records: readonly FoundSegment[]): { segment: FoundSegment; damage: RecoverDamage } | null {
  let run: { k: number; first: FoundSegment; blocks: number; digests: Uint8Array[] } | null = null;
  for (const r of records) {
    if (run !== null && r.firstCoreIndex !== run.first.firstCoreIndex + run.blocks) run = null;
    if (run === null) {
      const k = segmentOfBlock(dir, r.firstCoreIndex);
      if (k < 0 || dir.firstCoreIndex[k] !== r.firstCoreIndex) continue;
      run = { k, first: r, blocks: 0, digests: [] };
    }
    run.blocks += r.count;
    run.digests.push(r.bidxDigest);
    const { k, first } = run;
    const expected = dir.blockCount[k] as number;
    if (run.blocks < expected) continue;
    if (run.blocks > expected || !bytesEqual(dir.digests.subarray(k * DIGEST_LENGTH, (k + 1) * DIGEST_LENGTH), runDigest(run.digests))) {
      return {
        segment: first,
        damage: { offset: first.bidxOffset, code: 'E_DIGEST', message: `segment ${k} (blocks from ${first.firstCoreIndex}) does not match the index's digest` },
      };
    }
    run = null;
  }
  return null;
}
