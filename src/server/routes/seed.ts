/**
 * The seed's endpoints, kept compatible with its FastAPI router:
 *
 *   POST /video/manifest                                  ?file=NAME, or the container as the body
 *   POST /video/seek_to_block?track_id=…&pts_us=…         ?file=NAME, or the container as the body
 *   POST /video/block?core_index=…&decompress=true&file=NAME
 *
 * A container sent as the body is held in memory for the one request
 * (at most `maxInlineBytes`, whatever its Content-Type) and never written
 * anywhere.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { H4mkReader, MemorySource } from '../../index.js';
import { HttpError } from '../errors.js';
import { checkName } from '../names.js';
import type { Entry } from '../plugins/store.js';
import { routes } from '../schemas.js';
import { manifestView, seekView } from '../views.js';
import { sendBlock } from './block-response.js';
import { cachedManifest, requireTrack } from './rest.js';

/** The container named by `?file=`, or null. */
function fileParam(request: FastifyRequest): string | null {
  const file = (request.query as { file?: unknown }).file;
  return typeof file === 'string' ? file : null;
}

const fileHook: onRequestAsyncHookHandler = async (request) => {
  const file = fileParam(request);
  if (file !== null) checkName(file);
};

function bodyOf(request: FastifyRequest): Buffer | null {
  const body = request.body;
  return Buffer.isBuffer(body) && body.length > 0 ? body : null;
}

/**
 * Runs `fn` on the container the request names: a stored one (`entry` set)
 * or one sent as the body (`entry` null).
 */
async function withRequestContainer<T>(app: FastifyInstance, request: FastifyRequest, fn: (reader: H4mkReader, entry: Entry | null) => Promise<T>): Promise<T> {
  const name = fileParam(request);
  const body = bodyOf(request);
  if (name !== null && body !== null) throw new HttpError('E_BAD_REQUEST', 'give ?file=NAME or a request body, not both');
  if (name !== null) return app.store.use(name, (entry) => fn(entry.reader, entry));
  if (body === null) throw new HttpError('E_BAD_REQUEST', 'name a stored container with ?file=NAME or send one as the request body');
  const reader = await H4mkReader.open(new MemorySource(new Uint8Array(body.buffer, body.byteOffset, body.length)));
  try {
    return await fn(reader, null);
  } finally {
    await reader.close();
  }
}

export async function seedRoutes(app: FastifyInstance): Promise<void> {
  // In this plugin's scope only: every body is raw bytes, up to maxInlineBytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: app.h4mk.config.maxInlineBytes }, (_request, body, done) => done(null, body));
  const onRequest = [fileHook, app.access.readHook(fileParam)];

  app.post('/video/manifest', { schema: routes.seedManifest, onRequest, bodyLimit: app.h4mk.config.maxInlineBytes }, async (request) =>
    withRequestContainer(app, request, (reader, entry) => (entry === null ? manifestView(reader, null, null) : cachedManifest(entry))),
  );

  app.post<{ Querystring: { track_id: string; pts_us: number } }>(
    '/video/seek_to_block',
    { schema: routes.seedSeek, onRequest, bodyLimit: app.h4mk.config.maxInlineBytes },
    async (request) => {
      const { track_id, pts_us } = request.query;
      return withRequestContainer(app, request, async (reader) => {
        requireTrack(reader, track_id);
        return { ...seekView(track_id, pts_us, await reader.seek(track_id, pts_us)), track_id };
      });
    },
  );

  app.post<{ Querystring: { core_index: number; decompress?: boolean; file: string } }>(
    '/video/block',
    { schema: routes.seedBlock, onRequest, bodyLimit: app.h4mk.config.maxInlineBytes },
    async (request, reply) => {
      if (bodyOf(request) !== null) throw new HttpError('E_BAD_REQUEST', '/video/block reads a stored container: name it with ?file=NAME, send no body');
      return sendBlock(app, request, reply, request.query.file, request.query.core_index, request.query.decompress !== false);
    },
  );
}
