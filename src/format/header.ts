/**
 * §3 File header (32 bytes) and §5.9 footer (FOOT chunk, 36 bytes).
 */
import { ByteWriter, Cursor, bytesEqual, peekU32 } from './bytes.js';
import { FOOT_PAYLOAD_LENGTH, FOOTER_LENGTH, FORMAT_VERSIONS, type FormatVersion, HEADER_FLAGS_KNOWN, HEADER_LENGTH, HeaderFlag, MAGIC } from './constants.js';
import { crc32c } from './crc32c.js';
import { decodeChunk, encodeChunk } from './chunk.js';
import { H4mkError } from './errors.js';

/** The decoded file header. */
export type FileHeader = {
  version: FormatVersion;
  flags: number;
  /** Faststart: the index region's length (it starts at byte 32); tail layout: 0. */
  indexLength: number;
};

/** The decoded footer. */
export type Footer = {
  indexOffset: number;
  indexLength: number;
  version: FormatVersion;
  flags: number;
  /**
   * §5.9 `state`: true when this FOOT ends a checkpoint of a live writer
   * (§14.1), which may append more; false for the footer of a finished
   * container.
   */
  checkpoint?: boolean;
};

/** §5.9 FOOT `state` values. */
export const FOOT_STATE = { FINAL: 0, CHECKPOINT: 1 } as const;

/** §3 Encodes the 32-byte file header. */
export function encodeHeader(header: FileHeader): Uint8Array {
  const w = new ByteWriter(HEADER_LENGTH);
  w.bytes(MAGIC).u16(header.version).u16(header.flags).u32(0).u64(header.indexLength).u32(0);
  const bytes = w.finish();
  const out = new Uint8Array(HEADER_LENGTH);
  out.set(bytes);
  new DataView(out.buffer).setUint32(28, crc32c(out.subarray(0, 28)), true);
  return out;
}

function checkVersionAndFlags(version: number, flags: number, offset: number): FormatVersion {
  if (!FORMAT_VERSIONS.includes(version)) throw new H4mkError('E_VERSION', `unsupported format version ${version}`, { offset });
  if ((flags & ~HEADER_FLAGS_KNOWN) !== 0) throw new H4mkError('E_FORMAT', 'reserved header flag bits are set', { offset: offset + 2 });
  return version as FormatVersion;
}

/**
 * §3 Decodes and checks the file header in `bytes[0, 32)`, in the order §3
 * fixes: magic (E_MAGIC), 32 bytes present (E_TRUNCATED), CRC (E_CHECKSUM),
 * version (E_VERSION), flag bits and reserved fields (E_FORMAT), then
 * index_length against FASTSTART (E_FORMAT).
 */
export function decodeHeader(bytes: Uint8Array): FileHeader {
  if (bytes.length < MAGIC.length || !bytesEqual(bytes.subarray(0, MAGIC.length), MAGIC)) {
    throw new H4mkError('E_MAGIC', 'not an H4MK container (bad magic)', { offset: 0 });
  }
  const c = new Cursor(bytes, 0, Math.min(bytes.length, HEADER_LENGTH));
  c.need(HEADER_LENGTH, 'file header');
  if (peekU32(bytes, 28) !== crc32c(bytes.subarray(0, 28))) throw new H4mkError('E_CHECKSUM', 'file header CRC-32C mismatch', { offset: 28 });
  c.skip(MAGIC.length);
  const rawVersion = c.u16('version');
  const flags = c.u16('flags');
  const version = checkVersionAndFlags(rawVersion, flags, 8);
  c.zeros(4, 'header reserved field');
  const indexLength = c.u64('index_length');
  c.zeros(4, 'header reserved field');
  const faststart = (flags & HeaderFlag.FASTSTART) !== 0;
  if (faststart !== indexLength > 0) throw new H4mkError('E_FORMAT', 'index_length must be non-zero exactly when FASTSTART is set', { offset: 16 });
  return { version, flags, indexLength };
}

/** §5.9 Encodes the FOOT chunk. */
export function encodeFooter(footer: Footer): Uint8Array {
  const w = new ByteWriter(FOOT_PAYLOAD_LENGTH);
  w.u64(footer.indexOffset)
    .u64(footer.indexLength)
    .u16(footer.version)
    .u16(footer.flags)
    .u32(footer.checkpoint === true ? FOOT_STATE.CHECKPOINT : FOOT_STATE.FINAL);
  return encodeChunk('FOOT', w.finish());
}

/** "FOOT" and u32 24, little-endian: the first 8 bytes of every footer. */
const FOOT_HEAD = Uint8Array.of(0x46, 0x4f, 0x4f, 0x54, FOOT_PAYLOAD_LENGTH, 0, 0, 0);

/**
 * §5.9 Decodes the footer from the last 36 bytes of a file of `fileSize` bytes.
 * Checks, in this order (§5.9): the file holds a header and a footer, the
 * last 36 bytes begin with "FOOT" and u32 24 (else the file does not end
 * with its footer: E_TRUNCATED), the CRC (E_CHECKSUM), version (E_VERSION),
 * flags and state (E_FORMAT), then where the index lies: before byte 32 or
 * empty is E_FORMAT, past the footer's start E_TRUNCATED.
 */
export function decodeFooter(bytes: Uint8Array, fileSize: number): Footer {
  const base = fileSize - FOOTER_LENGTH;
  if (bytes.length !== FOOTER_LENGTH || base < HEADER_LENGTH) throw new H4mkError('E_TRUNCATED', 'file too short for a footer', { offset: Math.max(0, base) });
  if (!bytesEqual(bytes.subarray(0, FOOT_HEAD.length), FOOT_HEAD)) {
    throw new H4mkError('E_TRUNCATED', 'the file does not end with a FOOT chunk (cut short, or not finished)', { offset: base });
  }
  const chunk = decodeChunk(bytes, 0, { base, expect: 'FOOT' });
  const c = new Cursor(chunk.payload, 0, chunk.payload.length, base + 8);
  const indexOffset = c.u64('index_offset');
  const indexLength = c.u64('index_length');
  const rawVersion = c.u16('version');
  const flags = c.u16('flags');
  const version = checkVersionAndFlags(rawVersion, flags, base + 24);
  const state = c.u32('state');
  if (state !== FOOT_STATE.FINAL && state !== FOOT_STATE.CHECKPOINT)
    throw new H4mkError('E_FORMAT', `unknown FOOT state ${state}`, { offset: base + 28, chunk: 'FOOT' });
  if (indexOffset < HEADER_LENGTH || indexLength === 0) {
    throw new H4mkError('E_FORMAT', 'footer points into the header or at an empty index', { offset: base + 8, chunk: 'FOOT' });
  }
  if (indexOffset + indexLength > base)
    throw new H4mkError('E_TRUNCATED', 'the index region the footer declares runs past the footer', { offset: base + 8, chunk: 'FOOT' });
  return { indexOffset, indexLength, version, flags, checkpoint: state === FOOT_STATE.CHECKPOINT };
}
