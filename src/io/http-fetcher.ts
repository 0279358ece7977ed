/**
 * The HTTP side of an {@link HttpSource} (src/io/http-source.ts): one bounded
 * or suffix range request, its retries with backoff, and the checks of each
 * answer (206, 200, 412, 416, …) against what was asked and against the file
 * first seen. What the answers told (size, validator, the whole file when the
 * server ignores ranges) and the region cache they fill live here.
 */
import { H4mkError } from '../format/errors.js';
import { RegionCache } from './http-cache.js';
import type { HttpSourceOptions, HttpSourceStats, ResolvedOptions } from './http-options.js';
import {
  discardBody,
  parseContentLength,
  parseContentRange,
  parseRetryAfter,
  parseUnsatisfiedRange,
  readBodyBounded,
  sleep,
  type Validator,
  validatorOf,
  serverError,
  serverSays,
} from './http-range.js';

/** What one request asks for: `bytes=start-(end-1)` or `bytes=-length`. */
export type RangeSpec = { kind: 'bounded'; start: number; end: number } | { kind: 'suffix'; length: number };

/** Bytes received for `[start, start + bytes.length)`. */
export type Fetched = { start: number; bytes: Uint8Array };

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

/** Sends the range requests of one source and remembers what the answers told about the file. */
export class RangeFetcher {
  /** The size, once an answer has told it. */
  size: number | undefined;
  /** The whole file, when the server answered 200 and it fitted the budget. */
  whole: Uint8Array | null = null;
  /** The first E_CHANGED: sticky, since cached bytes may belong to the old file. */
  broken: H4mkError | null = null;
  readonly cache: RegionCache;
  private validator: Validator | null = null;
  private readonly fetch: (input: string, init: RequestInit) => Promise<Response>;

  /**
   * `onChanged` is told the sticky E_CHANGED error once the file is found
   * changed (after the bytes held from the old file are dropped).
   */
  constructor(
    private readonly url: string,
    readonly displayUrl: string,
    private readonly options: ResolvedOptions,
    fetchFn: HttpSourceOptions['fetch'],
    private readonly stats: HttpSourceStats,
    private readonly signal: AbortSignal,
    private readonly onChanged: (error: H4mkError) => void,
  ) {
    this.fetch = (input, init) => (fetchFn ?? globalThis.fetch)(input, init);
    this.cache = new RegionCache(options.cacheBudget);
  }

  /** Drops every byte held (the cache and the whole file). */
  drop(): void {
    this.cache.clear();
    this.whole = null;
  }

