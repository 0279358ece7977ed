/** SHA-256 through node:crypto (§7 digests). */
import * as nodeCrypto from 'node:crypto';

const { createHash } = nodeCrypto;
// crypto.hash (Node ≥ 20.12) hashes in one call without a Hash object: 2× faster on small inputs.
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return oneShot !== undefined ? oneShot('sha256', bytes, 'buffer') : createHash('sha256').update(bytes).digest();
}

/** SHA-256 of the concatenation of `parts` (no copy). */
export function sha256Parts(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** §7 One step of the hash chain: h_i = SHA-256(h_{i−1} ‖ d_i). */
export function chainStep(previous: Uint8Array, digest: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64);
  pair.set(previous, 0);
  pair.set(digest, 32);
  return sha256(pair);
}

/** §7 h_0: 32 zero bytes. */
export function chainStart(): Uint8Array {
  return new Uint8Array(32);
}
