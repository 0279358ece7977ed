/** Options and inputs of the writer (public API shapes). */
import type { FormatVersion } from '../format/constants.js';
import type { Compression, FrameKind, Limits, TrackKind } from '../format/constants.js';
import type { CryptoParams } from '../format/crypto-params.js';
import type { EncryptionOptions } from './encryption.js';
import type { LiveOptions } from './live.js';

/** A track to declare with {@link H4mkWriter.addTrack}. */
export type TrackOptions = {
  /** Unique id, 1–255 UTF-8 bytes, e.g. "video_main". */
  id: string;
  kind: TrackKind;
  /** Codec string ("avc1.64001f", "opus", …); default "opaque". */
  codec?: string;
  /** Decoder configuration bytes (avcC, OpusHead, …). */
  config?: Uint8Array;
  /** Ticks per second of this track's timestamps; default 1,000,000 (µs). */
  timescale?: number;
  name?: string;
  language?: string;
  extra?: Record<string, unknown>;
  /** Default compression of this track's blocks; default: the writer's. */
  compression?: Compression;
};

/** The fields of a track as a reader or recovery found them (TRAK, §5.1), from which a copy is made. */
type TrackFields = Required<Omit<TrackOptions, 'compression'>> & { compression: Compression };

/** The options that make a copy's track the same as `t` (every TRAK field but the number, §5.1). */
export function trackOptionsOf(t: TrackFields): TrackOptions {
  const { id, kind, codec, config, timescale, name, language, extra, compression } = t;
  return { id, kind, codec, config, timescale, name, language, extra, compression };
}

/**
 * A block to write. Timestamps are given either in ticks (`pts`, `dts`,
 * `duration`) or in microseconds (`ptsUs`, `dtsUs`, `durationUs`, which must
 * convert exactly to ticks).
 */
export type BlockInput = {
  /** Track id or number. */
  track: string | number;
  pts?: number;
  dts?: number;
  duration?: number;
  ptsUs?: number;
  dtsUs?: number;
  durationUs?: number;
  keyframe?: boolean;
  kind?: FrameKind;
  payload: Uint8Array;
  /** Overrides the track's compression for this block. */
  compression?: Compression;
};

/**
 * A block whose stored bytes are final (see {@link H4mkWriter.writeRawBlock}):
 * timestamps as in {@link BlockInput}, the flags byte and compression as
 * they will appear in the file (§6.1).
 */
export type RawBlockInput = Omit<BlockInput, 'payload' | 'compression' | 'keyframe' | 'kind'> & {
  /** §6.1 flags byte: keyframe, frame kind, encrypted, end of track. */
  flags: number;
  compression: Compression;
  /** Payload length after decompression (and decryption). */
  originalLength: number;
  stored: Uint8Array;
};

/** How the writer cuts the block stream into segments (not part of the format). */
export type SegmentPolicy = {
  /** Close a segment after this many blocks. Default 4096. */
  maxBlocks: number;
  /** Close a segment before it would exceed this many bytes. Default 4 MiB. */
  maxBytes: number;
  /** Close a segment once it spans this much decode time. Default 2 s. */
  maxDurationUs: number;
  /** Close a segment at each keyframe of the first video track. Default true. */
  splitAtKeyframes: boolean;
};

export const DEFAULT_SEGMENT_POLICY: Readonly<SegmentPolicy> = Object.freeze({
  maxBlocks: 4096,
  maxBytes: 4 * 1024 * 1024,
  maxDurationUs: 2_000_000,
  splitAtKeyframes: true,
});

/**
 * The segment policy from options over the defaults: absent or `undefined`
 * entries keep their default (a spread would let `undefined` switch one off);
 * anything else out of range is a RangeError.
 */
export function resolveSegmentPolicy(overrides: Partial<SegmentPolicy> = {}, maxSegmentBlocks: number): SegmentPolicy {
  const policy = { ...DEFAULT_SEGMENT_POLICY };
  const { maxBlocks, maxBytes, maxDurationUs, splitAtKeyframes } = overrides;
  if (maxBlocks !== undefined) {
    if (!Number.isInteger(maxBlocks) || maxBlocks < 1 || maxBlocks > maxSegmentBlocks)
      throw new RangeError(`segment.maxBlocks must be an integer within 1..${maxSegmentBlocks}`);
    policy.maxBlocks = maxBlocks;
  } else if (policy.maxBlocks > maxSegmentBlocks) policy.maxBlocks = maxSegmentBlocks;
  if (maxBytes !== undefined) {
    if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes < 0) throw new RangeError('segment.maxBytes must be a non-negative number');
    policy.maxBytes = maxBytes;
  }
  if (maxDurationUs !== undefined) {
    if (typeof maxDurationUs !== 'number' || Number.isNaN(maxDurationUs) || maxDurationUs < 0)
      throw new RangeError('segment.maxDurationUs must be a non-negative number');
    policy.maxDurationUs = maxDurationUs;
  }
  if (splitAtKeyframes !== undefined) {
    if (typeof splitAtKeyframes !== 'boolean') throw new TypeError('segment.splitAtKeyframes must be a boolean');
    policy.splitAtKeyframes = splitAtKeyframes;
  }
  return policy;
}

/** §5.5 The default index budget: a reader's first read (512 KiB) less the footer, with room to spare. */
export const DEFAULT_INDEX_BUDGET = 512 * 1024 - 64;

export type WriterOptions = {
  /** "tail" (index at the end; streams) or "faststart" (index after the header). Default "tail". */
  layout?: 'tail' | 'faststart';
  /**
   * §12 The format version to write: 2 (default; §6.5 segments, ~8 bytes of
   * overhead per block) or 1 (§6.1–6.2 CORE chunks and BIDX, for readers that
   * know only version 1).
   */
  formatVersion?: FormatVersion;
  /**
   * §5.5 Version 2: the largest index region, in bytes, before the writer
   * lists records (SEGT + SEGD pairs) by runs instead of one by one, so that
   * a reader opens the container with one read of this size. Default
   * {@link DEFAULT_INDEX_BUDGET} (a reader's first read, 512 KiB, less the
   * header or footer). Version 1 ignores it.
   */
  indexBudget?: number;
  /** Default compression for tracks that do not set one. Default "none". */
  compression?: Compression;
  /** User metadata (META). */
  meta?: Record<string, unknown>;
  /** Policy (SAFE). Default {"policy":"transport_only"}. */
  safe?: Record<string, unknown>;
  segment?: Partial<SegmentPolicy>;
  limits?: Partial<Limits>;
  /** Encrypt every block (§13). */
  encryption?: EncryptionOptions;
  /**
   * For verbatim copies of an encrypted container (layout conversion): its
   * CRYP record, kept as is. Only {@link H4mkWriter.writeRawBlock} may be used.
   */
  preserveCrypto?: CryptoParams;
  /**
   * Live append (docs/FORMAT.md §14): write index checkpoints as the file
   * grows, so readers following it (`H4mkReader.open(source, { live: true })`)
   * see blocks within one checkpoint. Tail layout only. Give the writer a sink
   * that writes in place (`FileSink.create(path, { inPlace: true })`): with a
   * temporary file nobody sees the checkpoints before commit. `{}` takes the
   * defaults (every 256 blocks within the 10% overhead bound, or every 1000 ms).
   */
  live?: LiveOptions;
};
