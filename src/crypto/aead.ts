/**
 * §13.1 AES-256-GCM, synchronous, as the platform provides it. The stored
 * bytes of an encrypted block are ciphertext ‖ 16-byte tag; the 12-byte nonce
 * is derived, never stored. The Node entry installs node:crypto's
 * (node-aead.ts); without it (browsers: WebCrypto has no synchronous AES-GCM)
 * both calls refuse with E_UNSUPPORTED and name the asynchronous path,
 * WebCipher (src/web-platform/web-cipher.ts), which decrypts in parallel.
 */
import { H4mkError } from '../format/errors.js';

export { blockNonce, NONCE_LENGTH, TAG_LENGTH } from './block-nonce.js';

/** A synchronous AES-256-GCM. `open` checks the tag before returning plaintext; every failure is E_AUTH. */
export interface Aead {
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, coreIndex?: number): Uint8Array;
}

const MESSAGE = 'synchronous AES-GCM is not available on this platform (browsers: decrypt with WebCipher; Node: import h4mk/node)';

let current: Aead | null = null;

/** Installs (or, with null, removes) the platform's AES-256-GCM. */
export function setAead(aead: Aead | null): void {
  current = aead;
}

/** Encrypts `plaintext`; returns ciphertext ‖ tag. */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  if (current === null) throw new H4mkError('E_UNSUPPORTED', MESSAGE);
  return current.seal(key, nonce, aad, plaintext);
}

/** Decrypts ciphertext ‖ tag (tag checked first; E_AUTH on any failure, no oracle). */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, coreIndex?: number): Uint8Array {
  if (current === null) throw new H4mkError('E_UNSUPPORTED', MESSAGE, { coreIndex });
  return current.open(key, nonce, aad, sealed, coreIndex);
}
