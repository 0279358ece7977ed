/**
 * The browser inspector at `/`: the page built from web/ by `npm run build`
 * into dist-web/ (shipped in the npm package, so serving needs no build
 * step). `GET /` is its index.html, `GET /assets/{file}` its hashed script,
 * style sheet and zstd wasm. The page reads containers from this same
 * server (`/v1/containers`, the raw files with ranges) and decrypts in the
 * browser: it never sends keys, and its Content-Security-Policy lets it
 * connect to this origin only.
 *
 * Register with {@link registerInspector} (an encapsulated plugin: its
 * routes, nothing else).
 */
import { readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HttpError } from '../errors.js';

/** Options of {@link inspectorRoutes}. */
export type InspectorOptions = {
  /** Directory of the built page. Default: dist-web/ of this package. */
  root?: string;
};

/** dist-web/ of this package: three levels up from src/server/routes/ or dist/server/routes/. */
export const DEFAULT_INSPECTOR_ROOT = fileURLToPath(new URL('../../../dist-web/', import.meta.url));

/** Content types of what the build emits. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * The page's policy. `wasm-unsafe-eval` lets it compile the zstd decoder
 * (WebAssembly), nothing else; `connect-src 'self'`: whatever is pasted into
 * the page can only ever be sent to this server, and the page sends it
 * nowhere.
 */
export const INSPECTOR_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  // The player attaches a MediaSource to its <video> through a blob: URL.
  "media-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed asset names: letters, digits, dot, dash, underscore; no leading dot. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$/;

/** Serves the inspector's files from `options.root`. */
export async function inspectorRoutes(app: FastifyInstance, options: InspectorOptions = {}): Promise<void> {
  if (options.root !== undefined && typeof options.root !== 'string') throw new TypeError('inspector root must be a directory path');
  const root = resolve(options.root ?? DEFAULT_INSPECTOR_ROOT);
  const assets = join(root, 'assets');
  // Hashed assets never change under their name: each is read once. index.html is read
  // per request, so a rebuild takes effect without a restart.
  const cache = new Map<string, Promise<Buffer>>();
  const load = (path: string): Promise<Buffer> => {
    let bytes = cache.get(path);
    if (bytes === undefined) {
      bytes = readFile(path);
      cache.set(path, bytes);
      bytes.catch(() => cache.delete(path));
    }
    return bytes;
  };
  const send = (reply: FastifyReply, bytes: Buffer, path: string, cacheControl: string) =>
    reply
      .header('content-type', CONTENT_TYPES[extname(path)] ?? 'application/octet-stream')
      .header('cache-control', cacheControl)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(bytes);

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    const path = join(root, 'index.html');
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      throw new HttpError('E_NOT_FOUND', 'the inspector page is not built here: run `npm run build` (it writes dist-web/)');
    }
    reply.header('content-security-policy', INSPECTOR_CSP);
    // Revalidated each time: a new build takes effect at the next load.
    return send(reply, bytes, path, 'no-cache');
  });

  app.get<{ Params: { file: string } }>('/assets/:file', { schema: { hide: true } }, async (request, reply) => {
    const name = request.params.file;
    if (!ASSET_NAME.test(name)) throw new HttpError('E_NOT_FOUND', 'no such inspector asset');
    const path = join(assets, name);
    let bytes: Buffer;
    try {
      bytes = await load(path);
    } catch {
      throw new HttpError('E_NOT_FOUND', 'no such inspector asset');
    }
    // Names carry a content hash: cache forever.
    return send(reply, bytes, path, 'public, max-age=31536000, immutable');
  });
}

/** Registers the inspector page on `app` (call from the app factory). */
export async function registerInspector(app: FastifyInstance, options: InspectorOptions = {}): Promise<void> {
  await app.register(inspectorRoutes, options);
}
