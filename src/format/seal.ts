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
  publicKey: Uint8Array;
  signature: Uint8Array;
  /** Who signed (free text, e.g. an e-mail address); not authenticated by itself. */
  signer: string;
  /** Signing time, seconds since the Unix epoch; covered by the signature. */
  signedAt: number;
};

export const SEAL_ED25519 = 1;
const SEAL_LABEL = utf8('h4mk/v1/seal');

/** §13.7 Encodes SEAL. */
export function encodeSeal(s: Seal): Uint8Array {
  const signer = utf8(s.signer);
  if (signer.length > 255) throw new RangeError('signer is limited to 255 UTF-8 bytes');
  return new ByteWriter(120).u8(s.algorithm).u8(0).u16(0).u64(s.signedAt).bytes(s.publicKey).bytes(s.signature).u8(signer.length).bytes(signer).finish();
}

/** §13.7 Decodes SEAL (`base` = absolute payload offset). */
export function decodeSeal(payload: Uint8Array, base: number): Seal {
  const c = new Cursor(payload, 0, payload.length, base);
  const algorithm = c.u8('seal algorithm');
  if (algorithm !== SEAL_ED25519) throw new H4mkError('E_UNSUPPORTED', `seal algorithm ${algorithm}`, { offset: base, chunk: 'SEAL' });
  c.zeros(3, 'SEAL reserved field');
  const signedAt = c.u64('signed_at');
  const publicKey = c.bytesView(32, 'public key').slice();
  const signature = c.bytesView(64, 'signature').slice();
  const signer = readShortString(c, 'signer');
  if (c.remaining !== 0) throw new H4mkError('E_FORMAT', 'trailing bytes in SEAL', { offset: c.fileOffset, chunk: 'SEAL' });
  return { algorithm, publicKey, signature, signer, signedAt };
}

/**
 * §13.7 The signed message: "h4mk/v1/seal" ‖ container_id (16; zeros when
 * unencrypted) ‖ chain_head (32) ‖ u64 block_count ‖ index_digest (32) ‖ u64 signed_at.
 */
export function sealMessage(containerId: Uint8Array, chainHead: Uint8Array, blockCount: number, indexDigest: Uint8Array, signedAt: number): Uint8Array {
  return new ByteWriter(140).bytes(SEAL_LABEL).bytes(containerId).bytes(chainHead).u64(blockCount).bytes(indexDigest).u64(signedAt).finish();
}
