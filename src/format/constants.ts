/**
 * Constants of the H4MK format, version 1 (docs/FORMAT.md).
 * Section numbers in comments refer to that document.
 */

/** §3 File magic: 0x89 "H4MK" CR LF 0x1A (PNG-style: catches 7-bit and newline mangling). */
export const MAGIC = Uint8Array.of(0x89, 0x48, 0x34, 0x4d, 0x4b, 0x0d, 0x0a, 0x1a);
/** §3 Format version written by this implementation (§6.5: v2 segments). */
export const FORMAT_VERSION = 2;
/** §3 Format versions this implementation reads; §12: v1 files stay readable. */
export const FORMAT_VERSIONS: readonly number[] = [1, 2];
export type FormatVersion = 1 | 2;
/** §3 Fixed file header length. */
export const HEADER_LENGTH = 32;
/** §4 Chunk framing: 4-byte type + u32 length before the payload, u32 CRC-32C after. */
export const CHUNK_HEADER_LENGTH = 8;
export const CHUNK_TRAILER_LENGTH = 4;
export const CHUNK_OVERHEAD = CHUNK_HEADER_LENGTH + CHUNK_TRAILER_LENGTH;
/** §5.9 FOOT payload length and the fixed total footer length. */
export const FOOT_PAYLOAD_LENGTH = 24;
export const FOOTER_LENGTH = CHUNK_OVERHEAD + FOOT_PAYLOAD_LENGTH;
/** §6.1 CORE block header length. */
export const BLOCK_HEADER_LENGTH = 36;
/** §6.2 BIDX header and entry lengths. */
export const BIDX_HEADER_LENGTH = 16;
export const BIDX_ENTRY_LENGTH = 72;
/** §6.5 v2 segment table: fixed part (varint first_core_index and block_count aside) is the data digest. */
export const SEGT_MIN_ENTRY_LENGTH = 7;
/** §6.5 Smallest SEGT payload before its entries: two 1-byte varints and the data digest. */
export const SEGT_MIN_HEADER_LENGTH = 2 + 32;
/** §13.1 AES-GCM tag length, which an encrypted block's stored length includes. */
export const AEAD_TAG_LENGTH = 16;
/** §7 VERI payload length. */
export const VERI_PAYLOAD_LENGTH = 80;
/** SHA-256 digest length. */
export const DIGEST_LENGTH = 32;

/** §3 Header flags. */
export const HeaderFlag = {
  /** The index region follows the header. */
  FASTSTART: 0x0001,
} as const;
export const HEADER_FLAGS_KNOWN = HeaderFlag.FASTSTART;

/** §4.1 Chunk types. */
export const ChunkType = {
  TRAK: 'TRAK',
  META: 'META',
  SAFE: 'SAFE',
  SEEK: 'SEEK',
  SEGX: 'SEGX',
  VERI: 'VERI',
  CORE: 'CORE',
  BIDX: 'BIDX',
  SEGT: 'SEGT',
  SEGD: 'SEGD',
  FOOT: 'FOOT',
} as const;
export type ChunkTypeName = (typeof ChunkType)[keyof typeof ChunkType];

/** §5.1 Track kinds, by wire value. */
export const TRACK_KINDS = ['video', 'audio', 'control', 'data', 'subtitle'] as const;
export type TrackKind = (typeof TRACK_KINDS)[number];

/** §6.3 Compression codecs, by wire value. */
export const COMPRESSIONS = ['none', 'deflate', 'brotli', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** §6.1 Frame kinds (flags bits 1–2), by wire value. */
export const FRAME_KINDS = [null, 'I', 'P', 'B'] as const;
export type FrameKind = 'I' | 'P' | 'B';

/** §6.1 Block flags. */
export const BlockFlag = {
  KEYFRAME: 0x01,
  FRAME_KIND_MASK: 0x06,
  FRAME_KIND_SHIFT: 1,
  ENCRYPTED: 0x08,
  END_OF_TRACK: 0x10,
  RESERVED_MASK: 0xe0,
} as const;

/** §9 Limits. Readers MUST reject data beyond them (they may be lowered, or raised by option). */
export type Limits = {
  /** Largest stored or original block payload, bytes. */
  maxBlockLength: number;
  /** Largest number of tracks. */
  maxTracks: number;
  /** Largest index region, bytes. */
  maxIndexLength: number;
  /** Largest number of blocks in one segment. */
  maxSegmentBlocks: number;
  /** Largest META or SAFE payload, and largest codec configuration, bytes. */
  maxJsonLength: number;
  /** Largest number of blocks in a container. */
  maxBlocks: number;
};

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBlockLength: 64 * 1024 * 1024,
  maxTracks: 1024,
  maxIndexLength: 64 * 1024 * 1024,
  maxSegmentBlocks: 65536,
  maxJsonLength: 1024 * 1024,
  maxBlocks: 2 ** 40,
});

/**
 * Limits from options over the defaults. An absent or `undefined` entry keeps
 * its default (a spread would let `undefined` switch a limit off); anything
 * but a non-negative safe integer is a RangeError.
 */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`limits.${key} must be a non-negative integer, got ${String(value)}`);
    out[key] = value;
  }
  return out;
}

/**
 * §9 max_segment_length: bytes from a segment's first CORE chunk to the end of
 * its BIDX chunk. Fixed (no option raises it): BIDX chunk_offset is a u32, and
 * a segment of at most 2^32 − 1 bytes keeps every chunk_offset within it.
 */
export const MAX_SEGMENT_LENGTH = 0xffff_ffff;
/**
 * §9 max_v2_segment_length: a v2 segment's bytes (SEGX `length`). A v2 segment
 * is read whole to use any of its blocks (§6.5), so this bounds one read.
 */
export const MAX_V2_SEGMENT_LENGTH = 2 ** 28;
/** §6.5 The largest SEGT entry: varint track (3), flags, compression, four 8-byte varints, duration (5). */
export const SEGT_MAX_ENTRY_LENGTH = 3 + 1 + 1 + 8 + 8 + 8 + 8 + 5;
/** §2.4 Largest magnitude of any timestamp, in ticks: 2^51 − 1. */
export const MAX_TIMESTAMP = 2 ** 51 - 1;
/** §5.1 Largest track id / codec / name / language string, UTF-8 bytes. */
export const MAX_SHORT_STRING = 255;
