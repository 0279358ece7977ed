/**
 * Zstandard frame headers (RFC 8878 §3.1), read before any decompression so
 * that a stored payload's declared sizes can be checked against the block's
 * `original_length` (docs/FORMAT.md §6.3: the cap is hard). No I/O, no wasm.
 */
import { H4mkError } from '../format/errors.js';

/** One frame of a stored payload: where it is and what it declares. */
export type ZstdFrame = {
  /** Offset of the frame's first byte. */
  start: number;
  /** Offset just past the frame. */
  end: number;
  /** Frame_Content_Size: bytes the frame decompresses to (0 for a skippable frame). */
  contentSize: number;
  /** Skippable frames (magic 0x184D2A5?) carry no content. */
  skippable: boolean;
};

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

function fail(message: string, coreIndex: number | undefined, offset: number): never {
  throw new H4mkError('E_DECOMPRESS', `zstd: ${message} (byte ${offset} of the stored payload)`, { coreIndex });
}

/**
 * Walks every frame of `bytes` (frame header, block headers, checksum)
 * without decompressing. Every Zstandard frame MUST declare its content size:
 * one that does not (streamed output) is refused, since its size could not be
 * checked against the cap before the work and memory are spent.
 */
export function zstdFrames(bytes: Uint8Array, coreIndex?: number): ZstdFrame[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: ZstdFrame[] = [];
  let p = 0;
  const need = (n: number, what: string): void => {
    if (p + n > bytes.length) fail(`truncated ${what}`, coreIndex, p);
  };
  while (p < bytes.length) {
    const start = p;
    need(4, 'frame magic');
    const magic = view.getUint32(p, true);
    p += 4;
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(4, 'skippable frame size');
      const size = view.getUint32(p, true); //                    u32 Frame_Size
      p += 4;
      need(size, 'skippable frame');
      p += size;
      frames.push({ start, end: p, contentSize: 0, skippable: true });
      continue;
    }
    if (magic !== ZSTD_MAGIC) fail('not a Zstandard frame', coreIndex, start);
    need(1, 'frame header');
    const descriptor = bytes[p] as number; //                      Frame_Header_Descriptor
    p += 1;
    const fcsFlag = descriptor >>> 6; //                           bits 7-6 Frame_Content_Size_Flag
    const singleSegment = (descriptor & 0x20) !== 0; //            bit 5 Single_Segment_Flag
    if ((descriptor & 0x08) !== 0) fail('reserved bit set in the frame header', coreIndex, p - 1); // bit 3 reserved
    const checksum = (descriptor & 0x04) !== 0; //                 bit 2 Content_Checksum_Flag
    const dictFlag = descriptor & 0x03; //                         bits 1-0 Dictionary_ID_Flag
    if (!singleSegment) {
      need(1, 'window descriptor');
      p += 1; //                                                   Window_Descriptor
    }
    const dictLength = [0, 1, 2, 4][dictFlag] as number;
    need(dictLength, 'dictionary id');
    let dictId = 0;
    for (let i = 0; i < dictLength; i++) dictId += (bytes[p + i] as number) * 2 ** (8 * i);
    if (dictId !== 0) fail('frames with a dictionary are not allowed (§6.3)', coreIndex, p);
    p += dictLength;
    const fcsLength = fcsFlag === 0 ? (singleSegment ? 1 : 0) : ([0, 2, 4, 8][fcsFlag] as number);
    if (fcsLength === 0) fail('the frame does not declare its content size', coreIndex, start);
    need(fcsLength, 'frame content size');
    let contentSize: number;
    if (fcsLength === 1) contentSize = bytes[p] as number;
    else if (fcsLength === 2)
      contentSize = view.getUint16(p, true) + 256; // 2-byte field is offset by 256
    else if (fcsLength === 4) contentSize = view.getUint32(p, true);
    else {
      const high = view.getUint32(p + 4, true);
      if (high !== 0) fail('frame content size above 4 GiB', coreIndex, p);
      contentSize = view.getUint32(p, true);
    }
    p += fcsLength;
    // Blocks: 3-byte little-endian header, bit 0 Last_Block, bits 1-2 Block_Type, bits 3-23 Block_Size.
    for (;;) {
      need(3, 'block header');
      const header = (bytes[p] as number) | ((bytes[p + 1] as number) << 8) | ((bytes[p + 2] as number) << 16);
      p += 3;
      const last = (header & 1) !== 0;
      const type = (header >>> 1) & 3;
      const size = header >>> 3;
      if (type === 3) fail('reserved block type', coreIndex, p - 3);
      const contentLength = type === 1 ? 1 : size; // RLE blocks store one byte
      need(contentLength, 'block');
      p += contentLength;
      if (last) break;
    }
    if (checksum) {
      need(4, 'content checksum');
      p += 4;
    }
    frames.push({ start, end: p, contentSize, skippable: false });
  }
  return frames;
}

/**
 * Checks that the frames of a stored payload declare exactly `originalLength`
 * bytes in total. Throws E_DECOMPRESS before any decompression otherwise.
 */
export function checkZstdSizes(frames: readonly ZstdFrame[], originalLength: number, coreIndex?: number): void {
  let total = 0;
  for (const f of frames) {
    total += f.contentSize;
    if (total > originalLength) {
      throw new H4mkError('E_DECOMPRESS', `zstd frames declare more than original_length (${originalLength} bytes)`, { coreIndex });
    }
  }
  if (total !== originalLength) throw new H4mkError('E_DECOMPRESS', `zstd frames declare ${total} bytes, original_length is ${originalLength}`, { coreIndex });
}
