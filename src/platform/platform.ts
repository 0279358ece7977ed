/**
 * The platform the core runs on, in one interface: the cryptographic
 * primitives, a synchronous AES-256-GCM (where there is one), CRC-32C and the
 * compression codecs. The core never picks one by itself; it is given one,
 * the way @mcap/core is given its decompression handlers:
 *
 *   - `h4mk` (this package's main entry) runs anywhere: the portable
 *     defaults (noble SHA-256/HKDF/HMAC/scrypt, table CRC-32C, no AEAD, the
 *     `none` codec) until `installPlatform` is called;
 *   - `h4mk/node` installs node:crypto, hardware CRC-32C and the zlib/zstd
 *     codecs (src/platform/node.ts), what the CLI and the server use;
 *   - `h4mk/web` installs the browser codecs (zstd wasm, fflate) and leaves
 *     decryption to WebCipher (src/web-platform/platform.ts).
 */
import { type CompressionCodec, registerCodec } from '../compress/codec.js';
import { type Aead, setAead } from '../crypto/aead.js';
import { type CryptoPrimitives, setCryptoPrimitives } from '../crypto/primitives.js';
import { setCrc32cImplementation } from '../format/crc32c.js';

export type { Aead } from '../crypto/aead.js';
export type { CryptoPrimitives } from '../crypto/primitives.js';

/** What a platform gives the core. */
export interface Platform {
  /** For messages: "node", "web", … */
  readonly name: string;
  readonly crypto: CryptoPrimitives;
  /** Synchronous AES-256-GCM, or null where the platform has none (blocks then decrypt asynchronously, e.g. WebCipher). */
  readonly aead: Aead | null;
  /** CRC-32C (Castagnoli), continuing from `previous`. */
  readonly crc32c: (bytes: Uint8Array, previous?: number) => number;
  /** Codecs for §6.3 compression ids (`none` is always there). */
  readonly codecs: readonly CompressionCodec[];
}

let installed: string | null = null;

/** Installs `platform` for the whole process (or page). The last call wins. */
export function installPlatform(platform: Platform): void {
  setCryptoPrimitives(platform.crypto);
  setAead(platform.aead);
  setCrc32cImplementation(platform.crc32c);
  for (const codec of platform.codecs) registerCodec(codec);
  installed = platform.name;
}

/** The name of the installed platform, or null (the portable defaults). */
export function installedPlatform(): string | null {
  return installed;
}
