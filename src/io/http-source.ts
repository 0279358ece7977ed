/**
 * A random-access source over HTTP range requests, for Node 20 and browsers
 * (global `fetch` only; no Node-only imports here).
 *
 * Cost model (what the tests assert against a real nginx):
 * - {@link HttpSource.open} sends nothing. The first answer tells the size
 *   (`Content-Range: bytes a-b/size`); HEAD is never used (Node 20's fetch
 *   drops the keep-alive connection after a HEAD).
 * - {@link HttpSource.readTail} is one suffix request (`bytes=-n`) that gives the
 *   tail and the size; {@link HttpSource.readHead} one prefix request. What they
 *   return is cached, so a reader opening a container whose index fits in `n`
 *   bytes costs one request (docs/FORMAT.md §8.1).
 * - Reads issued together (same tick, or while earlier requests are in flight
 *   and the concurrency limit is reached) that are adjacent or closer than
 *   `coalesceGap` are merged into one request. Every range sent is bounded:
 *   `bytes=a-b` or `bytes=-n`, never the open-ended `bytes=a-` (an aborted
 *   open-ended range makes the server send megabytes nobody reads).
 * - Recently read regions are kept in an LRU cache within `cacheBudget` bytes;
 *   a read inside them costs no request, a read partly inside them requests
 *   only the missing part.
 *
 * Failures are {@link H4mkError}s: `E_NOT_FOUND` (404, 410), `E_CHANGED` (the
 * file changed between two answers), `E_IO` (anything else, after retries for
 * network errors and 5xx). Messages name the URL as origin + path only: a
 * presigned URL's query string is a secret.
 *
 * Browsers, cross-origin: the server must list `Content-Range` and `ETag` in
 * `Access-Control-Expose-Headers`, and since suffix ranges, `If-Range` and
 * `If-Match` are not CORS-safelisted, the first request of a source is
 * preceded by a preflight (cacheable with `Access-Control-Max-Age`).
 */
import { H4mkError } from '../format/errors.js';
import { RegionCache } from './http-cache.js';
import {
  discardBody,
  parseContentLength,
  parseContentRange,
  parseRetryAfter,
  parseUnsatisfiedRange,
  readBodyBounded,
  redactUrl,
  sleep,
  type Validator,
  validatorOf,
  serverError,
  serverSays,
} from './http-range.js';
import { checkReadArguments, type RandomAccessSource, type SourceStats } from './source.js';

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

type ResolvedOptions = Required<Omit<HttpSourceOptions, 'headers' | 'signal' | 'fetch' | 'credentials'>> &
  Pick<HttpSourceOptions, 'headers' | 'signal' | 'credentials'>;

type RangeSpec = { kind: 'bounded'; start: number; end: number } | { kind: 'suffix'; length: number };

/** Bytes received for `[start, start + bytes.length)`. */
type Fetched = { start: number; bytes: Uint8Array };

/** One logical read waiting for bytes: `[offset, end)`, of which `[needStart, needEnd)` must be fetched. */
type Member = {
  offset: number;
  end: number;
  needStart: number;
  needEnd: number;
  /** Allocated once the size is known, and pre-filled from the cache. */
  out: Uint8Array | null;
  resolve: (bytes: Uint8Array) => void;
  reject: (error: unknown) => void;
};

/** A bounded range request in flight and the reads it will answer. */
type Flight = { start: number; end: number; members: Member[] };

/** A failure worth retrying: a network error or a 5xx. */
class Retryable extends Error {
  constructor(
    readonly status: number | null,
    readonly retryAfter: number | null,
    cause: unknown,
  ) {
    super(status === null ? 'network error' : `HTTP ${status}`, { cause });
  }
}

/**
 * A {@link RandomAccessSource} over an `http:` or `https:` URL, read with range
 * requests. See the module comment for what each call costs.
 */
export class HttpSource implements PrefetchSource {
  /** Counters; see {@link HttpSourceStats}. */
  readonly stats: HttpSourceStats = { requests: 0, bytesRead: 0, reads: 0, cacheHits: 0, retries: 0 };
  /** The URL as error messages print it: origin + path, no query string. */
  readonly displayUrl: string;

