/**
 * Request and response schemas of every route (JSON Schema, as Fastify and
 * the OpenAPI document use them). Responses are serialized through these:
 * a field not declared never reaches a client. The JSON documents (manifest,
 * seek, range, plan, verify, errors) are declared in views/ and generated
 * here; list, upload and health are the server's own.
 */
import { z } from 'zod';
import { manifestDoc, planDoc, rangePageDoc, seekDoc, serverErrorDoc, verifyDoc } from '../views/index.js';
import { NAME_PATTERN } from './names.js';

/**
 * The JSON Schema of a document declared in views/ as a zod schema. One
 * source: the view functions' return types are inferred from the same zod
 * schemas (z.infer), so a field added to a document is declared once and
 * reaches the type, the serializer and the OpenAPI document together. (A
 * FromSchema-style type derivation from hand-written JSON Schemas would
 * need json-schema-to-ts or a hand-rolled equivalent; zod is already a
 * dependency and does the conversion.) Draft 7, as Fastify's Ajv and
 * fast-json-stringify read it; objects come out with `additionalProperties:
 * false`, so the serializer still drops anything undeclared.
 */
function responseSchema(doc: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...schema } = z.toJSONSchema(doc, { target: 'draft-7' });
  return schema;
}

const integer = (description: string, minimum?: number, maximum?: number) => ({
  type: 'integer',
  description,
  ...(minimum === undefined ? {} : { minimum }),
  ...(maximum === undefined ? {} : { maximum }),
});

/** Largest µs value a query may carry (timestamps are ±(2^51 − 1) ticks, §9). */
export const MAX_US = Number.MAX_SAFE_INTEGER;
/** Largest core_index a request may name (max_blocks, §9). */
export const MAX_CORE_INDEX = 2 ** 40;

export const errorSchema = { $id: 'h4mkError', ...responseSchema(serverErrorDoc) } as const;

/** Error responses every route declares. */
export const errorResponses = {
  '4xx': { $ref: 'h4mkError#' },
  '5xx': { $ref: 'h4mkError#' },
} as const;

const binary = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
});

/** Query values that carry a signed URL's authorisation (see signed-url.ts). */
const signedQuery = {
  expires: { type: 'string', pattern: '^[0-9]{1,12}$', description: 'signed URL: expiry, Unix seconds' },
  sig: { type: 'string', maxLength: 64, description: 'signed URL: HMAC-SHA256, base64url' },
} as const;

export const nameParams = {
  type: 'object',
  properties: { name: { type: 'string', pattern: NAME_PATTERN, description: 'container name' } },
  required: ['name'],
} as const;

export const manifestSchema = responseSchema(manifestDoc);
export const seekSchema = responseSchema(seekDoc);
export const rangeSchema = responseSchema(rangePageDoc);
export const planSchema = responseSchema(planDoc);
export const verifySchema = responseSchema(verifyDoc);

/** The server's own documents (no library value behind them), declared the same way. */
const listDoc = z.object({
  items: z.array(z.object({ name: z.string(), size: z.int(), modified: z.string().meta({ format: 'date-time' }) })),
  next_cursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page'),
});
export type ListDoc = z.infer<typeof listDoc>;
const uploadDoc = z.object({ name: z.string(), created: z.boolean(), size: z.int(), etag: z.string(), chain_head: z.string(), block_count: z.int() });
export type UploadDoc = z.infer<typeof uploadDoc>;
const healthDoc = z.object({ status: z.enum(['ok', 'draining']), uptime_s: z.number() });
export type HealthDoc = z.infer<typeof healthDoc>;

export const listSchema = responseSchema(listDoc);
export const uploadSchema = responseSchema(uploadDoc);
export const healthSchema = responseSchema(healthDoc);

const rangeQueryProperties = {
  from_us: integer('inclusive lower bound on pts, µs', -MAX_US, MAX_US),
  to_us: integer('exclusive upper bound on pts, µs', -MAX_US, MAX_US),
  track: { type: 'array', items: { type: 'string', maxLength: 255 }, maxItems: 1024, description: 'track id (repeatable); default all' },
  keyframes_only: { type: 'boolean', default: false },
} as const;

