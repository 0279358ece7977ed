/**
 * A minimal ISO BMFF (ISO/IEC 14496-12) box builder and walker: big-endian
 * fields, boxes and full boxes, and a search for a box by path in bytes
 * another muxer wrote. Portable (no Node imports): the fragmenter runs in
 * browsers too.
 */

/** Appends big-endian fields; `finish` returns the bytes written. */
export class BoxWriter {
  private buf: Uint8Array;
  private view: DataView;
  private at = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.at;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.room(1);
    this.view.setUint8(this.at, v);
    this.at += 1;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.view.setUint16(this.at, v);
    this.at += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.view.setUint32(this.at, v >>> 0);
    this.at += 4;
    return this;
  }

  i32(v: number): this {
    this.room(4);
    this.view.setInt32(this.at, v);
    this.at += 4;
    return this;
  }

  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 field out of range: ${v}`);
    this.room(8);
    this.view.setUint32(this.at, Math.floor(v / 2 ** 32));
    this.view.setUint32(this.at + 4, v % 2 ** 32);
    this.at += 8;
    return this;
  }

  fourcc(text: string): this {
    if (text.length !== 4) throw new RangeError(`not a four-character code: ${text}`);
    for (let i = 0; i < 4; i++) this.u8(text.charCodeAt(i) & 0xff);
    return this;
  }

  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.at, this.at + n);
    this.at += n;
    return this;
  }

  bytes(v: Uint8Array): this {
    this.room(v.length);
    this.buf.set(v, this.at);
    this.at += v.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

/** A box: 32-bit size, type, then the children or fields given. */
export function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  let size = 8;
  for (const p of parts) size += p.length;
  const w = new BoxWriter(size).u32(size).fourcc(type);
  for (const p of parts) w.bytes(p);
  return w.finish();
}

/** A full box: a box whose body starts with version (8 bits) and flags (24 bits). */
export function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Uint8Array {
  const head = new BoxWriter(4).u32(((version & 0xff) << 24) | (flags & 0xffffff)).finish();
  return box(type, head, ...parts);
}

/** Fields built with a writer callback. */
export function fields(write: (w: BoxWriter) => void): Uint8Array {
  const w = new BoxWriter();
  write(w);
  return w.finish();
}

/** The unity matrix of tkhd and mvhd (ISO/IEC 14496-12 §8.2.2, 16.16 and 2.30 fixed point). */
export const UNITY_MATRIX: readonly number[] = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];

/**
 * The whole box (header included) at `path` ("moov/trak/mdia/minf/stbl/stsd")
 * in `bytes`, or null. Only plain container boxes are descended.
 */
export function findBox(bytes: Uint8Array, path: string): Uint8Array | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  let end = bytes.length;
  const names = path.split('/');
  for (let depth = 0; depth < names.length; depth++) {
    let found = false;
    let p = start;
    while (p + 8 <= end) {
      let size = view.getUint32(p);
      let header = 8;
      if (size === 1) {
        if (p + 16 > end) return null;
        size = view.getUint32(p + 8) * 2 ** 32 + view.getUint32(p + 12);
        header = 16;
      } else if (size === 0) size = end - p;
      if (size < header || p + size > end) return null;
      const type = String.fromCharCode(bytes[p + 4] ?? 0, bytes[p + 5] ?? 0, bytes[p + 6] ?? 0, bytes[p + 7] ?? 0);
      if (type === names[depth]) {
        if (depth === names.length - 1) return bytes.subarray(p, p + size);
        start = p + header;
        end = p + size;
        found = true;
        break;
      }
      p += size;
    }
    if (!found) return null;
  }
  return null;
}
