/**
 * §7 VERI: block count, hash-chain head and index digest.
 */
import { ByteWriter, Cursor } from './bytes.js';
import { DIGEST_LENGTH, VERI_PAYLOAD_LENGTH } from './constants.js';
import { H4mkError } from './errors.js';

export type Integrity = {
  blockCount: number;
  segmentCount: number;
  /** h_n of the chain h_i = SHA-256(h_{i−1} ‖ d_i), h_0 = 32 zero bytes. */
  chainHead: Uint8Array;
  /** SHA-256 of the index region bytes before the VERI chunk. */
  indexDigest: Uint8Array;
};

/** §7 Encodes VERI. */
export function encodeIntegrity(v: Integrity): Uint8Array {
  return new ByteWriter(VERI_PAYLOAD_LENGTH).u64(v.blockCount).u32(v.segmentCount).u32(0).bytes(v.chainHead).bytes(v.indexDigest).finish();
}

/** §7 Decodes VERI (`base` = absolute payload offset). */
export function decodeIntegrity(payload: Uint8Array, base: number): Integrity {
  // §4.2: a payload shorter than its fields is E_TRUNCATED, one with bytes left over E_FORMAT.
  if (payload.length !== VERI_PAYLOAD_LENGTH) {
    throw new H4mkError(
      payload.length < VERI_PAYLOAD_LENGTH ? 'E_TRUNCATED' : 'E_FORMAT',
      `VERI payload is ${payload.length} bytes, must be ${VERI_PAYLOAD_LENGTH}`,
      { offset: base, chunk: 'VERI' },
    );
  }
  const c = new Cursor(payload, 0, payload.length, base);
  const blockCount = c.u64('block_count');
  const segmentCount = c.u32('segment_count');
  c.zeros(4, 'VERI reserved field');
  const chainHead = c.bytesView(DIGEST_LENGTH).slice();
  const indexDigest = c.bytesView(DIGEST_LENGTH).slice();
  return { blockCount, segmentCount, chainHead, indexDigest };
}
