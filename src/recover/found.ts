/**
 * The blocks recovery accepted for copying, with the CORE header fields the
 * chunk scanner decoded (§6.1): the copy writes them back without decoding
 * the header again.
 */
import type { BlockFields } from '../format/block.js';
import type { ScannedBlock } from '../reader/chunk-scan.js';

/** Where the first damage is, and what it is. */
export type RecoverDamage = { offset: number; code: string; message: string };

/**
 * One block found by the scan, accepted for copying: its header fields and
 * where it lies: a v1 CORE chunk (§6.1; `crc` its chunk CRC), or v2 stored
 * bytes inside a SEGD chunk (§6.5, `framed` false; `crc` the CRC-32C of the
 * stored bytes, taken when the segment's data digest was checked).
 */
export type Found = Omit<BlockFields, 'coreIndex'> & {
  offset: number;
  payloadLength: number;
  crc: number;
  verifiedBy: 'digest' | 'crc';
  framed: boolean;
};

/** The scanned CORE chunk a {@link Found} is made from. */
export type ScannedCore = { offset: number; payloadLength: number; crc: number; block: ScannedBlock };

/**
 * A block as accepted, verified by `verifiedBy`: a scanned CORE chunk (v1), or
 * (`framed` false) a v2 block's stored bytes with its SEGT entry's fields.
 */
export function foundOf(c: Omit<ScannedCore, 'block'> & { block: BlockFields }, verifiedBy: Found['verifiedBy'], framed = true): Found {
  const b = c.block;
  return {
    offset: c.offset,
    payloadLength: c.payloadLength,
    crc: c.crc,
    verifiedBy,
    framed,
    trackNumber: b.trackNumber,
    flags: b.flags,
    compression: b.compression,
    duration: b.duration,
    pts: b.pts,
    dts: b.dts,
    originalLength: b.originalLength,
  };
}

type Column = Float64Array | Uint32Array | Uint16Array | Uint8Array;

function grow<T extends Column>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

/** Accepted blocks, growable, column-wise (a movie has ~10^6 blocks). */
export class FoundList {
  count = 0;
  private offset = new Float64Array(1024);
  private payloadLength = new Uint32Array(1024);
  private crc = new Uint32Array(1024);
  private digest = new Uint8Array(1024);
  private track = new Uint16Array(1024);
  private flags = new Uint8Array(1024);
  private compression = new Uint8Array(1024);
  private duration = new Uint32Array(1024);
  private pts = new Float64Array(1024);
  private dts = new Float64Array(1024);
  private originalLength = new Uint32Array(1024);

  push(f: Found): void {
    if (this.count === this.offset.length) {
      this.offset = grow(this.offset);
      this.payloadLength = grow(this.payloadLength);
      this.crc = grow(this.crc);
      this.digest = grow(this.digest);
      this.track = grow(this.track);
      this.flags = grow(this.flags);
      this.compression = grow(this.compression);
      this.duration = grow(this.duration);
      this.pts = grow(this.pts);
      this.dts = grow(this.dts);
      this.originalLength = grow(this.originalLength);
    }
    const i = this.count++;
    this.offset[i] = f.offset;
    this.payloadLength[i] = f.payloadLength;
    this.crc[i] = f.crc;
    // 0: CRC only; 1: a v1 block its BIDX digest verified; 2: a v2 block its segment's data digest verified.
    this.digest[i] = f.verifiedBy === 'crc' ? 0 : f.framed ? 1 : 2;
    this.track[i] = f.trackNumber;
    this.flags[i] = f.flags;
    this.compression[i] = f.compression;
    this.duration[i] = f.duration;
    this.pts[i] = f.pts;
    this.dts[i] = f.dts;
    this.originalLength[i] = f.originalLength;
  }

  get(i: number): Found {
    return {
      offset: this.offset[i] as number,
      payloadLength: this.payloadLength[i] as number,
      crc: this.crc[i] as number,
      verifiedBy: this.digest[i] === 0 ? 'crc' : 'digest',
      framed: this.digest[i] !== 2,
      trackNumber: this.track[i] as number,
      flags: this.flags[i] as number,
      compression: this.compression[i] as number,
      duration: this.duration[i] as number,
      pts: this.pts[i] as number,
      dts: this.dts[i] as number,
      originalLength: this.originalLength[i] as number,
    };
  }

  truncate(n: number): void {
    this.count = Math.min(this.count, n);
  }

  countDigest(n = this.count): number {
    let k = 0;
    for (let i = 0; i < n; i++) k += this.digest[i] === 0 ? 0 : 1;
    return k;
  }
}
