/**
 * HTTP range requests and conditional requests (RFC 9110 §13, §14), pure
 * functions on header values: no I/O, so they are tested on their own and
 * against nginx answering the same headers.
 *
 * Choices, where the RFC leaves one:
 * - A Range with another unit is ignored (200), as the RFC requires.
 * - A malformed `bytes` Range (bad syntax, last < first) is refused with 416,
 *   as nginx does, rather than silently ignored.
 * - Ranges starting at or after the end are dropped; none left is 416.
 *   One left is a plain 206; several are `multipart/byteranges`.
 * - More than `maxRanges` ranges, or ranges that overlap, are refused with
 *   416: RFC 9110 §14.2 names both as signs of a broken client or of an
 *   attempt to make the server send the same bytes many times.
 */

/** An inclusive byte range `start..end` of the representation. */
export type ByteRange = { start: number; end: number };

/** What to answer to a request's Range header. */
export type RangeDecision =
  /** No Range (or one to ignore): the whole representation, 200. */
  | { kind: 'full' }
  /** 206 with these ranges, in the order asked. */
  | { kind: 'partial'; ranges: ByteRange[] }
  /** 416: no range overlaps the representation. */
  | { kind: 'unsatisfiable' }
  /** 416: malformed, too many, or overlapping ranges. */
  | { kind: 'refused'; reason: string };

/** Default cap on the ranges of one request. */
export const MAX_RANGES = 16;

/** Digits beyond this many cannot be a safe integer offset: treated as "past any end". */
const MAX_DIGITS = 15;

function parsePosition(digits: string): number {
  return digits.length > MAX_DIGITS ? Number.POSITIVE_INFINITY : Number(digits);
}

/** Decides the answer to `Range: header` for a representation of `size` bytes. */
export function parseRange(header: string | undefined, size: number, maxRanges = MAX_RANGES): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  const eq = header.indexOf('=');
  if (eq < 0) return { kind: 'refused', reason: 'malformed Range header' };
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    // RFC 9110 §5.6.1: recipients accept empty list elements.
    .filter((s) => s !== '');
  if (specs.length === 0) return { kind: 'refused', reason: 'malformed Range header' };
  if (specs.length > maxRanges) return { kind: 'refused', reason: `more than ${maxRanges} ranges` };
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const m = /^(\d*)[ \t]*-[ \t]*(\d*)$/.exec(spec);
    if (m === null || (m[1] === '' && m[2] === '')) return { kind: 'refused', reason: 'malformed Range header' };
    const first = m[1] as string;
    const last = m[2] as string;
    if (first === '') {
      // Suffix range: the last N bytes (all of a shorter representation).
      const length = parsePosition(last);
      if (length === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - Math.min(length, size)), end: size - 1 });
      continue;
    }
    const start = parsePosition(first);
    const end = last === '' ? Number.POSITIVE_INFINITY : parsePosition(last);
    if (end < start) return { kind: 'refused', reason: 'malformed Range header' };
    if (start >= size) continue;
    ranges.push({ start, end: Math.min(end, size - 1) });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i] as ByteRange).start <= (sorted[i - 1] as ByteRange).end) return { kind: 'refused', reason: 'overlapping ranges' };
  }
  return { kind: 'partial', ranges };
}

/** The entity tags of an If-Match / If-None-Match value; `'*'` for a wildcard; null when malformed. */
export function parseEntityTags(value: string): string[] | '*' | null {
  const text = value.trim();
  if (text === '*') return '*';
  const tags: string[] = [];
  const re = /\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null || re.lastIndex === at) return null;
    tags.push(`${m[1] ?? ''}${m[2]}`);
    at = re.lastIndex;
  }
  return tags;
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Weak comparison (If-None-Match): the opaque tags are equal, either may be weak. */
export function weakMatch(tags: string[] | '*' | null, etag: string): boolean {
  if (tags === '*') return true;
  return tags?.some((t) => opaque(t) === opaque(etag)) ?? false;
}

/** Strong comparison (If-Match, If-Range): both strong and equal. */
export function strongMatch(tags: string[] | '*' | null, etag: string): boolean {
  if (tags === '*') return true;
  return tags?.some((t) => !t.startsWith('W/') && !etag.startsWith('W/') && t === etag) ?? false;
}

/** The validators of a representation. */
export type Validators = { etag: string; lastModified: string | null };

/** What the conditional headers of a read ask for, in RFC 9110 §13.2.2 order. */
export type Precondition = 'proceed' | 'not-modified' | 'failed';

/** Evaluates If-Match, If-None-Match and If-Modified-Since for a GET or HEAD. */
export function evaluatePreconditions(headers: Record<string, string | string[] | undefined>, v: Validators): Precondition {
  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined && !strongMatch(parseEntityTags(ifMatch), v.etag)) return 'failed';
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) return weakMatch(parseEntityTags(ifNoneMatch), v.etag) ? 'not-modified' : 'proceed';
  const ifModifiedSince = header(headers, 'if-modified-since');
  if (ifModifiedSince !== undefined && v.lastModified !== null) {
    const since = Date.parse(ifModifiedSince);
    if (!Number.isNaN(since) && Date.parse(v.lastModified) <= since) return 'not-modified';
  }
  return 'proceed';
}

/**
 * Whether a Range may be honoured given If-Range (§13.1.5): absent, or an
 * entity tag that matches strongly, or exactly the Last-Modified date.
 */
export function ifRangeAllows(headers: Record<string, string | string[] | undefined>, v: Validators): boolean {
  const ifRange = header(headers, 'if-range');
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return strongMatch(parseEntityTags(value), v.etag);
  return v.lastModified !== null && value === v.lastModified;
}

/** `Content-Range` of one part. */
export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}

/** A request header's single value (the first when repeated). */
export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
