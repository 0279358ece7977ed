/**
 * §13 The LivingCipher: per-block AES-256-GCM bound to the block's place in
 * its container, with per-(track, epoch) keys derived from one secret, and a
 * keyed transcript over the whole block sequence.
 *
 * Also the seed-shaped API: `initFromSharedSecret`, `encryptCoreBlock`,
 * `decryptCoreBlock`.
 */
import { encodeAssociatedData } from '../format/associated-data.js';
import type { BlockFields } from '../format/block.js';
import { BlockFlag } from '../format/constants.js';
import { CONTAINER_ID_LENGTH } from '../format/crypto-params.js';
import { H4mkError } from '../format/errors.js';
import { ticksToUs } from '../format/time.js';
import { aeadOpen, aeadSeal, blockNonce } from './aead.js';
import { hmacSha256, randomBytes } from './primitives.js';
import type { SealBatchBuilder } from './seal-batch.js';
import { contextDigest, deriveBlockKey, deriveKeyCheck, deriveTranscriptKey, epochOf, NO_INDEX_CONTEXT, SECRET_LENGTH } from './keys.js';

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
  /** §13.4 The context digest (engine identity, TRAK, META, SAFE) bound into every block. */
  engineDigest: Uint8Array;
  keys: BlockKeyProvider;
};

/** The epoch of a block of a track with `timescale`. */
export function blockEpoch(ctx: Pick<CipherContext, 'epochUs'>, pts: number, timescale: number): number {
  return epochOf(ticksToUs(pts, timescale), ctx.epochUs);
}

/** §13.1 Encrypts a (compressed) payload; `fields.flags` gets ENCRYPTED. Returns ciphertext ‖ tag. */
export function sealBlock(ctx: CipherContext, fields: BlockFields, timescale: number, plaintext: Uint8Array): Uint8Array {
  const epoch = blockEpoch(ctx, fields.pts, timescale);
  const key = ctx.keys.keyFor(fields.trackNumber, epoch);
  if (key === null) throw new TypeError(`no key for track ${fields.trackNumber}, epoch ${epoch}`);
  const aad = encodeAssociatedData(ctx.containerId, fields, epoch, ctx.engineDigest);
  return aeadSeal(key, blockNonce(fields.coreIndex), aad, plaintext);
}

/**
 * §13.1 Notes `fields`' block, whose plaintext lies at `at` (`length` bytes)
 * of its record's data, in `batch`, to be sealed with the record (see
 * seal-batch.ts): the same key, nonce and associated data as {@link sealBlock}.
 */
export function sealLater(ctx: CipherContext, fields: BlockFields, timescale: number, batch: SealBatchBuilder, at: number, length: number): void {
  const epoch = blockEpoch(ctx, fields.pts, timescale);
  const key = ctx.keys.keyFor(fields.trackNumber, epoch);
  if (key === null) throw new TypeError(`no key for track ${fields.trackNumber}, epoch ${epoch}`);
  const slot = batch.add(at, length, fields.coreIndex, key);
  encodeAssociatedData(ctx.containerId, fields, epoch, ctx.engineDigest, slot.aads, slot.offset);
}

/** §13.1 Decrypts stored bytes; E_KEY when no key covers the block, E_AUTH when it does not authenticate. */
export function openBlock(ctx: CipherContext, fields: BlockFields, timescale: number, stored: Uint8Array): Uint8Array {
  const epoch = blockEpoch(ctx, fields.pts, timescale);
  const key = ctx.keys.keyFor(fields.trackNumber, epoch);
  if (key === null)
    throw new H4mkError('E_KEY', `cannot decrypt: ${ctx.keys.missingReason} for track ${fields.trackNumber}, epoch ${epoch}`, { coreIndex: fields.coreIndex });
  const aad = encodeAssociatedData(ctx.containerId, fields, epoch, ctx.engineDigest);
  return aeadOpen(key, blockNonce(fields.coreIndex), aad, stored, fields.coreIndex);
}

/**
 * §13.5 The transcript MAC: HMAC-SHA256 under the transcript key of
 * "h4mk/v1/transcript" ‖ container_id ‖ chain_head ‖ u64 block_count ‖
 * u16 track_count ‖ per track (u64 block_count, u64 last core_index or 2^64−1).
 */
export function transcriptMac(
  key: Uint8Array,
  containerId: Uint8Array,
  chainHead: Uint8Array,
  blockCount: number,
  tracks: readonly { blockCount: number; lastCoreIndex: number }[],
): Uint8Array {
  const fixed = new DataView(new ArrayBuffer(10));
  fixed.setBigUint64(0, BigInt(blockCount), true); //  u64 block_count
  fixed.setUint16(8, tracks.length, true); //          u16 track_count
  const perTrack = new DataView(new ArrayBuffer(16 * tracks.length));
  tracks.forEach((t, i) => {
    perTrack.setBigUint64(16 * i, BigInt(t.blockCount), true); // u64 block_count
    perTrack.setBigUint64(16 * i + 8, t.blockCount === 0 ? 0xffff_ffff_ffff_ffffn : BigInt(t.lastCoreIndex), true); // u64 last core_index
  });
  return hmacSha256(key, new TextEncoder().encode('h4mk/v1/transcript'), containerId, chainHead, new Uint8Array(fixed.buffer), new Uint8Array(perTrack.buffer));
}

/** A fresh random container id (§13.2: unique per container, so keys and nonces never repeat across containers). */
export function newContainerId(): Uint8Array {
  return randomBytes(CONTAINER_ID_LENGTH);
}

/** The flags byte an encrypted block carries. */
export function encryptedFlags(flags: number, endOfTrack: boolean): number {
  return flags | BlockFlag.ENCRYPTED | (endOfTrack ? BlockFlag.END_OF_TRACK : 0);
}

/* ------------------------------------------------------------------ seed-shaped API */

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
  /** Compression codec id of the plaintext (§6.3), default 0. */
  compression?: number;
  /** Length of the payload before compression, default the payload's length. */
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
  return {
    containerId: state.containerId,
    epochUs: state.epochUs,
    engineDigest: contextDigest(ctx.engineId ?? '', ctx.engineFp ?? '', NO_INDEX_CONTEXT),
    keys: state.keys,
  };
}

/**
 * `encrypt_core_block(state, payload, ctx) -> (header, ciphertext)`: `header`
 * is the canonical associated data (§13.4) the ciphertext is bound to.
 * Timestamps are µs (a track with timescale 10^6).
 */
export function encryptCoreBlock(state: LivingCipherState, payload: Uint8Array, ctx: CoreBlockContext): { header: Uint8Array; ciphertext: Uint8Array } {
  const fields = contextFields(payload.length, ctx);
  const c = seedContext(state, ctx);
  const epoch = blockEpoch(c, fields.pts, 1_000_000);
  return { header: encodeAssociatedData(state.containerId, fields, epoch, c.engineDigest), ciphertext: sealBlock(c, fields, 1_000_000, payload) };
}

/** `decrypt_core_block`: the inverse; E_AUTH if the ciphertext or any context field changed. */
export function decryptCoreBlock(state: LivingCipherState, ciphertext: Uint8Array, ctx: CoreBlockContext): Uint8Array {
  const fields = contextFields(Math.max(0, ciphertext.length - 16), ctx);
  return openBlock(seedContext(state, ctx), fields, 1_000_000, ciphertext);
}
