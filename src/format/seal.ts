/**
 * §13.7 SEAL: an Ed25519 signature over the container's identity and
 * integrity values. The only chunk allowed after VERI in the index region.
 */
import { ByteWriter, Cursor } from './bytes.js';
import { H4mkError } from './errors.js';
import { readShortString, utf8 } from './strings.js';

export type Seal = {
  /** 1 = Ed25519. */
  algorithm: number;
  /**
   * §13.7 message_version: 1 (written now) signs every field the seal shows,
   * signer and public key included; 0 (seals written before) signs neither,
   * so a verifier must not present such a signer as authenticated.
   */
  messageVersion: number;
  publicKey: Uint8Array;
  signature: Uint8Array;
  /** Who signed (free text, e.g. an e-mail address); covered by the signature when messageVersion is 1. */
  signer: string;
  /** Signing time, seconds since the Unix epoch; covered by the signature. */
  signedAt: number;
};

/** The message version new seals use. */
export const SEAL_MESSAGE_VERSION = 1;

export const SEAL_ED25519 = 1;
const SEAL_LABEL = utf8('h4mk/v1/seal');

/**
 * §13.7 Encodes SEAL. A seal the format cannot hold is a TypeError (a field
 * of the wrong type) or a RangeError (out of range) before any byte is made:
 * algorithm 1, message_version 0 or 1, a 32-byte public key, a 64-byte
 * signature, signed_at a non-negative safe integer, a signer of at most 255
 * UTF-8 bytes.
 */
export function encodeSeal(s: Seal): Uint8Array {
  if (s === null || typeof s !== 'object') throw new TypeError('a seal must be an object');
  if (!(s.publicKey instanceof Uint8Array) || !(s.signature instanceof Uint8Array) || typeof s.signer !== 'string')
    throw new TypeError('a seal needs publicKey and signature bytes and a signer string');
  if (s.algorithm !== SEAL_ED25519) throw new RangeError(`seal algorithm ${String(s.algorithm)} is not Ed25519 (1)`);
  if (s.messageVersion !== 0 && s.messageVersion !== SEAL_MESSAGE_VERSION)
    throw new RangeError(`seal message version ${String(s.messageVersion)} is not 0 or ${SEAL_MESSAGE_VERSION}`);
  if (s.publicKey.length !== 32 || s.signature.length !== 64)
    throw new RangeError(`an Ed25519 seal has a 32-byte public key and a 64-byte signature, not ${s.publicKey.length} and ${s.signature.length}`);
  if (!Number.isSafeInteger(s.signedAt) || s.signedAt < 0) throw new RangeError(`signedAt must be a non-negative integer (seconds), got ${String(s.signedAt)}`);
  const signer = utf8(s.signer);
  if (signer.length > 255) throw new RangeError('signer is limited to 255 UTF-8 bytes');
  return new ByteWriter(120)
    .u8(s.algorithm)
    .u8(s.messageVersion)
    .u16(0)
    .u64(s.signedAt)
    .bytes(s.publicKey)
    .bytes(s.signature)
    .u8(signer.length)
    .bytes(signer)
    .finish();
}

/** §13.7 Decodes SEAL (`base` = absolute payload offset). */
export function decodeSeal(payload: Uint8Array, base: number): Seal {
  const c = new Cursor(payload, 0, payload.length, base);
  const algorithm = c.u8('seal algorithm');
  if (algorithm !== SEAL_ED25519) throw new H4mkError('E_UNSUPPORTED', `seal algorithm ${algorithm}`, { offset: base, chunk: 'SEAL' });
  const messageVersion = c.u8('message_version');
  if (messageVersion > SEAL_MESSAGE_VERSION)
    throw new H4mkError('E_UNSUPPORTED', `seal message version ${messageVersion}`, { offset: base + 1, chunk: 'SEAL' });
  c.zeros(2, 'SEAL reserved field');
  const signedAt = c.u64('signed_at');
  const publicKey = c.bytesView(32, 'public key').slice();
  const signature = c.bytesView(64, 'signature').slice();
  const signer = readShortString(c, 'signer');
  if (c.remaining !== 0) throw new H4mkError('E_FORMAT', 'trailing bytes in SEAL', { offset: c.fileOffset, chunk: 'SEAL' });
  return { algorithm, messageVersion, publicKey, signature, signer, signedAt };
}

/**
 * §13.7 The signed message: "h4mk/v1/seal" ‖ container_id (16; zeros when
 * unencrypted) ‖ chain_head (32) ‖ u64 block_count ‖ index_digest (32) ‖
 * u64 signed_at, then for message version 1: u8 message_version ‖
 * u8 algorithm ‖ public_key (32) ‖ u8 signer length ‖ signer.
 */
export function sealMessage(
  seal: Pick<Seal, 'messageVersion' | 'algorithm' | 'publicKey' | 'signer' | 'signedAt'>,
  containerId: Uint8Array,
  chainHead: Uint8Array,
  blockCount: number,
  indexDigest: Uint8Array,
): Uint8Array {
  const w = new ByteWriter(460).bytes(SEAL_LABEL).bytes(containerId).bytes(chainHead).u64(blockCount).bytes(indexDigest).u64(seal.signedAt);
  if (seal.messageVersion === 0) return w.finish();
  const signer = utf8(seal.signer);
  if (signer.length > 255) throw new RangeError('signer is limited to 255 UTF-8 bytes');
  return w.u8(seal.messageVersion).u8(seal.algorithm).bytes(seal.publicKey).u8(signer.length).bytes(signer).finish();
}
