/** SHA-256 through node:crypto (§7 digests). */
import { createHash } from 'node:crypto';

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

/** SHA-256 of the concatenation of `parts` (no copy). */
export function sha256Parts(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** §7 One step of the hash chain: h_i = SHA-256(h_{i−1} ‖ d_i). */
export function chainStep(previous: Uint8Array, digest: Uint8Array): Uint8Array {
  return sha256Parts(previous, digest);
}

/** §7 h_0: 32 zero bytes. */
export function chainStart(): Uint8Array {
  return new Uint8Array(32);
}
