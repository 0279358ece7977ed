/**
 * §13.7 Sealing: an Ed25519 signature over the container id, chain head,
 * block count and index digest, stored in a SEAL chunk after VERI.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { encodeChunk } from '../format/chunk.js';
import { FOOTER_LENGTH, HEADER_LENGTH, HeaderFlag } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import { encodeFooter, encodeHeader } from '../format/header.js';
import { encodeSeal, SEAL_ED25519, SEAL_MESSAGE_VERSION, type Seal, sealMessage } from '../format/seal.js';
import type { Sink } from '../io/sink.js';
import { readExactly } from '../io/source.js';
import type { H4mkReader } from '../reader/reader.js';

const COPY_WINDOW = 8 * 1024 * 1024;

/** A new Ed25519 key pair as PEM (PKCS#8 private, SPKI public). */
export function generateSigningKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The raw 32-byte Ed25519 public key of a key object. */
function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ type: 'spki', format: 'der' });
  return new Uint8Array(der.subarray(der.length - 32));
}

function messageOf(reader: H4mkReader, seal: Pick<Seal, 'messageVersion' | 'algorithm' | 'publicKey' | 'signer' | 'signedAt'>): Uint8Array {
  const containerId = reader.cryptoParams?.containerId ?? new Uint8Array(16);
  const v = reader.integrity;
  return sealMessage(seal, containerId, v.chainHead, v.blockCount, v.indexDigest);
}

/** Signs the container behind `reader`. */
export function signContainer(reader: H4mkReader, privateKeyPem: string, signer: string, signedAt = Math.floor(Date.now() / 1000)): Seal {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw new TypeError('the signing key is not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('the signing key must be an Ed25519 key');
  const fields = { algorithm: SEAL_ED25519, messageVersion: SEAL_MESSAGE_VERSION, publicKey: rawPublicKey(createPublicKey(key)), signer, signedAt };
  const signature = new Uint8Array(sign(null, messageOf(reader, fields), key));
  return { ...fields, signature };
}

/** The result of checking a seal. `signerSigned` is false for a version-0 seal, whose signer anyone could have changed. */
export type SealCheck = { signer: string; signedAt: number; publicKey: string; signerSigned: boolean };

/**
 * Checks the seal of `reader`'s container; with `publicKeyPem`, also that it
 * was made with that key. E_SIGNATURE on any failure.
 */
export function verifySeal(reader: H4mkReader, publicKeyPem?: string): SealCheck {
  const seal = reader.seal;
  if (seal === null) throw new H4mkError('E_SIGNATURE', 'the container is not sealed', { chunk: 'SEAL' });
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), seal.publicKey]), format: 'der', type: 'spki' });
  if (publicKeyPem !== undefined) {
    let expected: KeyObject;
    try {
      expected = createPublicKey(publicKeyPem);
    } catch {
      throw new TypeError('the public key is not a PEM public key');
    }
    if (!Buffer.from(rawPublicKey(expected)).equals(Buffer.from(seal.publicKey)))
      throw new H4mkError('E_SIGNATURE', 'sealed by another key', { chunk: 'SEAL' });
  }
  if (!verify(null, messageOf(reader, seal), key, seal.signature))
    throw new H4mkError('E_SIGNATURE', 'the seal does not match the container', { chunk: 'SEAL' });
  return { signer: seal.signer, signedAt: seal.signedAt, publicKey: Buffer.from(seal.publicKey).toString('hex'), signerSigned: seal.messageVersion >= 1 };
}

/**
 * Writes `reader`'s container with `seal` (replacing any previous seal) to
 * `sink`: the same data and index, the SEAL chunk after VERI, a new footer.
 * Atomic: on any failure (a seal the format cannot hold is a TypeError or
 * RangeError, see encodeSeal; a read or write error) the sink is aborted,
 * so nothing appears at its destination, and the error is rethrown.
 */
export async function writeSealed(reader: H4mkReader, sink: Sink, seal: Seal): Promise<void> {
  const copy = async (from: number, to: number) => {
    for (let p = from; p < to; p += COPY_WINDOW) await sink.write(await readExactly(reader.source, p, Math.min(COPY_WINDOW, to - p)));
  };
  try {
    const sealChunk = encodeChunk('SEAL', encodeSeal(seal));
    const unsealed = reader.unsealedLength;
    const indexLength = unsealed + sealChunk.length;
    // The sealed copy keeps the container's format version: its segments are copied as they are.
    const version = reader.view.content.segments.version;
    if (reader.layout === 'faststart') {
      await sink.write(encodeHeader({ version, flags: HeaderFlag.FASTSTART, indexLength }));
      await copy(HEADER_LENGTH, HEADER_LENGTH + unsealed);
      await sink.write(sealChunk);
      await copy(reader.dataOffset, reader.fileSize - FOOTER_LENGTH);
      await sink.write(encodeFooter({ indexOffset: HEADER_LENGTH, indexLength, version, flags: HeaderFlag.FASTSTART }));
    } else {
      await copy(0, reader.indexOffset + unsealed);
      await sink.write(sealChunk);
      await sink.write(encodeFooter({ indexOffset: reader.indexOffset, indexLength, version, flags: 0 }));
    }
    await sink.commit();
  } catch (error) {
    // The first failure is the one to report; a failing abort must not hide it.
    await sink.abort().catch(() => {});
    throw error;
  }
}
