/**
 * Checked little-endian reading and writing (docs/FORMAT.md §2.1).
 * Every read goes through a {@link Cursor}; a read past its end throws
 * `E_TRUNCATED` naming the offset, the bytes needed and the bytes available.
 * 64-bit wire integers become numbers only when they are exact (≤ 2^53 − 1).
 */
import { H4mkError } from './errors.js';

const TWO_32 = 0x1_0000_0000;
const MAX_HIGH = 0x20_0000; // 2^21: |hi · 2^32| < 2^53

/** A bounds-checked reader over `bytes[start, end)`; offsets in errors are `base + position`. */
export class Cursor {
  private readonly view: DataView;
  /** Current position, relative to `bytes`. */
  position: number;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
    /** Absolute file offset of `bytes[0]`, used in error offsets. */
    readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = start;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  /** Absolute file offset of the current position. */
  get fileOffset(): number {
    return this.base + this.position;
  }

  /** Throws E_TRUNCATED unless `length` more bytes are available. */
  need(length: number, what: string): void {
    if (length > this.end - this.position) {
      throw new H4mkError('E_TRUNCATED', `${what}: needs ${length} bytes, ${this.end - this.position} available`, {
        offset: this.base + this.position,
      });
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.view.getUint8(this.position++);
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.position, true);
    this.position += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.position, true);
    this.position += 4;
    return v;
  }

  /** u64 that must be ≤ 2^53 − 1. */
  u64(what = 'u64'): number {
    this.need(8, what);
    const lo = this.view.getUint32(this.position, true);
    const hi = this.view.getUint32(this.position + 4, true);
    if (hi >= MAX_HIGH) throw new H4mkError('E_LIMIT', `${what} exceeds 2^53 - 1`, { offset: this.fileOffset });
    this.position += 8;
    return hi * TWO_32 + lo;
  }

  /** i64 that must lie within ±(2^53 − 1). */
  i64(what = 'i64'): number {
    this.need(8, what);
    const lo = this.view.getUint32(this.position, true);
    const hi = this.view.getInt32(this.position + 4, true);
    // hi = −2^21 with lo = 0 is −2^53, one past the range.
    if (hi >= MAX_HIGH || hi < -MAX_HIGH || (hi === -MAX_HIGH && lo === 0))
      throw new H4mkError('E_LIMIT', `${what} outside ±(2^53 - 1)`, { offset: this.fileOffset });
    this.position += 8;
    return hi * TWO_32 + lo;
  }

  /** A view (not a copy) of the next `length` bytes. */
  bytesView(length: number, what = 'bytes'): Uint8Array {
    this.need(length, what);
    const v = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return v;
  }

  skip(length: number, what = 'skip'): void {
    this.need(length, what);
    this.position += length;
  }

  /** Throws E_FORMAT unless the next `length` bytes are all zero (reserved fields). */
  zeros(length: number, what: string): void {
    const at = this.fileOffset;
    const v = this.bytesView(length, what);
    for (const b of v) if (b !== 0) throw new H4mkError('E_FORMAT', `${what} must be zero`, { offset: at });
  }
}

/** A growable little-endian byte writer. */
export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buffer.buffer);
  }

  private ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
    return this;
  }

  u64(v: number): this {
    this.ensure(8);
    writeI64(this.view, this.length, v);
    this.length += 8;
    return this;
  }

  i64(v: number): this {
    return this.u64(v);
  }

  bytes(v: Uint8Array): this {
    this.ensure(v.length);
    this.buffer.set(v, this.length);
    this.length += v.length;
    return this;
  }

  varint(v: number): this {
    this.ensure(10);
    let value = v;
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint value out of range: ${v}`);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
    return this;
  }

  /** The written bytes, not copied: valid until the next write. */
  written(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /** The written bytes (a copy, so the writer may be reused). */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Writes a signed or unsigned 64-bit little-endian integer from an exact number. */
export function writeI64(view: DataView, offset: number, v: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`64-bit value is not a safe integer: ${v}`);
  const hi = Math.floor(v / TWO_32);
  const lo = v - hi * TWO_32;
  view.setUint32(offset, lo, true);
  view.setInt32(offset + 4, hi, true);
}

/** Reads a u32 at `offset` without a cursor (caller has checked bounds). */
export function peekU32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] as number) | ((bytes[offset + 1] as number) << 8) | ((bytes[offset + 2] as number) << 16) | ((bytes[offset + 3] as number) << 24)) >>> 0
  );
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lower-case hexadecimal. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Parses lower- or upper-case hexadecimal (whitespace ignored). */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new RangeError('invalid hexadecimal string');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Node's Buffer where there is one (faster on large inputs); the encoders below do without it. */
const NodeBuffer = (
  globalThis as { Buffer?: { from(b: ArrayBufferLike, o: number, l: number): { toString(e: string): string }; from(s: string, e: string): Uint8Array } }
).Buffer;

/** Standard base64 (RFC 4648 §4), padded. */
export function toBase64(bytes: Uint8Array): string {
  if (NodeBuffer !== undefined) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Bytes of standard, padded base64 (RFC 4648 §4); anything else is a TypeError ("not base64"). */
export function fromBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new TypeError('not base64');
  if (NodeBuffer !== undefined) return new Uint8Array(NodeBuffer.from(text, 'base64'));
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The parts, one after another, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
