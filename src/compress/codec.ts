/**
 * §6.3 Per-block compression. Codecs are looked up by wire id; decompression
 * is capped at the declared original length and must produce exactly it.
 */
import { COMPRESSIONS, type Compression } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';

/** A compression codec as used for CORE payloads. */
export interface CompressionCodec {
  readonly name: Compression;
  compress(bytes: Uint8Array): Uint8Array;
  /** Decompresses to at most `originalLength` bytes; throws past that cap. */
  decompress(bytes: Uint8Array, originalLength: number): Uint8Array;
}

const registry = new Map<Compression, CompressionCodec>();

/** Registers (or replaces) the codec for `codec.name`. */
export function registerCodec(codec: CompressionCodec): void {
  registry.set(codec.name, codec);
}

/** Wire id of a compression name (§6.3). */
export function compressionId(name: Compression): number {
  const id = COMPRESSIONS.indexOf(name);
  if (id < 0) throw new RangeError(`unknown compression: ${String(name)}`);
  return id;
}

/** The codec for a name, or a TypeError naming the known ones. */
export function getCodec(name: Compression): CompressionCodec {
  const codec = registry.get(name);
  if (codec === undefined) throw new TypeError(`compression ${name} is not available (known: ${[...registry.keys()].join(', ')})`);
  return codec;
}

/** Parses a user-supplied compression name. */
export function parseCompression(name: string): Compression {
  if (!(COMPRESSIONS as readonly string[]).includes(name)) throw new RangeError(`unknown compression ${JSON.stringify(name)} (use ${COMPRESSIONS.join(', ')})`);
  return name as Compression;
}

/**
 * Decompresses a stored payload (codec by wire id) to exactly `originalLength`
 * bytes. Any failure is E_DECOMPRESS attributed to `coreIndex`.
 */
export function decompressPayload(stored: Uint8Array, compression: number, originalLength: number, coreIndex: number): Uint8Array {
  const name = COMPRESSIONS[compression];
  if (name === undefined) throw new H4mkError('E_UNSUPPORTED', `unknown compression codec ${compression}`, { coreIndex });
  if (name === 'none') {
    if (stored.length !== originalLength) throw new H4mkError('E_DECOMPRESS', 'uncompressed block length differs from original_length', { coreIndex });
    return stored;
  }
  let out: Uint8Array;
  try {
    out = getCodec(name).decompress(stored, originalLength);
  } catch (error) {
    if (error instanceof H4mkError) throw error;
    throw new H4mkError('E_DECOMPRESS', `${name} payload does not decompress within ${originalLength} bytes`, { coreIndex, cause: error });
  }
  if (out.length !== originalLength)
    throw new H4mkError('E_DECOMPRESS', `${name} payload decompressed to ${out.length} bytes, ${originalLength} declared`, { coreIndex });
  return out;
}

registerCodec({
  name: 'none',
  compress: (bytes) => bytes,
  decompress: (bytes) => bytes,
});
