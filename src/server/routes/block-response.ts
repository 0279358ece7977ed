/**
 * One block as an HTTP response, shared by `GET …/blocks/{core_index}` and
 * the seed's `POST /video/block`.
 *
 * The body is the stored payload, or with `decompress` the decompressed
 * one — except for an encrypted block, which is always sent as stored (the
 * ciphertext): the server never holds user keys, so it can neither decrypt
 * nor decompress what is inside. `H4mk-Payload` says which one was sent.
 * Every block read is checked against its SHA-256 from the index before a
 * byte is sent; verified responses are kept in a small LRU ({@link BlockCache}).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { immutableCacheControl } from '../context.js';
import { HttpError } from '../errors.js';
import type { Entry } from '../plugins/store.js';
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

/** A block response ready to send again: it depends only on the container version, the block and the mode. */
type BlockResponse = { etag: string; headers: Record<string, string>; payload: Uint8Array };

/**
 * Recently sent block responses, LRU within a byte budget. A block of a
 * given container version never changes, and producing its response costs
 * a read and a SHA-256 (and maybe a decompression): a hot block — a seek
 * target many viewers ask for — is read and verified once. Keys carry the
 * container's ETag, so a replaced container's blocks are never served
 * again (they age out).
 */
export class BlockCache {
  private readonly entries = new Map<string, BlockResponse>();
  private bytes = 0;

  constructor(readonly budget: number) {}

  get(key: string): BlockResponse | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: BlockResponse): void {
    const size = value.payload.length + 512;
    // One large block must not flush everything else.
    if (size > this.budget / 8) return;
    this.entries.set(key, value);
    this.bytes += size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(k);
      this.bytes -= v.payload.length + 512;
    }
  }
}

/** Reads and verifies block `coreIndex` and describes it. */
async function blockResponse(entry: Entry, coreIndex: number, decompress: boolean): Promise<BlockResponse> {
  const reader = entry.reader;
  const info = await reader.blockInfo(coreIndex);
  const decompressed = decompress && !info.encrypted && info.compression !== 'none';
  const block = await reader.readBlock(coreIndex, { decompress: decompressed, verify: true });
  const headers: Record<string, string> = {
    // One strong ETag per representation: container version, block, stored or decompressed.
    etag: `${entry.etag.slice(0, -1)}-${coreIndex}${decompressed ? 'd' : 's'}"`,
    'h4mk-core-index': String(block.coreIndex),
    'h4mk-track': encodeURIComponent(block.trackId),
    'h4mk-pts-us': String(block.ptsUs),
    'h4mk-dts-us': String(block.dtsUs),
    'h4mk-duration-us': String(block.durationUs),
    'h4mk-keyframe': block.keyframe ? '1' : '0',
    'h4mk-encrypted': block.encrypted ? '1' : '0',
    'h4mk-compression': decompressed ? 'none' : block.compression,
    'h4mk-payload': block.encrypted ? 'ciphertext' : decompressed || block.compression === 'none' ? 'plain' : 'stored',
    'h4mk-sha256': Buffer.from(block.digest).toString('hex'),
    'content-type': 'application/octet-stream',
  };
  if (block.frameKind !== null) headers['h4mk-kind'] = block.frameKind;
  return { etag: headers.etag as string, headers, payload: block.payload };
}

/** Sends block `coreIndex` of container `name`. */
export async function sendBlock(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, name: string, coreIndex: number, decompress: boolean): Promise<FastifyReply> {
  const cache = app.h4mk.blocks;
  const response = await app.store.use(name, async (entry) => {
    if (coreIndex >= entry.reader.blockCount) throw new HttpError('E_NOT_FOUND', `no block ${coreIndex}: the container has ${entry.reader.blockCount}`);
    const key = `${entry.etag}${coreIndex}${decompress ? 'd' : 's'}`;
    let hit = cache.get(key);
    if (hit === undefined) {
      hit = await blockResponse(entry, coreIndex, decompress);
      cache.set(key, hit);
    }
    return hit;
  });
  reply.headers(response.headers).header('cache-control', immutableCacheControl(app));
  if (evaluatePreconditions(request.headers, { etag: response.etag, lastModified: null }) === 'not-modified') return reply.code(304).send();
  return reply.send(response.payload);
}