  /** One range request with retries: network errors and 5xx are retried with backoff, nothing else. */
  async request(spec: RangeSpec): Promise<Fetched> {
    const { retries, retryBaseDelayMs, retryMaxDelayMs } = this.options;
    const signal = this.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(spec);
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
  private async attempt(spec: RangeSpec): Promise<Fetched> {
    const headers = new Headers(this.options.headers);
    // No Accept-Encoding of ours: fetch itself adds `identity` to range requests (Fetch standard, HTTP-network-or-cache fetch).
    headers.set('range', spec.kind === 'suffix' ? `bytes=-${spec.length}` : `bytes=${spec.start}-${spec.end - 1}`);
    const validator = this.validator;
    const conditional = validator === null ? 'none' : this.options.conditional;
    if (validator !== null && conditional === 'if-range') headers.set('if-range', validator.value);
    if (validator !== null && conditional === 'if-match') {
      headers.set(validator.kind === 'etag' ? 'if-match' : 'if-unmodified-since', validator.value);
    }
    const signal = this.signal;
    const init: RequestInit = { method: 'GET', headers, signal, redirect: 'follow' };
    if (this.options.credentials !== undefined) init.credentials = this.options.credentials;
    this.stats.requests++;
    let response: Response;
    try {
      response = await this.fetch(this.url, init);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new Retryable(null, null, error);
    }
    const status = response.status;
    if (status === 206) return this.accept206(response, spec);
    if (status === 200) return this.accept200(response, conditional === 'if-range');
    const ordinary = status === 412 || status === 404 || status === 410 || status === 416 || (status >= 500 && status <= 599);
    const says = ordinary ? null : await serverSays(response, this.count);
    if (says !== null) throw serverError(this.displayUrl, status, says);
    await discardBody(response, this.count);
    if (status === 412) throw this.changed(`the server answered 412 Precondition Failed to ${validator?.kind === 'etag' ? 'If-Match' : 'If-Unmodified-Since'}`);
    if (status === 404 || status === 410) throw new H4mkError('E_NOT_FOUND', `${this.displayUrl} was not found (HTTP ${status})`);
    if (status === 416) throw this.unsatisfiable(response, spec);
    if (status >= 500 && status <= 599) throw new Retryable(status, parseRetryAfter(response.headers.get('retry-after')), undefined);
    const text = response.statusText === '' ? '' : ` ${response.statusText}`;
    throw new H4mkError('E_IO', `reading ${this.displayUrl} failed with HTTP ${status}${text}`);
  }

  private readonly count = (n: number): void => {
    this.stats.bytesRead += n;
  };

  /** A 206: check Content-Range against what was asked and the file first seen, then read exactly its body. */
  private async accept206(response: Response, spec: RangeSpec): Promise<Fetched> {
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
    const complete = range.complete ?? this.size;
    if (complete === undefined) return fail('answered without telling the file size (Content-Range total "*")');
    const changed = this.versionChange(response.headers, complete);
    if (changed !== null) {
      await response.body?.cancel().catch(() => undefined);
      throw this.changed(changed);
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
    const body = await this.readBody(response, expected, expected);
    if (!(body instanceof Uint8Array)) throw new H4mkError('E_IO', `${this.displayUrl} sent more bytes than its Content-Range says`);
    if (body.length < expected) throw new Retryable(null, null, new Error(`body ended after ${body.length} of ${expected} bytes`));
    this.learn(response.headers, complete);
    this.cache.insert(range.first, body);
    return { start: range.first, bytes: body };
  }

  /**
   * A 200: the whole file. After `If-Range` with a different validator it is a
   * changed file. Otherwise the server ignores ranges: read the body within
   * `fullBodyBudget` and serve everything from it, or fail clearly.
   */
  private async accept200(response: Response, sentIfRange: boolean): Promise<Fetched> {
    const cancel = (): Promise<void> => response.body?.cancel().catch(() => undefined) ?? Promise.resolve();
    const validator = validatorOf(response.headers);
    if (sentIfRange && (validator === null || validator.value !== this.validator?.value)) {
      await cancel();
      throw this.changed('If-Range was answered with the whole file, so its validator no longer matches');
    }
    if (!isIdentity(response)) {
      await cancel();
      throw new H4mkError('E_IO', `${this.displayUrl} answered with Content-Encoding ${response.headers.get('content-encoding')}`);
    }
    const budget = this.options.fullBodyBudget;
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
      const changed = this.versionChange(response.headers, declared);
      if (changed !== null) {
        await cancel();
        throw this.changed(changed);
      }
    }
    const body = await this.readBody(response, budget, declared);
    if (!(body instanceof Uint8Array)) throw tooBig(null);
    if (declared !== null && body.length < declared) throw new Retryable(null, null, new Error(`body ended after ${body.length} of ${declared} bytes`));
    const changed = this.versionChange(response.headers, body.length);
    if (changed !== null) throw this.changed(changed);
    this.learn(response.headers, body.length);
    this.whole = body;
    this.cache.clear();
    return { start: 0, bytes: body };
  }

  /** Reads a body within `limit`; a failure while it streams is a network error (retried). */
  private async readBody(response: Response, limit: number, expected: number | null): Promise<Uint8Array | { overflow: true }> {
    try {
      return await readBodyBounded(response, limit, expected, this.count);
    } catch (error) {
      if (this.signal.aborted) throw this.signal.reason;
      throw new Retryable(null, null, error);
    }
  }

  /** Why this answer is from another version of the file than the first one, or null. */
  private versionChange(headers: Headers, size: number): string | null {
    if (this.size !== undefined && size !== this.size) return `its size went from ${this.size} to ${size} bytes`;
    const now = validatorOf(headers);
    const first = this.validator;
    if (first !== null && now !== null && now.kind === first.kind && now.value !== first.value) {
      return `its ${first.kind === 'etag' ? 'ETag' : 'Last-Modified'} went from ${first.value} to ${now.value}`;
    }
    return null;
  }

  /** Remembers the size and the validator of the first answer. */
  private learn(headers: Headers, size: number): void {
    this.size ??= size;
    this.validator ??= validatorOf(headers);
  }

  /** The E_CHANGED error; it becomes sticky and the bytes held from the old file are dropped. */
  private changed(detail: string): H4mkError {
    const error = new H4mkError('E_CHANGED', `${this.displayUrl} changed while being read: ${detail}`);
    this.broken ??= error;
    this.cache.clear();
    this.whole = null;
    this.onChanged(this.broken);
    return error;
  }

  private unsatisfiable(response: Response, spec: RangeSpec): H4mkError {
    const total = parseUnsatisfiedRange(response.headers.get('content-range'));
    if (total !== null && this.size !== undefined && total !== this.size) return this.changed(`its size went from ${this.size} to ${total} bytes`);
    if (total !== null) this.size ??= total;
    const asked = spec.kind === 'suffix' ? `the last ${spec.length} bytes` : `bytes ${spec.start}-${spec.end - 1}`;
    const size = total ?? this.size;
    return new H4mkError('E_IO', `range not satisfiable (HTTP 416): ${asked} of ${this.displayUrl}${size === undefined ? '' : `, a file of ${size} bytes`}`, {
      offset: spec.kind === 'bounded' ? spec.start : undefined,
    });
  }
}

/** True when the body is the file's own bytes (no Content-Encoding other than identity). */
function isIdentity(response: Response): boolean {
  const encoding = response.headers.get('content-encoding')?.trim().toLowerCase() ?? '';
  return encoding === '' || encoding === 'identity';
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
