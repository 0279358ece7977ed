/**
 * §13.1 The encrypted blocks of one v2 record, sealed together when the
 * record closes instead of one by one as they arrive: the writer gathers each
 * block's plaintext at its place in the record's data (with room for its
 * tag after it) and notes here what the AEAD needs (key, nonce, associated
 * data), packed into a few flat arrays. The record is then sealed in place,
 * on a worker thread where the platform has one (node: node-hash-worker.ts,
 * which then also hashes it), or here.
 *
 * Why: node's AES-256-GCM costs ~8–9 µs per call whatever the block's size,
 * which bound the main thread on small packets (the demo clip's ~345-byte
 * ones packed at 0.07× plain). The bytes are the same whichever thread seals.
 */
import { AAD_LENGTH } from '../format/associated-data.js';
import { aeadSeal, NONCE_LENGTH, TAG_LENGTH } from './aead.js';
import { writeBlockNonce } from './block-nonce.js';

/** Bytes of an AES-256 key. */
const KEY_LENGTH = 32;

/** A record's sealing work, packed (structured-clone friendly): block i's plaintext is `data[at[i], at[i] + length[i])`, its tag goes right after. */
export type SealBatch = {
  count: number;
  at: Float64Array;
  length: Uint32Array;
  /** Index into `keys` (32 bytes each) of block i's key. */
  keyOf: Uint32Array;
  keys: Uint8Array;
  /** 12 bytes per block (§13.1). */
  nonces: Uint8Array;
  /** 104 bytes per block (§13.4). */
  aads: Uint8Array;
};

/** Collects a record's blocks; {@link take} hands the batch over and starts the next. */
export class SealBatchBuilder {
  private at: number[] = [];
  private length: number[] = [];
  private keyOf: number[] = [];
  private keys: Uint8Array[] = [];
  private keyIndex = new Map<Uint8Array, number>();
  private nonces: Uint8Array<ArrayBuffer> = new Uint8Array(64 * NONCE_LENGTH);
  private aads: Uint8Array<ArrayBuffer> = new Uint8Array(64 * AAD_LENGTH);

  get count(): number {
    return this.at.length;
  }

  /**
   * Adds block `coreIndex`, whose plaintext is at `at` (`length` bytes), sealed
   * with `key`; returns where its 104 bytes of associated data go, for the
   * caller to write (§13.4).
   */
  add(at: number, length: number, coreIndex: number, key: Uint8Array): { aads: Uint8Array; offset: number } {
    const i = this.at.length;
    if ((i + 1) * AAD_LENGTH > this.aads.length) {
      this.aads = grow(this.aads, (i + 1) * AAD_LENGTH);
      this.nonces = grow(this.nonces, (i + 1) * NONCE_LENGTH);
    }
    let k = this.keyIndex.get(key);
    if (k === undefined) {
      k = this.keys.push(key) - 1;
      this.keyIndex.set(key, k);
    }
    this.at.push(at);
    this.length.push(length);
    this.keyOf.push(k);
    writeBlockNonce(this.nonces, i * NONCE_LENGTH, coreIndex);
    return { aads: this.aads, offset: i * AAD_LENGTH };
  }

  /** The batch of the blocks added since the last call (null when none). */
  take(): SealBatch | null {
    const count = this.at.length;
    if (count === 0) return null;
    const keys = new Uint8Array(this.keys.length * KEY_LENGTH);
    for (const [k, key] of this.keys.entries()) keys.set(key, k * KEY_LENGTH);
    const batch: SealBatch = {
      count,
      at: Float64Array.from(this.at),
      length: Uint32Array.from(this.length),
      keyOf: Uint32Array.from(this.keyOf),
      keys,
      nonces: this.nonces.slice(0, count * NONCE_LENGTH),
      aads: this.aads.slice(0, count * AAD_LENGTH),
    };
    this.at = [];
    this.length = [];
    this.keyOf = [];
    this.keys = [];
    this.keyIndex = new Map();
    return batch;
  }
}

function grow(bytes: Uint8Array, atLeast: number): Uint8Array<ArrayBuffer> {
  const grown = new Uint8Array(Math.max(atLeast, bytes.length * 2));
  grown.set(bytes);
  return grown;
}

/** Seals every block of `batch` in place in `data`, on this thread. */
export function sealBatchHere(data: Uint8Array, batch: SealBatch): void {
  for (let i = 0; i < batch.count; i++) {
    const at = batch.at[i] as number;
    const length = batch.length[i] as number;
    const k = batch.keyOf[i] as number;
    const sealed = aeadSeal(
      batch.keys.subarray(k * KEY_LENGTH, (k + 1) * KEY_LENGTH),
      batch.nonces.subarray(i * NONCE_LENGTH, (i + 1) * NONCE_LENGTH),
      batch.aads.subarray(i * AAD_LENGTH, (i + 1) * AAD_LENGTH),
      data.subarray(at, at + length),
    );
    if (sealed.length !== length + TAG_LENGTH) throw new Error('AES-GCM gave a sealed block of an unexpected length');
    data.set(sealed, at);
  }
}
