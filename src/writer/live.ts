/**
 * §14 Live append, writer side: when to write a checkpoint, and its bytes.
 *
 * A live writer streams a tail-layout container in place (readers follow the
 * growing file) and, after closing a segment when a checkpoint is due, writes
 * a CHECKPOINT: the complete index region for everything written so far
 * (TRAK META SAFE SEEK SEGX [CRYP] VERI, exactly as at finish, segment offsets
 * relative to the data start) followed by a FOOT chunk pointing at it; then it
 * makes the file durable. The checkpoint lies between two segments, so the
 * next segment's SEGX `gap` is the checkpoint's size (§5.5). At finish the
 * final index and FOOT are written at the end as usual: a finished live file
 * is an ordinary tail-layout container.
 *
 * When a checkpoint is due (policy, not format):
 * - after `checkpointBlocks` blocks, but skipped while the bytes written since
 *   the last checkpoint are less than {@link CHECKPOINT_OVERHEAD_FACTOR} × the
 *   index size, so that checkpoints add at most ~10% to the file; or
 * - once `checkpointMs` have passed since the last one and a new segment
 *   exists, whatever the overhead. To keep that latency, a live writer also
 *   closes its open segment at the first block after `checkpointMs`.
 */
import { type FormatVersion, HEADER_LENGTH } from '../format/constants.js';
import { encodeFooter } from '../format/header.js';

/** {@link WriterOptions.live}: checkpoint cadence of a live writer. */
export type LiveOptions = {
  /** A checkpoint is due after this many blocks (subject to the overhead bound). Default 256. */
  checkpointBlocks?: number;
  /** A checkpoint is due this long after the previous one, whatever the overhead. Default 1000 ms. */
  checkpointMs?: number;
};

/** The defaults of {@link LiveOptions}. */
export const LIVE_DEFAULTS = Object.freeze({ checkpointBlocks: 256, checkpointMs: 1000 });

/** A block-count checkpoint is skipped while the bytes since the last one are below this × the index size. */
export const CHECKPOINT_OVERHEAD_FACTOR = 10;

/** Counters of a live writer, reported in {@link WriteSummary.live}. */
export type LiveStats = {
  /** Checkpoints written. */
  checkpoints: number;
  /** Bytes of all checkpoints (index regions and their FOOT chunks). */
  checkpointBytes: number;
  /** Checkpoints due by block count but skipped by the overhead bound. */
  skipped: number;
};

/** Why a checkpoint is being considered. */
export type CheckpointReason = 'time' | 'blocks';

/**
 * The checkpoint schedule of one live writer: counts blocks and bytes since
 * the last checkpoint and decides, at each segment close, whether to write one.
 */
export class CheckpointSchedule {
  readonly checkpointBlocks: number;
  readonly checkpointMs: number;
  readonly stats: LiveStats = { checkpoints: 0, checkpointBytes: 0, skipped: 0 };
  private lastAt: number;
  private blocksSince = 0;
  private bytesSince = 0;
  /** Length of the last checkpoint's index region: a lower bound of the next one's. */
  private lastIndexLength = 0;
  /** Segments closed since the last checkpoint. */
  private segmentsSince = 0;

  constructor(
    options: LiveOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (typeof options !== 'object' || options === null) throw new TypeError('live must be an object ({} for the defaults)');
    const { checkpointBlocks = LIVE_DEFAULTS.checkpointBlocks, checkpointMs = LIVE_DEFAULTS.checkpointMs } = options;
    if (!Number.isSafeInteger(checkpointBlocks) || checkpointBlocks < 1)
      throw new RangeError(`live.checkpointBlocks must be a positive integer, got ${checkpointBlocks}`);
    if (typeof checkpointMs !== 'number' || Number.isNaN(checkpointMs) || checkpointMs < 0)
      throw new RangeError(`live.checkpointMs must be a non-negative number, got ${checkpointMs}`);
    this.checkpointBlocks = checkpointBlocks;
    this.checkpointMs = checkpointMs;
    this.lastAt = now();
  }

  /** Records a block of `chunkLength` bytes appended to the data region. */
  block(chunkLength: number): void {
    this.blocksSince++;
    this.bytesSince += chunkLength;
  }

  /** Records a closed segment whose BIDX chunk took `chunkLength` bytes. */
  segment(chunkLength: number): void {
    this.bytesSince += chunkLength;
    this.segmentsSince++;
  }

  /** True once `checkpointMs` have passed since the last checkpoint (or the start). */
  timeDue(): boolean {
    return this.now() - this.lastAt >= this.checkpointMs;
  }

  /**
   * After a segment closed: the reason a checkpoint is due, or null. A
   * block-count checkpoint that the overhead bound would skip even with the
   * previous index size is counted as skipped here.
   */
  due(): CheckpointReason | null {
    if (this.segmentsSince === 0) return null;
    if (this.timeDue()) return 'time';
    if (this.blocksSince < this.checkpointBlocks) return null;
    if (!this.affordable(this.lastIndexLength)) {
      this.stats.skipped++;
      return null;
    }
    return 'blocks';
  }

  /** The overhead bound: may a checkpoint whose index is `indexLength` bytes be written now? */
  affordable(indexLength: number): boolean {
    return this.bytesSince >= CHECKPOINT_OVERHEAD_FACTOR * indexLength;
  }

  /** A due checkpoint was not written after all (its exact index size broke the bound). */
  skip(): void {
    this.stats.skipped++;
  }

  /** Records a checkpoint of `indexLength` bytes of index (`checkpointLength` with its FOOT). */
  wrote(indexLength: number, checkpointLength: number): void {
    this.stats.checkpoints++;
    this.stats.checkpointBytes += checkpointLength;
    this.lastIndexLength = indexLength;
    this.blocksSince = 0;
    this.bytesSince = 0;
    this.segmentsSince = 0;
    this.lastAt = this.now();
  }
}

/**
 * §14 The bytes of a checkpoint: the index region `index`, written at data
 * region offset `dataPosition` (absolute `32 + dataPosition`), then its FOOT.
 */
export function encodeCheckpoint(index: Uint8Array, dataPosition: number, version: FormatVersion): Uint8Array {
  const footer = encodeFooter({ indexOffset: HEADER_LENGTH + dataPosition, indexLength: index.length, version, flags: 0, checkpoint: true });
  const out = new Uint8Array(index.length + footer.length);
  out.set(index, 0);
  out.set(footer, index.length);
  return out;
}
