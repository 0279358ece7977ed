/**
 * §13.1 The AES-256-GCM nonce of a block and the AEAD sizes, with no
 * platform dependency: node:crypto (aead.ts) and WebCrypto (the browser
 * inspector, src/web-platform/web-cipher.ts) both use this one definition.
 */

/** Bytes of the GCM tag appended to every encrypted block (§13.1). */
export const TAG_LENGTH = 16;
/** Bytes of a block nonce (§13.1). */
export const NONCE_LENGTH = 12;

/**
 * §13.1 The nonce of block `coreIndex`: u64 core_index ‖ u32 0, little-endian.
 * Unique per key: a key belongs to one (container, track, epoch) and
 * core_index is unique within a container.
 */
export function blockNonce(coreIndex: number): Uint8Array {
  const nonce = new Uint8Array(NONCE_LENGTH);
  writeBlockNonce(nonce, 0, coreIndex);
  return nonce;
}

/** Writes the nonce of block `coreIndex` (see {@link blockNonce}) into `out` at `at`. */
export function writeBlockNonce(out: Uint8Array, at: number, coreIndex: number): void {
  // 0 u64 core_index (a safe integer: low word, then high word; no BigInt per block); 8 u32 zero.
  const high = Math.floor(coreIndex / 0x1_0000_0000);
  const v = new DataView(out.buffer, out.byteOffset + at, NONCE_LENGTH);
  v.setUint32(0, coreIndex - high * 0x1_0000_0000, true);
  v.setUint32(4, high, true);
  v.setUint32(8, 0, true);
}
