/**
 * Malformed and hostile requests: each gets the intended 4xx with the one
 * error format, and changes nothing on disk (the directory's names, sizes,
 * inodes and mtimes are the same before and after). Run through inject()
 * against two servers: one with public reads, one with private reads (read
 * token and signed URLs). Socket-level attacks (bodies cut off mid-way,
 * uploads without Content-Length) are in server-http.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../src/server/app.js';
import { signName } from '../src/server/signed-url.js';
import {
  type Client,
  injectClient,
  makeServerFixture,
  READ_TOKEN,
  type ServerFixture,
  SHARE_SECRET,
  snapshot,
  WRITE_TOKEN,
} from './support/server-fixtures.js';

type Case = {
  name: string;
  server?: 'open' | 'locked';
  method?: string;
  url: string | (() => string);
  headers?: Record<string, string>;
  body?: () => Uint8Array;
  status: number;
  code: string;
  /** Extra checks on the response headers. */
  headersMatch?: Record<string, string | RegExp>;
};

let fx: ServerFixture;
let open: FastifyInstance;
let locked: FastifyInstance;
const clients: Record<'open' | 'locked', Client> = {} as Record<'open' | 'locked', Client>;

const W = { authorization: `Bearer ${WRITE_TOKEN}` };
const now = () => Math.floor(Date.now() / 1000);
const file = (name: string) => new Uint8Array(readFileSync(join(fx.dir, name)));
const MAX_UPLOAD = 1024 * 1024;
const MAX_INLINE = 400_000;

function flipped(name: string, at: (size: number) => number): Uint8Array {
  const bytes = file(name);
  const i = at(bytes.length);
  bytes[i] = (bytes[i] as number) ^ 0x40;
  return bytes;
}

