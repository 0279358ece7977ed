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
 *
 * Memory: bodies in flight share one budget (`bodyMemoryBytes`). A body
 * with a Content-Length reserves that much before a byte of it is read
 * (and is read into one buffer of exactly that size); a chunked one
 * reserves as it grows. What does not fit is refused with 503 E_BUSY and
 * Retry-After, before the body is read; `Expect: 100-continue` is answered
 * only once the request is authorised and its memory reserved.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { H4mkReader, MemorySource } from '../../node.js';
import { type Reservation, releaseWithResponse, sendContinue } from '../context.js';
import { HttpError } from '../errors.js';
import { checkName } from '../names.js';
import type { Entry } from '../store/entry.js';
import { routes } from '../schemas.js';
import { type ManifestDoc, manifestView, type SeekDoc, seekView } from '../../views/index.js';
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

/** The body's memory reservation, by request (made in preParsing, grown by the parser). */
const reservations = new WeakMap<FastifyRequest, Reservation>();

const busy = () => new HttpError('E_BUSY', 'too many request bodies are being received; try again shortly', { 'retry-after': '1' });

/** The declared Content-Length (Node has checked it is digits), or null for a chunked body. */
function declaredLength(request: FastifyRequest): number | null {
  const value = request.headers['content-length'];
  if (request.headers['transfer-encoding'] !== undefined || typeof value !== 'string') return null;
  return Number(value);
}

function hasBody(request: FastifyRequest): boolean {
  const declared = declaredLength(request);
  return declared === null ? request.headers['transfer-encoding'] !== undefined : declared > 0;
}

/**
 * Reads the body: into one buffer of the declared length, or, chunked, into
 * parts reserved as they arrive (and joined at the end, the copy reserved
 * while both exist). A body cut off is E_INCOMPLETE, not an internal error.
 */
async function readBody(payload: Readable, declared: number | null, reservation: Reservation | undefined, limit: number): Promise<Buffer> {
  try {
    if (declared !== null) {
      const body = Buffer.allocUnsafe(declared);
      let at = 0;
      for await (const chunk of payload as AsyncIterable<Buffer>) {
        if (at + chunk.length > declared) throw new HttpError('E_BAD_REQUEST', 'the body is longer than its Content-Length');
        chunk.copy(body, at);
        at += chunk.length;
      }
      if (at !== declared) throw new HttpError('E_INCOMPLETE', 'the request body was cut off');
      return body;
    }
    const parts: Buffer[] = [];
    let total = 0;
    for await (const chunk of payload as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) throw new HttpError('E_TOO_LARGE', `request bodies are limited to ${limit} bytes`);
      if (reservation !== undefined && !reservation.grow(chunk.length)) throw busy();
      parts.push(chunk);
    }
    if (parts.length <= 1) return parts[0] ?? Buffer.alloc(0);
    if (reservation !== undefined && !reservation.grow(total)) throw busy();
    const joined = Buffer.concat(parts, total);
    parts.length = 0;
    reservation?.shrink(total);
    return joined;
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client went away (or the stream broke) mid-body.
    throw new HttpError('E_INCOMPLETE', 'the request body was cut off');
  }
}

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
  const limit = app.h4mk.config.maxInlineBytes;
  // After the access checks (onRequest), before a byte of the body is read: its size, its memory, then 100 Continue.
  app.addHook('preParsing', async (request, reply, payload) => {
    const declared = declaredLength(request);
    if (declared !== null && declared > limit) throw new HttpError('E_TOO_LARGE', `request bodies are limited to ${limit} bytes`);
    if (hasBody(request)) {
      const reservation = app.h4mk.bodies.reserve(declared ?? 0);
      if (reservation === null) throw busy();
      reservations.set(request, reservation);
      releaseWithResponse(reply, reservation);
    }
    sendContinue(request, reply);
    return payload;
  });
  // In this plugin's scope only: every body is raw bytes, up to maxInlineBytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', async (request: FastifyRequest, payload: Readable) =>
    readBody(payload, declaredLength(request), reservations.get(request), limit),
  );
  const onRequest = [fileHook, app.access.readHook(fileParam)];

  app.post<{ Reply: ManifestDoc }>('/video/manifest', { schema: routes.seedManifest, onRequest, bodyLimit: app.h4mk.config.maxInlineBytes }, async (request) =>
    withRequestContainer(app, request, (reader, entry) => (entry === null ? manifestView(reader, null, null) : cachedManifest(entry))),
  );

  app.post<{ Querystring: { track_id: string; pts_us: number }; Reply: SeekDoc }>(
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
