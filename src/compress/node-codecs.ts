/**
 * Node implementations of deflate (raw, RFC 1951), brotli (RFC 7932) and
 * zstd (RFC 8878). zlib's `maxOutputLength` and zstd's fixed destination
 * buffer make the declared original length a hard cap (no decompression bombs).
 */
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { createRequire } from 'node:module';
import type { CompressionCodec } from './codec.js';

const zstd = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');

const ZSTD_LEVEL = 3;
const BROTLI_QUALITY = 5;

/** The Node codecs (the Node platform's, src/platform/node.ts). */
export const nodeCodecs: readonly CompressionCodec[] = [
  {
    name: 'deflate',
    compress: (bytes) => deflateRawSync(bytes, { level: 6 }),
    // maxOutputLength must be ≥ 1; an empty original is checked by the caller.
    decompress: (bytes, originalLength) => inflateRawSync(bytes, { maxOutputLength: Math.max(1, originalLength) }),
  },
  {
    name: 'brotli',
    compress: (bytes) =>
      brotliCompressSync(bytes, {
        params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
      }),
    decompress: (bytes, originalLength) => brotliDecompressSync(bytes, { maxOutputLength: Math.max(1, originalLength) }),
  },
  {
    name: 'zstd',
    compress: (bytes) => {
      const out = Buffer.allocUnsafe(zstd.compressBound(bytes.length));
      const n = zstd.compress(out, bytes, ZSTD_LEVEL);
      return out.subarray(0, n);
    },
    decompress: (bytes, originalLength) => {
      // One extra byte: an output that fills it is longer than declared.
      const out = Buffer.allocUnsafe(originalLength + 1);
      const n = zstd.decompress(out, bytes);
      return out.subarray(0, n);
    },
  },
];
