/**
 * HTTP helpers for {@link HttpSource}: `Content-Range` parsing (RFC 9110
 * §14.4), bounded body reading, validators and URL redaction. Uses only what
 * both browsers and Node 20 provide (fetch, streams, URL).
 *
 * @internal
 */
import { H4mkError, type H4mkErrorCode } from '../format/errors.js';

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

/** What an error response says about itself: the `{"error":{"code","message"}}` of h4mk serve (and of many APIs), an RFC 9457 problem, or a short plain text. */
export type ServerSays = { code: string | null; message: string };

/** Bytes of an error body read to find what it says. */
const ERROR_BODY_LIMIT = 8 * 1024;

/**
 * Reads at most 8 KiB of an error response and returns what it says, or null
 * (no body, too long, binary, HTML). The rest of the body is discarded.
 */
export async function serverSays(response: Response, onBytes: (n: number) => void): Promise<ServerSays | null> {
  let body: Uint8Array | BodyOverflow;
  try {
    body = await readBodyBounded(response, ERROR_BODY_LIMIT, null, onBytes);
  } catch {
    return null;
  }
  if (!(body instanceof Uint8Array) || body.length === 0) return null;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(body).trim();
  const type = response.headers.get('content-type') ?? '';
  if (/json/i.test(type) || text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown }; title?: unknown; detail?: unknown };
      const e = parsed.error;
      if (e !== undefined && typeof e.message === 'string') return { code: typeof e.code === 'string' ? e.code : null, message: clip(e.message) };
      if (typeof parsed.detail === 'string' || typeof parsed.title === 'string') return { code: null, message: clip(String(parsed.detail ?? parsed.title)) };
    } catch {
      return null;
    }
    return null;
  }
  if (/^text\/plain/i.test(type) && !hasControl(text, false)) return { code: null, message: clip(text.split('\n')[0] as string) };
  return null;
}

/** Container-data codes a server may name: the error keeps the code, so a corrupt index reads as E_CHECKSUM, not "HTTP 422". */
const CONTAINER_CODES = new Set<H4mkErrorCode>([
  'E_TRUNCATED',
  'E_MAGIC',
  'E_VERSION',
  'E_CHECKSUM',
  'E_DIGEST',
  'E_FORMAT',
  'E_LIMIT',
  'E_UNSUPPORTED',
  'E_DECOMPRESS',
  'E_ORDER',
  'E_AUTH',
  'E_KEY',
  'E_SIGNATURE',
  'E_TRANSCRIPT',
]);

/** The error for an answer `says` with `status`: the server's code and message, then the status. */
export function serverError(displayUrl: string, status: number, says: ServerSays): H4mkError {
  const code = says.code !== null && CONTAINER_CODES.has(says.code as H4mkErrorCode) ? (says.code as H4mkErrorCode) : 'E_IO';
  const named = says.code === null || code !== 'E_IO' ? '' : `${says.code}: `;
  return new H4mkError(code, `${displayUrl} answered HTTP ${status}: ${named}${says.message}`);
}

/** True when `text` holds a control character (C0 below tab only, unless `all`: every C0 and DEL). */
function hasControl(text: string, all: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < (all ? 0x20 : 0x09) || (all && c === 0x7f)) return true;
  }
  return false;
}

/** One line of at most 300 characters, control characters replaced by spaces. */
function clip(text: string): string {
  let line = '';
  for (const ch of text) line += hasControl(ch, true) ? ' ' : ch;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
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
