/**
 * EBML (RFC 8794) primitives for the Matroska scanner and writer: element
 * IDs, variable-size integers, element headers and value codecs. Matroska
 * element IDs are from RFC 9559.
 */
import { concatBytes } from '../../format/bytes.js';
import type { ByteReader } from '../byte-reader.js';
import { MediaError } from '../errors.js';

/** Matroska element IDs used here (RFC 9559 §5.1), with their marker bits. */
export const Id = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Title: 0x7ba9,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagEnabled: 0xb9,
  FlagDefault: 0x88,
  FlagForced: 0x55aa,
  FlagHearingImpaired: 0x55ab,
  FlagVisualImpaired: 0x55ac,
  FlagOriginal: 0x55ae,
  FlagCommentary: 0x55af,
  FlagLacing: 0x9c,
  DefaultDuration: 0x23e383,
  Name: 0x536e,
  Language: 0x22b59c,
  LanguageBCP47: 0x22b59d,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecName: 0x258688,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  DisplayWidth: 0x54b0,
  DisplayHeight: 0x54ba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  BitDepth: 0x6264,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  BlockDuration: 0x9b,
  ReferenceBlock: 0xfb,
  DiscardPadding: 0x75a2,
  Cues: 0x1c53bb6b,
  CuePoint: 0xbb,
  CueTime: 0xb3,
  CueTrackPositions: 0xb7,
  CueTrack: 0xf7,
  CueClusterPosition: 0xf1,
  Void: 0xec,
  Tags: 0x1254c367,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,
} as const;

/** An element header: where it starts, its ID, where its data starts and how long it is (null: unknown size). */
export type ElementHeader = { offset: number; id: number; dataOffset: number; size: number | null; headerLength: number };

/** Length of a variable-size integer from its first byte (1–8), or 0 for an invalid 0x00 byte. */
export function vintLength(first: number): number {
  for (let n = 1; n <= 8; n++) if (first & (0x100 >> n)) return n;
  return 0;
}

/**
 * Reads an element header (ID with its marker, then the data size) at
 * `offset`; `end` bounds it. Sizes with all value bits set mean "unknown".
 */
export async function readElementHeader(reader: ByteReader, offset: number, end: number): Promise<ElementHeader> {
  const head = await reader.peek(offset, Math.min(12, end - offset));
  const idLength = vintLength(head[0] ?? 0);
  if (idLength === 0 || idLength > 4 || idLength >= head.length)
    throw new MediaError('E_MEDIA_FORMAT', `invalid EBML element ID at offset ${offset}`, reader.name);
  let id = 0;
  for (let i = 0; i < idLength; i++) id = id * 256 + (head[i] as number);
  const sizeFirst = head[idLength] as number;
  const sizeLength = vintLength(sizeFirst);
  if (sizeLength === 0 || idLength + sizeLength > head.length)
    throw new MediaError('E_MEDIA_FORMAT', `invalid EBML element size at offset ${offset + idLength}`, reader.name);
  let size = sizeFirst & (0xff >> sizeLength);
  let allOnes = size === 0xff >> sizeLength;
  for (let i = 1; i < sizeLength; i++) {
    const b = head[idLength + i] as number;
    if (b !== 0xff) allOnes = false;
    size = size * 256 + b;
  }
  // An unknown size (all value bits set, e.g. ffmpeg's 8-byte live Segment size) is not a number to check.
  if (!allOnes && !Number.isSafeInteger(size)) throw new MediaError('E_MEDIA_FORMAT', `EBML element size above 2^53 at offset ${offset}`, reader.name);
  return { offset, id, dataOffset: offset + idLength + sizeLength, size: allOnes ? null : size, headerLength: idLength + sizeLength };
}

/** Largest element whose value is read into memory (CodecPrivate, strings). */
export const MAX_LEAF = 16 * 1024 * 1024;

/** Calls `fn` for each child of a sized master element. */
export async function eachChild(reader: ByteReader, parent: ElementHeader, fn: (h: ElementHeader) => Promise<void>): Promise<void> {
  if (parent.size === null) throw new MediaError('E_MEDIA_FORMAT', `master element of unknown size at offset ${parent.offset}`, reader.name);
  const end = parent.dataOffset + parent.size;
  if (end > reader.size) throw new MediaError('E_MEDIA_TRUNCATED', `the file ends inside the element at offset ${parent.offset}`, reader.name);
  let at = parent.dataOffset;
  while (at < end) {
    const h = await readElementHeader(reader, at, end);
    if (h.size === null || h.dataOffset + h.size > end) throw new MediaError('E_MEDIA_FORMAT', `element at offset ${at} overruns its parent`, reader.name);
    await fn(h);
    at = h.dataOffset + h.size;
  }
}