/** Route schemas, by route. */
export const routes = {
  list: {
    summary: 'List containers (paged, by name)',
    tags: ['rest'],
    querystring: {
      type: 'object',
      properties: { limit: integer('page size', 1, 1000), cursor: { type: 'string', maxLength: 400, description: 'next_cursor of the previous page' } },
    },
    response: { 200: listSchema, ...errorResponses },
  },
  manifest: {
    summary: 'Tracks, layout, integrity chain head, META and SAFE',
    tags: ['rest'],
    params: nameParams,
    querystring: { type: 'object', properties: { ...signedQuery } },
    response: { 200: manifestSchema, ...errorResponses },
  },
  seek: {
    summary: 'The keyframe to start decoding at for a time, and the one byte range to read',
    tags: ['rest'],
    params: nameParams,
    querystring: {
      type: 'object',
      properties: { track: { type: 'string', maxLength: 255 }, pts_us: integer('target time, µs', -MAX_US, MAX_US), ...signedQuery },
      required: ['track', 'pts_us'],
    },
    response: { 200: seekSchema, ...errorResponses },
  },
  range: {
    summary: 'Blocks with from_us ≤ pts < to_us, in file order (paged)',
    tags: ['rest'],
    params: nameParams,
    querystring: {
      type: 'object',
      properties: {
        ...rangeQueryProperties,
        limit: integer('most blocks returned (default 1000)', 1, 10_000),
        after: integer('only blocks with core_index > after (paging)', -1, MAX_CORE_INDEX),
        ...signedQuery,
      },
    },
    response: { 200: rangeSchema, ...errorResponses },
  },
  plan: {
    summary: 'The byte ranges a range query reads, coalesced, from the index alone',
    tags: ['rest'],
    params: nameParams,
    querystring: {
      type: 'object',
      properties: {
        ...rangeQueryProperties,
        from_keyframe: { type: 'boolean', default: false, description: 'decodable: start each track at its keyframe ≤ from_us' },
        max_gap: integer('merge ranges at most this many bytes apart', 0, 2 ** 31),
        max_length: integer('never merge into a range longer than this', 1, 2 ** 40),
        ...signedQuery,
      },
    },
    response: { 200: planSchema, ...errorResponses },
  },
  block: {
    summary: "One block's payload: stored bytes, or decompressed (encrypted payloads: always the ciphertext)",
    tags: ['rest'],
    params: {
      type: 'object',
      properties: { name: nameParams.properties.name, core_index: integer('global block index', 0, MAX_CORE_INDEX) },
      required: ['name', 'core_index'],
    },
    querystring: { type: 'object', properties: { decompress: { type: 'boolean', default: false }, ...signedQuery } },
    response: { 200: binary('the payload; H4mk-* headers describe the block'), 304: { description: 'not modified', type: 'null' }, ...errorResponses },
  },
  verify: {
    summary: 'Check every byte of the container (result cached per version)',
    tags: ['rest'],
    params: nameParams,
    querystring: { type: 'object', properties: { ...signedQuery } },
    response: { 200: verifySchema, ...errorResponses },
  },
  raw: {
    summary: 'The container file, with RFC 9110 ranges and conditional requests',
    tags: ['raw'],
    params: nameParams,
    querystring: { type: 'object', properties: { ...signedQuery } },
    response: {
      200: binary('the whole file'),
      206: binary('one range (Content-Range) or multipart/byteranges'),
      304: { description: 'not modified', type: 'null' },
      ...errorResponses,
    },
  },
  upload: {
    summary: 'Upload a container: streamed, fully verified, then published atomically',
    tags: ['write'],
    security: [{ bearer: [] }],
    params: nameParams,
    response: { 200: uploadSchema, 201: uploadSchema, ...errorResponses },
  },
  remove: {
    summary: 'Delete a container',
    tags: ['write'],
    security: [{ bearer: [] }],
    params: nameParams,
    response: { 204: { description: 'deleted', type: 'null' }, ...errorResponses },
  },
  seedManifest: {
    summary: 'Seed API: manifest of ?file=NAME or of a container sent as the body (not stored)',
    tags: ['seed'],
    querystring: { type: 'object', properties: { file: { type: 'string', maxLength: 255 }, ...signedQuery } },
    response: { 200: manifestSchema, ...errorResponses },
  },
  seedSeek: {
    summary: 'Seed API: seek in ?file=NAME or in a container sent as the body (not stored)',
    tags: ['seed'],
    querystring: {
      type: 'object',
      properties: {
        track_id: { type: 'string', maxLength: 255 },
        pts_us: integer('target time, µs', -MAX_US, MAX_US),
        file: { type: 'string', maxLength: 255 },
        ...signedQuery,
      },
      required: ['track_id', 'pts_us'],
    },
    response: { 200: seekSchema, ...errorResponses },
  },
  seedBlock: {
    summary: 'Seed API: one block of ?file=NAME (decompressed by default)',
    tags: ['seed'],
    querystring: {
      type: 'object',
      properties: {
        core_index: integer('global block index', 0, MAX_CORE_INDEX),
        decompress: { type: 'boolean', default: true },
        file: { type: 'string', maxLength: 255 },
        ...signedQuery,
      },
      required: ['core_index', 'file'],
    },
    response: { 200: binary('the payload'), ...errorResponses },
  },
  health: {
    summary: 'Liveness; 503 while draining',
    tags: ['ops'],
    response: { 200: healthSchema, 503: healthSchema },
  },
} as const;

