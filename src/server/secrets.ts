/**
 * Tokens and secrets: loading them from the environment or a file, and
 * comparing them in constant time.
 *
 * Why digests: `crypto.timingSafeEqual` needs equal lengths, and comparing
 * lengths first would leak the token's length. Hashing both sides to
 * SHA-256 gives equal-length inputs whatever was sent, so the comparison
 * time depends on neither the token nor the guess.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Shortest token or signing secret accepted (bytes): guessing must be hopeless. */
export const MIN_SECRET_LENGTH = 16;

/** SHA-256 of a token, the form in which the server keeps it. */
export function tokenDigest(token: string | Uint8Array): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Constant-time check of `given` against a kept digest. */
export function tokenMatches(given: string, expected: Buffer): boolean {
  return timingSafeEqual(tokenDigest(given), expected);
}

/**
 * A secret from a file (its bytes, without one trailing newline) or, when no
 * file is given, from the environment variable `envName`; undefined when
 * neither is set. Shorter than {@link MIN_SECRET_LENGTH} is a TypeError that
 * names where it came from, never the value.
 */
export async function loadSecret(file: string | undefined, envName: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  let value: string | undefined;
  let origin: string;
  if (file !== undefined) {
    value = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    origin = file;
  } else {
    value = env[envName];
    origin = `$${envName}`;
    if (value === undefined || value === '') return undefined;
  }
  if (Buffer.byteLength(value) < MIN_SECRET_LENGTH) throw new TypeError(`${origin}: a token or secret must be at least ${MIN_SECRET_LENGTH} bytes`);
  if (/[\r\n]/.test(value)) throw new TypeError(`${origin}: a token or secret must be one line`);
  return value;
}