  /** The URL exactly as given (a presigned query string stays verbatim); private so it is not printed by accident. */
  readonly #url: string;
  readonly #options: ResolvedOptions;
  readonly #fetch: (input: string, init: RequestInit) => Promise<Response>;
  readonly #controller = new AbortController();
  readonly #cache: RegionCache;
  readonly #unlinkSignal: () => void;
  #size: number | undefined;
  /** The whole file, when the server answered 200 and it fitted the budget. */
  #whole: Uint8Array | null = null;
  #validator: Validator | null = null;
  #pending: Member[] = [];
  readonly #flights = new Set<Flight>();
  #flushScheduled = false;
  #sizeProbe: Promise<number> | null = null;
  #closed = false;
  /** The first E_CHANGED: sticky, since cached bytes may belong to the old file. */
  #broken: H4mkError | null = null;

  private constructor(url: string, options: ResolvedOptions, fetchFn: HttpSourceOptions['fetch']) {
    this.#url = url;
    this.displayUrl = redactUrl(url);
    this.#options = options;
    this.#fetch = (input, init) => (fetchFn ?? globalThis.fetch)(input, init);
    this.#cache = new RegionCache(options.cacheBudget);
    const signal = options.signal;
    if (signal === undefined) this.#unlinkSignal = () => undefined;
    else {
      const onAbort = (): void => this.#abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#unlinkSignal = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) this.#abort(signal.reason);
    }
  }

  /**
   * A source for `url` (absolute `http:`/`https:`; in a browser also relative
   * to the page). Sends no request: the first read, `readHead`, `readTail` or
   * `size()` does.
   *
   * @throws TypeError for an invalid URL or another scheme; RangeError for a bad option.
   */
  static async open(url: string | URL, options: HttpSourceOptions = {}): Promise<HttpSource> {
    return new HttpSource(resolveUrl(url), resolveOptions(options), options.fetch);
  }

  /** The size, once an answer has told it; undefined before. */
  get knownSize(): number | undefined {
    return this.#size;
  }

  /** Bytes held by the region cache now (at most `cacheBudget`). */
  get cachedBytes(): number {
    return this.#cache.heldBytes;
  }

  /** False once the server has answered 200 instead of 206 (the whole file is then held in memory). */
  get rangesSupported(): boolean {
    return this.#whole === null;
  }

  /**
   * The file size. When no answer has told it yet this costs one suffix
   * request of `probeLength` bytes, whose bytes are cached.
   */
  async size(): Promise<number> {
    this.#checkUsable();
    if (this.#size !== undefined) return this.#size;
    this.#sizeProbe ??= this.#suffix(this.#options.probeLength).then(
      (r) => {
        this.#sizeProbe = null;
        return r.size;
      },
      (error: unknown) => {
        this.#sizeProbe = null;
        throw error;
      },
    );
    return this.#sizeProbe;
  }

  /**
   * The last `length` bytes of the file (all of it when shorter) and its size.
   * Before the size is known this is one suffix request `Range: bytes=-length`;
   * after, an ordinary read of the tail (cache and coalescing apply).
   *
   * @throws RangeError unless `length` is a positive safe integer.
   */
  async readTail(length: number): Promise<PrefetchResult> {
    checkPrefetchLength(length);
    this.#checkUsable();
    if (this.#size === undefined) {
      this.stats.reads++;
      return this.#suffix(length);
    }
    const size = this.#size;
    const start = Math.max(0, size - length);
    return { bytes: await this.read(start, size - start), size };
  }

  /**
   * The first `length` bytes of the file (all of it when shorter) and its
   * size: one request `Range: bytes=0-(length-1)` unless cached.
   *
   * @throws RangeError unless `length` is a positive safe integer.
   */
  async readHead(length: number): Promise<PrefetchResult> {
    checkPrefetchLength(length);
    const bytes = await this.read(0, length);
    const size = this.#size;
    if (size === undefined) throw new H4mkError('E_IO', `${this.displayUrl} did not tell its size`);
    return { bytes, size };
  }

