/**
 * How binary fields appear in every JSON document: hex for digests and
 * keys, base64 for codec configuration and payloads, never raw bytes.
 */

/** Hex of a digest. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Base64 of binary data. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
