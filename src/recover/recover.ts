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
import { resolveLimits, type Limits } from '../format/constants.js';
import { ReadAheadSource } from '../io/read-ahead-source.js';
import type { Sink } from '../io/sink.js';
import type { RandomAccessSource } from '../io/source.js';
import type { WriteSummary } from '../writer/writer.js';
import type { RecoverDamage } from './found.js';
import { rebuild } from './rebuild.js';
import { chooseTracks, keepWritable, type RecoverReference, type TracksFrom } from './salvage.js';
import { scanForBlocks } from './scan.js';

export type { RecoverDamage } from './found.js';
export type { RecoverReference } from './salvage.js';

export type RecoverOptions = {
  /** Layout of the output. Default: the input's (from its header), else tail. */
  layout?: 'tail' | 'faststart';
  limits?: Partial<Limits>;
  /** Used when no index region of the input survived (see the module comment). */
  reference?: RecoverReference;
  /** Called as blocks are copied. */
  onProgress?: (blocksWritten: number, blocksToWrite: number) => void;
};

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
  tracksFrom: TracksFrom;
  /** Blocks of the input are encrypted (copied verbatim; CRYP kept). */
  encrypted: boolean;
  /** The output, or null when nothing was recoverable (then nothing was written). */
  summary: WriteSummary | null;
};

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
  const salvage = chooseTracks(scan.index, options.reference, found);
  // Blocks the output cannot hold as they are: an unknown track, or encryption without any CRYP.
  const { damage, encrypted } = keepWritable(found, salvage, scan.damage);

  const report: RecoverReport = {
    inputSize: scan.inputSize,
    recoveredBlocks: 0,
    digestVerified: 0,
    crcVerified: 0,
    lostBlocks: 0,
    damage,
    headerDamage: scan.headerDamage,
    complete: false,
    tracksFrom: salvage.tracksFrom,
    encrypted,
    summary: null,
  };
  const emptyAndComplete = found.count === 0 && damage === null && scan.endsWithFinalIndex;
  if (found.count === 0 && !emptyAndComplete) {
    report.lostBlocks = scan.evidenceEnd;
    await sink.abort();
    return report;
  }

  const copied = await rebuild(input, sink, found, salvage, {
    layout: options.layout ?? scan.layout ?? 'tail',
    formatVersion: scan.version,
    limits,
    onProgress: options.onProgress,
  });
  report.summary = copied.summary;
  report.damage = copied.damage ?? damage;
  report.recoveredBlocks = found.count;
  report.digestVerified = found.countDigest();
  report.crcVerified = found.count - report.digestVerified;
  report.lostBlocks = Math.max(0, scan.evidenceEnd - found.count);
  report.complete = report.damage === null && scan.endsWithFinalIndex && report.headerDamage === null && report.lostBlocks === 0;
  return report;
}
