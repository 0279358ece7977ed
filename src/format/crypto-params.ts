/**
 * §13.3 CRYP: the encryption parameters of a container, in its index region.
 * Present exactly when blocks are encrypted. Holds no key material: only
 * public parameters, a key-check value and the transcript MAC.
 */
import { ByteWriter, Cursor } from './bytes.js';
import { H4mkError } from './errors.js';
import { readShortString, utf8 } from './strings.js';

/** How the 32-byte container secret is obtained. */
export type KdfParams = { kind: 'raw' } | { kind: 'scrypt'; log2N: number; r: number; p: number; salt: Uint8Array };

export type CryptoParams = {
  /** 1 = AES-256-GCM. */
  aead: number;
  kdf: KdfParams;
  /** Random 16 bytes, unique per container: the HKDF salt (§13.2). */
  containerId: Uint8Array;
  /** Length of a key epoch in µs of media time; 0 = one epoch per track. */
  epochUs: number;
  /** First 16 bytes of the key-check key (§13.2): tells a wrong key from damage. */
  keyCheck: Uint8Array;
  /** HMAC-SHA256 transcript (§13.5). */
  transcriptMac: Uint8Array;
  /** The seed's engine identity, bound into every block's associated data. */
  engineId: string;
  engineFp: string;
};

export const CRYP_VERSION = 1;
export const AEAD_AES_256_GCM = 1;
export const CONTAINER_ID_LENGTH = 16;
const KDF_RAW = 0;
const KDF_SCRYPT = 1;

/** §13.3 Encodes CRYP. */
export function encodeCryptoParams(c: CryptoParams): Uint8Array {
  const w = new ByteWriter(160);
  w.u8(CRYP_VERSION)
    .u8(c.aead)
    .u8(c.kdf.kind === 'raw' ? KDF_RAW : KDF_SCRYPT);
  if (c.kdf.kind === 'scrypt') {
    // §13.2: writers MUST NOT exceed the scrypt bounds (readers refuse more).
    if (!scryptWithinBounds(c.kdf))
      throw new RangeError(
        `scrypt parameters N=2^${c.kdf.log2N} r=${c.kdf.r} p=${c.kdf.p} outside the format's bounds (log2N 1..${SCRYPT_BOUNDS.maxLog2N}, r 1..${SCRYPT_BOUNDS.maxR}, p 1..${SCRYPT_BOUNDS.maxP})`,
      );
    if (c.kdf.salt.length !== 16) throw new RangeError('the scrypt salt must be 16 bytes');
    w.u8(c.kdf.log2N).u32(c.kdf.r).u32(c.kdf.p).bytes(c.kdf.salt);
  } else w.u8(0).u32(0).u32(0).bytes(new Uint8Array(16));
  w.bytes(c.containerId).u64(c.epochUs).bytes(c.keyCheck).bytes(c.transcriptMac);
  const id = utf8(c.engineId);
  const fp = utf8(c.engineFp);
  if (id.length > 255 || fp.length > 255) throw new RangeError('engine id and fingerprint are limited to 255 UTF-8 bytes');
  w.u8(id.length).bytes(id).u8(fp.length).bytes(fp);
  return w.finish();
}

/** Caps on scrypt cost (§13.2): what a reader runs at most. */
export type ScryptCaps = { maxLog2N: number; maxR: number; maxP: number };
/**
 * §13.2 The format's scrypt bounds: 1 ≤ log2N ≤ 20, 1 ≤ r ≤ 16, 1 ≤ p ≤ 4
 * (at most 2 GiB of memory). Writers MUST NOT exceed them; readers MUST run
 * everything within them and refuse more (E_LIMIT); they may lower the caps,
 * never raise them.
 */
export const SCRYPT_BOUNDS: Readonly<ScryptCaps> = Object.freeze({ maxLog2N: 20, maxR: 16, maxP: 4 });
/** The caps a reader uses unless lowered: the format's bounds. */
export const DEFAULT_SCRYPT_CAPS: Readonly<ScryptCaps> = SCRYPT_BOUNDS;

/** True when scrypt parameters lie within the format's bounds (§13.2). */
export function scryptWithinBounds(kdf: { log2N: number; r: number; p: number }): boolean {
  const inRange = (v: number, max: number) => Number.isInteger(v) && v >= 1 && v <= max;
  return inRange(kdf.log2N, SCRYPT_BOUNDS.maxLog2N) && inRange(kdf.r, SCRYPT_BOUNDS.maxR) && inRange(kdf.p, SCRYPT_BOUNDS.maxP);
}

/** §13.3 Decodes CRYP (`base` = absolute payload offset). */
export function decodeCryptoParams(payload: Uint8Array, base: number): CryptoParams {
  const c = new Cursor(payload, 0, payload.length, base);
  const version = c.u8('CRYP version');
  if (version !== CRYP_VERSION) throw new H4mkError('E_UNSUPPORTED', `CRYP version ${version}`, { offset: base, chunk: 'CRYP' });
  const aead = c.u8('aead');
  if (aead !== AEAD_AES_256_GCM) throw new H4mkError('E_UNSUPPORTED', `AEAD ${aead}`, { offset: base + 1, chunk: 'CRYP' });
  const kdfKind = c.u8('kdf');
  const log2N = c.u8('scrypt log2N');
  const r = c.u32('scrypt r');
  const p = c.u32('scrypt p');
  const salt = c.bytesView(16, 'scrypt salt').slice();
  let kdf: KdfParams;
  if (kdfKind === KDF_RAW) {
    if (log2N !== 0 || r !== 0 || p !== 0 || salt.some((b) => b !== 0))
      throw new H4mkError('E_FORMAT', 'raw-key CRYP must have zero scrypt fields', { offset: base + 3, chunk: 'CRYP' });
    kdf = { kind: 'raw' };
  } else if (kdfKind === KDF_SCRYPT) {
    if (log2N < 1 || r < 1 || p < 1) throw new H4mkError('E_FORMAT', 'scrypt parameters must be positive', { offset: base + 3, chunk: 'CRYP' });
    kdf = { kind: 'scrypt', log2N, r, p, salt };
  } else throw new H4mkError('E_UNSUPPORTED', `KDF ${kdfKind}`, { offset: base + 2, chunk: 'CRYP' });
  const containerId = c.bytesView(CONTAINER_ID_LENGTH, 'container_id').slice();
  const epochUs = c.u64('epoch_us');
  const keyCheck = c.bytesView(16, 'key_check').slice();
  const transcriptMac = c.bytesView(32, 'transcript_mac').slice();
  const engineId = readShortString(c, 'engine_id');
  const engineFp = readShortString(c, 'engine_fp');
  if (c.remaining !== 0) throw new H4mkError('E_FORMAT', 'trailing bytes in CRYP', { offset: c.fileOffset, chunk: 'CRYP' });
  return { aead, kdf, containerId, epochUs, keyCheck, transcriptMac, engineId, engineFp };
}
