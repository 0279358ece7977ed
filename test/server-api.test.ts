/**
 * The HTTP service, endpoint by endpoint, twice: through `inject()` on the
 * app factory and over a real listening socket (node:http, keep-alive).
 * Answers are checked against the library reading the same bytes.
 * Then what is not per-request: schemas on every route and no field leaks,
 * the logs (request ids; no tokens, no signed-URL query strings), draining,
 * ETags across re-seals and replacements, and origin mode (the same files
 * read from a real nginx through HttpSource).
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeys, H4mkReader, MemorySink, MemorySource, signContainer, writeSealed } from '../src/node.js';
import { build } from '../src/server/app.js';
import { signedUrl } from '../src/server/signed-url.js';
import {
  type Client,
  injectClient,
  makeServerFixture,
  parseMultipart,
  READ_TOKEN,
  type ServerFixture,
  SHARE_SECRET,
  snapshot,
  socketClient,
  WRITE_TOKEN,
} from './support/server-fixtures.js';
import { makeSample, writeSample } from './helpers.js';
import { NGINX_SKIPPED, type Nginx, startNginx } from './support/nginx.js';

let fx: ServerFixture;
let app: FastifyInstance;
let base: string;
let socket: ReturnType<typeof socketClient>;
const logLines: string[] = [];
const readers = new Map<string, H4mkReader>();

function bytesOf(name: string): Uint8Array {
  const b = fx.files.get(name);
  if (b === undefined) throw new Error(`no fixture ${name}`);
  return b;
}

function reader(name: string): H4mkReader {
  const r = readers.get(name);
  if (r === undefined) throw new Error(`no reader ${name}`);
  return r;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const auth = { authorization: `Bearer ${WRITE_TOKEN}` };

beforeAll(async () => {
  fx = await makeServerFixture();
  for (const [name, bytes] of fx.files) if (name !== 'garbage.h4mk') readers.set(name, await H4mkReader.open(new MemorySource(bytes)));
  app = await build({
    dir: fx.dir,
    writeToken: WRITE_TOKEN,
    revalidateMs: 0,
    logger: { level: 'info', stream: { write: (line) => void logLines.push(line) } },
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  socket = socketClient(base);
});

afterAll(async () => {
  socket?.close();
  await app?.close();
  await fx?.cleanup();
});

describe.each(['inject', 'socket'] as const)('every endpoint, through %s', (mode) => {
  let client: Client;
  beforeAll(() => {
    client = mode === 'inject' ? injectClient(app) : socket;
  });

  it('GET /healthz', async () => {
    const r = await client({ url: '/healthz' });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ status: 'ok', uptime_s: expect.any(Number) });
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps a well-formed X-Request-Id and replaces a hostile one', async () => {
    expect((await client({ url: '/healthz', headers: { 'x-request-id': 'trace-42.a' } })).headers['x-request-id']).toBe('trace-42.a');
    expect((await client({ url: '/healthz', headers: { 'x-request-id': 'a b\t<script>' } })).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('GET /v1/containers lists by name, in pages, without symlinks that lead out', async () => {
    const all = await client({ url: '/v1/containers?limit=1000' });
    expect(all.status).toBe(200);
    const names = all.json().items.map((i: { name: string }) => i.name);
    expect(names.filter((n: string) => !n.startsWith('upload-'))).toEqual([
      'alias.h4mk',
      'big.h4mk',
      'fast.h4mk',
      'garbage.h4mk',
      'movie.h4mk',
      'sealed.h4mk',
      'secret.h4mk',
    ]);
    const movie = all.json().items.find((i: { name: string }) => i.name === 'movie.h4mk');
    expect(movie).toEqual({ name: 'movie.h4mk', size: bytesOf('movie.h4mk').length, modified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const paged: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const r = await client({ url: `/v1/containers?limit=2${cursor === null ? '' : `&cursor=${cursor}`}` });
      expect(r.status).toBe(200);
      const page = r.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items.map((i: { name: string }) => i.name));
      cursor = page.next_cursor;
      if (cursor === null) break;
    }
    expect(paged).toEqual(names);
  });

  it('GET …/manifest matches the library, for every layout and kind', async () => {
    for (const name of ['movie.h4mk', 'fast.h4mk', 'secret.h4mk', 'sealed.h4mk']) {
      const r = await client({ url: `/v1/containers/${name}/manifest` });
      expect(r.status, name).toBe(200);
      const m = r.json();
      const lib = reader(name);
      expect(Object.keys(m).sort()).toEqual(
        [
          'block_count',
          'chain_head',
          'encrypted',
          'encryption',
          'etag',
          'file_size',
          'format_version',
          'index_length',
          'index_offset',
          'keyframe_map_length',
          'layout',
          'meta',
          'name',
          'records_per_segment',
          'safe',
          'seal',
          'sealed',
          'segment_count',
          'tracks',
        ].sort(),
      );
      expect(m).toMatchObject({
        name,
        file_size: lib.fileSize,
        layout: lib.layout,
        block_count: lib.blockCount,
        segment_count: lib.segmentCount,
        records_per_segment: 1,
        keyframe_map_length: lib.index.keys?.length ?? null,
        chain_head: lib.chainHead,
        encrypted: lib.encrypted,
      });
      expect(m.tracks.map((t: { id: string }) => t.id)).toEqual(lib.tracks().map((t) => t.id));
      expect(m.tracks[0].block_count).toBe(lib.tracks()[0]?.blockCount);
      const raw = await client({ method: 'HEAD', url: `/v1/containers/${name}` });
      expect(m.etag).toBe(raw.headers.etag);
    }
    expect((await client({ url: '/v1/containers/sealed.h4mk/manifest' })).json().seal).toMatchObject({ signer: 'tests@h4mk', valid: true });
    expect((await client({ url: '/v1/containers/movie.h4mk/manifest' })).json().seal).toBeNull();
  });

  it('GET …/seek matches reader.seek, before the first keyframe too', async () => {
    const lib = reader('movie.h4mk');
    for (const [track, pts] of [
      ['video_main', 1_000_000],
      ['audio_main', 333_333],
      ['video_main', 0],
      ['control', 2_500_000],
    ] as const) {
      const r = await client({ url: `/v1/containers/movie.h4mk/seek?track=${track}&pts_us=${pts}` });
      expect(r.status).toBe(200);
      const hit = await lib.seek(track, pts);
      expect(r.json()).toEqual({
        track,
        target_pts_us: pts,
        found: true,
        core_index: hit?.coreIndex,
        pts_us: hit?.ptsUs,
        pts: hit?.pts,
        span: { offset: hit?.span.offset, length: hit?.span.length, from_core_index: hit?.span.fromCoreIndex, to_core_index: hit?.span.toCoreIndex },
      });
    }
    // Before the first keyframe: the first keyframe (issue 15), not "not found".
    const before = await client({ url: '/v1/containers/movie.h4mk/seek?track=video_main&pts_us=-5' });
    const first = await lib.seek('video_main', -5);
    expect(first?.ptsUs).toBeGreaterThan(-5);
    expect(before.json()).toMatchObject({ track: 'video_main', target_pts_us: -5, found: true, core_index: first?.coreIndex, pts_us: first?.ptsUs });
  });

  it('GET …/range lists blocks in file order, paged with after', async () => {
    const lib = reader('movie.h4mk');
    const expected: number[] = [];
    for await (const b of lib.infos({ fromUs: 500_000, toUs: 1_500_000, tracks: ['video_main', 'control'] })) expected.push(b.coreIndex);
    const got: number[] = [];
    let after = -1;
    for (let pages = 0; pages < 100; pages++) {
      const r = await client({ url: `/v1/containers/movie.h4mk/range?from_us=500000&to_us=1500000&track=video_main&track=control&limit=7&after=${after}` });
      expect(r.status).toBe(200);
      const page = r.json();
      got.push(...page.blocks.map((b: { core_index: number }) => b.core_index));
      if (!page.truncated) break;
      after = page.next_after;
    }
    expect(got).toEqual(expected);
    const one = (await client({ url: '/v1/containers/movie.h4mk/range?track=video_main&keyframes_only=true' })).json();
    expect(one.blocks.every((b: { keyframe: boolean; track: string }) => b.keyframe && b.track === 'video_main')).toBe(true);
    const info = await lib.blockInfo(one.blocks[1].core_index);
    expect(one.blocks[1]).toMatchObject({
      offset: info.offset,
      chunk_length: info.chunkLength,
      sha256: info.digest === null ? null : Buffer.from(info.digest).toString('hex'),
      pts_us: info.ptsUs,
      pts: info.pts,
      dts: info.dts,
      duration: info.duration,
      end_of_track: info.endOfTrack,
    });
  });

  it('GET …/plan matches reader.plan', async () => {
    const lib = reader('movie.h4mk');
    const r = await client({ url: '/v1/containers/movie.h4mk/plan?from_us=1000000&to_us=2000000&from_keyframe=true&max_gap=0' });
    expect(r.status).toBe(200);
    const planned = await lib.plan({ fromUs: 1_000_000, toUs: 2_000_000, fromKeyframe: true }, { maxGap: 0 });
    expect(r.json()).toEqual({
      requests: planned.length,
      bytes: planned.reduce((n, p) => n + p.length, 0),
      ranges: planned.map((p) => ({ offset: p.offset, length: p.length, segments: p.segments })),
    });
  });

  it('GET …/blocks/{i}: stored bytes, or decompressed, with block headers and a per-representation ETag', async () => {
    const lib = reader('movie.h4mk');
    for (const i of [0, 1, 17, lib.blockCount - 1]) {
      const stored = await client({ url: `/v1/containers/movie.h4mk/blocks/${i}` });
      expect(stored.status).toBe(200);
      const storedLib = await lib.readBlock(i, { decompress: false });
      expect(same(stored.body, storedLib.payload)).toBe(true);
      expect(stored.headers['content-type']).toBe('application/octet-stream');
      expect(stored.headers['h4mk-core-index']).toBe(String(i));
      expect(stored.headers['h4mk-track']).toBe(storedLib.trackId);
      expect(stored.headers['h4mk-pts-us']).toBe(String(storedLib.ptsUs));
      expect(stored.headers['h4mk-sha256']).toBe(storedLib.digest === null ? undefined : Buffer.from(storedLib.digest).toString('hex'));
      expect(stored.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      const plain = await client({ url: `/v1/containers/movie.h4mk/blocks/${i}?decompress=true` });
      expect(same(plain.body, (await lib.readBlock(i)).payload)).toBe(true);
      expect(plain.headers['h4mk-compression']).toBe('none');
      if (storedLib.compression !== 'none') expect(plain.headers.etag).not.toBe(stored.headers.etag);
      const again = await client({ url: `/v1/containers/movie.h4mk/blocks/${i}`, headers: { 'if-none-match': stored.headers.etag ?? '' } });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
    }
    const head = await client({ method: 'HEAD', url: '/v1/containers/movie.h4mk/blocks/3' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('GET …/blocks/{i} of an encrypted container: the ciphertext, even with decompress=true', async () => {
    const lib = reader('secret.h4mk');
    const r = await client({ url: '/v1/containers/secret.h4mk/blocks/5?decompress=true' });
    expect(r.status).toBe(200);
    expect(same(r.body, (await lib.readBlock(5, { decompress: false })).payload)).toBe(true);
    expect(r.headers['h4mk-encrypted']).toBe('1');
    expect(r.headers['h4mk-payload']).toBe('ciphertext');
  });

  it('GET …/verify checks every byte', async () => {
    for (const name of ['movie.h4mk', 'secret.h4mk', 'sealed.h4mk']) {
      const r = await client({ url: `/v1/containers/${name}/verify` });
      expect(r.status).toBe(200);
      expect(r.json()).toMatchObject({
        name,
        ok: true,
        block_count: reader(name).blockCount,
        blocks_checked: reader(name).blockCount,
        failed_blocks: [],
        chain_head: reader(name).chainHead,
      });
    }
  });

  it('GET|HEAD /v1/containers/{name}: the file, ranges, conditionals', async () => {
    const file = bytesOf('movie.h4mk');
    const size = file.length;
    const full = await client({ url: '/v1/containers/movie.h4mk' });
    expect(full.status).toBe(200);
    expect(same(full.body, file)).toBe(true);
    expect(full.headers).toMatchObject({ 'accept-ranges': 'bytes', 'content-length': String(size), 'cache-control': 'public, max-age=31536000, immutable' });
    expect(full.headers['content-range']).toBeUndefined();
    const etag = full.headers.etag ?? '';
    expect(etag).toMatch(/^"[0-9a-f]{16}-[0-9a-f]{24}"$/);
    expect(etag.slice(1, 17)).toBe(reader('movie.h4mk').chainHead.slice(0, 16));

    const single = await client({ url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=100-199' } });
    expect(single.status).toBe(206);
    expect(single.headers['content-range']).toBe(`bytes 100-199/${size}`);
    expect(same(single.body, file.subarray(100, 200))).toBe(true);

    const suffix = await client({ url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=-100000' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers['content-range']).toBe(`bytes ${size - 100000}-${size - 1}/${size}`);
    expect(same(suffix.body, file.subarray(size - 100000))).toBe(true);

    const multi = await client({ url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=0-9, 1000-1099, -5' } });
    expect(multi.status).toBe(206);
    expect(multi.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
    expect(Number(multi.headers['content-length'])).toBe(multi.body.length);
    const parts = parseMultipart(multi.body, multi.headers['content-type'] ?? '');
    expect(parts.map((p) => p.contentRange)).toEqual([`bytes 0-9/${size}`, `bytes 1000-1099/${size}`, `bytes ${size - 5}-${size - 1}/${size}`]);
    expect(same(parts[1]?.bytes ?? new Uint8Array(), file.subarray(1000, 1100))).toBe(true);

    const head = await client({ method: 'HEAD', url: '/v1/containers/movie.h4mk' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(size));
    expect(head.body.length).toBe(0);
    const headRange = await client({ method: 'HEAD', url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=0-9' } });
    expect(headRange.status).toBe(206);
    expect(headRange.headers['content-length']).toBe('10');

    expect((await client({ url: '/v1/containers/movie.h4mk', headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await client({ url: '/v1/containers/movie.h4mk', headers: { 'if-none-match': `"other", W/${etag}` } })).status).toBe(304);
    expect((await client({ url: '/v1/containers/movie.h4mk', headers: { 'if-modified-since': full.headers['last-modified'] ?? '' } })).status).toBe(304);
    const stale = await client({ url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=0-9', 'if-range': '"stale"' } });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(size);
    const fresh = await client({ url: '/v1/containers/movie.h4mk', headers: { range: 'bytes=0-9', 'if-range': etag } });
    expect(fresh.status).toBe(206);
    const unsatisfiable = await client({ url: '/v1/containers/movie.h4mk', headers: { range: `bytes=${size}-` } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers['content-range']).toBe(`bytes */${size}`);
    expect(unsatisfiable.json().error.code).toBe('E_RANGE');
    expect(unsatisfiable.headers['cache-control']).toBe('no-store');

    const big = bytesOf('big.h4mk');
    const streamed = await client({ url: '/v1/containers/big.h4mk' });
    expect(streamed.status).toBe(200);
    expect(same(streamed.body, big)).toBe(true);
    const alias = await client({ url: '/v1/containers/alias.h4mk' });
    expect(same(alias.body, file)).toBe(true);
  });

  it('POST /video/manifest, /video/seek_to_block, /video/block (the seed API)', async () => {
    const lib = reader('movie.h4mk');
    const byName = await client({ method: 'POST', url: '/video/manifest?file=movie.h4mk' });
    expect(byName.status).toBe(200);
    expect(byName.json()).toMatchObject({ name: 'movie.h4mk', chain_head: lib.chainHead, block_count: lib.blockCount });
    const before = await snapshot(fx.dir);
    const byBody = await client({
      method: 'POST',
      url: '/video/manifest',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytesOf('fast.h4mk'),
    });
    expect(byBody.status).toBe(200);
    expect(byBody.json()).toMatchObject({ name: null, etag: null, layout: 'faststart', chain_head: reader('fast.h4mk').chainHead });
    // Python's requests sends bytes without a Content-Type; curl --data-binary as a form.
    const untyped = await client({
      method: 'POST',
      url: '/video/manifest',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: bytesOf('movie.h4mk'),
    });
    expect(untyped.json().chain_head).toBe(lib.chainHead);
    expect(await snapshot(fx.dir)).toBe(before);

    const hit = await lib.seek('video_main', 2_000_000);
    const seek = await client({ method: 'POST', url: '/video/seek_to_block?track_id=video_main&pts_us=2000000&file=movie.h4mk' });
    expect(seek.status).toBe(200);
    expect(seek.json()).toMatchObject({ track_id: 'video_main', found: true, core_index: hit?.coreIndex, pts_us: hit?.ptsUs });
    const seekBody = await client({ method: 'POST', url: '/video/seek_to_block?track_id=video_main&pts_us=2000000', body: bytesOf('movie.h4mk') });
    expect(seekBody.json().core_index).toBe(hit?.coreIndex);

    const block = await client({ method: 'POST', url: `/video/block?core_index=${hit?.coreIndex}&decompress=true&file=movie.h4mk` });
    expect(block.status).toBe(200);
    expect(same(block.body, (await lib.readBlock(hit?.coreIndex ?? 0)).payload)).toBe(true);
    const stored = await client({ method: 'POST', url: `/video/block?core_index=${hit?.coreIndex}&decompress=false&file=movie.h4mk` });
    expect(same(stored.body, (await lib.readBlock(hit?.coreIndex ?? 0, { decompress: false })).payload)).toBe(true);
  });

  it('PUT and DELETE /v1/containers/{name}: create, replace, preconditions, delete', async () => {
    const name = `upload-${mode}.h4mk`;
    const created = await client({
      method: 'PUT',
      url: `/v1/containers/${name}`,
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: bytesOf('movie.h4mk'),
    });
    expect(created.status).toBe(201);
    const c = created.json();
    expect(c).toEqual({
      name,
      created: true,
      size: bytesOf('movie.h4mk').length,
      etag: expect.any(String),
      chain_head: reader('movie.h4mk').chainHead,
      block_count: reader('movie.h4mk').blockCount,
    });
    expect(created.headers.location).toBe(`/v1/containers/${name}`);
    const served = await client({ url: `/v1/containers/${name}` });
    expect(same(served.body, bytesOf('movie.h4mk'))).toBe(true);
    expect(served.headers.etag).toBe(c.etag);

    // Cached by the block cache under this version's ETag: it must not outlive the version.
    const blockBefore = await client({ url: `/v1/containers/${name}/blocks/0` });
    expect(same(blockBefore.body, (await reader('movie.h4mk').readBlock(0, { decompress: false })).payload)).toBe(true);
    expect(
      (await client({ method: 'PUT', url: `/v1/containers/${name}`, headers: { ...auth, 'if-none-match': '*' }, body: bytesOf('fast.h4mk') })).status,
    ).toBe(412);
    expect(
      (await client({ method: 'PUT', url: `/v1/containers/${name}`, headers: { ...auth, 'if-match': '"not-it"' }, body: bytesOf('fast.h4mk') })).status,
    ).toBe(412);
    const replaced = await client({ method: 'PUT', url: `/v1/containers/${name}`, headers: { ...auth, 'if-match': c.etag }, body: bytesOf('fast.h4mk') });
    expect(replaced.status).toBe(200);
    expect(replaced.json()).toMatchObject({ created: false, chain_head: reader('fast.h4mk').chainHead });
    expect(replaced.json().etag).not.toBe(c.etag);
    const after = await client({ url: `/v1/containers/${name}/manifest` });
    expect(after.json().layout).toBe('faststart');
    const blockAfter = await client({ url: `/v1/containers/${name}/blocks/0` });
    expect(same(blockAfter.body, (await reader('fast.h4mk').readBlock(0, { decompress: false })).payload)).toBe(true);
    expect(blockAfter.headers.etag).not.toBe(blockBefore.headers.etag);

    expect((await client({ method: 'DELETE', url: `/v1/containers/${name}`, headers: { ...auth, 'if-match': c.etag } })).status).toBe(412);
    const deleted = await client({ method: 'DELETE', url: `/v1/containers/${name}`, headers: auth });
    expect(deleted.status).toBe(204);
    expect((await client({ url: `/v1/containers/${name}` })).status).toBe(404);
    expect((await client({ method: 'DELETE', url: `/v1/containers/${name}`, headers: auth })).status).toBe(404);
  });

  it('GET /openapi.json and /docs', async () => {
    const doc = (await client({ url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.0.3');
    for (const path of [
      '/v1/containers',
      '/v1/containers/{name}',
      '/v1/containers/{name}/manifest',
      '/v1/containers/{name}/seek',
      '/v1/containers/{name}/range',
      '/v1/containers/{name}/plan',
      '/v1/containers/{name}/blocks/{core_index}',
      '/v1/containers/{name}/verify',
      '/video/manifest',
      '/video/seek_to_block',
      '/video/block',
      '/healthz',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(Object.keys(doc.paths['/v1/containers/{name}']).sort()).toEqual(['delete', 'get', 'head', 'put']);
    const docs = await client({ url: '/docs' });
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
  });

  it('CORS: preflight for ranged reads, exposed headers', async () => {
    const pre = await client({
      method: 'OPTIONS',
      url: '/v1/containers/movie.h4mk',
      headers: { origin: 'https://inspector.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range, if-range' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-headers']).toMatch(/Range/);
    expect(pre.headers['access-control-max-age']).toBe('86400');
    const get = await client({ url: '/v1/containers/movie.h4mk', headers: { origin: 'https://inspector.example', range: 'bytes=-10' } });
    expect(get.headers['access-control-allow-origin']).toBe('*');
    expect(get.headers['access-control-expose-headers']).toMatch(/Content-Range.*ETag/);
  });
});

describe('contracts that are not per request', () => {
  it('every route has request and response schemas (OpenAPI), errors included', async () => {
    const doc = app.swagger() as { paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters?: unknown[] }>> };
    let operations = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        operations++;
        const codes = Object.keys(op.responses);
        expect(
          codes.some((c) => /^2/.test(c)),
          `${method} ${path}`,
        ).toBe(true);
        if (path !== '/healthz') expect(codes, `${method} ${path}`).toEqual(expect.arrayContaining(['4XX', '5XX']));
      }
    }
    expect(operations).toBeGreaterThanOrEqual(15);
  });

  it('an internal error reaches the client as E_INTERNAL with no detail', async () => {
    const original = app.store.use.bind(app.store);
    app.store.use = async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'x') at /srv/h4mk/secret-path.js:12");
    };
    try {
      const r = await injectClient(app)({ url: '/v1/containers/movie.h4mk/manifest' });
      expect(r.status).toBe(500);
      expect(r.json()).toEqual({ error: { code: 'E_INTERNAL', message: 'internal error', request_id: expect.any(String) } });
      expect(r.body.toString()).not.toMatch(/secret-path|stack|at \//);
    } finally {
      app.store.use = original;
    }
  });

  it('logs: JSON lines with request ids; never tokens, signatures or query strings', async () => {
    const locked = await build({
      dir: fx.dir,
      writeToken: WRITE_TOKEN,
      readToken: READ_TOKEN,
      shareSecret: SHARE_SECRET,
      logger: { level: 'info', stream: { write: (l) => void logLines.push(l) } },
    });
    try {
      const url = new URL(signedUrl('http://x/', 'movie.h4mk', SHARE_SECRET, Math.floor(Date.now() / 1000) + 60));
      const signedPath = `${url.pathname}${url.search}`;
      const c = injectClient(locked);
      expect((await c({ url: signedPath, headers: { 'x-request-id': 'req-signed-1', range: 'bytes=0-1' } })).status).toBe(206);
      expect(
        (await c({ url: '/v1/containers/movie.h4mk/manifest', headers: { authorization: `Bearer ${READ_TOKEN}`, 'x-request-id': 'req-token-1' } })).status,
      ).toBe(200);
      expect((await c({ url: '/v1/containers/movie.h4mk/manifest', headers: { authorization: 'Bearer wrong-token-xxxxxxxx' } })).status).toBe(401);
      expect(
        (await c({ method: 'PUT', url: '/v1/containers/x.h4mk', headers: { authorization: `Bearer ${WRITE_TOKEN}` }, body: new Uint8Array(10) })).status,
      ).toBe(422);
      expect((await c({ url: `/nowhere${url.search}` })).status).toBe(404);
    } finally {
      await locked.close();
    }
    const text = logLines.join('');
    const sig = /sig=([^&]+)/.exec(text);
    expect(sig).toBeNull();
    for (const secret of [WRITE_TOKEN, READ_TOKEN, SHARE_SECRET, 'wrong-token-xxxxxxxx', 'expires=']) expect(text).not.toContain(secret);
    const entries = logLines.map((l) => JSON.parse(l) as { reqId?: string; req?: { path?: string }; msg: string });
    const signed = entries.filter((e) => e.reqId === 'req-signed-1');
    // One line per request, when it completes: method, path (no query), status, time, request id.
    expect(signed).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        req: { method: 'GET', path: '/v1/containers/movie.h4mk', remoteAddress: expect.any(String) },
        res: { statusCode: 206 },
        responseTime: expect.any(Number),
      }),
    ]);
    expect(entries.some((e) => e.reqId === 'req-token-1')).toBe(true);
  });

  it('draining: new requests get 503, /healthz says draining', async () => {
    const other = await build({ dir: fx.dir });
    try {
      other.h4mk.draining = true;
      const c = injectClient(other);
      const r = await c({ url: '/v1/containers/movie.h4mk/manifest' });
      expect(r.status).toBe(503);
      expect(r.json().error.code).toBe('E_UNAVAILABLE');
      const h = await c({ url: '/healthz' });
      expect(h.status).toBe(503);
      expect(h.json().status).toBe('draining');
    } finally {
      await other.close();
    }
  });

  it('ETag: a new version gets a new ETag, even with the same chain head and size (re-seal)', async () => {
    const c = injectClient(app);
    const sealedBytes = bytesOf('sealed.h4mk');
    await writeFile(join(fx.dir, 'reseal.h4mk'), sealedBytes);
    const first = await c({ method: 'HEAD', url: '/v1/containers/reseal.h4mk' });
    const r = await H4mkReader.open(new MemorySource(sealedBytes));
    const sink = new MemorySink();
    await writeSealed(r, sink, signContainer(r, generateSigningKeys().privateKeyPem, 'tests@h4mk'));
    const resealed = sink.bytes();
    expect(resealed.length).toBe(sealedBytes.length);
    // Published by rename, as h4mk and any careful writer do.
    await writeFile(join(fx.dir, '.tmp-reseal'), resealed);
    await rename(join(fx.dir, '.tmp-reseal'), join(fx.dir, 'reseal.h4mk'));
    const second = await c({ method: 'HEAD', url: '/v1/containers/reseal.h4mk' });
    const m = (await c({ url: '/v1/containers/reseal.h4mk/manifest' })).json();
    expect(m.chain_head).toBe(r.chainHead);
    expect(second.headers['content-length']).toBe(first.headers['content-length']);
    expect(second.headers.etag).not.toBe(first.headers.etag);
    expect(m.etag).toBe(second.headers.etag);
    expect((await c({ method: 'DELETE', url: '/v1/containers/reseal.h4mk', headers: auth })).status).toBe(204);
  });
});

describe.skipIf(NGINX_SKIPPED)('origin mode: the same containers read from nginx through HttpSource', () => {
  let nginx: Nginx;
  let remote: FastifyInstance;
  beforeAll(async () => {
    nginx = await startNginx();
    for (const name of ['movie.h4mk', 'fast.h4mk', 'big.h4mk']) await writeFile(join(nginx.root, name), bytesOf(name));
    remote = await build({ origin: nginx.url('/'), writeToken: WRITE_TOKEN });
  });
  afterAll(async () => {
    await remote?.close();
    await nginx?.stop();
  });

  it('serves the same answers as local mode', async () => {
    const local = injectClient(app);
    const c = injectClient(remote);
    for (const url of [
      '/v1/containers/movie.h4mk/manifest',
      '/v1/containers/fast.h4mk/seek?track=audio_main&pts_us=1500000',
      '/v1/containers/movie.h4mk/verify',
    ]) {
      const a = await local({ url });
      const b = await c({ url });
      expect(b.status, url).toBe(200);
      expect(b.json(), url).toEqual(a.json());
    }
    for (const [url, headers] of [
      ['/v1/containers/movie.h4mk/blocks/10?decompress=true', {}],
      ['/v1/containers/big.h4mk', {}],
      ['/v1/containers/big.h4mk', { range: 'bytes=100-299999' }],
      ['/v1/containers/movie.h4mk', { range: 'bytes=0-9,-10' }],
    ] as const) {
      const a = await local({ url, headers });
      const b = await c({ url, headers });
      expect(b.status, url).toBe(a.status);
      expect(b.headers.etag).toBe(a.headers.etag);
      expect(b.headers['content-range']).toBe(a.headers['content-range']);
      if (!(a.headers['content-type'] ?? '').startsWith('multipart')) expect(same(a.body, b.body), url).toBe(true);
    }
  });

  it('is read-only and reports missing files as 404', async () => {
    const c = injectClient(remote);
    expect((await c({ url: '/v1/containers/absent.h4mk/manifest' })).status).toBe(404);
    const put = await c({ method: 'PUT', url: '/v1/containers/x.h4mk', headers: auth, body: bytesOf('movie.h4mk') });
    expect(put.status).toBe(501);
    expect((await c({ url: '/v1/containers' })).json().error.code).toBe('E_NOT_IMPLEMENTED');
  });

  it('a cached reader that meets a replaced origin file (E_CHANGED) reopens it and answers from the new version', async () => {
    // Revalidation far away: only the change detection of HttpSource (If-Range) can notice.
    const sticky = await build({ origin: nginx.url('/'), revalidateMs: 600_000 });
    try {
      const c = injectClient(sticky);
      await writeFile(join(nginx.root, 'swap.h4mk'), bytesOf('big.h4mk'));
      const first = (await c({ url: '/v1/containers/swap.h4mk/manifest' })).json();
      const other = await writeSample(makeSample({ seed: 99, gops: 20, scale: 300 }));
      await writeFile(join(nginx.root, 'swap.h4mk.tmp'), other);
      await rename(join(nginx.root, 'swap.h4mk.tmp'), join(nginx.root, 'swap.h4mk'));
      const newReader = await H4mkReader.open(new MemorySource(other));
      const block = await c({ url: '/v1/containers/swap.h4mk/blocks/40' });
      expect(block.status).toBe(200);
      expect(same(block.body, (await newReader.readBlock(40, { decompress: false })).payload)).toBe(true);
      expect(block.headers.etag?.startsWith(first.etag.slice(0, -1))).toBe(false);
      expect((await c({ url: '/v1/containers/swap.h4mk/manifest' })).json().chain_head).toBe(newReader.chainHead);
    } finally {
      await sticky.close();
    }
  });
});
