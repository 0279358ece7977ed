/**
 * Browser replacement of src/compress/node-codecs.ts (node:zlib and a native
 * zstd addon): the §6.3 codecs for the inspector, with `original_length` as a
 * hard cap (docs/FORMAT.md §6.3, no decompression bombs).
 *
 * - zstd: @bokuweb/zstd-wasm. Its frames are walked first (zstd-frames.ts):
 *   a frame without a declared content size, or frames declaring more than
 *   `original_length`, are refused before any decompression; each frame is
 *   then decompressed into exactly its declared size.
 * - deflate: fflate's synchronous inflate into a buffer of
 *   `original_length + 1` bytes (longer output is cut there and then refused
 *   by the caller's length check); synchronous, unlike DecompressionStream.
 * - brotli: no capped synchronous decoder in browsers: E_UNSUPPORTED.
 * - none: always (registered by compress/codec.ts).
 *
 * Decompression only: the inspector never writes containers.
 */
import { decompress as zstdDecompress, init as zstdInit } from '@bokuweb/zstd-wasm';
import { inflateSync } from 'fflate';
import type { CompressionCodec } from '../compress/codec.js';
import { H4mkError } from '../format/errors.js';
import { checkZstdSizes, zstdFrames } from './zstd-frames.js';

let zstdReady: Promise<void> | null = null;

/** Loads the zstd wasm module (once). zstd blocks need it done before they are read. */
export function initWebCodecs(): Promise<void> {
  zstdReady ??= zstdInit();
  return zstdReady;
}

function noCompression(name: string): never {
  throw new H4mkError('E_UNSUPPORTED', `the browser build reads ${name} blocks but does not write them`);
}

/** zstd within the cap: sizes checked from the frame headers first, then frame by frame. */
export function zstdDecompressCapped(bytes: Uint8Array, originalLength: number): Uint8Array {
  const frames = zstdFrames(bytes);
  checkZstdSizes(frames, originalLength);
  const out = new Uint8Array(originalLength);
  let at = 0;
  for (const f of frames) {
    if (f.skippable) continue;
    if (f.contentSize === 0) continue;
    // The library allocates the frame's declared content size and decompresses into exactly that.
    const part = zstdDecompress(bytes.subarray(f.start, f.end));
    if (part.length !== f.contentSize) throw new H4mkError('E_DECOMPRESS', `zstd frame decompressed to ${part.length} bytes, ${f.contentSize} declared`);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Raw DEFLATE within the cap: the output buffer is one byte longer than allowed. */
export function inflateCapped(bytes: Uint8Array, originalLength: number): Uint8Array {
  return inflateSync(bytes, { out: new Uint8Array(originalLength + 1) });
}

/** The browser codecs (zstd needs {@link initWebCodecs} to have resolved). */
export const webCodecs: readonly CompressionCodec[] = [
  { name: 'zstd', compress: () => noCompression('zstd'), decompress: zstdDecompressCapped },
  { name: 'deflate', compress: () => noCompression('deflate'), decompress: inflateCapped },
  {
    name: 'brotli',
    compress: () => noCompression('brotli'),
    decompress: () => {
      throw new H4mkError(
        'E_UNSUPPORTED',
        'brotli blocks cannot be read in the browser (no decoder that honours the original_length cap); re-pack with zstd or deflate',
      );
    },
  },
];
