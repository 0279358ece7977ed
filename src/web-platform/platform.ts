/**
 * Browser replacement of src/platform-node.ts: registers the browser codecs
 * (codecs.ts) and keeps the portable CRC-32C (src/format/crc32c.ts), which
 * is the default, so there is nothing to install for it.
 */
import { crc32cPortable, setCrc32cImplementation } from '../format/crc32c.js';
import { initWebCodecs, registerWebCodecs } from './codecs.js';

let installed: Promise<void> | null = null;

/**
 * Installs the browser platform: the codecs (registered at once; zstd works
 * once the returned promise resolves) and the portable CRC-32C.
 */
export function installWebPlatform(): Promise<void> {
  if (installed === null) {
    registerWebCodecs();
    setCrc32cImplementation(crc32cPortable);
    installed = initWebCodecs();
  }
  return installed;
}

/** For code written against src/platform-node.ts (the alias maps it here). */
export function installNodePlatform(): void {
  void installWebPlatform();
}
