/**
 * Browser replacement of src/crypto/aead.ts (which uses node:crypto).
 * WebCrypto has no synchronous AES-GCM, so the synchronous entry points
 * refuse with E_UNSUPPORTED and name the asynchronous path: in a browser,
 * blocks are decrypted by {@link WebCipher} (web-cipher.ts), in parallel.
 */
import { H4mkError } from '../format/errors.js';

export { blockNonce, NONCE_LENGTH, TAG_LENGTH } from '../crypto/block-nonce.js';

const MESSAGE = 'synchronous AES-GCM is not available in a browser: decrypt with WebCipher (src/web-platform/web-cipher.ts)';

/** Not available in a browser: see {@link WebCipher}. */
export function aeadSeal(_key: Uint8Array, _nonce: Uint8Array, _aad: Uint8Array, _plaintext: Uint8Array): Uint8Array {
  throw new H4mkError('E_UNSUPPORTED', MESSAGE);
}

/** Not available in a browser: see {@link WebCipher}. */
export function aeadOpen(_key: Uint8Array, _nonce: Uint8Array, _aad: Uint8Array, _sealed: Uint8Array, coreIndex?: number): Uint8Array {
  throw new H4mkError('E_UNSUPPORTED', MESSAGE, { coreIndex });
}
