/**
 * The browser platform: the portable primitives (noble), table CRC-32C, no
 * synchronous AES-GCM (blocks decrypt with WebCipher), and the browser
 * codecs (zstd wasm, fflate; capped). Installed by the web entry's
 * {@link installWebPlatform}.
 */
import * as noble from '../crypto/noble-primitives.js';
import { crc32cPortable } from '../format/crc32c.js';
import { installPlatform, type Platform } from '../platform/platform.js';
import { initWebCodecs, webCodecs } from './codecs.js';

/** The browser platform. */
export const webPlatform: Platform = { name: 'web', crypto: noble, aead: null, crc32c: crc32cPortable, codecs: webCodecs };

let installed: Promise<void> | null = null;

/** Installs {@link webPlatform}: at once, except zstd, which works once the returned promise resolves (its wasm). */
export function installWebPlatform(): Promise<void> {
  if (installed === null) {
    installPlatform(webPlatform);
    installed = initWebCodecs();
  }
  return installed;
}
