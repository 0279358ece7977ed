/**
 * The server's pure parts: range and conditional-header parsing, signed
 * URLs, names, secrets, and the one error table.
 */
import { describe, expect, it } from 'vitest';
import { H4mkError } from '../src/node.js';
import { ERROR_STATUS, HttpError, toErrorResponse } from '../src/server/errors.js';
import { BlockCache } from '../src/server/routes/block-response.js';
import { checkName, isValidName } from '../src/server/names.js';
import { evaluatePreconditions, ifRangeAllows, parseEntityTags, parseRange, strongMatch, weakMatch } from '../src/server/ranges.js';
import { loadSecret, tokenDigest, tokenMatches } from '../src/server/secrets.js';
import { checkSignature, MAX_SHARE_SECONDS, parseDuration, signedUrl, signName } from '../src/server/signed-url.js';

describe('parseRange (RFC 9110 §14.2)', () => {
  const size = 1000;
  it.each([
    [undefined, { kind: 'full' }],
    ['items=0-5', { kind: 'full' }],
    ['bytes=0-0', { kind: 'partial', ranges: [{ start: 0, end: 0 }] }],
    ['bytes=0-99', { kind: 'partial', ranges: [{ start: 0, end: 99 }] }],
    ['BYTES = 10-19', { kind: 'partial', ranges: [{ start: 10, end: 19 }] }],
    ['bytes=990-', { kind: 'partial', ranges: [{ start: 990, end: 999 }] }],
    ['bytes=990-5000', { kind: 'partial', ranges: [{ start: 990, end: 999 }] }],
    ['bytes=0-99999999999999999999', { kind: 'partial', ranges: [{ start: 0, end: 999 }] }],
    ['bytes=-10', { kind: 'partial', ranges: [{ start: 990, end: 999 }] }],
    ['bytes=-5000', { kind: 'partial', ranges: [{ start: 0, end: 999 }] }],
    [
      'bytes=0-1, 5-9',
      {
        kind: 'partial',
        ranges: [
          { start: 0, end: 1 },
          { start: 5, end: 9 },
        ],
      },
    ],
    [
      'bytes=0-1,,5-9',
      {
        kind: 'partial',
        ranges: [
          { start: 0, end: 1 },
          { start: 5, end: 9 },
        ],
      },
    ],
    [
      'bytes=5-9,0-1',
      {
        kind: 'partial',
        ranges: [
          { start: 5, end: 9 },
          { start: 0, end: 1 },
        ],
      },
    ],
    ['bytes=0-1,2000-3000', { kind: 'partial', ranges: [{ start: 0, end: 1 }] }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=5000-6000', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=99999999999999999999-', { kind: 'unsatisfiable' }],
  ])('%s', (header, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
  it.each(['bytes=', 'bytes=abc', 'bytes=5-2', 'bytes=-', 'bytes=1-2-3', 'bytes=0x10-20', 'bytes=+1-2', 'bytes 0-1', 'bytes=1.5-2'])('refuses %s', (header) => {
    expect(parseRange(header, size).kind).toBe('refused');
  });
  it('refuses more ranges than the cap, and overlapping ranges', () => {
    const many = `bytes=${Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')}`;
    expect(parseRange(many, size)).toEqual({ kind: 'refused', reason: 'more than 16 ranges' });
    expect(parseRange(many, size, 17).kind).toBe('partial');
    expect(parseRange('bytes=0-100,50-150', size)).toEqual({ kind: 'refused', reason: 'overlapping ranges' });
    expect(parseRange('bytes=0-10,-995', size)).toEqual({ kind: 'refused', reason: 'overlapping ranges' });
  });
});

describe('conditional requests (RFC 9110 §13)', () => {
  const v = { etag: '"abc"', lastModified: 'Wed, 25 Nov 2026 10:00:00 GMT' };
  it('parses entity-tag lists', () => {
    expect(parseEntityTags('*')).toBe('*');
    expect(parseEntityTags('"a", W/"b" ,"c"')).toEqual(['"a"', 'W/"b"', '"c"']);
    expect(parseEntityTags('"a" junk')).toBeNull();
    expect(parseEntityTags('abc')).toBeNull();
  });
  it('compares weakly and strongly', () => {
    expect(weakMatch(['W/"abc"'], '"abc"')).toBe(true);
    expect(strongMatch(['W/"abc"'], '"abc"')).toBe(false);
    expect(strongMatch(['"abc"'], '"abc"')).toBe(true);
    expect(strongMatch(null, '"abc"')).toBe(false);
  });
  it('evaluates preconditions in RFC order', () => {
    expect(evaluatePreconditions({}, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-none-match': '"abc"' }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-none-match': '"x", W/"abc"' }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-none-match': '"x"' }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-match': '"x"' }, v)).toBe('failed');
    expect(evaluatePreconditions({ 'if-match': '"abc"', 'if-none-match': '"abc"' }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-modified-since': 'Wed, 25 Nov 2026 10:00:00 GMT' }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-modified-since': 'Wed, 25 Nov 2026 09:59:59 GMT' }, v)).toBe('proceed');
    // If-None-Match wins over If-Modified-Since.
    expect(evaluatePreconditions({ 'if-none-match': '"x"', 'if-modified-since': 'Wed, 25 Nov 2026 10:00:00 GMT' }, v)).toBe('proceed');
  });
  it('honours If-Range only on a strong match or the exact date', () => {
    expect(ifRangeAllows({}, v)).toBe(true);
    expect(ifRangeAllows({ 'if-range': '"abc"' }, v)).toBe(true);
    expect(ifRangeAllows({ 'if-range': 'W/"abc"' }, v)).toBe(false);
    expect(ifRangeAllows({ 'if-range': '"old"' }, v)).toBe(false);
    expect(ifRangeAllows({ 'if-range': v.lastModified }, v)).toBe(true);
    expect(ifRangeAllows({ 'if-range': 'Wed, 25 Nov 2026 09:00:00 GMT' }, v)).toBe(false);
  });
});

