/**
 * §13.1 AES-256-GCM through node:crypto: the Node platform's {@link Aead}
 * (installed by the Node entry, src/platform/node.ts).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { H4mkError } from '../format/errors.js';
import type { Aead } from './aead.js';
import { TAG_LENGTH } from './block-nonce.js';

/** Encrypts `plaintext`; returns ciphertext ‖ tag. */
function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const out = new Uint8Array(head.length + tail.length + TAG_LENGTH);
  out.set(head, 0);
  out.set(tail, head.length);
  out.set(cipher.getAuthTag(), head.length + tail.length);
  return out;
}

/**
 * Decrypts ciphertext ‖ tag. The tag is checked before any plaintext is
 * returned; every failure is the same generic E_AUTH (no oracle).
 */
function open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, coreIndex?: number): Uint8Array {
  if (sealed.length < TAG_LENGTH) throw new H4mkError('E_AUTH', 'block authentication failed', { coreIndex });
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
  const head = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
  try {
    const tail = decipher.final();
    if (tail.length === 0) return head;
    const out = new Uint8Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  } catch {
    throw new H4mkError('E_AUTH', 'block authentication failed', { coreIndex });
  }
}

/** node:crypto's AES-256-GCM. */
export const nodeAead: Aead = { seal, open };
