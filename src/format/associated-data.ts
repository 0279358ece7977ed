/**
 * §13.4 The associated data of an encrypted block: a fixed 104-byte
 * canonical encoding of everything that places the block in its container.
 */
import { BlockFlag } from './constants.js';
import type { BlockFields } from './block.js';

export const AAD_LENGTH = 104;
/**
 * §13.4 The layout version of the associated data: 1 in v1 and v2 containers
 * alike, so that `optimize` moves encrypted blocks from v1 to v2 verbatim.
 */
const AAD_VERSION = 1;
const AAD_MAGIC = Uint8Array.of(0x48, 0x34, 0x4d, 0x4b, 0x2d, 0x41, 0x44, 0x31); // "H4MK-AD1"

/**
 * Writes a safe integer as a little-endian 64-bit two's-complement value
 * without BigInt (this runs once per encrypted block): high word
 * floor(v / 2^32), low word the rest, both exact for |v| ≤ 2^53 − 1.
 */
export function setInt64(view: DataView, offset: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  view.setUint32(offset, value - high * 0x1_0000_0000, true);
  view.setInt32(offset + 4, high, true);
}

/**
 * §13.4 Encodes the associated data of a block: into a new array, or into
 * `into` at `at` (all 104 bytes written) when given.
 */
export function encodeAssociatedData(
  containerId: Uint8Array,
  block: BlockFields,
  epoch: number,
  engineDigest: Uint8Array,
  into?: Uint8Array,
  at = 0,
): Uint8Array {
  const out = into === undefined ? new Uint8Array(AAD_LENGTH) : into.subarray(at, at + AAD_LENGTH);
  const v = new DataView(out.buffer, out.byteOffset, AAD_LENGTH);
  out.set(AAD_MAGIC, 0); //                                  0  magic "H4MK-AD1"
  v.setUint16(8, AAD_VERSION, true); //                      8  associated-data version
  out.set(containerId, 10); //                               10 container_id (16)
  v.setUint16(26, block.trackNumber, true); //               26 track_number
  setInt64(v, 28, block.coreIndex); //                       28 core_index (u64; ≥ 0, so as i64)
  setInt64(v, 36, block.pts); //                             36 pts
  setInt64(v, 44, block.dts); //                             44 dts
  v.setUint32(52, block.duration, true); //                  52 duration
  v.setUint8(56, block.flags | BlockFlag.ENCRYPTED); //      56 flags (ENCRYPTED always set)
  v.setUint8(57, block.compression); //                      57 compression
  v.setUint32(58, block.originalLength, true); //            58 original_length
  setInt64(v, 62, epoch); //                                 62 key epoch
  v.setUint16(70, 0, true); //                               70 reserved
  out.set(engineDigest, 72); //                              72 engine digest (32)
  return out;
}
