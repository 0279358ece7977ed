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
import { RangeFetcher } from './http-fetcher.js';
import {
  checkPrefetchLength,
  type HttpSourceOptions,
  type HttpSourceStats,
  type PrefetchResult,
  type PrefetchSource,
  type ResolvedOptions,
  resolveOptions,
  resolveUrl,
} from './http-options.js';
import { redactUrl } from './http-range.js';
import { ReadCoalescer } from './read-coalescer.js';
import { checkReadArguments } from './source.js';

export {
  HTTP_SOURCE_DEFAULTS,
  type HttpConditional,
  type HttpSourceOptions,
  type HttpSourceStats,
  isPrefetchSource,
  type PrefetchResult,
  type PrefetchSource,
} from './http-options.js';

/**
 * A {@link RandomAccessSource} over an `http:` or `https:` URL, read with range
 * requests. See the module comment for what each call costs.
 */
export class HttpSource implements PrefetchSource {
  /** Counters; see {@link HttpSourceStats}. */
  readonly stats: HttpSourceStats = { requests: 0, bytesRead: 0, reads: 0, cacheHits: 0, retries: 0 };
  /** The URL as error messages print it: origin + path, no query string. */
  readonly displayUrl: string;
  /** Every read is a request (see {@link RandomAccessSource.remote}). */
  readonly remote = true;

  readonly #controller = new AbortController();
  readonly #probeLength: number;
  /** Requests and what their answers told (the URL exactly as given stays inside it: a presigned query string is not printed by accident). */
  readonly #fetcher: RangeFetcher;
  readonly #reads: ReadCoalescer;
  readonly #unlinkSignal: () => void;
  #sizeProbe: Promise<number> | null = null;
  #closed = false;

  private constructor(url: string, options: ResolvedOptions, fetchFn: HttpSourceOptions['fetch']) {
    this.displayUrl = redactUrl(url);
    const abortSignal = this.#controller.signal;
    this.#fetcher = new RangeFetcher(url, this.displayUrl, options, fetchFn, this.stats, abortSignal, (error) => this.#reads.rejectQueued(error));
    this.#reads = new ReadCoalescer(this.#fetcher, options, this.stats, abortSignal);
    this.#probeLength = options.probeLength;
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
    return this.#fetcher.size;
  }

  /** Bytes held by the region cache now (at most `cacheBudget`). */
  get cachedBytes(): number {
    return this.#fetcher.cache.heldBytes;
  }

  /** False once the server has answered 200 instead of 206 (the whole file is then held in memory). */
  get rangesSupported(): boolean {
    return this.#fetcher.whole === null;
  }

  /**
   * The file size. When no answer has told it yet this costs one suffix
   * request of `probeLength` bytes, whose bytes are cached.
   */
  async size(): Promise<number> {
    this.#checkUsable();
    if (this.#fetcher.size !== undefined) return this.#fetcher.size;
    this.#sizeProbe ??= this.#suffix(this.#probeLength).then(
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
    if (this.#fetcher.size === undefined) {
      this.stats.reads++;
      return this.#suffix(length);
    }
    const size = this.#fetcher.size;
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
    const size = this.#fetcher.size;
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
      this.#reads.enqueue({ offset, end: offset + length, needStart: offset, needEnd: offset + length, out: null, resolve, reject });
    });
  }

  /** Aborts requests in flight, rejects waiting reads and drops the cache. Later calls throw. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#abort(new DOMException(`the HttpSource for ${this.displayUrl} was closed`, 'AbortError'));
    this.#closed = true;
    this.#unlinkSignal();
    this.#fetcher.drop();
  }

  // ── reads ──────────────────────────────────────────────────────────────

  #checkUsable(): void {
    if (this.#closed) throw new TypeError(`the HttpSource for ${this.displayUrl} is closed`);
    if (this.#fetcher.broken !== null) throw this.#fetcher.broken;
    if (this.#controller.signal.aborted) throw this.#controller.signal.reason;
  }

  #abort(reason: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
    this.#reads.rejectQueued(reason);
  }

  /** One suffix request (size unknown): the tail and the size. */
  async #suffix(length: number): Promise<PrefetchResult> {
    const fetched = await this.#fetcher.request({ kind: 'suffix', length });
    const size = this.#fetcher.size;
    if (size === undefined) throw new H4mkError('E_IO', `${this.displayUrl} did not tell its size`);
    const start = Math.max(0, size - length);
    const from = start - fetched.start;
    return { bytes: fetched.bytes.slice(from, from + (size - start)), size };
  }
}
