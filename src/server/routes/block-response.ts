/**
 * One block as an HTTP response, shared by `GET …/blocks/{core_index}` and
 * the seed's `POST /video/block`.
 *
 * The body is the stored payload, or with `decompress` the decompressed
 * one — except for an encrypted block, which is always sent as stored (the
 * ciphertext): the server never holds user keys, so it can neither decrypt
 * nor decompress what is inside. `H4mk-Payload` says which one was sent.
 * Every block read is checked against its SHA-256 from the index before a
 * byte is sent.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { immutableCacheControl } from '../context.js';
import { HttpError } from '../errors.js';
import { evaluatePreconditions } from '../ranges.js';

/** Response headers describing the block (exposed to browsers by CORS). */
export const BLOCK_HEADERS = [
  'H4mk-Core-Index',
  'H4mk-Track', // percent-encoded
  'H4mk-Pts-Us',
  'H4mk-Dts-Us',
  'H4mk-Duration-Us',
  'H4mk-Keyframe',
  'H4mk-Kind',
  'H4mk-Encrypted',
  'H4mk-Compression',
  'H4mk-Payload',
  'H4mk-Sha256',
] as const;

/** Sends block `coreIndex` of container `name`. */
export async function sendBlock(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, name: string, coreIndex: number, decompress: boolean): Promise<FastifyReply> {
  const payload = await app.store.use(name, async (entry) => {
    const reader = entry.reader;
    if (coreIndex >= reader.blockCount) throw new HttpError('E_NOT_FOUND', `no block ${coreIndex}: the container has ${reader.blockCount}`);
    const info = await reader.blockInfo(coreIndex);
    const decompressed = decompress && !info.encrypted && info.compression !== 'none';
    // One strong ETag per representation: container version, block, stored or decompressed.
    const etag = `${entry.etag.slice(0, -1)}-${coreIndex}${decompressed ? 'd' : 's'}"`;
    reply.header('etag', etag).header('cache-control', immutableCacheControl(app));
    if (evaluatePreconditions(request.headers, { etag, lastModified: null }) === 'not-modified') return null;
    const block = await reader.readBlock(coreIndex, { decompress: decompressed, verify: true });
    reply
      .header('h4mk-core-index', block.coreIndex)
      .header('h4mk-track', encodeURIComponent(block.trackId))
      .header('h4mk-pts-us', block.ptsUs)
      .header('h4mk-dts-us', block.dtsUs)
      .header('h4mk-duration-us', block.durationUs)
      .header('h4mk-keyframe', block.keyframe ? '1' : '0')
      .header('h4mk-encrypted', block.encrypted ? '1' : '0')
      .header('h4mk-compression', decompressed ? 'none' : block.compression)
      .header('h4mk-payload', block.encrypted ? 'ciphertext' : decompressed || block.compression === 'none' ? 'plain' : 'stored')
      .header('h4mk-sha256', Buffer.from(block.digest).toString('hex'));
    if (block.frameKind !== null) reply.header('h4mk-kind', block.frameKind);
    return block.payload;
  });
  if (payload === null) return reply.code(304).send();
  return reply.type('application/octet-stream').send(payload);
}
