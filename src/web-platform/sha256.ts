/**
 * Browser replacement of src/crypto/sha256.ts (which uses node:crypto):
 * the same synchronous API over @noble/hashes (audited, no dependencies).
 * The Vite build of the inspector swaps it in through `resolve.alias`
 * (web/vite.config.ts). §7 digests and the hash chain.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return nobleSha256(bytes);
}

/** SHA-256 of the concatenation of `parts` (no copy). */
export function sha256Parts(...parts: Uint8Array[]): Uint8Array {
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** §7 One step of the hash chain: h_i = SHA-256(h_{i−1} ‖ d_i). */
export function chainStep(previous: Uint8Array, digest: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64);
  pair.set(previous, 0);
  pair.set(digest, 32);
  return nobleSha256(pair);
}

/** §7 h_0: 32 zero bytes. */
export function chainStart(): Uint8Array {
  return new Uint8Array(32);
}
