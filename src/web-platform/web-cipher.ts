/**
 * §13 decryption with WebCrypto, for the browser inspector (and any browser
 * or Node code with `crypto.subtle`): the container secret, a passphrase or
 * a grant becomes AES-256-GCM keys derived with WebCrypto's HKDF exactly as
 * §13.2 says; blocks read as stored bytes (`decompress: false`) are
 * authenticated and decrypted in parallel, then decompressed with the
 * declared `original_length` as the cap.
 *
 * Why parallel: WebCrypto's AES-GCM is asynchronous and costs about 70 µs
 * per 4 KiB block one at a time but about 25 µs when calls are pipelined
 * (node:crypto: 8 µs), so a span of a GOP is decrypted with `Promise.all`.
 *
 * Keys stay in this object as non-extractable CryptoKeys; nothing here does
 * I/O. The associated data (§13.4, with the context digest over the engine
 * identity and the raw TRAK, META and SAFE) and the nonce (§13.1) come from
 * the library's own encoders, so Node and the browser bind blocks identically.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { blockNonce, TAG_LENGTH } from '../crypto/block-nonce.js';
import { type Grant, parseGrant } from '../crypto/unlock.js';
import { decompressPayload } from '../compress/codec.js';
import { encodeAssociatedData } from '../format/associated-data.js';
import { bytesEqual, fromBase64, toHex } from '../format/bytes.js';
import { BlockFlag, COMPRESSIONS, FRAME_KINDS } from '../format/constants.js';
import type { CryptoParams } from '../format/crypto-params.js';
import { H4mkError } from '../format/errors.js';
import type { BlockInfo } from '../reader/types.js';
import { blockKeyInfo, checkScryptCaps, contextDigest, epochOf, type IndexContext, LABEL_KEY_CHECK, SECRET_LENGTH } from '../crypto/keys.js';

/** What a user can give to decrypt: the container secret, a passphrase (scrypt containers) or a grant. */
export type WebKeyInput = { secret: Uint8Array } | { passphrase: string } | { grant: unknown };

/** A block with its stored bytes (ciphertext ‖ tag when encrypted), as `readSpan(…, { decompress: false })` gives it. */
export type StoredBlock = BlockInfo & { payload: Uint8Array };

/** Time spent by the last {@link WebCipher.openBlocks}. */
export type DecryptTiming = { blocks: number; bytes: number; ms: number };

const KEY_CACHE_LIMIT = 4096;

/** WebCrypto wants ArrayBuffer-backed views; copies only when `bytes` is not one. */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** Standard base64 (with padding) to bytes. */
export const base64ToBytes = fromBase64;

/**
 * Parses what a user pasted: a grant (JSON), a key file line
 * (`h4mk-secret-v1 <base64>`), the base64 (or hex) of a 32-byte secret, or
 * else, for a passphrase container, the passphrase. Errors describe what was
 * expected and never quote the input (it may be a key).
 */
export function parseKeyText(text: string, params: Pick<CryptoParams, 'kdf'>): WebKeyInput {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new H4mkError('E_KEY', 'this looks like JSON but does not parse: paste the whole grant file');
    }
    return { grant: value };
  }
  const line = /^(?:h4mk-secret-v1\s+)?([A-Za-z0-9+/]{43}=)$/.exec(trimmed);
  if (line !== null) return { secret: base64ToBytes(line[1] as string) };
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return { secret: Uint8Array.from(trimmed.match(/../g) as string[], (h) => Number.parseInt(h, 16)) };
  if (params.kdf.kind === 'scrypt' && text.length > 0) return { passphrase: text };
  throw new H4mkError('E_KEY', "not a key: paste the key file's line (h4mk-secret-v1 …) or its base64, or a grant file's JSON");
}

/** The flags byte of a block as its CORE header carries it (§6.1), from the reader's view of it. */
export function blockFlags(b: Pick<BlockInfo, 'keyframe' | 'frameKind' | 'encrypted' | 'endOfTrack'>): number {
  const kind = (FRAME_KINDS as readonly (string | null)[]).indexOf(b.frameKind ?? null);
  return (
    (b.keyframe ? BlockFlag.KEYFRAME : 0) |
    (Math.max(0, kind) << BlockFlag.FRAME_KIND_SHIFT) |
    (b.encrypted ? BlockFlag.ENCRYPTED : 0) |
    (b.endOfTrack ? BlockFlag.END_OF_TRACK : 0)
  );
}

