/**
 * VERI and SEAL as the page shows them. The index digest and every chunk
 * CRC were checked by the reader at open; the seal's Ed25519 signature is
 * checked here with WebCrypto over the §13.7 message.
 */
import { type H4mkReader, sealMessage, toHex } from 'h4mk/web';

/** The outcome of checking a seal in the page. */
export type SealStatus = { state: 'none' } | { state: 'valid' | 'invalid' | 'unchecked'; signer: string; signedAt: number; publicKey: string; reason?: string };

/** Checks the container's seal, if any, with WebCrypto Ed25519. */
export async function checkSeal(reader: H4mkReader): Promise<SealStatus> {
  const seal = reader.seal;
  if (seal === null) return { state: 'none' };
  const base = { signer: seal.signer, signedAt: seal.signedAt, publicKey: toHex(seal.publicKey) };
  const v = reader.integrity;
  const message = sealMessage(seal, reader.cryptoParams?.containerId ?? new Uint8Array(16), v.chainHead, v.blockCount, v.indexDigest);
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('raw', new Uint8Array(seal.publicKey), { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return { state: 'unchecked', ...base, reason: 'this browser has no Ed25519 in WebCrypto' };
  }
  const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, new Uint8Array(seal.signature), new Uint8Array(message));
  return ok ? { state: 'valid', ...base } : { state: 'invalid', ...base, reason: 'the signature does not match this container' };
}
