/**
 * How binary fields appear in every JSON document: hex for digests and
 * keys, base64 for codec configuration and payloads, never raw bytes
 * (the format's own encoders, src/format/bytes.ts).
 */
export { toBase64 as base64, toHex as hex } from '../format/bytes.js';
