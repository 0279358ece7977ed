/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and xor-out
 * 0xFFFFFFFF), as used by iSCSI, ext4 and SCTP (docs/FORMAT.md §2.3).
 * A portable table implementation is built in; Node installs a hardware
 * implementation through {@link setCrc32cImplementation}.
 */

/** CRC-32C of `bytes`, continuing from `previous` (0 to start). */
export type Crc32cFunction = (bytes: Uint8Array, previous?: number) => number;

const TABLES = buildTables();

function buildTables(): Uint32Array[] {
  const tables: Uint32Array[] = [];
  const first = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    first[n] = c >>> 0;
  }
  tables.push(first);
  for (let t = 1; t < 8; t++) {
    const table = new Uint32Array(256);
    const prev = tables[t - 1] as Uint32Array;
    for (let n = 0; n < 256; n++) {
      const p = prev[n] as number;
      table[n] = (first[p & 0xff] as number) ^ (p >>> 8);
    }
    tables.push(table);
  }
  return tables;
}

/** Portable slicing-by-8 CRC-32C. */
export function crc32cPortable(bytes: Uint8Array, previous = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = ~previous >>> 0;
  let i = 0;
  const n = bytes.length;
  for (; i + 8 <= n; i += 8) {
    const a = (crc ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24))) >>> 0;
    crc =
      (t7[a & 0xff] as number) ^
      (t6[(a >>> 8) & 0xff] as number) ^
      (t5[(a >>> 16) & 0xff] as number) ^
      (t4[a >>> 24] as number) ^
      (t3[bytes[i + 4] as number] as number) ^
      (t2[bytes[i + 5] as number] as number) ^
      (t1[bytes[i + 6] as number] as number) ^
      (t0[bytes[i + 7] as number] as number);
  }
  for (; i < n; i++) crc = (t0[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

let implementation: Crc32cFunction = crc32cPortable;

/** CRC-32C of `bytes`, continuing from `previous`. */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  return implementation(bytes, previous);
}

/** Replaces the CRC-32C implementation (it must agree with {@link crc32cPortable}). */
export function setCrc32cImplementation(fn: Crc32cFunction): void {
  implementation = fn;
}
