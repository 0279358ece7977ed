/** Installs the Node fast paths: hardware CRC-32C and the zlib/zstd codecs. */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { registerNodeCodecs } from './compress/node-codecs.js';
import { setCrc32cImplementation } from './format/crc32c.js';

let installed = false;

export function installNodePlatform(): void {
  if (installed) return;
  installed = true;
  registerNodeCodecs();
  // The native function accepts any Uint8Array view (its type says Buffer).
  setCrc32cImplementation((bytes, previous = 0) => nativeCrc32c(bytes as Buffer, previous));
}
