/**
 * h4mk for browsers: the portable entry (src/index.ts), the browser platform
 * (zstd wasm and fflate codecs, capped; noble hashes) to install with
 * `installWebPlatform()`, and WebCipher, which decrypts blocks with WebCrypto
 * (the browser has no synchronous AES-GCM). What the inspector imports.
 */
export * from './index.js';
export { installWebPlatform, webPlatform } from './web-platform/platform.js';
export { parseKeyText, type StoredBlock, WebCipher, type WebKeyInput } from './web-platform/web-cipher.js';
