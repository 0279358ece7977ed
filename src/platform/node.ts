/**
 * The Node platform: node:crypto's primitives and AES-256-GCM, hardware
 * CRC-32C (@node-rs/crc32) and the zlib/zstd codecs. Installed by the Node
 * entry (src/node.ts), the CLI and the server.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { nodeCodecs } from '../compress/node-codecs.js';
import { nodeAead } from '../crypto/node-aead.js';
import { nodePrimitives } from '../crypto/node-primitives.js';
import { installPlatform, type Platform } from './platform.js';

/** The Node platform. */
export const nodePlatform: Platform = {
  name: 'node',
  crypto: nodePrimitives,
  aead: nodeAead,
  // The native function accepts any Uint8Array view (its type says Buffer).
  crc32c: (bytes, previous = 0) => nativeCrc32c(bytes as Buffer, previous),
  codecs: nodeCodecs,
};

let installed = false;

/** Installs {@link nodePlatform} (once). */
export function installNodePlatform(): void {
  if (installed) return;
  installed = true;
  installPlatform(nodePlatform);
}