  /**
   * `length` bytes at `offset`; fewer when the file ends first (callers check).
   * Served from memory when cached; otherwise queued and fetched with the
   * reads issued alongside it.
   */
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadArguments(offset, length);
    this.#checkUsable();
    this.stats.reads++;
    if (length === 0) return new Uint8Array(0);
    return new Promise<Uint8Array>((resolve, reject) => {
      const m: Member = { offset, end: offset + length, needStart: offset, needEnd: offset + length, out: null, resolve, reject };
      if (!this.#prepare(m)) return;
      const flight = this.#coveringFlight(m);
      if (flight !== undefined) flight.members.push(m);
      else {
        this.#pending.push(m);
        this.#scheduleFlush();
      }
    });
  }

  /** Aborts requests in flight, rejects waiting reads and drops the cache. Later calls throw. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#abort(new DOMException(`the HttpSource for ${this.displayUrl} was closed`, 'AbortError'));
    this.#closed = true;
    this.#unlinkSignal();
    this.#cache.clear();
    this.#whole = null;
  }

  // ── reads ──────────────────────────────────────────────────────────────

  #checkUsable(): void {
    if (this.#closed) throw new TypeError(`the HttpSource for ${this.displayUrl} is closed`);
    if (this.#broken !== null) throw this.#broken;
    if (this.#controller.signal.aborted) throw this.#controller.signal.reason;
  }

  #abort(reason: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
    const waiting = this.#pending;
    this.#pending = [];
    for (const m of waiting) m.reject(reason);
  }

  /**
   * Clips `m` to the size when known and fills it from memory. Returns false
   * when `m` was answered (from the cache, the whole file, or as empty).
   */
  #prepare(m: Member): boolean {
    const size = this.#size;
    if (size === undefined) return true;
    const end = Math.min(m.end, size);
    if (end <= m.offset) {
      m.resolve(new Uint8Array(0));
      return false;
    }
    m.end = end;
    if (this.#whole !== null) {
      this.stats.cacheHits++;
      m.resolve(this.#whole.slice(m.offset, end));
      return false;
    }
    if (m.out === null || m.out.length !== end - m.offset) m.out = new Uint8Array(end - m.offset);
    const missing = this.#cache.fill(m.out, m.offset);
    if (missing === null) {
      this.stats.cacheHits++;
      m.resolve(m.out);
      return false;
    }
    m.needStart = missing.start;
    m.needEnd = missing.end;
    return true;
  }

  #coveringFlight(m: Member): Flight | undefined {
    for (const f of this.#flights) if (f.start <= m.needStart && m.needEnd <= f.end) return f;
    return undefined;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // A microtask: every read issued in the current synchronous run (e.g. a
    // Promise.all over many reads) is queued before the flush groups them.
    queueMicrotask(() => this.#flush());
  }

  /** Groups waiting reads into bounded requests and starts as many as the concurrency limit allows. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#controller.signal.aborted) return;
    const waiting = this.#pending;
    this.#pending = [];
    const open: Member[] = [];
    for (const m of waiting) {
      if (!this.#prepare(m)) continue;
      const flight = this.#coveringFlight(m);
      if (flight !== undefined) flight.members.push(m);
      else open.push(m);
    }
    open.sort((a, b) => a.needStart - b.needStart);
    const { coalesceGap, maxRequestLength, maxConcurrentRequests } = this.#options;
    const groups: Flight[] = [];
    for (const m of open) {
      const g = groups[groups.length - 1];
      if (g !== undefined && m.needStart <= g.end + coalesceGap && Math.max(g.end, m.needEnd) - g.start <= maxRequestLength) {
        g.end = Math.max(g.end, m.needEnd);
        g.members.push(m);
      } else groups.push({ start: m.needStart, end: m.needEnd, members: [m] });
    }
    for (const g of groups) {
      if (this.#flights.size >= maxConcurrentRequests) this.#pending.push(...g.members);
      else this.#launch(g);
    }
  }

  #launch(flight: Flight): void {
    this.#flights.add(flight);
    const settle = (answer: (m: Member) => void): void => {
      // Leave the in-flight set before answering, in the same turn, so no read
      // can attach to a flight that has already answered.
      this.#flights.delete(flight);
      for (const m of flight.members) answer(m);
      if (this.#pending.length > 0) this.#scheduleFlush();
    };
    this.#request({ kind: 'bounded', start: flight.start, end: flight.end }).then(
      (fetched) => settle((m) => this.#deliver(m, fetched)),
      (error: unknown) => settle((m) => m.reject(error)),
    );
  }

  /** Answers `m` from its pre-filled bytes plus `fetched`. */
  #deliver(m: Member, fetched: Fetched): void {
    const size = this.#size;
    if (size === undefined) {
      m.reject(new H4mkError('E_IO', `${this.displayUrl} did not tell its size`));
      return;
    }
    const end = Math.min(m.end, size);
    if (end <= m.offset) {
      m.resolve(new Uint8Array(0));
      return;
    }
    const out = m.out !== null && m.out.length === end - m.offset ? m.out : new Uint8Array(end - m.offset);
    const needEnd = Math.min(m.needEnd, end);
    const have = this.#whole !== null ? { start: 0, bytes: this.#whole } : fetched;
    if (have.start > m.needStart || have.start + have.bytes.length < needEnd) {
      m.reject(new H4mkError('E_IO', `${this.displayUrl} answered with fewer bytes than asked`, { offset: m.needStart }));
      return;
    }
    out.set(have.bytes.subarray(m.needStart - have.start, needEnd - have.start), m.needStart - m.offset);
    m.resolve(out);
  }

