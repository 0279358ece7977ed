/**
 * §6.1 CORE block header (36 bytes) at the start of every CORE chunk payload,
 * followed by the stored (possibly compressed) payload bytes.
 */
import { Cursor } from './bytes.js';
import { BLOCK_HEADER_LENGTH, BlockFlag, COMPRESSIONS, MAX_TIMESTAMP } from './constants.js';
import { H4mkError } from './errors.js';

/** The self-describing fields of a block (CORE header, mirrored in BIDX). */
export type BlockFields = {
  coreIndex: number;
  trackNumber: number;
  flags: number;
  /** Compression codec id (§6.3). */
  compression: number;
  /** Duration in track ticks. */
  duration: number;
  /** Presentation timestamp in track ticks. */
  pts: number;
  /** Decoding timestamp in track ticks. */
  dts: number;
  /** Payload length after decompression. */
  originalLength: number;
};

/** §6.1 Writes the block header into `out` at `offset`. */
export function writeBlockHeader(out: Uint8Array, offset: number, b: BlockFields): void {
  const view = new DataView(out.buffer, out.byteOffset + offset, BLOCK_HEADER_LENGTH);
  view.setBigUint64(0, BigInt(b.coreIndex), true); // core_index
  view.setUint16(8, b.trackNumber, true); //           track_number
  view.setUint8(10, b.flags); //                        flags
  view.setUint8(11, b.compression); //                  compression
  view.setUint32(12, b.duration, true); //              duration (ticks)
  view.setBigInt64(16, BigInt(b.pts), true); //         pts (ticks)
  view.setBigInt64(24, BigInt(b.dts), true); //         dts (ticks)
  view.setUint32(32, b.originalLength, true); //        original_length
}

/** Checks the fields every block carries, wherever they were read (§6.1 rules). */
export function checkBlockFields(b: BlockFields, offset: number, maxBlockLength: number): void {
  if ((b.flags & BlockFlag.RESERVED_MASK) !== 0) throw new H4mkError('E_FORMAT', 'reserved block flag bits are set', { offset, coreIndex: b.coreIndex });
  if (b.compression >= COMPRESSIONS.length)
    throw new H4mkError('E_UNSUPPORTED', `unknown compression codec ${b.compression}`, { offset, coreIndex: b.coreIndex });
  if (Math.abs(b.pts) > MAX_TIMESTAMP || Math.abs(b.dts) > MAX_TIMESTAMP) {
    throw new H4mkError('E_LIMIT', 'timestamp magnitude exceeds 2^51 - 1', { offset, coreIndex: b.coreIndex });
  }
  if (b.originalLength > maxBlockLength)
    throw new H4mkError('E_LIMIT', `original length ${b.originalLength} exceeds the limit`, { offset, coreIndex: b.coreIndex });
}

/**
 * §6.1 Decodes the header of a CORE payload. `base` is the absolute offset of
 * the payload. Returns the fields and the stored length.
 */
export function decodeBlockHeader(payload: Uint8Array, base: number, maxBlockLength: number): BlockFields & { storedLength: number } {
  const c = new Cursor(payload, 0, payload.length, base);
  c.need(BLOCK_HEADER_LENGTH, 'CORE block header');
  const fields: BlockFields = {
    coreIndex: c.u64('core_index'),
    trackNumber: c.u16('track_number'),
    flags: c.u8('flags'),
    compression: c.u8('compression'),
    duration: c.u32('duration'),
    pts: c.i64('pts'),
    dts: c.i64('dts'),
    originalLength: c.u32('original_length'),
  };
  const storedLength = payload.length - BLOCK_HEADER_LENGTH;
  checkBlockFields(fields, base, maxBlockLength);
  if (storedLength > maxBlockLength)
    throw new H4mkError('E_LIMIT', `stored length ${storedLength} exceeds the limit`, { offset: base, coreIndex: fields.coreIndex });
  return { ...fields, storedLength };
}
