/**
 * §13.2 Key schedule. Every key is HKDF-SHA256 of the 32-byte container
 * secret, salted with the container id, with a distinct label:
 *   block key (track t, epoch e) = HKDF(secret, container_id, "h4mk/v1/block" ‖ u16 t ‖ i64 e)
 *   transcript key               = HKDF(secret, container_id, "h4mk/v1/transcript")
 *   key check                    = HKDF(secret, container_id, "h4mk/v1/key-check")[0..16)
 * A passphrase becomes the secret through scrypt with parameters stored in
 * CRYP and capped on read.
 */
import type { KdfParams, ScryptCaps } from '../format/crypto-params.js';
import { DEFAULT_SCRYPT_CAPS, SCRYPT_BOUNDS } from '../format/crypto-params.js';
import { H4mkError } from '../format/errors.js';
import { hkdfSha256, scryptKey, sha256, sha256Parts } from './primitives.js';

export const SECRET_LENGTH = 32;
/** §13.2 HKDF info labels (ASCII). */
export const LABEL_BLOCK = 'h4mk/v1/block';
export const LABEL_TRANSCRIPT = 'h4mk/v1/transcript';
export const LABEL_KEY_CHECK = 'h4mk/v1/key-check';
const LABEL_CONTEXT = 'h4mk/v1/context';

const encoder = new TextEncoder();

function hkdf(secret: Uint8Array, salt: Uint8Array, info: Uint8Array): Uint8Array {
  return hkdfSha256(secret, salt, info, 32);
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

/** The index chunks a container's blocks are bound to (§13.4): raw TRAK, META and SAFE payloads. */
export type IndexContext = { trak: Uint8Array; meta: Uint8Array; safe: Uint8Array };

/** No container around the blocks (the seed-shaped API): empty TRAK, META and SAFE. */
export const NO_INDEX_CONTEXT: Readonly<IndexContext> = Object.freeze({ trak: new Uint8Array(0), meta: new Uint8Array(0), safe: new Uint8Array(0) });

/**
 * §13.4 The context digest bound into every block's associated data:
 * SHA-256("h4mk/v1/context" ‖ u8 len ‖ engine_id ‖ u8 len ‖ engine_fp ‖
 * SHA-256(TRAK payload) ‖ SHA-256(META payload) ‖ SHA-256(SAFE payload)).
 * It binds blocks to the engine identity and to the track table and policy,
 * so a timescale, codec or policy edit fails authentication like a moved block.
 */
export function contextDigest(engineId: string, engineFp: string, index: IndexContext): Uint8Array {
  const enc = new TextEncoder();
  const id = enc.encode(engineId);
  const fp = enc.encode(engineFp);
  if (id.length > 255 || fp.length > 255) throw new RangeError('engine id and fingerprint are limited to 255 UTF-8 bytes');
  return sha256Parts(
    enc.encode(LABEL_CONTEXT),
    Uint8Array.of(id.length),
    id,
    Uint8Array.of(fp.length),
    fp,
    sha256(index.trak),
    sha256(index.meta),
    sha256(index.safe),
  );
}

/** The epoch of a block: floor(pts_us / epoch_us), or 0 when epochs are off. */
export function epochOf(ptsUs: number, epochUs: number): number {
  return epochUs === 0 ? 0 : Math.floor(ptsUs / epochUs);
}

/**
 * Checks attacker-supplied scrypt parameters before any work (§13.2): beyond
 * the format's bounds, or beyond lower `caps`, is E_LIMIT. Caps above the
 * bounds do not raise them (writers may not exceed them either).
 */
export function checkScryptCaps(kdf: Extract<KdfParams, { kind: 'scrypt' }>, caps: ScryptCaps = DEFAULT_SCRYPT_CAPS): void {
  const maxLog2N = Math.min(caps.maxLog2N, SCRYPT_BOUNDS.maxLog2N);
  const maxR = Math.min(caps.maxR, SCRYPT_BOUNDS.maxR);
  const maxP = Math.min(caps.maxP, SCRYPT_BOUNDS.maxP);
  if (kdf.log2N > maxLog2N || kdf.r > maxR || kdf.p > maxP) {
    throw new H4mkError('E_LIMIT', `scrypt parameters N=2^${kdf.log2N} r=${kdf.r} p=${kdf.p} exceed the caps (log2N ≤ ${maxLog2N}, r ≤ ${maxR}, p ≤ ${maxP})`, {
      chunk: 'CRYP',
    });
  }
}

/**
 * Passphrase → 32-byte secret with scrypt. Parameters come from the file, so
 * they are capped first (a hostile file must not make us allocate gigabytes).
 */
export function secretFromPassphrase(passphrase: string, kdf: Extract<KdfParams, { kind: 'scrypt' }>, caps: ScryptCaps = DEFAULT_SCRYPT_CAPS): Uint8Array {
  checkScryptCaps(kdf, caps);
  return scryptKey(encoder.encode(passphrase.normalize('NFC')), kdf.salt, kdf.log2N, kdf.r, kdf.p, SECRET_LENGTH);
}
