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

/** §13.7 Encodes SEAL. */
export function encodeSeal(s: Seal): Uint8Array {
  const signer = utf8(s.signer);
  if (signer.length > 255) throw new RangeError('signer is limited to 255 UTF-8 bytes');
  return new ByteWriter(120).u8(s.algorithm).u8(s.messageVersion).u16(0).u64(s.signedAt).bytes(s.publicKey).bytes(s.signature).u8(signer.length).bytes(signer).finish();
}

/** §13.7 Decodes SEAL (`base` = absolute payload offset). */
export function decodeSeal(payload: Uint8Array, base: number): Seal {
  const c = new Cursor(payload, 0, payload.length, base);
  const algorithm = c.u8('seal algorithm');
  if (algorithm !== SEAL_ED25519) throw new H4mkError('E_UNSUPPORTED', `seal algorithm ${algorithm}`, { offset: base, chunk: 'SEAL' });
  const messageVersion = c.u8('message_version');
  if (messageVersion > SEAL_MESSAGE_VERSION) throw new H4mkError('E_UNSUPPORTED', `seal message version ${messageVersion}`, { offset: base + 1, chunk: 'SEAL' });
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
