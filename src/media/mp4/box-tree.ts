/**
 * The ISO BMFF box tree (ISO/IEC 14496-12 §4.2): box headers (32- and 64-bit
 * sizes, size 0 = to the end of the parent), container boxes walked into,
 * full-box version and flags. Every size is checked against its parent.
 */
import { MediaError } from '../errors.js';

/** A box: type, absolute offset, header length, total size; children for containers. */
export type Box = { type: string; offset: number; headerLength: number; size: number; data: Uint8Array; children?: Box[] };

/** Container boxes walked into inside moov. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts', 'udta', 'mvex', 'dinf', 'moof', 'traf']);

/** Parses the box at `at` of `bytes` (whose first byte is at file offset `base`), children included. */
export function parseBox(bytes: Uint8Array, at: number, base: number, name: string): Box {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (at + 8 > bytes.length) throw new MediaError('E_MEDIA_FORMAT', `box header overruns its parent at offset ${base + at}`, name);
  let size = view.getUint32(at);
  const type = fourcc(bytes, at + 4);
  let headerLength = 8;
  if (size === 1) {
    size = Number(view.getBigUint64(at + 8));
    headerLength = 16;
  } else if (size === 0) size = bytes.length - at;
  if (size < headerLength || at + size > bytes.length) throw new MediaError('E_MEDIA_FORMAT', `box '${type}' at offset ${base + at} overruns its parent`, name);
  const data = bytes.subarray(at + headerLength, at + size);
  const box: Box = { type, offset: base + at, headerLength, size, data };
  if (CONTAINERS.has(type)) {
    box.children = [];
    let p = 0;
    while (p + 8 <= data.length) {
      const c = parseBox(data, p, base + at + headerLength, name);
      box.children.push(c);
      p += c.size;
    }
  }
  return box;
}

/** The first child of type `type` along a path "a/b/c". */
export function child(box: Box, path: string): Box | undefined {
  let cur: Box | undefined = box;
  for (const type of path.split('/')) cur = cur?.children?.find((c) => c.type === type);
  return cur;
}

/** A full box (ISO/IEC 14496-12 §4.2): version, flags and the body after them. */
export function full(box: Box): { version: number; flags: number; view: DataView; body: Uint8Array } {
  const d = box.data;
  const view = new DataView(d.buffer, d.byteOffset + 4, Math.max(0, d.byteLength - 4));
  return { version: d[0] ?? 0, flags: ((d[1] ?? 0) << 16) | ((d[2] ?? 0) << 8) | (d[3] ?? 0), view, body: d.subarray(4) };
}

/** Four bytes at `at` as a box type. */
export function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);
}
