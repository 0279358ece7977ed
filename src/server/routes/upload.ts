/**
 * Writes: `PUT /v1/containers/{name}` and `DELETE /v1/containers/{name}`,
 * with the write token (plugins/auth.ts), local directory only.
 *
 * An upload is streamed to a temporary file in the directory (created
 * exclusively, name starting with `.` so no container name can reach it),
 * counted against `maxUploadBytes` as it arrives, fsynced, opened and
 * verified in full (`reader.verify()`: every CRC, block digest, the chain,
 * every payload that can be decompressed without a key, and the seal if
 * there is one), and only then published with one rename over the name.
 * Whatever goes wrong before the rename — too large, cut off, not a
 * container, damaged, precondition failed — the temporary file is removed
 * and the directory is as it was; an existing container is replaced whole
 * or not at all.
 *
 * `If-Match: "etag"` replaces only that version; `If-None-Match: *` only
 * creates. Both are checked before the body is read and again, under a
 * per-name lock, just before the rename.
 *
 * Any Content-Type is accepted (`curl -T`, `curl --data-binary` and
 * browsers all label the bytes differently): the bytes are verified as a
 * container whatever they are called. `Expect: 100-continue` is answered
 * only after the write token, the name, the declared size, the upload
 * slots and any precondition have been checked.
 */
import { open } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FileSource, H4mkError, type H4mkErrorCode, H4mkReader, verifySeal } from '../../node.js';
import { nameHook, sendContinue } from '../context.js';
import { ERROR_STATUS, HttpError } from '../errors.js';
import { containerEtag } from '../store/entry.js';
import { header, parseEntityTags, strongMatch, weakMatch } from '../ranges.js';
import { routes, type UploadDoc } from '../schemas.js';

type NameParams = { Params: { name: string } };

/** Throws 412 unless the write's If-Match / If-None-Match accept the current version. */
function checkWritePreconditions(request: FastifyRequest, current: { exists: boolean; etag: string | null }): void {
  const ifMatch = header(request.headers, 'if-match');
  if (ifMatch !== undefined) {
    const tags = parseEntityTags(ifMatch);
    const ok = tags === '*' ? current.exists : current.etag !== null && strongMatch(tags, current.etag);
    if (!ok) throw new HttpError('E_PRECONDITION', 'If-Match does not match the current version');
  }
  const ifNoneMatch = header(request.headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    const tags = parseEntityTags(ifNoneMatch);
    const matched = tags === '*' ? current.exists : current.etag !== null && weakMatch(tags, current.etag);
    if (matched) throw new HttpError('E_PRECONDITION', 'If-None-Match: the container exists');
  }
}

/** Writes the request body to a new file at `path`; at most `limit` bytes. Returns the byte count. */
async function receive(body: IncomingMessage, path: string, limit: number): Promise<number> {
  const handle = await open(path, 'wx', 0o644);
  let received = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > limit) throw new HttpError('E_TOO_LARGE', `uploads are limited to ${limit} bytes`);
      for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
    }
    await handle.sync();
  } catch (error) {
    // The client went away mid-body: an expected condition, not an internal error.
    const code = (error as { code?: unknown }).code;
    if (!(error instanceof HttpError) && !body.complete && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || body.destroyed)) {
      throw new HttpError('E_INCOMPLETE', 'the upload was cut off');
    }
    throw error;
  } finally {
    await handle.close();
  }
  return received;
}

/** What a verified upload is. */
type Checked = { size: number; etag: string; chainHead: string; blockCount: number };

/** Opens and verifies the file at `path` in full; a problem is a container error (422). */
async function verifyUpload(path: string): Promise<Checked> {
  const source = await FileSource.open(path);
  try {
    const reader = await H4mkReader.open(source);
    const report = await reader.verify();
    if (!report.ok) {
      const first = report.failures[0];
      const code = (first !== undefined && first.code in ERROR_STATUS ? first.code : 'E_FORMAT') as H4mkErrorCode;
      const blocks =
        report.failedBlocks.length === 0
          ? ''
          : `; damaged core_index: ${report.failedBlocks.slice(0, 20).join(', ')}${report.failedBlocks.length > 20 ? ', …' : ''}`;
      throw new H4mkError(code, `the upload failed verification: ${report.failures.length} problem(s)${blocks}`);
    }
    if (reader.seal !== null) verifySeal(reader);
    return { size: reader.fileSize, etag: await containerEtag(reader), chainHead: reader.chainHead, blockCount: reader.blockCount };
  } finally {
    await source.close();
  }
}

export async function uploadRoutes(app: FastifyInstance): Promise<void> {
  // In this plugin's scope only: bodies are left unread for the handler to stream.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const config = app.h4mk.config;
  let active = 0;

  app.put<NameParams & { Reply: UploadDoc }>(
    '/v1/containers/:name',
    { schema: routes.upload, onRequest: [nameHook, app.access.writeHook] },
    async (request, reply) => {
      const name = request.params.name;
      if (!app.store.writable) throw new HttpError('E_NOT_IMPLEMENTED', 'uploads need a local directory; this server reads from an origin');
      const declared = header(request.headers, 'content-length');
      if (declared !== undefined && Number(declared) > config.maxUploadBytes)
        throw new HttpError('E_TOO_LARGE', `uploads are limited to ${config.maxUploadBytes} bytes`);
      await app.store.assertWritable(name);
      if (active >= config.maxConcurrentUploads) throw new HttpError('E_BUSY', 'too many uploads in progress; try again', { 'retry-after': '1' });
      active++;
      const temporary = app.store.temporaryPath();
      try {
        // Fail fast on a precondition that already fails; checked again before publishing.
        if (header(request.headers, 'if-match') !== undefined || header(request.headers, 'if-none-match') !== undefined) {
          checkWritePreconditions(request, await app.store.current(name));
        }
        sendContinue(request, reply);
        const received = await receive(request.raw, temporary, config.maxUploadBytes);
        if (received === 0) throw new HttpError('E_BAD_REQUEST', 'the upload is empty');
        const checked = await verifyUpload(temporary);
        const { created } = await app.store.publish(name, temporary, (current) => checkWritePreconditions(request, current));
        request.log.info({ container: name, bytes: checked.size, created }, 'container published');
        reply
          .code(created ? 201 : 200)
          .header('location', `/v1/containers/${name}`)
          .header('etag', checked.etag);
        return { name, created, size: checked.size, etag: checked.etag, chain_head: checked.chainHead, block_count: checked.blockCount };
      } finally {
        active--;
        // After a successful rename the temporary is gone already.
        await app.store.discardTemporary(temporary);
      }
    },
  );

  app.delete<NameParams>('/v1/containers/:name', { schema: routes.remove, onRequest: [nameHook, app.access.writeHook] }, async (request, reply) => {
    const name = request.params.name;
    await app.store.remove(name, (current) => checkWritePreconditions(request, current));
    request.log.info({ container: name }, 'container deleted');
    return reply.code(204).send();
  });
}