/** The value bytes of a leaf element (a copy), refusing more than {@link MAX_LEAF}. */
export async function readLeaf(reader: ByteReader, h: ElementHeader): Promise<Uint8Array> {
  const size = h.size as number;
  if (size > MAX_LEAF) throw new MediaError('E_MEDIA_UNSUPPORTED', `element of ${size} bytes at offset ${h.offset} is too large`, reader.name);
  return reader.copy(h.dataOffset, size);
}

/** Big-endian unsigned integer of 0–8 bytes (exact below 2^53, checked). */
export function readUint(bytes: Uint8Array): number {
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  if (!Number.isSafeInteger(v)) throw new MediaError('E_MEDIA_FORMAT', 'EBML unsigned integer above 2^53');
  return v;
}

/** Big-endian two's complement integer of 0–8 bytes. */
export function readInt(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  let big = 0n;
  for (const b of bytes) big = (big << 8n) | BigInt(b);
  if (((bytes[0] as number) & 0x80) !== 0) big -= 1n << BigInt(8 * bytes.length);
  const v = Number(big);
  if (!Number.isSafeInteger(v)) throw new MediaError('E_MEDIA_FORMAT', 'EBML signed integer outside ±2^53');
  return v;
}

/** EBML float (4 or 8 bytes; 0 bytes = 0). */
export function readFloat(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length === 4) return view.getFloat32(0);
  if (bytes.length === 8) return view.getFloat64(0);
  return 0;
}

/** EBML string / UTF-8 (trailing zero bytes are padding). */
export function readString(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** Decodes a variable-size integer in memory: [value, length]. */
export function decodeVint(bytes: Uint8Array, offset: number): [number, number] {
  const first = bytes[offset];
  if (first === undefined) throw new MediaError('E_MEDIA_FORMAT', 'EBML vint past the end of a block');
  const n = vintLength(first);
  if (n === 0 || offset + n > bytes.length) throw new MediaError('E_MEDIA_FORMAT', 'invalid EBML vint in a block');
  let v = first & (0xff >> n);
  for (let i = 1; i < n; i++) v = v * 256 + (bytes[offset + i] as number);
  return [v, n];
}

// --- writing -------------------------------------------------------------

/** The bytes of an element ID (its marker bits are part of the number). */
export function idBytes(id: number): Uint8Array {
  const out: number[] = [];
  let v = id;
  while (v > 0) {
    out.unshift(v & 0xff);
    v = Math.floor(v / 256);
  }
  return Uint8Array.from(out);
}

/** A data size as a vint of `width` bytes (default: the shortest that is not all ones). */
export function sizeBytes(size: number, width?: number): Uint8Array {
  let w = width ?? 1;
  if (width === undefined) while (size >= 2 ** (7 * w) - 1) w++;
  if (w > 8 || size >= 2 ** (7 * w) - (width === undefined ? 1 : 0)) throw new RangeError(`EBML size ${size} does not fit ${w} bytes`);
  const out = new Uint8Array(w);
  let v = size;
  for (let i = w - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0] = (out[0] as number) | (0x80 >> (w - 1));
  return out;
}

/** Minimal big-endian unsigned bytes (at least one). */
export function uintBytes(value: number, width?: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`EBML uint must be a non-negative safe integer, got ${value}`);
  let w = width ?? 1;
  if (width === undefined) while (w < 8 && value >= 2 ** (8 * w)) w++;
  const out = new Uint8Array(w);
  let v = value;
  for (let i = w - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

/** Minimal big-endian two's complement bytes. */
export function intBytes(value: number): Uint8Array {
  let w = 1;
  while (w < 8 && (value < -(2 ** (8 * w - 1)) || value >= 2 ** (8 * w - 1))) w++;
  let big = BigInt(value);
  if (big < 0n) big += 1n << BigInt(8 * w);
  const out = new Uint8Array(w);
  for (let i = w - 1; i >= 0; i--) {
    out[i] = Number(big & 0xffn);
    big >>= 8n;
  }
  return out;
}

/** Concatenates byte arrays (the one helper in format/bytes.ts). */
export const concat = concatBytes;

/** A whole element: ID, size, data. */
export function element(id: number, data: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const body = data instanceof Uint8Array ? data : concat(data);
  return concat([idBytes(id), sizeBytes(body.length), body]);
}

export const uintElement = (id: number, v: number): Uint8Array => element(id, uintBytes(v));
export const intElement = (id: number, v: number): Uint8Array => element(id, intBytes(v));
export const stringElement = (id: number, s: string): Uint8Array => element(id, new TextEncoder().encode(s));
export function floatElement(id: number, v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v);
  return element(id, b);
}

/** A Void element of exactly `total` bytes (≥ 2), header included. */
export function voidElement(total: number): Uint8Array {
  if (total < 2) throw new RangeError('a Void element needs at least 2 bytes');
  const sizeWidth = total - 1 > 127 ? 8 : 1;
  const out = new Uint8Array(total);
  out[0] = Id.Void;
  out.set(sizeBytes(total - 1 - sizeWidth, sizeWidth), 1);
  return out;
}
