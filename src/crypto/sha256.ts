/** SHA-256 helpers of §7: digests and the hash chain, over the platform primitive. */
import { sha256, sha256Parts } from './primitives.js';

export { sha256, sha256Parts } from './primitives.js';

/** §7 One step of the hash chain: h_i = SHA-256(h_{i−1} ‖ d_i). */
export function chainStep(previous: Uint8Array, digest: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64);
  pair.set(previous, 0);
  pair.set(digest, 32);
  return sha256(pair);
}

/** §5.5 The `table_digest` of a run of records: SHA-256 of their SEGT digests, concatenated in file order. */
export function runDigest(recordDigests: readonly Uint8Array[]): Uint8Array {
  return sha256Parts(...recordDigests);
}

/** §7 h_0: 32 zero bytes. */
export function chainStart(): Uint8Array {
  return new Uint8Array(32);
}
