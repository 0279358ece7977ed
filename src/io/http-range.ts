/**
 * HTTP helpers for {@link HttpSource}: `Content-Range` parsing (RFC 9110
 * §14.4), bounded body reading, validators and URL redaction. Uses only what
 * both browsers and Node 20 provide (fetch, streams, URL).
 *
 * @internal
 */

/** A parsed `Content-Range` of a 206 answer: bytes `first..last` (inclusive) of `complete`. */
export type ContentRange = { first: number; last: number; complete: number | null };

const SATISFIED = /^bytes[ \t]+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/i;
const UNSATISFIED = /^bytes[ \t]+\*\/(\d{1,16})$/i;

/** Parses `bytes first-last/complete` (complete may be `*`); null when malformed or inconsistent. */
export function parseContentRange(value: string | null): ContentRange | null {
  const m = value === null ? null : SATISFIED.exec(value.trim());
  if (m === null) return null;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const complete = m[3] === '*' ? null : Number(m[3]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) return null;
  if (complete !== null && (!Number.isSafeInteger(complete) || last >= complete)) return null;
  return { first, last, complete };
}

/** The size in a 416 answer's `Content-Range: bytes *\/size`, or null. */
export function parseUnsatisfiedRange(value: string | null): number | null {
  const m = value === null ? null : UNSATISFIED.exec(value.trim());
  if (m === null) return null;
  const size = Number(m[1]);
  return Number.isSafeInteger(size) ? size : null;
}

/** A non-negative integer `Content-Length`, or null when absent or malformed. */
export function parseContentLength(value: string | null): number | null {
  if (value === null || !/^\d{1,16}$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : null;
}

/** What identifies one version of the remote file. */
export type Validator = { kind: 'etag' | 'last-modified'; value: string };

/**
 * The validator of an answer: its strong ETag, else its Last-Modified date,
 * else null. Weak ETags (`W/…`) cannot be used with If-Range or If-Match
 * (RFC 9110 §13.1.5, §8.8.3.2), so they are ignored.
 */
export function validatorOf(headers: Headers): Validator | null {
  const etag = headers.get('etag');
  if (etag !== null && etag.trim() !== '' && !etag.trim().startsWith('W/')) return { kind: 'etag', value: etag.trim() };
  const lastModified = headers.get('last-modified');
  if (lastModified !== null && lastModified.trim() !== '') return { kind: 'last-modified', value: lastModified.trim() };
  return null;
}

/**
 * `origin + path` of `url`: what error messages print. Query strings and
 * fragments are dropped because presigned object-store URLs carry their
 * signature (a bearer secret) there; credentials are dropped too.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Why a body read stopped early. */
export type BodyOverflow = { overflow: true; received: number };

/**
 * Reads `response`'s body, never holding more than `limit` bytes: beyond it
 * the body is cancelled (so the server stops sending) and an overflow is
 * returned. `expected`, when known, sizes the buffer up front. `onBytes` sees
 * every chunk length as it arrives (for byte counters).
 */
export async function readBodyBounded(
  response: Response,
  limit: number,
  expected: number | null,
  onBytes: (n: number) => void,
): Promise<Uint8Array | BodyOverflow> {
  const body = response.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  let buffer: Uint8Array | null = expected !== null && expected <= limit ? new Uint8Array(expected) : null;
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onBytes(value.length);
      if (received + value.length > limit) {
        received += value.length;
        await reader.cancel().catch(() => undefined);
        return { overflow: true, received };
      }
      if (buffer !== null && received + value.length <= buffer.length) buffer.set(value, received);
      else {
        if (buffer !== null) {
          chunks.push(buffer.subarray(0, received));
          buffer = null;
        }
        chunks.push(value);
      }
      received += value.length;
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
  if (buffer !== null) return received === buffer.length ? buffer : buffer.subarray(0, received);
  const out = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Discards a body we do not use, reading a little so a keep-alive connection can be reused. */
export async function discardBody(response: Response, onBytes: (n: number) => void): Promise<void> {
  try {
    await readBodyBounded(response, 64 * 1024, null, onBytes);
  } catch {
    // The body is of no interest; a failure here changes nothing.
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Seconds of a `Retry-After: <seconds>` header (HTTP dates are ignored), or null. */
export function parseRetryAfter(value: string | null): number | null {
  if (value === null || !/^\d{1,6}$/.test(value.trim())) return null;
  return Number(value.trim());
}
