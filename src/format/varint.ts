/**
 * Unsigned LEB128 and zig-zag integers (docs/FORMAT.md §2.2).
 * Values are limited to 0 ≤ v ≤ 2^53 − 1 so they are exact JavaScript numbers;
 * encodings MUST be minimal (no trailing 0x80 groups).
 */
import { H4mkError } from './errors.js';

/** Largest value a varint may carry. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;
const MAX_VARINT_BYTES = 8; // 8 × 7 = 56 bits ≥ 53

/** Number of bytes the minimal encoding of `value` takes. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length++;
  }
  return length;
}

/** Writes `value` at `offset`; returns the offset after it. */
export function writeVarint(bytes: Uint8Array, offset: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint value out of range: ${value}`);
  while (value >= 0x80) {
    bytes[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  bytes[offset++] = value;
  return offset;
}

/** Where the varint {@link decodeVarintAt} read last ends (taken right after the call, so no tuple is allocated). */
let varintEnd = 0;

/** §2.2 The varint at `offset` (not beyond `end`), with every rule checked; sets {@link varintEnd}. Errors carry offsets relative to `bytes`. */
function decodeVarintAt(bytes: Uint8Array, offset: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (offset + i >= end) throw new H4mkError('E_TRUNCATED', 'varint runs past the end of its record', { offset: offset + i });
    const byte = bytes[offset + i] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new H4mkError('E_FORMAT', 'varint is not minimally encoded', { offset });
      if (value > MAX_VARINT) throw new H4mkError('E_LIMIT', 'varint exceeds 2^53 - 1', { offset });
      varintEnd = offset + i + 1;
      return value;
    }
    scale *= 0x80;
  }
  throw new H4mkError('E_LIMIT', 'varint longer than 8 bytes', { offset });
}

/**
 * Reads a varint at `offset` (not beyond `end`). Returns the value and the next offset.
 * Errors carry offsets relative to `bytes`.
 */
export function readVarint(bytes: Uint8Array, offset: number, end: number): [value: number, next: number] {
  const value = decodeVarintAt(bytes, offset, end);
  return [value, varintEnd];
}

/**
 * Reads varints one after another without allocating, with the rules and
 * errors of {@link readVarint}; error offsets are `base` + the offset in
 * `bytes`, attributed to `chunk`. The hot loop of segment table decoding
 * reads six per block.
 */
export class VarintReader {
  constructor(
    readonly bytes: Uint8Array,
    /** Where the next varint starts. */
    public offset: number,
    readonly end: number,
    readonly base = 0,
    readonly chunk?: string,
  ) {}

  next(): number {
    const start = this.offset;
    if (start < this.end) {
      // One-byte values (most fields of most entries) take the short path.
      const first = this.bytes[start] as number;
      if (first < 0x80) {
        this.offset = start + 1;
        return first;
      }
    }
    let value: number;
    try {
      value = decodeVarintAt(this.bytes, start, this.end);
    } catch (error) {
      throw error instanceof H4mkError ? error.relocate(this.base, { chunk: this.chunk }) : error;
    }
    this.offset = varintEnd;
    return value;
  }
}

/** Zig-zag maps signed to unsigned: 0,−1,1,−2,… → 0,1,2,3,… (|n| ≤ 2^52 − 1). */
export function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Inverse of {@link zigzag}. */
export function unzigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}