/** The streaming routes (routes/stream.ts): HLS and DASH over CMAF segments. */
const media = (description: string, type: string) => ({ description, content: { [type]: { schema: { type: 'string' } } } });
const streamParams = (extra: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  properties: { ...nameParams.properties, ...extra },
  required: ['name', ...required],
});
const versionParam = { version: { type: 'string', maxLength: 40, description: "the recording's directory, v-{16 hex}, from the master playlist or MPD" } };
const trackParam = { track: { type: 'string', maxLength: 12, description: 'track directory, t{N}' } };
const streamQuery = { type: 'object', properties: { ...signedQuery } } as const;
const notModified = { 304: { description: 'not modified', type: 'null' } } as const;

export const streamRoutes = {
  master: {
    summary: 'HLS master playlist (entry point: no-cache, strong ETag)',
    tags: ['streaming'],
    params: nameParams,
    querystring: streamQuery,
    response: { 200: media('HLS master playlist', 'application/vnd.apple.mpegurl'), ...notModified, ...errorResponses },
  },
  mpd: {
    summary: 'DASH MPD over the same CMAF segments (entry point: no-cache, strong ETag)',
    tags: ['streaming'],
    params: nameParams,
    querystring: streamQuery,
    response: { 200: media('DASH manifest', 'application/dash+xml'), ...notModified, ...errorResponses },
  },
  mediaPlaylist: {
    summary: 'HLS media playlist of a track (live: EVENT, blocking reload with _HLS_msn)',
    tags: ['streaming'],
    params: streamParams({ ...versionParam, ...trackParam }, ['version', 'track']),
    querystring: {
      type: 'object',
      properties: { ...signedQuery, _HLS_msn: { type: 'string', maxLength: 9, description: 'blocking reload: answer once this segment is listed' } },
    },
    response: { 200: media('HLS media playlist', 'application/vnd.apple.mpegurl'), ...notModified, ...errorResponses },
  },
  iframes: {
    summary: 'HLS I-frames-only playlist of a video track',
    tags: ['streaming'],
    params: streamParams({ ...versionParam, ...trackParam }, ['version', 'track']),
    querystring: streamQuery,
    response: { 200: media('HLS I-frames playlist', 'application/vnd.apple.mpegurl'), ...notModified, ...errorResponses },
  },
  init: {
    summary: 'CMAF header of a track (init.mp4 for HLS, init-dash.mp4 with the edit list for DASH)',
    tags: ['streaming'],
    params: streamParams({ ...versionParam, ...trackParam }, ['version', 'track']),
    querystring: streamQuery,
    response: { 200: media('ftyp + moov', 'video/mp4'), ...notModified, ...errorResponses },
  },
  segment: {
    summary: 'A media segment (N.m4s), its keyframe alone (N.key.m4s), a WebVTT segment (N.vtt) or every cue (all.vtt)',
    tags: ['streaming'],
    params: streamParams({ ...versionParam, ...trackParam, segment: { type: 'string', maxLength: 300, description: 'N.m4s, N.key.m4s, N.vtt or all.vtt' } }, [
      'version',
      'track',
      'segment',
    ]),
    querystring: streamQuery,
    response: { 200: media('styp + moof + mdat, or WebVTT', 'video/mp4'), ...notModified, ...errorResponses },
  },
} as const;
