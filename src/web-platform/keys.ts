/**
 * Browser replacement of src/crypto/keys.ts (which uses node:crypto): the
 * §13.2 key schedule with the same exports, synchronous, over @noble/hashes
 * (HKDF-SHA256, scrypt). Swapped in by the inspector's Vite build.
 *
 * The inspector itself derives block keys with WebCrypto (web-cipher.ts);
 * this module keeps the library's synchronous paths (`reader.unlock`, key
 * checks, engine digests) working in a browser bundle, byte for byte the
 * same as node:crypto (test/inspector-platform.test.ts checks the vectors).
 */
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { KdfParams, ScryptCaps } from '../format/crypto-params.js';
import { DEFAULT_SCRYPT_CAPS } from '../format/crypto-params.js';
import { H4mkError } from '../format/errors.js';
import { sha256Parts } from './sha256.js';

export const SECRET_LENGTH = 32;
/** §13.2 HKDF info labels (ASCII). */
export const LABEL_BLOCK = 'h4mk/v1/block';
export const LABEL_TRANSCRIPT = 'h4mk/v1/transcript';
export const LABEL_KEY_CHECK = 'h4mk/v1/key-check';
const LABEL_ENGINE = 'h4mk/v1/engine';

const encoder = new TextEncoder();

function hkdf(secret: Uint8Array, salt: Uint8Array, info: Uint8Array): Uint8Array {
  return nobleHkdf(sha256, secret, salt, info, 32);
}

/** §13.2 The info of K(track, epoch): "h4mk/v1/block" ‖ u16 track ‖ i64 epoch, little-endian. */
export function blockKeyInfo(trackNumber: number, epoch: number): Uint8Array {
  const label = encoder.encode(LABEL_BLOCK);
  const info = new Uint8Array(label.length + 10);
  info.set(label);
  const view = new DataView(info.buffer);
  view.setUint16(label.length, trackNumber, true); //         u16 track_number
  view.setBigInt64(label.length + 2, BigInt(epoch), true); // i64 epoch
  return info;
}

/** The key of one (track, epoch). */
export function deriveBlockKey(secret: Uint8Array, containerId: Uint8Array, trackNumber: number, epoch: number): Uint8Array {
  return hkdf(secret, containerId, blockKeyInfo(trackNumber, epoch));
}

export function deriveTranscriptKey(secret: Uint8Array, containerId: Uint8Array): Uint8Array {
  return hkdf(secret, containerId, encoder.encode(LABEL_TRANSCRIPT));
}

export function deriveKeyCheck(secret: Uint8Array, containerId: Uint8Array): Uint8Array {
  return hkdf(secret, containerId, encoder.encode(LABEL_KEY_CHECK)).subarray(0, 16);
}

/**
 * §13.4 The engine digest bound into associated data: SHA-256 of
 * "h4mk/v1/engine" ‖ u8 len ‖ engine_id ‖ u8 len ‖ engine_fp, or 32 zero
 * bytes when neither is given.
 */
export function engineDigest(engineId: string, engineFp: string): Uint8Array {
  if (engineId === '' && engineFp === '') return new Uint8Array(32);
  const id = encoder.encode(engineId);
  const fp = encoder.encode(engineFp);
  if (id.length > 255 || fp.length > 255) throw new RangeError('engine id and fingerprint are limited to 255 UTF-8 bytes');
  return sha256Parts(encoder.encode(LABEL_ENGINE), Uint8Array.of(id.length), id, Uint8Array.of(fp.length), fp);
}

/** The epoch of a block: floor(pts_us / epoch_us), or 0 when epochs are off. */
export function epochOf(ptsUs: number, epochUs: number): number {
  return epochUs === 0 ? 0 : Math.floor(ptsUs / epochUs);
}

/** Checks attacker-supplied scrypt parameters against `caps` before any work (§13.2). */
export function checkScryptCaps(kdf: Extract<KdfParams, { kind: 'scrypt' }>, caps: ScryptCaps = DEFAULT_SCRYPT_CAPS): void {
  if (kdf.log2N > caps.maxLog2N || kdf.r > caps.maxR || kdf.p > caps.maxP) {
    throw new H4mkError('E_LIMIT', `scrypt parameters N=2^${kdf.log2N} r=${kdf.r} p=${kdf.p} exceed the caps`, { chunk: 'CRYP' });
  }
}

/**
 * Passphrase → 32-byte secret with scrypt (synchronous: it blocks the page;
 * the inspector uses `scryptAsync` through web-cipher.ts instead).
 */
export function secretFromPassphrase(passphrase: string, kdf: Extract<KdfParams, { kind: 'scrypt' }>, caps: ScryptCaps = DEFAULT_SCRYPT_CAPS): Uint8Array {
  checkScryptCaps(kdf, caps);
  return scrypt(encoder.encode(passphrase.normalize('NFC')), kdf.salt, { N: 2 ** kdf.log2N, r: kdf.r, p: kdf.p, dkLen: SECRET_LENGTH });
}
