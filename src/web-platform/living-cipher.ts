/**
 * Browser replacement of src/crypto/living-cipher.ts (which uses
 * node:crypto for HMAC and random bytes). It keeps the exports the reader
 * and verify import, with the same bytes: keys from web-platform/keys.ts,
 * the transcript MAC with @noble/hashes HMAC, random ids from
 * `crypto.getRandomValues`. Block decryption goes through aead.ts, which
 * in a browser refuses synchronous AES-GCM: the inspector decrypts with
 * WebCipher (web-cipher.ts) instead of `reader.unlock`.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeAssociatedData } from '../format/associated-data.js';
import type { BlockFields } from '../format/block.js';
import { BlockFlag } from '../format/constants.js';
import { CONTAINER_ID_LENGTH } from '../format/crypto-params.js';
import { H4mkError } from '../format/errors.js';
import { ticksToUs } from '../format/time.js';
import { aeadOpen, aeadSeal, blockNonce } from './aead.js';
import { deriveBlockKey, deriveKeyCheck, deriveTranscriptKey, engineDigest, epochOf, SECRET_LENGTH } from './keys.js';

/** Supplies the key of a (track, epoch), or null when the holder has none. */
export interface BlockKeyProvider {
  keyFor(trackNumber: number, epoch: number): Uint8Array | null;
  /** Why there is no key (for the error message), e.g. "outside the grant". */
  readonly missingReason: string;
}

/** Keys derived on demand from the container secret (and cached). */
export class SecretKeys implements BlockKeyProvider {
  readonly missingReason = 'no key';
  private readonly cache = new Map<string, Uint8Array>();
  constructor(
    private readonly secret: Uint8Array,
    readonly containerId: Uint8Array,
  ) {
    if (secret.length !== SECRET_LENGTH) throw new RangeError(`the shared secret must be ${SECRET_LENGTH} bytes`);
  }

  keyFor(trackNumber: number, epoch: number): Uint8Array {
    const id = `${trackNumber}:${epoch}`;
    let key = this.cache.get(id);
    if (key === undefined) {
      key = deriveBlockKey(this.secret, this.containerId, trackNumber, epoch);
      if (this.cache.size > 4096) this.cache.clear();
      this.cache.set(id, key);
    }
    return key;
  }

  /** §13.2 The key-check value stored in CRYP. */
  keyCheck(): Uint8Array {
    return deriveKeyCheck(this.secret, this.containerId);
  }

  /** §13.5 The transcript MAC key. */
  transcriptKey(): Uint8Array {
    return deriveTranscriptKey(this.secret, this.containerId);
  }
}

/** Per-container encryption context: parameters plus a key provider. */
export type CipherContext = {
  containerId: Uint8Array;
  epochUs: number;
  engineDigest: Uint8Array;
  keys: BlockKeyProvider;
};

/** The epoch of a block of a track with `timescale`. */
export function blockEpoch(ctx: Pick<CipherContext, 'epochUs'>, pts: number, timescale: number): number {
  return epochOf(ticksToUs(pts, timescale), ctx.epochUs);
}

/** §13.1 Not available in a browser (no synchronous AES-GCM): aead.ts throws E_UNSUPPORTED. */
export function sealBlock(ctx: CipherContext, fields: BlockFields, timescale: number, plaintext: Uint8Array): Uint8Array {
  const epoch = blockEpoch(ctx, fields.pts, timescale);
  const key = ctx.keys.keyFor(fields.trackNumber, epoch);
  if (key === null) throw new TypeError(`no key for track ${fields.trackNumber}, epoch ${epoch}`);
  return aeadSeal(key, blockNonce(fields.coreIndex), encodeAssociatedData(ctx.containerId, fields, epoch, ctx.engineDigest), plaintext);
}

/** §13.1 E_KEY when no key covers the block; otherwise E_UNSUPPORTED in a browser (use WebCipher). */
export function openBlock(ctx: CipherContext, fields: BlockFields, timescale: number, stored: Uint8Array): Uint8Array {
  const epoch = blockEpoch(ctx, fields.pts, timescale);
  const key = ctx.keys.keyFor(fields.trackNumber, epoch);
  if (key === null) throw new H4mkError('E_KEY', `cannot decrypt: ${ctx.keys.missingReason} for track ${fields.trackNumber}, epoch ${epoch}`, { coreIndex: fields.coreIndex });
  return aeadOpen(key, blockNonce(fields.coreIndex), encodeAssociatedData(ctx.containerId, fields, epoch, ctx.engineDigest), stored, fields.coreIndex);
}

/**
 * §13.5 The transcript MAC: HMAC-SHA256 under the transcript key of
 * "h4mk/v1/transcript" ‖ container_id ‖ chain_head ‖ u64 block_count ‖
 * u16 track_count ‖ per track (u64 block_count, u64 last core_index or 2^64−1).
 */
