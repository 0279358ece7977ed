/**
 * The portable primitives, the default of primitives.ts: @noble/hashes
 * (audited, no dependencies) and `crypto.getRandomValues` (browsers, Node,
 * Deno, Bun, workers). Block decryption in browsers uses WebCrypto
 * (web-platform/web-cipher.ts).
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scrypt } from '@noble/hashes/scrypt.js';
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

/** HKDF-SHA256 (RFC 5869). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdf(nobleSha256, ikm, salt, info, length);
}

/** HMAC-SHA256 of the concatenation of `parts`. */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = hmac.create(nobleSha256, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** scrypt (RFC 7914); the caller has capped N, r and p. Blocks the page: prefer scryptAsync in UI code. */
export function scryptKey(password: Uint8Array, salt: Uint8Array, log2N: number, r: number, p: number, length: number): Uint8Array {
  return scrypt(password, salt, { N: 2 ** log2N, r, p, dkLen: length });
}

/** `n` cryptographically random bytes. */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}
