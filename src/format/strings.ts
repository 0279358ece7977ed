/** UTF-8 helpers shared by the chunk codecs (§2.5 strings). */
import type { Cursor } from './bytes.js';
import { H4mkError } from './errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes strict UTF-8; invalid sequences are E_FORMAT at `offset`. */
export function fromUtf8(bytes: Uint8Array, offset: number): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new H4mkError('E_FORMAT', 'invalid UTF-8', { offset });
  }
}

/** Reads a `u8 length | bytes` string. */
export function readShortString(c: Cursor, what: string): string {
  const length = c.u8(`${what} length`);
  const at = c.fileOffset;
  return fromUtf8(c.bytesView(length, what), at);
}

/** Parses a JSON object (§5.2): anything else is E_FORMAT. */
export function parseJsonObject(bytes: Uint8Array, offset: number, what: string): Record<string, unknown> {
  const text = fromUtf8(bytes, offset);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new H4mkError('E_FORMAT', `${what} is not valid JSON`, { offset });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new H4mkError('E_FORMAT', `${what} must be a JSON object`, { offset });
  return value as Record<string, unknown>;
}
