/**
 * node:crypto's primitives: the Node platform's {@link CryptoPrimitives}
 * (installed by the Node entry, src/platform/node.ts). Same bytes as the
 * portable noble-primitives.ts.
 */
import * as nodeCrypto from 'node:crypto';
import { sha256OnWorker, sealOnWorker } from './node-hash-worker.js';
import type { CryptoPrimitives } from './primitives.js';

const { createHash, createHmac, hkdfSync, scryptSync } = nodeCrypto;
// crypto.hash (Node ≥ 20.12) hashes in one call without a Hash object: 2× faster on small inputs.
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

/** SHA-256 of `bytes`. */
function sha256(bytes: Uint8Array): Uint8Array {
  return oneShot !== undefined ? oneShot('sha256', bytes, 'buffer') : createHash('sha256').update(bytes).digest();
}

/** SHA-256 of the concatenation of `parts` (no copy). */
function sha256Parts(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes. */
function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/** HMAC-SHA256 of the concatenation of `parts`. */
function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** scrypt (RFC 7914); the caller has capped N, r and p. */
function scryptKey(password: Uint8Array, salt: Uint8Array, log2N: number, r: number, p: number, length: number): Uint8Array {
  const N = 2 ** log2N;
  return new Uint8Array(scryptSync(password, salt, length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }));
}

/** `n` cryptographically random bytes. */
function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeCrypto.randomBytes(n));
}

/** node:crypto's primitives. */
export const nodePrimitives: CryptoPrimitives = {
  sha256,
  sha256Parts,
  hkdfSha256,
  hmacSha256,
  scryptKey,
  randomBytes,
  sha256Away: sha256OnWorker,
  sealAway: sealOnWorker,
};
