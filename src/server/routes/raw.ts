/**
 * `GET|HEAD /v1/containers/{name}`: the container file itself, for players
 * and {@link HttpSource} clients (and CDNs) that read it with ranges.
 *
 * RFC 9110: single, suffix and multiple ranges (multipart/byteranges), 416
 * with `Content-Range: bytes *\/size`, If-Match / If-None-Match /
 * If-Modified-Since (304, 412), If-Range, a strong ETag that names the
 * container version (store/entry.ts), `Accept-Ranges: bytes`, and
 * `Cache-Control: …, immutable`. Status, Content-Range, Content-Length and
 * Accept-Ranges match what nginx answers for the same file and headers
 * (test/server-http.test.ts).
 *
 * Bodies come from the store entry's open source, never from the path
 * again: a file replaced mid-response keeps serving the version its ETag
 * names. A client that disconnects destroys the body stream, which
 * releases the entry (no file handle is held past the response).
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RandomAccessSource } from '../../node.js';
import { immutableCacheControl, nameHook, nameParam } from '../context.js';
import { HttpError } from '../errors.js';
import { type ByteRange, contentRange, evaluatePreconditions, header, ifRangeAllows, parseRange } from '../ranges.js';
import { routes } from '../schemas.js';
import type { Entry, Lease } from '../store/entry.js';

/** Bytes read per chunk of a streamed body (and the stream buffer): bounds the memory a slow client holds. */
const CHUNK_LENGTH = 64 * 1024;
/** A body up to this size is read at once and sent as one buffer (no stream). */
const SMALL_BODY = 64 * 1024;

/** A body part: literal bytes (multipart framing) or a range of the file. */
type Part = Buffer | ByteRange;

/** Streams `parts` from `source`; `onClose` runs once, when the stream ends or is destroyed. */
class PartStream extends Readable {
  private index = 0;
  private position = -1;
  private done: (() => void) | null;

  constructor(
    private readonly source: RandomAccessSource,
    private readonly parts: Part[],
    onClose: () => void,
  ) {
    super({ highWaterMark: CHUNK_LENGTH });
    this.done = onClose;
  }

  // Node calls _read again only after a push, so reads never overlap.
  override _read(): void {
    this.next().then(
      (chunk) => {
        if (!this.destroyed) this.push(chunk);
      },
      (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** The next chunk, or null at the end. */
  private async next(): Promise<Buffer | null> {
    const part = this.parts[this.index];
    if (part === undefined) return null;
    if (Buffer.isBuffer(part)) {
      this.index++;
      return part;
    }
    if (this.position < 0) this.position = part.start;
    const length = Math.min(CHUNK_LENGTH, part.end + 1 - this.position);
    const bytes = await this.source.read(this.position, length);
    if (bytes.length !== length) throw new Error('the file ended before the range');
    this.position += length;
    if (this.position > part.end) {
      this.index++;
      this.position = -1;
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const done = this.done;
    this.done = null;
    done?.();
    callback(error);
  }
}

function partsLength(parts: Part[]): number {
  return parts.reduce((n, p) => n + (Buffer.isBuffer(p) ? p.length : p.end - p.start + 1), 0);
}

/** The multipart/byteranges body of `ranges` (RFC 9110 §14.6), nginx's layout. */
function multipart(ranges: ByteRange[], size: number, boundary: string): Part[] {
  const parts: Part[] = [];
  for (const r of ranges) {
    parts.push(Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: ${contentRange(r, size)}\r\n\r\n`), r);
  }
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return parts;
}

/** Sends `parts` of the leased entry (only the headers for HEAD); releases `lease` when done with it. */
async function sendParts(request: FastifyRequest, reply: FastifyReply, lease: Lease, parts: Part[]): Promise<FastifyReply> {
  const length = partsLength(parts);
  reply.header('content-length', length);
  if (request.method === 'HEAD' || length === 0) {
    lease.release();
    return reply.send();
  }
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only !== undefined && !Buffer.isBuffer(only) && length <= SMALL_BODY) {
    try {
      const bytes = await lease.entry.source.read(only.start, length);
      if (bytes.length !== length) throw new Error('the file ended before the range');
      return reply.send(bytes);
    } finally {
      lease.release();
    }
  }
  return reply.send(new PartStream(lease.entry.source, parts, lease.release));
}

/**
 * Sets the headers of a raw read of `entry` and returns the body parts, or
 * null for a bodiless 304. Throws 412 / 416 as the headers ask.
 */
function decide(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, entry: Entry): Part[] | null {
  const size = entry.size;
  const validators = { etag: entry.etag, lastModified: entry.lastModified };
  reply.header('etag', entry.etag).header('cache-control', immutableCacheControl(app));
  if (entry.lastModified !== null) reply.header('last-modified', entry.lastModified);
  const precondition = evaluatePreconditions(request.headers, validators);
  if (precondition === 'failed') throw new HttpError('E_PRECONDITION', 'If-Match does not match the current version');
  if (precondition === 'not-modified') {
    reply.code(304);
    return null;
  }
  const decision = ifRangeAllows(request.headers, validators)
    ? parseRange(header(request.headers, 'range'), size, app.h4mk.config.maxRanges)
    : { kind: 'full' as const };
  switch (decision.kind) {
    case 'unsatisfiable':
      throw new HttpError('E_RANGE', 'no requested range overlaps the file', { 'content-range': `bytes */${size}` });
    case 'refused':
      throw new HttpError('E_RANGE', `range refused: ${decision.reason}`, { 'content-range': `bytes */${size}` });
    case 'full':
      // Like nginx: Accept-Ranges on the whole-file answer (a 206 shows range support by itself).
      reply.code(200).type('application/octet-stream').header('accept-ranges', 'bytes');
      return [{ start: 0, end: size - 1 }];
    case 'partial': {
      reply.code(206);
      const [first] = decision.ranges;
      if (decision.ranges.length === 1 && first !== undefined) {
        reply.type('application/octet-stream').header('content-range', contentRange(first, size));
        return [first];
      }
      const boundary = randomBytes(10).toString('hex');
      reply.type(`multipart/byteranges; boundary=${boundary}`);
      return multipart(decision.ranges, size, boundary);
    }
  }
}

/** Registers the raw-file route. */
export async function rawRoutes(app: FastifyInstance): Promise<void> {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/v1/containers/:name',
    schema: routes.raw,
    onRequest: [nameHook, app.access.readHook(nameParam)],
    handler: async (request, reply) => {
      const lease = await app.store.acquire(nameParam(request));
      let parts: Part[] | null;
      try {
        parts = decide(app, request, reply, lease.entry);
      } catch (error) {
        lease.release();
        throw error;
      }
      if (parts === null) {
        lease.release();
        return reply.send();
      }
      return sendParts(request, reply, lease, parts);
    },
  });
}