const CASES: Case[] = [
  // Names that try to leave the directory.
  { name: 'traversal with encoded slashes', url: '/v1/containers/..%2F..%2Fetc%2Fpasswd', status: 400, code: 'E_BAD_NAME' },
  { name: 'absolute path, encoded', url: '/v1/containers/%2Fetc%2Fpasswd/manifest', status: 400, code: 'E_BAD_NAME' },
  { name: 'dot-dot as ?file=', method: 'POST', url: '/video/manifest?file=..', status: 400, code: 'E_BAD_NAME' },
  { name: 'dot-dot segment (normalised away: no such route)', url: '/v1/containers/../manifest', status: 404, code: 'E_NOT_FOUND' },
  { name: 'double-encoded traversal', url: '/v1/containers/%252e%252e%252fsecret.h4mk', status: 400, code: 'E_BAD_NAME' },
  { name: 'backslash traversal', url: '/v1/containers/..%5C..%5Cwindows', status: 400, code: 'E_BAD_NAME' },
  { name: 'NUL byte in the name', url: '/v1/containers/movie.h4mk%00.txt', status: 400, code: 'E_BAD_NAME' },
  { name: 'hidden (temporary) file name', url: '/v1/containers/.h4mk-upload-x.tmp', status: 400, code: 'E_BAD_NAME' },
  { name: 'symlink pointing out of the directory', url: '/v1/containers/escape.h4mk', status: 404, code: 'E_NOT_FOUND' },
  { name: 'symlink pointing out, via a view', url: '/v1/containers/escape.h4mk/manifest', status: 404, code: 'E_NOT_FOUND' },
  { name: 'name of 256 characters', url: `/v1/containers/${'a'.repeat(256)}`, status: 400, code: 'E_BAD_NAME' },
  { name: 'seed ?file= traversal', method: 'POST', url: '/video/block?core_index=0&file=../movie.h4mk', status: 400, code: 'E_BAD_NAME' },
  { name: 'malformed percent-encoding', url: '/v1/containers/%zz', status: 400, code: 'E_BAD_REQUEST' },
  // Bad numbers.
  { name: 'negative block index', url: '/v1/containers/movie.h4mk/blocks/-1', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'non-numeric block index', url: '/v1/containers/movie.h4mk/blocks/abc', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'fractional block index', url: '/v1/containers/movie.h4mk/blocks/1.5', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'huge block index', url: '/v1/containers/movie.h4mk/blocks/99999999999999999999999', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'block index one past the end', url: () => `/v1/containers/movie.h4mk/blocks/${blockCount}`, status: 404, code: 'E_NOT_FOUND' },
  { name: 'seek: pts_us not a number', url: '/v1/containers/movie.h4mk/seek?track=video_main&pts_us=abc', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'seek: pts_us missing', url: '/v1/containers/movie.h4mk/seek?track=video_main', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'seek: pts_us beyond 2^53', url: '/v1/containers/movie.h4mk/seek?track=video_main&pts_us=1e400', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'seek: unknown track', url: '/v1/containers/movie.h4mk/seek?track=nope&pts_us=0', status: 404, code: 'E_NOT_FOUND' },
  { name: 'range: from after to', url: '/v1/containers/movie.h4mk/range?from_us=10&to_us=5', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'range: limit 0', url: '/v1/containers/movie.h4mk/range?limit=0', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'range: limit too large', url: '/v1/containers/movie.h4mk/range?limit=1000000', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'block: decompress=maybe', url: '/v1/containers/movie.h4mk/blocks/0?decompress=maybe', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'list: forged cursor', url: '/v1/containers?cursor=Li4vZXRj', status: 400, code: 'E_BAD_REQUEST' },
  { name: 'seed seek: track_id missing', method: 'POST', url: '/video/seek_to_block?pts_us=0&file=movie.h4mk', status: 400, code: 'E_BAD_REQUEST' },
  // Bad ranges.
  {
    name: 'range past the end',
    url: '/v1/containers/movie.h4mk',
    headers: { range: 'bytes=99999999-' },
    status: 416,
    code: 'E_RANGE',
    headersMatch: { 'content-range': /^bytes \*\/\d+$/ },
  },
  {
    name: 'range with last < first',
    url: '/v1/containers/movie.h4mk',
    headers: { range: 'bytes=500-100' },
    status: 416,
    code: 'E_RANGE',
    headersMatch: { 'content-range': /^bytes \*\/\d+$/ },
  },
  { name: 'range garbage', url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=abc' }, status: 416, code: 'E_RANGE' },
  { name: 'negative range', url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=-5-10' }, status: 416, code: 'E_RANGE' },
  { name: 'empty suffix range', url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=-0' }, status: 416, code: 'E_RANGE' },
  {
    name: 'too many ranges',
    url: '/v1/containers/movie.h4mk',
    headers: { range: `bytes=${Array.from({ length: 40 }, (_, i) => `${i * 2}-${i * 2}`).join(',')}` },
    status: 416,
    code: 'E_RANGE',
  },
  { name: 'overlapping ranges (amplification)', url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=0-,0-,0-' }, status: 416, code: 'E_RANGE' },
  {
    name: 'If-Match with another version',
    url: '/v1/containers/movie.h4mk',
    headers: { 'if-match': '"0000000000000000-000000000000000000000000"' },
    status: 412,
    code: 'E_PRECONDITION',
  },
  // Garbage containers.
  { name: 'manifest of a garbage file', url: '/v1/containers/garbage.h4mk/manifest', status: 422, code: 'E_MAGIC' },
  { name: 'raw read of a garbage file', url: '/v1/containers/garbage.h4mk', headers: { range: 'bytes=0-10' }, status: 422, code: 'E_MAGIC' },
  { name: 'seed manifest of a garbage body', method: 'POST', url: '/video/manifest', body: () => new Uint8Array(4096).fill(7), status: 422, code: 'E_MAGIC' },
  {
    name: 'seed manifest of a truncated body',
    method: 'POST',
    url: '/video/manifest',
    body: () => file('movie.h4mk').subarray(0, 200_000),
    status: 422,
    code: 'E_TRUNCATED',
  },
  {
    name: 'seed manifest body over the limit',
    method: 'POST',
    url: '/video/manifest',
    body: () => new Uint8Array(MAX_INLINE + 1),
    status: 413,
    code: 'E_TOO_LARGE',
  },
  {
    name: 'seed: both ?file= and a body',
    method: 'POST',
    url: '/video/manifest?file=movie.h4mk',
    body: () => file('movie.h4mk'),
    status: 400,
    code: 'E_BAD_REQUEST',
  },
  { name: 'seed: neither ?file= nor a body', method: 'POST', url: '/video/manifest', status: 400, code: 'E_BAD_REQUEST' },
  {
    name: 'seed block with a body',
    method: 'POST',
    url: '/video/block?core_index=0&file=movie.h4mk',
    body: () => new Uint8Array(10),
    status: 400,
    code: 'E_BAD_REQUEST',
  },
  // Writes.
  {
    name: 'PUT without a token',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    body: () => file('movie.h4mk'),
    status: 401,
    code: 'E_UNAUTHORIZED',
    headersMatch: { 'www-authenticate': /^Bearer/ },
  },
  {
    name: 'PUT with a wrong token',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: { authorization: 'Bearer wrong-wrong-wrong-wrong' },
    body: () => file('movie.h4mk'),
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  {
    name: 'PUT with a token one byte short',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: { authorization: `Bearer ${WRITE_TOKEN.slice(0, -1)}` },
    body: () => file('movie.h4mk'),
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  {
    name: 'PUT with Basic auth',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: { authorization: `Basic ${Buffer.from(`x:${WRITE_TOKEN}`).toString('base64')}` },
    body: () => file('movie.h4mk'),
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  {
    name: 'PUT with the read token',
    server: 'locked',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: { authorization: `Bearer ${READ_TOKEN}` },
    body: () => file('movie.h4mk'),
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  {
    name: 'PUT a garbage container',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: W,
    body: () => new Uint8Array(20_000).fill(1),
    status: 422,
    code: 'E_MAGIC',
  },
  {
    name: 'PUT a truncated container',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: W,
    body: () => file('movie.h4mk').subarray(0, 300_000),
    status: 422,
    code: 'E_TRUNCATED',
  },
  {
    name: 'PUT a container with a flipped block byte',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: W,
    body: () => flipped('fast.h4mk', (n) => n - 100_000),
    status: 422,
    code: 'E_CHECKSUM',
  },
  {
    name: 'PUT a container with a flipped index byte',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: W,
    body: () => flipped('movie.h4mk', (n) => n - 200),
    status: 422,
    code: 'E_CHECKSUM',
  },
  {
    name: 'PUT over an existing container with bad bytes',
    method: 'PUT',
    url: '/v1/containers/movie.h4mk',
    headers: W,
    body: () => flipped('movie.h4mk', (n) => n >> 1),
    status: 422,
    code: 'E_CHECKSUM',
  },
  {
    name: 'PUT over the limit (Content-Length)',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: W,
    body: () => file('big.h4mk'),
    status: 413,
    code: 'E_TOO_LARGE',
  },
  { name: 'PUT an empty body', method: 'PUT', url: '/v1/containers/new.h4mk', headers: W, body: () => new Uint8Array(0), status: 400, code: 'E_BAD_REQUEST' },
  {
    name: 'PUT as text/plain is verified like any upload',
    method: 'PUT',
    url: '/v1/containers/new.h4mk',
    headers: { ...W, 'content-type': 'text/plain' },
    body: () => new Uint8Array(20_000).fill(1),
    status: 422,
    code: 'E_MAGIC',
  },
  {
    name: 'PUT to a traversal name',
    method: 'PUT',
    url: '/v1/containers/..%2Fescaped.h4mk',
    headers: W,
    body: () => file('movie.h4mk'),
    status: 400,
    code: 'E_BAD_NAME',
  },
  {
    name: 'PUT over a symlink pointing out',
    method: 'PUT',
    url: '/v1/containers/escape.h4mk',
    headers: W,
    body: () => file('fast.h4mk'),
    status: 409,
    code: 'E_CONFLICT',
  },
  {
    name: 'PUT over a symlink alias',
    method: 'PUT',
    url: '/v1/containers/alias.h4mk',
    headers: W,
    body: () => file('fast.h4mk'),
    status: 409,
    code: 'E_CONFLICT',
  },
  { name: 'DELETE a symlink alias', method: 'DELETE', url: '/v1/containers/alias.h4mk', headers: W, status: 409, code: 'E_CONFLICT' },
  {
    name: 'PUT If-None-Match * over an existing one',
    method: 'PUT',
    url: '/v1/containers/movie.h4mk',
    headers: { ...W, 'if-none-match': '*' },
    body: () => file('fast.h4mk'),
    status: 412,
    code: 'E_PRECONDITION',
  },
  {
    name: 'PUT If-Match with a stale ETag',
    method: 'PUT',
    url: '/v1/containers/movie.h4mk',
    headers: { ...W, 'if-match': '"stale"' },
    body: () => file('fast.h4mk'),
    status: 412,
    code: 'E_PRECONDITION',
  },
  { name: 'DELETE without a token', method: 'DELETE', url: '/v1/containers/movie.h4mk', status: 401, code: 'E_UNAUTHORIZED' },
  {
    name: 'DELETE with a wrong token',
    method: 'DELETE',
    url: '/v1/containers/movie.h4mk',
    headers: { authorization: 'Bearer nope-nope-nope-nope-nope' },
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  { name: 'DELETE a missing container', method: 'DELETE', url: '/v1/containers/absent.h4mk', headers: W, status: 404, code: 'E_NOT_FOUND' },
  { name: 'DELETE a traversal name', method: 'DELETE', url: '/v1/containers/..%2Foutside', headers: W, status: 400, code: 'E_BAD_NAME' },
  {
    name: 'DELETE If-Match with a stale ETag',
    method: 'DELETE',
    url: '/v1/containers/movie.h4mk',
    headers: { ...W, 'if-match': '"stale"' },
    status: 412,
    code: 'E_PRECONDITION',
  },
  // Private reads: tokens and signed URLs.
  { name: 'private: no credentials', server: 'locked', url: '/v1/containers/movie.h4mk/manifest', status: 401, code: 'E_UNAUTHORIZED' },
  {
    name: 'private: wrong bearer token',
    server: 'locked',
    url: '/v1/containers/movie.h4mk',
    headers: { authorization: 'Bearer guess-guess-guess-guess' },
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  {
    name: 'private: empty bearer token',
    server: 'locked',
    url: '/v1/containers/movie.h4mk',
    headers: { authorization: 'Bearer ' },
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  {
    name: 'private: forged signature',
    server: 'locked',
    url: () => `/v1/containers/movie.h4mk?expires=${now() + 3600}&sig=${'A'.repeat(43)}`,
    status: 403,
    code: 'E_FORBIDDEN',
  },
  {
    name: 'private: signature of another name',
    server: 'locked',
    url: () => `/v1/containers/secret.h4mk?expires=${now() + 3600}&sig=${signName(SHARE_SECRET, 'movie.h4mk', now() + 3600)}`,
    status: 403,
    code: 'E_FORBIDDEN',
  },
  {
    name: 'private: expiry moved later',
    server: 'locked',
    url: () => `/v1/containers/movie.h4mk?expires=${now() + 7200}&sig=${signName(SHARE_SECRET, 'movie.h4mk', now() + 3600)}`,
    status: 403,
    code: 'E_FORBIDDEN',
  },
  {
    name: 'private: expired signed URL',
    server: 'locked',
    url: () => `/v1/containers/movie.h4mk?expires=${now() - 10}&sig=${signName(SHARE_SECRET, 'movie.h4mk', now() - 10)}`,
    status: 403,
    code: 'E_URL_EXPIRED',
  },
  {
    name: 'private: signed with another secret',
    server: 'locked',
    url: () => `/v1/containers/movie.h4mk?expires=${now() + 60}&sig=${signName('another-secret-of-length', 'movie.h4mk', now() + 60)}`,
    status: 403,
    code: 'E_FORBIDDEN',
  },
  {
    name: 'private: signature without expiry',
    server: 'locked',
    url: () => `/v1/containers/movie.h4mk?sig=${signName(SHARE_SECRET, 'movie.h4mk', now() + 60)}`,
    status: 403,
    code: 'E_FORBIDDEN',
  },
  {
    name: 'private: listing with a signed URL',
    server: 'locked',
    url: () => `/v1/containers?expires=${now() + 60}&sig=${signName(SHARE_SECRET, 'movie.h4mk', now() + 60)}`,
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  {
    name: 'private: seed body without a token',
    server: 'locked',
    method: 'POST',
    url: '/video/manifest',
    body: () => file('movie.h4mk'),
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  {
    name: 'private: a signed URL does not authorise a write',
    server: 'locked',
    method: 'DELETE',
    url: () => `/v1/containers/movie.h4mk?expires=${now() + 60}&sig=${signName(SHARE_SECRET, 'movie.h4mk', now() + 60)}`,
    status: 401,
    code: 'E_UNAUTHORIZED',
  },
  // Routing.
  { name: 'unknown route with a query string', url: '/v1/nothing?sig=abc&expires=1', status: 404, code: 'E_NOT_FOUND' },
  { name: 'unsupported method', method: 'PATCH', url: '/v1/containers/movie.h4mk', status: 404, code: 'E_NOT_FOUND' },
];

let blockCount = 0;

beforeAll(async () => {
  fx = await makeServerFixture();
  open = await build({ dir: fx.dir, writeToken: WRITE_TOKEN, maxUploadBytes: MAX_UPLOAD, maxInlineBytes: MAX_INLINE, revalidateMs: 0 });
  locked = await build({ dir: fx.dir, writeToken: WRITE_TOKEN, readToken: READ_TOKEN, shareSecret: SHARE_SECRET, revalidateMs: 0 });
  clients.open = injectClient(open);
  clients.locked = injectClient(locked);
  blockCount = (await clients.open({ url: '/v1/containers/movie.h4mk/manifest' })).json().block_count;
});

afterAll(async () => {
  await open?.close();
  await locked?.close();
  await fx?.cleanup();
});

describe('hostile and malformed requests', () => {
  it('has at least 30 distinct cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = await snapshot(fx.dir);
    const r = await clients[c.server ?? 'open']({
      method: c.method ?? 'GET',
      url: typeof c.url === 'function' ? c.url() : c.url,
      headers: c.headers ?? {},
      ...(c.body === undefined ? {} : { body: c.body() }),
    });
    expect({ status: r.status, code: r.json().error?.code }).toEqual({ status: c.status, code: c.code });
    // One error format, nothing else in it: no stack, no internals.
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'request_id']);
    expect(r.body.toString()).not.toMatch(/\bat [\w.<>]+ \(|node_modules|\/src\/|stack/);
    for (const [name, expected] of Object.entries(c.headersMatch ?? {})) expect(r.headers[name]).toMatch(expected);
    expect(await snapshot(fx.dir)).toBe(before);
  });

  it('left the directory exactly as the fixture made it (no temporaries)', async () => {
    const names = (await snapshot(fx.dir)).split('\n').map((l) => l.split(' ')[0]);
    expect(names).toEqual(['alias.h4mk', 'big.h4mk', 'escape.h4mk', 'fast.h4mk', 'garbage.h4mk', 'movie.h4mk', 'sealed.h4mk', 'secret.h4mk']);
  });
});
