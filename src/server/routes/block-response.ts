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
 *
 * Memory: a block can decompress to 64 MiB (maxBlockLength), so a payload
 * held for a response is reserved from the server's block-memory budget
 * (`blockMemoryBytes`) from before it is read until its response is over;
 * a request that does not fit gets 503 E_BUSY with Retry-After. Concurrent
 * requests for the same block share one read, one decompression and one
 * reservation, and a response in the LRU costs nothing more.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BlockInfo } from '../../node.js';
import { immutableCacheControl, type Reservation, releaseWithResponse } from '../context.js';
import { HttpError } from '../errors.js';
import type { Entry } from '../store/entry.js';
import { evaluatePreconditions } from '../ranges.js';
import { toHex } from '../../format/bytes.js';

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

/** A response being produced or sent: shared by every request for the same key meanwhile. */
type Shared = { response: Promise<BlockResponse>; users: number; reservation: Reservation };

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
  /** Responses in flight by key (not counted in `budget`: their memory is reserved elsewhere). */
  private readonly inFlight = new Map<string, Shared>();

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

  /**
   * Joins the response for `key` in flight, if any: the caller becomes one of
   * its users until the returned `leave` (idempotent) is called.
   */
  join(key: string): { shared: Shared; leave: () => void } | undefined {
    const shared = this.inFlight.get(key);
    return shared === undefined ? undefined : { shared, leave: this.user(key, shared) };
  }

  /** Starts sharing `response` under `key`, holding `reservation` until its last user leaves. */
  share(key: string, response: Promise<BlockResponse>, reservation: Reservation): { shared: Shared; leave: () => void } {
    const shared: Shared = { response, users: 0, reservation };
    this.inFlight.set(key, shared);
    // A failure is not shared with requests still to come.
    response.catch(() => {
      if (this.inFlight.get(key) === shared) this.inFlight.delete(key);
    });
    return { shared, leave: this.user(key, shared) };
  }

  /** Responses in flight now (tests). */
  get sharedCount(): number {
    return this.inFlight.size;
  }

  private user(key: string, shared: Shared): () => void {
    shared.users++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--shared.users > 0) return;
      if (this.inFlight.get(key) === shared) this.inFlight.delete(key);
      shared.reservation.release();
    };
  }
}

/**
 * Bytes a block response holds while it is produced and sent: the chunk as
 * read (with its framing), and the decompressed payload (the zstd codec
 * writes into a buffer one byte longer than the declared length).
 */
function heldBytes(info: BlockInfo, decompressed: boolean): number {
  return info.chunkLength + (decompressed ? info.originalLength + 1 : 0) + 1024;
}

/** Whether block `info` is sent decompressed when `decompress` is asked for. */
function decompresses(info: BlockInfo, decompress: boolean): boolean {
  return decompress && !info.encrypted && info.compression !== 'none';
}

/** Reads and verifies block `coreIndex` and describes it. */
async function blockResponse(entry: Entry, coreIndex: number, decompress: boolean): Promise<BlockResponse> {
  const reader = entry.reader;
  const info = await reader.blockInfo(coreIndex);
  const decompressed = decompresses(info, decompress);
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
    'content-type': 'application/octet-stream',
  };
  // v1 blocks carry their own SHA-256; v2 blocks are covered by their segment's data digest (FORMAT.md §6.5).
  if (block.digest !== null) headers['h4mk-sha256'] = toHex(block.digest);
  if (block.frameKind !== null) headers['h4mk-kind'] = block.frameKind;
  return { etag: headers.etag as string, headers, payload: block.payload };
}

/** Sends block `coreIndex` of container `name`. */
export async function sendBlock(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  name: string,
  coreIndex: number,
  decompress: boolean,
): Promise<FastifyReply> {
  const cache = app.h4mk.blocks;
  const response = await app.store.use(name, async (entry) => {
    if (coreIndex >= entry.reader.blockCount) throw new HttpError('E_NOT_FOUND', `no block ${coreIndex}: the container has ${entry.reader.blockCount}`);
    const key = `${entry.etag}${coreIndex}${decompress ? 'd' : 's'}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    let use = cache.join(key);
    if (use === undefined) {
      const info = await entry.reader.blockInfo(coreIndex);
      // Another request may have started the same block meanwhile.
      use = cache.join(key);
      if (use === undefined) {
        const reservation = app.h4mk.payloads.reserve(heldBytes(info, decompresses(info, decompress)));
        if (reservation === null) {
          throw new HttpError('E_BUSY', 'too many large blocks are being sent; try again shortly', { 'retry-after': '1' });
        }
        use = cache.share(key, blockResponse(entry, coreIndex, decompress), reservation);
      }
    }
    // Held until this response is over (sent, failed, or its client gone).
    releaseWithResponse(reply, { release: use.leave });
    const made = await use.shared.response;
    cache.set(key, made);
    return made;
  });
  reply.headers(response.headers).header('cache-control', immutableCacheControl(app));
  if (evaluatePreconditions(request.headers, { etag: response.etag, lastModified: null }) === 'not-modified') return reply.code(304).send();
  return reply.send(response.payload);
}
