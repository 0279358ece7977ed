/**
 * §4 Chunk framing: `type[4] | u32 length | payload[length] | u32 crc32c`.
 * The CRC covers the type, the length and the payload.
 */
import { peekU32 } from './bytes.js';
import { CHUNK_HEADER_LENGTH, CHUNK_OVERHEAD } from './constants.js';
import { crc32c } from './crc32c.js';
import { H4mkError } from './errors.js';

/** A decoded chunk: `payload` is a view into the input bytes. */
export type Chunk = {
  type: string;
  payload: Uint8Array;
  /** Offset of the chunk's first byte, relative to the input bytes. */
  start: number;
  /** Offset just after the chunk's CRC, relative to the input bytes. */
  end: number;
};

const TYPE_PATTERN = /^[A-Z0-9 ]{4}$/;

/** Encodes the 4-character `type` as bytes (§4: uppercase ASCII letters, digits, space). */
export function chunkTypeBytes(type: string): Uint8Array {
  if (!TYPE_PATTERN.test(type)) throw new RangeError(`invalid chunk type: ${JSON.stringify(type)}`);
  return Uint8Array.of(type.charCodeAt(0), type.charCodeAt(1), type.charCodeAt(2), type.charCodeAt(3));
}

/** Frames `payload` as a chunk of `type`. */
export function encodeChunk(type: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(CHUNK_OVERHEAD + payload.length);
  writeChunkInto(out, 0, type, payload);
  return out;
}

/** Writes a framed chunk into `out` at `offset`; returns the offset after it. */
export function writeChunkInto(out: Uint8Array, offset: number, type: string, payload: Uint8Array): number {
  out.set(chunkTypeBytes(type), offset);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(offset + 4, payload.length, true);
  out.set(payload, offset + CHUNK_HEADER_LENGTH);
  const end = offset + CHUNK_HEADER_LENGTH + payload.length;
  view.setUint32(end, crc32c(out.subarray(offset, end)), true);
  return end + 4;
}

/** The CRC-32C trailer for a chunk whose header and payload are given separately. */
export function chunkCrc(header: Uint8Array, payload: Uint8Array): number {
  return crc32c(payload, crc32c(header));
}

/** Reads the type and declared payload length of the chunk at `offset` without checking its CRC. */
export function peekChunkHeader(bytes: Uint8Array, offset: number, base = 0): { type: string; length: number } {
  if (offset + CHUNK_HEADER_LENGTH > bytes.length) {
    throw new H4mkError('E_TRUNCATED', `chunk header: needs ${CHUNK_HEADER_LENGTH} bytes, ${Math.max(0, bytes.length - offset)} available`, {
      offset: base + offset,
    });
  }
  const type = String.fromCharCode(bytes[offset] as number, bytes[offset + 1] as number, bytes[offset + 2] as number, bytes[offset + 3] as number);
  if (!TYPE_PATTERN.test(type)) throw new H4mkError('E_FORMAT', 'invalid chunk type', { offset: base + offset });
  return { type, length: peekU32(bytes, offset + 4) };
}

/**
 * Decodes the chunk at `offset`, which must end by `limit`. Checks the type
 * syntax, the declared length against `limit` and `maxPayload`, and the CRC.
 *
 * `stronger`: a check of the payload that catches everything the CRC-32C
 * does (a SHA-256 the caller holds, §6.5). When it passes, the CRC is not
 * computed; when it fails, the CRC is, so that damage is still E_CHECKSUM and
 * the caller reports the rest: the same codes as checking the CRC first.
 */
export function decodeChunk(
  bytes: Uint8Array,
  offset: number,
  options: { limit?: number; base?: number; maxPayload?: number; expect?: string; stronger?: (payload: Uint8Array) => boolean } = {},
): Chunk {
  const limit = options.limit ?? bytes.length;
  const base = options.base ?? 0;
  const { type, length } = peekChunkHeader(bytes.subarray(0, limit), offset, base);
  if (options.expect !== undefined && type !== options.expect) {
    throw new H4mkError('E_FORMAT', `expected a ${options.expect} chunk, found ${JSON.stringify(type)}`, { offset: base + offset, chunk: options.expect });
  }
  if (options.maxPayload !== undefined && length > options.maxPayload) {
    throw new H4mkError('E_LIMIT', `${type} payload of ${length} bytes exceeds the limit of ${options.maxPayload}`, { offset: base + offset, chunk: type });
  }
  const end = offset + CHUNK_OVERHEAD + length;
  if (end > limit) {
    throw new H4mkError('E_TRUNCATED', `${type} chunk declares ${length} payload bytes, ${Math.max(0, limit - offset - CHUNK_OVERHEAD)} available`, {
      offset: base + offset,
      chunk: type,
    });
  }
  const crcOffset = end - 4;
  if (options.stronger?.(bytes.subarray(offset + CHUNK_HEADER_LENGTH, crcOffset)) === true) {
    return { type, payload: bytes.subarray(offset + CHUNK_HEADER_LENGTH, crcOffset), start: offset, end };
  }
  const expected = peekU32(bytes, crcOffset);
  const actual = crc32c(bytes.subarray(offset, crcOffset));
  if (expected !== actual) throw new H4mkError('E_CHECKSUM', `${type} chunk CRC-32C mismatch`, { offset: base + crcOffset, chunk: type });
  return { type, payload: bytes.subarray(offset + CHUNK_HEADER_LENGTH, crcOffset), start: offset, end };
}