describe('signed URLs', () => {
  const secret = 'a-secret-of-enough-length';
  it('round-trips and refuses forgeries, other names, other expiries and expired URLs', () => {
    const url = new URL(signedUrl('http://example.test/base', 'movie.h4mk', secret, 2000));
    expect(url.pathname).toBe('/base/v1/containers/movie.h4mk');
    const expires = url.searchParams.get('expires') ?? '';
    const sig = url.searchParams.get('sig') ?? '';
    expect(sig).toBe(signName(secret, 'movie.h4mk', 2000));
    expect(checkSignature(secret, 'movie.h4mk', expires, sig, 1999)).toBe('ok');
    expect(checkSignature(secret, 'movie.h4mk', expires, sig, 2000)).toBe('ok');
    expect(checkSignature(secret, 'movie.h4mk', expires, sig, 2001)).toBe('expired');
    expect(checkSignature(secret, 'other.h4mk', expires, sig, 1000)).toBe('invalid');
    expect(checkSignature(secret, 'movie.h4mk', '2001', sig, 1000)).toBe('invalid');
    expect(checkSignature('another-secret-of-length', 'movie.h4mk', expires, sig, 1000)).toBe('invalid');
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    expect(checkSignature(secret, 'movie.h4mk', expires, flipped, 1000)).toBe('invalid');
    expect(checkSignature(secret, 'movie.h4mk', expires, undefined, 1000)).toBe('invalid');
    expect(checkSignature(secret, 'movie.h4mk', undefined, sig, 1000)).toBe('invalid');
    expect(checkSignature(secret, 'movie.h4mk', '-5', sig, 1000)).toBe('invalid');
    expect(checkSignature(secret, 'movie.h4mk', expires, `${sig}=`, 1000)).toBe('invalid');
    expect(checkSignature(secret, 'movie.h4mk', undefined, undefined, 1000)).toBe('absent');
    // An expired URL with a bad MAC is reported as invalid, not expired: no oracle on expiry for forgeries.
    expect(checkSignature(secret, 'movie.h4mk', '1', flipped, 1000)).toBe('invalid');
  });
  it('parses durations', () => {
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('7d')).toBe(604_800);
    expect(parseDuration('2W')).toBe(1_209_600);
    for (const bad of ['', '0s', '1y', '-1h', '1.5h', `${MAX_SHARE_SECONDS + 1}`, 'h']) expect(() => parseDuration(bad)).toThrow(RangeError);
  });
});