  /** One suffix request (size unknown): the tail and the size. */
  async #suffix(length: number): Promise<PrefetchResult> {
    const fetched = await this.#request({ kind: 'suffix', length });
    const size = this.#size;
    if (size === undefined) throw new H4mkError('E_IO', `${this.displayUrl} did not tell its size`);
    const start = Math.max(0, size - length);
    const from = start - fetched.start;
    return { bytes: fetched.bytes.slice(from, from + (size - start)), size };
  }

  // ── requests ───────────────────────────────────────────────────────────

  /** One range request with retries: network errors and 5xx are retried with backoff, nothing else. */
  async #request(spec: RangeSpec): Promise<Fetched> {
    const { retries, retryBaseDelayMs, retryMaxDelayMs } = this.#options;
    const signal = this.#controller.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#attempt(spec);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!(error instanceof Retryable)) throw error;
        if (attempt >= retries) {
          const what = error.status === null ? `a network error (${describeCause(error.cause)})` : `HTTP ${error.status}`;
          throw new H4mkError('E_IO', `reading ${this.displayUrl} failed with ${what} after ${attempt + 1} attempts`, { cause: error.cause ?? error });
        }
        const cap = Math.min(retryMaxDelayMs, retryBaseDelayMs * 2 ** attempt);
        let delay = cap / 2 + (Math.random() * cap) / 2;
        if (error.retryAfter !== null) delay = Math.min(retryMaxDelayMs, Math.max(delay, error.retryAfter * 1000));
        await sleep(delay, signal);
        this.stats.retries++;
      }
    }
  }

  /** Sends one request and interprets the answer. */
  async #attempt(spec: RangeSpec): Promise<Fetched> {
    const headers = new Headers(this.#options.headers);
    // No Accept-Encoding of ours: fetch itself adds `identity` to range requests (Fetch standard, HTTP-network-or-cache fetch).
    headers.set('range', spec.kind === 'suffix' ? `bytes=-${spec.length}` : `bytes=${spec.start}-${spec.end - 1}`);
    const validator = this.#validator;
    const conditional = validator === null ? 'none' : this.#options.conditional;
    if (validator !== null && conditional === 'if-range') headers.set('if-range', validator.value);
    if (validator !== null && conditional === 'if-match') {
      headers.set(validator.kind === 'etag' ? 'if-match' : 'if-unmodified-since', validator.value);
    }
    const signal = this.#controller.signal;
    const init: RequestInit = { method: 'GET', headers, signal, redirect: 'follow' };
    if (this.#options.credentials !== undefined) init.credentials = this.#options.credentials;
    this.stats.requests++;
    let response: Response;
    try {
      response = await this.#fetch(this.#url, init);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new Retryable(null, null, error);
    }
    const status = response.status;
    if (status === 206) return this.#accept206(response, spec);
    if (status === 200) return this.#accept200(response, conditional === 'if-range');
    const ordinary = status === 412 || status === 404 || status === 410 || status === 416 || (status >= 500 && status <= 599);
    const says = ordinary ? null : await serverSays(response, this.#count);
    if (says !== null) throw serverError(this.displayUrl, status, says);
    await discardBody(response, this.#count);
    if (status === 412) throw this.#changed(`the server answered 412 Precondition Failed to ${validator?.kind === 'etag' ? 'If-Match' : 'If-Unmodified-Since'}`);
    if (status === 404 || status === 410) throw new H4mkError('E_NOT_FOUND', `${this.displayUrl} was not found (HTTP ${status})`);
    if (status === 416) throw this.#unsatisfiable(response, spec);
    if (status >= 500 && status <= 599) throw new Retryable(status, parseRetryAfter(response.headers.get('retry-after')), undefined);
    const text = response.statusText === '' ? '' : ` ${response.statusText}`;
    throw new H4mkError('E_IO', `reading ${this.displayUrl} failed with HTTP ${status}${text}`);
  }

  readonly #count = (n: number): void => {
    this.stats.bytesRead += n;
  };

  /** A 206: check Content-Range against what was asked and the file first seen, then read exactly its body. */
  async #accept206(response: Response, spec: RangeSpec): Promise<Fetched> {
    const header = response.headers.get('content-range');
    const range = parseContentRange(header);
    const fail = async (why: string): Promise<never> => {
      await response.body?.cancel().catch(() => undefined);
      throw new H4mkError('E_IO', `${this.displayUrl} ${why}`);
    };
    if (range === null) {
      return fail(
        header === null
          ? 'answered 206 without Content-Range (a cross-origin server must list it in Access-Control-Expose-Headers)'
          : `answered 206 with a malformed Content-Range ${JSON.stringify(header.slice(0, 80))}`,
      );
    }
    if (!isIdentity(response)) return fail(`answered with Content-Encoding ${response.headers.get('content-encoding')} to a range request`);
    const complete = range.complete ?? this.#size;
    if (complete === undefined) return fail('answered without telling the file size (Content-Range total "*")');
    const changed = this.#versionChange(response.headers, complete);
    if (changed !== null) {
      await response.body?.cancel().catch(() => undefined);
      throw this.#changed(changed);
    }
    if (spec.kind === 'bounded') {
      const atEof = range.last === complete - 1;
      if (range.first !== spec.start || range.last > spec.end - 1 || (range.last < spec.end - 1 && !atEof)) {
        return fail(`answered bytes ${range.first}-${range.last} to a request for bytes ${spec.start}-${spec.end - 1}`);
      }
    } else if (range.last !== complete - 1 || range.first !== Math.max(0, complete - spec.length)) {
      return fail(`answered bytes ${range.first}-${range.last}/${complete} to a request for the last ${spec.length} bytes`);
    }
    const expected = range.last - range.first + 1;
    const body = await this.#readBody(response, expected, expected);
    if (!(body instanceof Uint8Array)) throw new H4mkError('E_IO', `${this.displayUrl} sent more bytes than its Content-Range says`);
    if (body.length < expected) throw new Retryable(null, null, new Error(`body ended after ${body.length} of ${expected} bytes`));
    this.#learn(response.headers, complete);
    this.#cache.insert(range.first, body);
    return { start: range.first, bytes: body };
  }

  /**
   * A 200: the whole file. After `If-Range` with a different validator it is a
   * changed file. Otherwise the server ignores ranges: read the body within
   * `fullBodyBudget` and serve everything from it, or fail clearly.
   */
  async #accept200(response: Response, sentIfRange: boolean): Promise<Fetched> {
    const cancel = (): Promise<void> => response.body?.cancel().catch(() => undefined) ?? Promise.resolve();
    const validator = validatorOf(response.headers);
    if (sentIfRange && (validator === null || validator.value !== this.#validator?.value)) {
      await cancel();
      throw this.#changed('If-Range was answered with the whole file, so its validator no longer matches');
    }
    if (!isIdentity(response)) {
      await cancel();
      throw new H4mkError('E_IO', `${this.displayUrl} answered with Content-Encoding ${response.headers.get('content-encoding')}`);
    }
    const budget = this.#options.fullBodyBudget;
    const declared = parseContentLength(response.headers.get('content-length'));
    const tooBig = (size: number | null): H4mkError =>
      new H4mkError(
        'E_IO',
        `${this.displayUrl} does not support range requests (it answered 200 instead of 206) and the file` +
          `${size === null ? '' : ` (${size} bytes)`} is larger than the ${budget}-byte budget for reading it whole (option fullBodyBudget)`,
      );
    if (declared !== null && declared > budget) {
      await cancel();
      throw tooBig(declared);
    }
    if (declared !== null) {
      const changed = this.#versionChange(response.headers, declared);
      if (changed !== null) {
        await cancel();
        throw this.#changed(changed);
      }
    }
    const body = await this.#readBody(response, budget, declared);
    if (!(body instanceof Uint8Array)) throw tooBig(null);
    if (declared !== null && body.length < declared) throw new Retryable(null, null, new Error(`body ended after ${body.length} of ${declared} bytes`));
    const changed = this.#versionChange(response.headers, body.length);
    if (changed !== null) throw this.#changed(changed);
    this.#learn(response.headers, body.length);
    this.#whole = body;
    this.#cache.clear();
    return { start: 0, bytes: body };
  }

  /** Reads a body within `limit`; a failure while it streams is a network error (retried). */
  async #readBody(response: Response, limit: number, expected: number | null): Promise<Uint8Array | { overflow: true }> {
    try {
      return await readBodyBounded(response, limit, expected, this.#count);
    } catch (error) {
      if (this.#controller.signal.aborted) throw this.#controller.signal.reason;
      throw new Retryable(null, null, error);
    }
  }

  /** Why this answer is from another version of the file than the first one, or null. */
  #versionChange(headers: Headers, size: number): string | null {
    if (this.#size !== undefined && size !== this.#size) return `its size went from ${this.#size} to ${size} bytes`;
    const now = validatorOf(headers);
    const first = this.#validator;
    if (first !== null && now !== null && now.kind === first.kind && now.value !== first.value) {
      return `its ${first.kind === 'etag' ? 'ETag' : 'Last-Modified'} went from ${first.value} to ${now.value}`;
    }
    return null;
  }

  /** Remembers the size and the validator of the first answer. */
  #learn(headers: Headers, size: number): void {
    this.#size ??= size;
    this.#validator ??= validatorOf(headers);
  }

  /** The E_CHANGED error; it becomes sticky and the bytes held from the old file are dropped. */
  #changed(detail: string): H4mkError {
    const error = new H4mkError('E_CHANGED', `${this.displayUrl} changed while being read: ${detail}`);
    this.#broken ??= error;
    this.#cache.clear();
    this.#whole = null;
    const waiting = this.#pending;
    this.#pending = [];
    for (const m of waiting) m.reject(this.#broken);
    return error;
  }

  #unsatisfiable(response: Response, spec: RangeSpec): H4mkError {
    const total = parseUnsatisfiedRange(response.headers.get('content-range'));
    if (total !== null && this.#size !== undefined && total !== this.#size) return this.#changed(`its size went from ${this.#size} to ${total} bytes`);
    if (total !== null) this.#size ??= total;
    const asked = spec.kind === 'suffix' ? `the last ${spec.length} bytes` : `bytes ${spec.start}-${spec.end - 1}`;
    const size = total ?? this.#size;
    return new H4mkError(
      'E_IO',
      `range not satisfiable (HTTP 416): ${asked} of ${this.displayUrl}${size === undefined ? '' : `, a file of ${size} bytes`}`,
      { offset: spec.kind === 'bounded' ? spec.start : undefined },
    );
  }
}

/** True when the body is the file's own bytes (no Content-Encoding other than identity). */
function isIdentity(response: Response): boolean {
  const encoding = response.headers.get('content-encoding')?.trim().toLowerCase() ?? '';
  return encoding === '' || encoding === 'identity';
}

function resolveUrl(url: string | URL): string {
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

function resolveOptions(options: HttpSourceOptions): ResolvedOptions {
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

function checkPrefetchLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 1) throw new RangeError(`prefetch length must be a positive integer, got ${length}`);
}

/** A network error's cause in a few words (undici puts the system error in `cause`). */
function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause;
    if (inner instanceof Error) {
      const code = (inner as { code?: unknown }).code;
      return typeof code === 'string' ? code : inner.message;
    }
    return cause.message;
  }
  return String(cause);
}
