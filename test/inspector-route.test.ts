/**
 * The inspector's route module (src/server/routes/inspector.ts) through the
 * app factory and `inject()`: the page at `/` with its policy, hashed assets
 * with their content types and immutable caching, nothing else under
 * /assets, and a clear 404 when the page was not built.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../src/server/index.js';
import { DEFAULT_INSPECTOR_ROOT, INSPECTOR_CSP, registerInspector } from '../src/server/routes/inspector.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let dir = '';
let app: Awaited<ReturnType<typeof build>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'h4mk-inspector-route-'));
  app = await build({ dir, logger: false });
});

afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('inspector route', () => {
  it('serves the built page from dist-web/ at / with its Content-Security-Policy', async () => {
    expect(DEFAULT_INSPECTOR_ROOT).toBe(join(ROOT, 'dist-web/'));
    const r = await app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toBe(INSPECTOR_CSP);
    expect(r.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.body).toContain('<title>h4mk inspector</title>');
    expect((await app.inject({ method: 'HEAD', url: '/' })).statusCode).toBe(200);
  });

  it('serves each asset with its content type and immutable caching; nothing else', async () => {
    const assets = await readdir(join(ROOT, 'dist-web/assets'));
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      wasm: 'application/wasm',
      map: 'application/json; charset=utf-8',
    };
    for (const name of assets) {
      const r = await app.inject({ method: 'GET', url: `/assets/${name}` });
      expect(r.statusCode, name).toBe(200);
      expect(r.headers['content-type'], name).toBe(types[name.split('.').pop() as string]);
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(assets.some((n) => n.endsWith('.wasm'))).toBe(true);
    for (const url of ['/assets/nope.js', '/assets/..%2Fpackage.json', '/assets/.hidden', '/assets/%2e%2e/package.json', '/assets/..%2F..%2Fpackage.json']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error.code).toBe('E_NOT_FOUND');
    }
  });

  it('says how to build the page when dist-web/ is missing', async () => {
    const bare = Fastify();
    await registerInspector(bare, { root: join(dir, 'not-built') });
    const r = await bare.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(404);
    expect(r.body).toContain('npm run build');
    await bare.close();
  });
});
