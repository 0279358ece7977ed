/**
 * The options, results and types of an {@link HttpSource} (src/io/http-source.ts),
 * and how the options and the URL given to `HttpSource.open` are checked.
 */
import { redactUrl } from './http-range.js';
import type { RandomAccessSource, SourceStats } from './source.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** How later requests ask the server to confirm the file is the one first seen. */
export type HttpConditional = 'if-range' | 'if-match' | 'none';

/** Options of {@link HttpSource.open}. Sizes are in bytes. */
export type HttpSourceOptions = {
  /**
   * Extra request headers (e.g. `Authorization`). Sent with every request as
   * given; the source itself only adds `Range` and the conditional header
   * (fetch adds `Accept-Encoding: identity` to range requests), none of which
   * a presigned URL signs.
   */
  headers?: HeadersInit;
  /** Reads issued together and at most this far apart are fetched by one request. Default 64 KiB. */
  coalesceGap?: number;
  /** A merged request never spans more than this (a single larger read is still one request). Default 16 MiB. */
  maxRequestLength?: number;
  /** Byte budget of the LRU cache of recently read regions; 0 disables it. Default 8 MiB. */
  cacheBudget?: number;
  /**
   * For servers that answer 200 (the whole file) instead of 206: the most
   * body bytes read. A file up to this size is then held in memory and served
   * from there (no further requests); a larger one fails with `E_IO`.
   * Default 16 MiB.
   */
  fullBodyBudget?: number;
  /** Suffix length fetched (and cached) by {@link HttpSource.size} when the size is not known yet. Default 64 KiB. */
  probeLength?: number;
  /** Retries after a network error or a 5xx answer (never after a 4xx). Default 3. */
  retries?: number;
  /** First backoff delay; doubles per retry, with jitter (half to all of it). Default 100 ms. */
  retryBaseDelayMs?: number;
  /** Cap on one backoff delay (also on a `Retry-After` the server asks for). Default 5000 ms. */
  retryMaxDelayMs?: number;
  /** Range requests in flight at once; further reads wait and are merged. Default 4. */
  maxConcurrentRequests?: number;
  /**
   * Change detection after the first answer, which fixes the file's strong
   * ETag (else its Last-Modified): `'if-range'` sends `If-Range` (a changed
   * file comes back as a 200 with a different validator); `'if-match'` sends
   * `If-Match` / `If-Unmodified-Since` (a changed file comes back as 412);
   * `'none'` sends neither. In every mode a different ETag or size in an
   * answer is reported as `E_CHANGED`. Default `'if-range'`.
   */
  conditional?: HttpConditional;
  /** Aborts every request in flight and every later one; reads reject with the signal's reason. */
  signal?: AbortSignal;
  /** The fetch to use; default the global `fetch`. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Browsers: the request credentials mode (e.g. `'include'` for cookies cross-origin). */
  credentials?: RequestCredentials;
};

/** The defaults of {@link HttpSourceOptions}. */
export const HTTP_SOURCE_DEFAULTS = Object.freeze({
  coalesceGap: 64 * KiB,
  maxRequestLength: 16 * MiB,
  cacheBudget: 8 * MiB,
  fullBodyBudget: 16 * MiB,
  probeLength: 64 * KiB,
  retries: 3,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 5000,
  maxConcurrentRequests: 4,
  conditional: 'if-range' as HttpConditional,
});

/** Counters of an {@link HttpSource}; they only grow. */
export type HttpSourceStats = SourceStats & {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Response body bytes received (including bytes of bodies cut short). */
  bytesRead: number;
  /** Logical reads: calls of `read`, `readHead` and `readTail`. */
  reads: number;
  /** Logical reads answered entirely from memory, without a request. */
  cacheHits: number;
  /** Requests that were retries after a network error or a 5xx. */
  retries: number;
};

/** What {@link HttpSource.readTail} and {@link HttpSource.readHead} return. */
export type PrefetchResult = {
  /** The bytes read (fewer than asked when the file is shorter). */
  bytes: Uint8Array;
  /** The file size, learnt from the answer. */
  size: number;
};

/** A source that can fetch its head or tail together with its size in one round trip. */
export interface PrefetchSource extends RandomAccessSource {
  /** The last `length` bytes (the whole file when shorter) and the size. */
  readTail(length: number): Promise<PrefetchResult>;
  /** The first `length` bytes (the whole file when shorter) and the size. */
  readHead(length: number): Promise<PrefetchResult>;
}

/** True when `source` implements {@link PrefetchSource}. */
export function isPrefetchSource(source: RandomAccessSource): source is PrefetchSource {
  const s = source as Partial<PrefetchSource>;
  return typeof s.readTail === 'function' && typeof s.readHead === 'function';
}

export type ResolvedOptions = Required<Omit<HttpSourceOptions, 'headers' | 'signal' | 'fetch' | 'credentials'>> &
  Pick<HttpSourceOptions, 'headers' | 'signal' | 'credentials'>;

/** The URL to request: verbatim when absolute, else resolved against the page (browsers).
 *
 * @throws TypeError for an invalid URL or another scheme. */
export function resolveUrl(url: string | URL): string {
  let parsed: URL;
  let href: string;
  if (url instanceof URL) {
    parsed = url;
    href = url.href;
  } else if (typeof url === 'string') {
    try {
      parsed = new URL(url);
      href = url; // verbatim: a presigned query string must reach the server byte for byte
    } catch {
      const base = (globalThis as { location?: { href?: string } }).location?.href;
      if (base === undefined) throw new TypeError(`not an absolute URL: ${redactUrl(url)}`);
      parsed = new URL(url, base);
      href = parsed.href;
    }
  } else {
    throw new TypeError('url must be a string or a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`HttpSource needs an http: or https: URL, got ${parsed.protocol}`);
  return href;
}

/** Checks the options and fills in the defaults. */
export function resolveOptions(options: HttpSourceOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const d = HTTP_SOURCE_DEFAULTS;
  const resolved: ResolvedOptions = {
    coalesceGap: integerOption('coalesceGap', options.coalesceGap, d.coalesceGap, 0),
    maxRequestLength: integerOption('maxRequestLength', options.maxRequestLength, d.maxRequestLength, 1),
    cacheBudget: integerOption('cacheBudget', options.cacheBudget, d.cacheBudget, 0),
    fullBodyBudget: integerOption('fullBodyBudget', options.fullBodyBudget, d.fullBodyBudget, 0),
    probeLength: integerOption('probeLength', options.probeLength, d.probeLength, 1),
    retries: integerOption('retries', options.retries, d.retries, 0),
    retryBaseDelayMs: integerOption('retryBaseDelayMs', options.retryBaseDelayMs, d.retryBaseDelayMs, 0),
    retryMaxDelayMs: integerOption('retryMaxDelayMs', options.retryMaxDelayMs, d.retryMaxDelayMs, 0),
    maxConcurrentRequests: integerOption('maxConcurrentRequests', options.maxConcurrentRequests, d.maxConcurrentRequests, 1),
    conditional: options.conditional ?? d.conditional,
    headers: options.headers,
    signal: options.signal,
    credentials: options.credentials,
  };
  if (!['if-range', 'if-match', 'none'].includes(resolved.conditional)) {
    throw new TypeError(`conditional must be 'if-range', 'if-match' or 'none', got ${JSON.stringify(resolved.conditional)}`);
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('fetch must be a function');
  if (options.fetch === undefined && typeof globalThis.fetch !== 'function') throw new TypeError('no global fetch: pass options.fetch');
  return resolved;
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

export function checkPrefetchLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 1) throw new RangeError(`prefetch length must be a positive integer, got ${length}`);
}
