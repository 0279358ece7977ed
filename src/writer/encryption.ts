/**
 * Writer-side encryption setup (§13): options → container id, KDF
 * parameters, keys, and the CRYP record written at finish.
 */
import { AEAD_AES_256_GCM, type CryptoParams, type KdfParams, SCRYPT_BOUNDS } from '../format/crypto-params.js';
import { contextDigest, type IndexContext, secretFromPassphrase } from '../crypto/keys.js';
import { randomBytes } from '../crypto/primitives.js';
import { type CipherContext, newContainerId, SecretKeys, transcriptMac } from '../crypto/living-cipher.js';

/** How to encrypt a new container. */
export type EncryptionOptions = {
  /** The 32-byte shared secret (a key file); or… */
  secret?: Uint8Array;
  /** …a passphrase, stretched with scrypt (parameters stored in CRYP). */
  passphrase?: string;
  /**
   * scrypt cost; default N = 2^15, r = 8, p = 1. Integers within the
   * format's bounds (§13.2, SCRYPT_BOUNDS: 1 ≤ log2N ≤ 20, 1 ≤ r ≤ 16,
   * 1 ≤ p ≤ 4): below 1 or not an integer is a RangeError, above is E_LIMIT
   * (what a reader would answer), both before scrypt runs.
   */
  scrypt?: { log2N?: number; r?: number; p?: number };
  /** Key epoch length in µs of media time; 0 (default) = one key per track. */
  epochUs?: number;
  /** The seed's engine identity, bound into every block. */
  engineId?: string;
  engineFp?: string;
};

/** Everything the writer needs to encrypt and to write CRYP. */
export type WriterCipher = {
  context: CipherContext;
  /** CRYP without its transcript MAC, which is computed at finish. */
  params: Omit<CryptoParams, 'transcriptMac'>;
  mac(chainHead: Uint8Array, blockCount: number, tracks: readonly { blockCount: number; lastCoreIndex: number }[]): Uint8Array;
  /** Binds the context digest to the container's TRAK, META and SAFE (once tracks are final, before the first block). */
  bindIndex(index: IndexContext): void;
};

/** Sets up encryption for a new container; the secret never leaves this object. */
export function createWriterCipher(options: EncryptionOptions): WriterCipher {
  const epochUs = options.epochUs ?? 0;
  if (!Number.isSafeInteger(epochUs) || epochUs < 0) throw new RangeError('epochUs must be a non-negative integer');
  const engineId = options.engineId ?? '';
  const engineFp = options.engineFp ?? '';
  const containerId = newContainerId();
  let kdf: KdfParams;
  let secret: Uint8Array;
  if (options.secret !== undefined && options.passphrase === undefined) {
    if (!(options.secret instanceof Uint8Array) || options.secret.length !== 32) throw new RangeError('the encryption secret must be 32 bytes');
    kdf = { kind: 'raw' };
    secret = Uint8Array.from(options.secret);
  } else if (options.passphrase !== undefined && options.secret === undefined) {
    if (typeof options.passphrase !== 'string' || options.passphrase.length === 0) throw new TypeError('the passphrase must be a non-empty string');
    kdf = { kind: 'scrypt', log2N: options.scrypt?.log2N ?? 15, r: options.scrypt?.r ?? 8, p: options.scrypt?.p ?? 1, salt: randomBytes(16) };
    for (const [name, value] of [
      ['log2N', kdf.log2N],
      ['r', kdf.r],
      ['p', kdf.p],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`scrypt.${name} must be an integer ≥ 1, got ${String(value)}`);
    }
    // The format's bounds, checked as a reader checks them (E_LIMIT above): writers MUST NOT exceed them.
    secret = secretFromPassphrase(options.passphrase, kdf, SCRYPT_BOUNDS);
  } else {
    throw new TypeError('encryption needs exactly one of secret or passphrase');
  }
  const keys = new SecretKeys(secret, containerId);
  const transcriptKey = keys.transcriptKey();
  return {
    // Bound to the real TRAK/META/SAFE by bindIndex before any block is sealed.
    context: { containerId, epochUs, engineDigest: new Uint8Array(32), keys },
    params: { aead: AEAD_AES_256_GCM, kdf, containerId, epochUs, keyCheck: keys.keyCheck(), engineId, engineFp },
    mac: (chainHead, blockCount, tracks) => transcriptMac(transcriptKey, containerId, chainHead, blockCount, tracks),
    bindIndex(index) {
      this.context.engineDigest = contextDigest(engineId, engineFp, index);
    },
  };
}