export function transcriptMac(key: Uint8Array, containerId: Uint8Array, chainHead: Uint8Array, blockCount: number, tracks: readonly { blockCount: number; lastCoreIndex: number }[]): Uint8Array {
  const h = hmac.create(sha256, key);
  h.update(new TextEncoder().encode('h4mk/v1/transcript'));
  h.update(containerId);
  h.update(chainHead);
  const fixed = new DataView(new ArrayBuffer(10));
  fixed.setBigUint64(0, BigInt(blockCount), true); //  u64 block_count
  fixed.setUint16(8, tracks.length, true); //          u16 track_count
  h.update(new Uint8Array(fixed.buffer));
  for (const t of tracks) {
    const v = new DataView(new ArrayBuffer(16));
    v.setBigUint64(0, BigInt(t.blockCount), true); // u64 block_count
    v.setBigUint64(8, t.blockCount === 0 ? 0xffff_ffff_ffff_ffffn : BigInt(t.lastCoreIndex), true); // u64 last core_index
    h.update(new Uint8Array(v.buffer));
  }
  return h.digest();
}

/** A fresh random container id (§13.2). */
export function newContainerId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(CONTAINER_ID_LENGTH));
}

/** The flags byte an encrypted block carries. */
export function encryptedFlags(flags: number, endOfTrack: boolean): number {
  return flags | BlockFlag.ENCRYPTED | (endOfTrack ? BlockFlag.END_OF_TRACK : 0);
}

/* ------------------------------------------------------------------ seed-shaped API (same exports as the Node module) */

/** The seed's cipher state: a container secret and id. */
export type LivingCipherState = {
  readonly secret: Uint8Array;
  readonly containerId: Uint8Array;
  readonly epochUs: number;
  /** @internal */ readonly keys: SecretKeys;
};

/** The seed's block context: where the block sits (`chunk_index` = core_index). */
export type CoreBlockContext = {
  trackId: number;
  ptsUs: number;
  chunkIndex: number;
  dtsUs?: number;
  durationUs?: number;
  keyframe?: boolean;
  engineId?: string;
  engineFp?: string;
  compression?: number;
  originalLength?: number;
};

/** `init_from_shared_secret`: a state for a new container (random id unless given). */
export function initFromSharedSecret(sharedSecret: Uint8Array, options: { containerId?: Uint8Array; epochUs?: number } = {}): LivingCipherState {
  const containerId = options.containerId ?? newContainerId();
  if (containerId.length !== CONTAINER_ID_LENGTH) throw new RangeError(`containerId must be ${CONTAINER_ID_LENGTH} bytes`);
  const secret = Uint8Array.from(sharedSecret);
  return { secret, containerId, epochUs: options.epochUs ?? 0, keys: new SecretKeys(secret, containerId) };
}

function contextFields(payloadLength: number, ctx: CoreBlockContext): BlockFields {
  return {
    coreIndex: ctx.chunkIndex,
    trackNumber: ctx.trackId,
    flags: (ctx.keyframe ? BlockFlag.KEYFRAME : 0) | BlockFlag.ENCRYPTED,
    compression: ctx.compression ?? 0,
    duration: ctx.durationUs ?? 0,
    pts: ctx.ptsUs,
    dts: ctx.dtsUs ?? ctx.ptsUs,
    originalLength: ctx.originalLength ?? payloadLength,
  };
}

function seedContext(state: LivingCipherState, ctx: CoreBlockContext): CipherContext {
  return { containerId: state.containerId, epochUs: state.epochUs, engineDigest: engineDigest(ctx.engineId ?? '', ctx.engineFp ?? ''), keys: state.keys };
}

/** `encrypt_core_block`: in a browser, E_UNSUPPORTED (no synchronous AES-GCM). */
export function encryptCoreBlock(state: LivingCipherState, payload: Uint8Array, ctx: CoreBlockContext): { header: Uint8Array; ciphertext: Uint8Array } {
  const fields = contextFields(payload.length, ctx);
  const c = seedContext(state, ctx);
  const epoch = blockEpoch(c, fields.pts, 1_000_000);
  return { header: encodeAssociatedData(state.containerId, fields, epoch, c.engineDigest), ciphertext: sealBlock(c, fields, 1_000_000, payload) };
}

/** `decrypt_core_block`: in a browser, E_UNSUPPORTED (no synchronous AES-GCM). */
export function decryptCoreBlock(state: LivingCipherState, ciphertext: Uint8Array, ctx: CoreBlockContext): Uint8Array {
  return openBlock(seedContext(state, ctx), contextFields(Math.max(0, ciphertext.length - 16), ctx), 1_000_000, ciphertext);
}