describe('names and secrets', () => {
  it('accepts plain names only', () => {
    for (const good of ['a', 'movie.h4mk', 'A-b_c.1', 'x'.repeat(255), '9']) expect(isValidName(good)).toBe(true);
    for (const bad of [
      '',
      '.',
      '..',
      '.hidden',
      '../x',
      'a/b',
      'a\\b',
      '/etc/passwd',
      'a\0b',
      'x'.repeat(256),
      'é.h4mk',
      'a b',
      'C:x',
      '-x',
      '_x',
      'a%2Fb',
      'a\nb',
    ]) {
      expect(isValidName(bad), JSON.stringify(bad)).toBe(false);
    }
    expect(() => checkName('../x')).toThrow(HttpError);
  });
  it('compares tokens through digests', () => {
    const kept = tokenDigest('correct horse battery staple');
    expect(tokenMatches('correct horse battery staple', kept)).toBe(true);
    expect(tokenMatches('correct horse battery stapl', kept)).toBe(false);
    expect(tokenMatches('', kept)).toBe(false);
    expect(tokenMatches('x'.repeat(10_000), kept)).toBe(false);
  });
  it('loads secrets from the environment and refuses short ones', async () => {
    expect(await loadSecret(undefined, 'T', {})).toBeUndefined();
    expect(await loadSecret(undefined, 'T', { T: 'sixteen-bytes-ok' })).toBe('sixteen-bytes-ok');
    await expect(loadSecret(undefined, 'T', { T: 'short' })).rejects.toThrow(/at least 16 bytes/);
  });
});

describe('the error table', () => {
  it('gives every code a 4xx or 5xx status', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
    }
  });
  it('maps container errors, framework errors and anything else', () => {
    expect(toErrorResponse(new H4mkError('E_DIGEST', 'block digest mismatch', { coreIndex: 3 }))).toMatchObject({ status: 422, code: 'E_DIGEST' });
    expect(toErrorResponse(new H4mkError('E_NOT_FOUND', 'x'))).toMatchObject({ status: 404 });
    expect(toErrorResponse(new H4mkError('E_IO', 'x'))).toMatchObject({ status: 502 });
    expect(toErrorResponse(new H4mkError('E_CHANGED', 'x'))).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
    expect(toErrorResponse(Object.assign(new Error('querystring/x must be integer'), { code: 'FST_ERR_VALIDATION', statusCode: 400 }))).toMatchObject({
      status: 400,
      code: 'E_BAD_REQUEST',
      message: 'querystring/x must be integer',
    });
    expect(toErrorResponse(Object.assign(new Error('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }))).toMatchObject({
      status: 413,
      code: 'E_TOO_LARGE',
    });
    const internal = toErrorResponse(new TypeError("Cannot read properties of undefined (reading 'x') at /srv/secret/path.js"));
    expect(internal).toEqual({ status: 500, code: 'E_INTERNAL', message: 'internal error', headers: {} });
    expect(toErrorResponse('a string')).toMatchObject({ status: 500, code: 'E_INTERNAL' });
  });
});

describe('the block cache', () => {
  const response = (n: number) => ({ etag: '"x"', headers: {}, payload: new Uint8Array(n) });
  it('keeps the most recently used blocks within its budget', () => {
    const cache = new BlockCache(100_000);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, response(10_000));
    // 10 × (10 000 + 512) > 100 000: the oldest went first.
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.get('k9')).toBeDefined();
    cache.get('k4');
    for (let i = 10; i < 14; i++) cache.set(`k${i}`, response(10_000));
    expect(cache.get('k4')).toBeDefined();
    expect(cache.get('k5')).toBeUndefined();
  });
  it('never holds a block larger than an eighth of the budget, nor anything with a budget of 0', () => {
    const cache = new BlockCache(8000);
    cache.set('big', response(2000));
    expect(cache.get('big')).toBeUndefined();
    const off = new BlockCache(0);
    off.set('a', response(1));
    expect(off.get('a')).toBeUndefined();
  });
});
