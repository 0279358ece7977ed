/**
 * The cryptographic primitives the core uses (SHA-256, HKDF, HMAC, scrypt,
 * random bytes), behind one interface so the core runs on any platform:
 * by default the portable @noble/hashes implementation (noble-primitives.ts,
 * audited, no dependencies) and `crypto.getRandomValues`; the Node entry
 * installs node:crypto's (node-primitives.ts, several times faster) through
 * `installPlatform` (src/platform.ts). Both give the same bytes (test vectors).
 */
import * as noble from './noble-primitives.js';
import type { SealBatch } from './seal-batch.js';

/** What a platform provides. */
export interface CryptoPrimitives {
  sha256(bytes: Uint8Array): Uint8Array;
  /** SHA-256 of the concatenation of `parts` (no copy). */
  sha256Parts(...parts: Uint8Array[]): Uint8Array;
  /** HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** HMAC-SHA256 of the concatenation of `parts`. */
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /** scrypt (RFC 7914); the caller has capped N, r and p. */
  scryptKey(password: Uint8Array, salt: Uint8Array, log2N: number, r: number, p: number, length: number): Uint8Array;
  /** `n` cryptographically random bytes. */
  randomBytes(n: number): Uint8Array;
  /**
   * Optional: SHA-256 off the calling thread, for large inputs. `bytes.buffer`
   * is handed over and given back as the result's `bytes` (same memory); the
   * caller does not touch it meanwhile.
   */
  sha256Away?(bytes: Uint8Array): Promise<{ digest: Uint8Array; bytes: Uint8Array }>;
  /**
   * Optional: seals `batch`'s blocks in place in `bytes` (§13.1, see
   * seal-batch.ts), then hashes them, off the calling thread; `bytes.buffer`
   * is handed over as for `sha256Away`. Null when it cannot take the work
   * now (the caller seals and hashes here).
   */
  sealAway?(bytes: Uint8Array, batch: SealBatch): Promise<{ digest: Uint8Array; bytes: Uint8Array }> | null;
}

let current: CryptoPrimitives = noble;

/** Replaces the primitives (the platform's; see src/platform.ts). */
export function setCryptoPrimitives(primitives: CryptoPrimitives): void {
  current = primitives;
}

export const sha256 = (bytes: Uint8Array): Uint8Array => current.sha256(bytes);
export const sha256Parts = (...parts: Uint8Array[]): Uint8Array => current.sha256Parts(...parts);
export const hkdfSha256 = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array => current.hkdfSha256(ikm, salt, info, length);
export const hmacSha256 = (key: Uint8Array, ...parts: Uint8Array[]): Uint8Array => current.hmacSha256(key, ...parts);
export const scryptKey = (password: Uint8Array, salt: Uint8Array, log2N: number, r: number, p: number, length: number): Uint8Array =>
  current.scryptKey(password, salt, log2N, r, p, length);
export const randomBytes = (n: number): Uint8Array => current.randomBytes(n);
/** The platform's off-thread SHA-256 (see {@link CryptoPrimitives.sha256Away}), or null where it has none. */
export const sha256Away = (): CryptoPrimitives['sha256Away'] | null => current.sha256Away ?? null;
/** The platform's off-thread sealing (see {@link CryptoPrimitives.sealAway}), or null where it has none. */
export const sealAway = (): CryptoPrimitives['sealAway'] | null => current.sealAway ?? null;