/** Where a grant's keys come from, and what it covers. */
type KeySource = { kind: 'secret'; base: CryptoKey } | { kind: 'grant'; grant: Grant; raw: Map<number, Uint8Array> };

/** Decrypts one container's blocks with WebCrypto. Make one with {@link WebCipher.unlock}. */
export class WebCipher {
  /** Filled by {@link openBlocks}: how long the last batch took. */
  lastTiming: DecryptTiming = { blocks: 0, bytes: 0, ms: 0 };
  private readonly keys = new Map<string, Promise<CryptoKey>>();
  /** §13.4 The context digest every block's AAD carries. */
  private readonly context: Uint8Array;

  private constructor(
    readonly params: CryptoParams,
    index: IndexContext,
    private readonly source: KeySource,
    private readonly subtle: SubtleCrypto,
  ) {
    this.context = contextDigest(params.engineId, params.engineFp, index);
  }

  /**
   * Checks `key` against the container (§13.2 key check for a secret or a
   * passphrase; container id and epochs for a grant) and returns a cipher.
   * `index` is the container's raw TRAK, META and SAFE payloads, which every
   * block is bound to (§13.4; `reader.bindings`). E_KEY when it is not
   * this container's key.
   */
  static async unlock(params: CryptoParams, key: WebKeyInput, index: IndexContext, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<WebCipher> {
    if ('grant' in key) {
      const grant = parseGrant(key.grant);
      if (grant.container_id !== toHex(params.containerId)) throw new H4mkError('E_KEY', 'the grant is for another container');
      if (grant.epoch_us !== params.epochUs) throw new H4mkError('E_KEY', 'the grant was made for other key epochs');
      const raw = new Map<number, Uint8Array>();
      for (const k of grant.keys) {
        let bytes: Uint8Array;
        try {
          bytes = base64ToBytes(k.key);
        } catch {
          throw new H4mkError('E_KEY', 'grant holds a malformed key');
        }
        if (bytes.length !== 32) throw new H4mkError('E_KEY', 'grant holds a malformed key');
        raw.set(k.epoch, bytes);
      }
      return new WebCipher(params, index, { kind: 'grant', grant, raw }, subtle);
    }
    let secret: Uint8Array;
    if ('passphrase' in key) {
      if (params.kdf.kind !== 'scrypt') throw new H4mkError('E_KEY', 'this container is encrypted with a key file, not a passphrase');
      checkScryptCaps(params.kdf);
      // scrypt is not in WebCrypto: @noble/hashes' asynchronous scrypt keeps the page responsive.
      secret = await scryptAsync(new TextEncoder().encode(key.passphrase.normalize('NFC')), params.kdf.salt, {
        N: 2 ** params.kdf.log2N,
        r: params.kdf.r,
        p: params.kdf.p,
        dkLen: SECRET_LENGTH,
      });
    } else {
      if (params.kdf.kind !== 'raw') throw new H4mkError('E_KEY', 'this container is encrypted with a passphrase, not a key file');
      secret = key.secret;
      if (!(secret instanceof Uint8Array) || secret.length !== SECRET_LENGTH) throw new H4mkError('E_KEY', 'a key must be 32 bytes');
    }
    const base = await subtle.importKey('raw', owned(secret), 'HKDF', false, ['deriveBits', 'deriveKey']);
    const check = new Uint8Array(
      await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: owned(params.containerId), info: new TextEncoder().encode(LABEL_KEY_CHECK) }, base, 256),
    ).subarray(0, 16);
    if (!bytesEqual(check, params.keyCheck)) throw new H4mkError('E_KEY', 'wrong key for this container');
    return new WebCipher(params, index, { kind: 'secret', base }, subtle);
  }

  /** 'secret' (the container key: every block) or 'grant' (some epochs of one track). */
  get kind(): 'secret' | 'grant' {
    return this.source.kind;
  }

  /** The grant's window, for display; null for a container key. */
  get grantWindow(): { track: string; trackNumber: number; fromUs: number; toUs: number; epochs: number[] } | null {
    if (this.source.kind !== 'grant') return null;
    const g = this.source.grant;
    return { track: g.track, trackNumber: g.track_number, fromUs: g.from_us, toUs: g.to_us, epochs: [...this.source.raw.keys()].sort((a, b) => a - b) };
  }

  /** The key epoch of a block (§13.1). */
  epochOf(block: Pick<BlockInfo, 'ptsUs'>): number {
    return epochOf(block.ptsUs, this.params.epochUs);
  }

  /** True when a key for this block is at hand (always with the container key). */
  covers(block: Pick<BlockInfo, 'trackNumber' | 'ptsUs'>): boolean {
    if (this.source.kind === 'secret') return true;
    return block.trackNumber === this.source.grant.track_number && this.source.raw.has(this.epochOf(block));
  }

  /** K(track, epoch) as a non-extractable AES-GCM key, derived once; null when a grant does not hold it. */
  private keyFor(trackNumber: number, epoch: number): Promise<CryptoKey> | null {
    const id = `${trackNumber}:${epoch}`;
    const cached = this.keys.get(id);
    if (cached !== undefined) return cached;
    let key: Promise<CryptoKey>;
    if (this.source.kind === 'secret') {
      const info = blockKeyInfo(trackNumber, epoch);
      key = this.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: owned(this.params.containerId), info: owned(info) },
        this.source.base,
        { name: 'AES-GCM', length: 256 },
        false,
        ['decrypt'],
      );
    } else {
      const raw = trackNumber === this.source.grant.track_number ? this.source.raw.get(epoch) : undefined;
      if (raw === undefined) return null;
      key = this.subtle.importKey('raw', owned(raw), { name: 'AES-GCM' }, false, ['decrypt']);
    }
    if (this.keys.size >= KEY_CACHE_LIMIT) this.keys.clear();
    this.keys.set(id, key);
    return key;
  }

  /**
   * Authenticates and decrypts one block's stored bytes (§13.1); returns the
   * plaintext, still compressed. E_KEY when no key covers it, E_AUTH (one
   * generic message) when it does not authenticate.
   */
  async open(block: StoredBlock): Promise<Uint8Array> {
    if (!block.encrypted) return block.payload;
    const epoch = this.epochOf(block);
    const key = this.keyFor(block.trackNumber, epoch);
    if (key === null) {
      throw new H4mkError('E_KEY', `cannot decrypt: outside the grant for track ${block.trackNumber}, epoch ${epoch}`, { coreIndex: block.coreIndex });
    }
    const stored = block.payload;
    if (stored.length < TAG_LENGTH) throw new H4mkError('E_AUTH', 'block authentication failed', { coreIndex: block.coreIndex });
    const compression = COMPRESSIONS.indexOf(block.compression);
    const aad = encodeAssociatedData(
      this.params.containerId,
      {
        coreIndex: block.coreIndex,
        trackNumber: block.trackNumber,
        flags: blockFlags(block),
        compression,
        duration: block.duration,
        pts: block.pts,
        dts: block.dts,
        originalLength: block.originalLength,
      },
      epoch,
      this.context,
    );
    try {
      // WebCrypto checks the tag before it releases any plaintext.
      const plain = await this.subtle.decrypt(
        { name: 'AES-GCM', iv: owned(blockNonce(block.coreIndex)), additionalData: owned(aad), tagLength: TAG_LENGTH * 8 },
        await key,
        owned(stored),
      );
      return new Uint8Array(plain);
    } catch {
      throw new H4mkError('E_AUTH', 'block authentication failed', { coreIndex: block.coreIndex });
    }
  }

  /**
   * Decrypts `blocks` in parallel (one WebCrypto call each, all in flight
   * together), then decompresses each within its `original_length`. The
   * result keeps the order of `blocks`; payloads are the media bytes.
   */
  async openBlocks<B extends StoredBlock>(blocks: readonly B[]): Promise<B[]> {
    const started = performance.now();
    const out = await Promise.all(
      blocks.map(async (b) => ({ ...b, payload: decompressPayload(await this.open(b), COMPRESSIONS.indexOf(b.compression), b.originalLength, b.coreIndex) })),
    );
    this.lastTiming = { blocks: blocks.length, bytes: blocks.reduce((n, b) => n + b.payload.length, 0), ms: performance.now() - started };
    return out;
  }
}
