/**
 * The REST API over stored containers: listing, and per container its
 * manifest, seek, range, plan, blocks and verify. All reads: each checks
 * read access to the container it names (plugins/auth.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { H4mkReader, RangeQuery } from '../../node.js';
import { nameHook, nameParam } from '../context.js';
import { HttpError } from '../errors.js';
import { isValidName } from '../names.js';
import type { Entry } from '../store/entry.js';
import { type ListDoc, routes } from '../schemas.js';
import {
  type BlockDoc,
  blockView,
  type ManifestDoc,
  manifestView,
  type PlanDoc,
  planView,
  type RangePageDoc,
  type SeekDoc,
  seekView,
  type VerifyDoc,
  verifyView,
} from '../../views/index.js';
import { sendBlock } from './block-response.js';

type NameParams = { Params: { name: string } };
type RangeFilter = { from_us?: number; to_us?: number; track?: string[]; keyframes_only?: boolean };

/** The manifest of an entry, computed once per container version. */
export function cachedManifest(entry: Entry): Promise<ManifestDoc> {
  if (entry.manifest === null) {
    entry.manifest = manifestView(entry.reader, entry.name, entry.etag);
    entry.manifest.catch(() => {
      entry.manifest = null;
    });
  }
  return entry.manifest;
}

/** Throws E_NOT_FOUND unless `reader` has a track with id `track`. */
export function requireTrack(reader: H4mkReader, track: string): void {
  if (!reader.tracks().some((t) => t.id === track)) throw new HttpError('E_NOT_FOUND', `no track ${JSON.stringify(track)} in this container`);
}

/** A library range query from validated query values. */
function rangeQuery(reader: H4mkReader, q: RangeFilter): RangeQuery {
  if (q.from_us !== undefined && q.to_us !== undefined && q.from_us > q.to_us) throw new HttpError('E_BAD_REQUEST', 'from_us is after to_us');
  const query: RangeQuery = { keyframesOnly: q.keyframes_only === true };
  if (q.from_us !== undefined) query.fromUs = q.from_us;
  if (q.to_us !== undefined) query.toUs = q.to_us;
  if (q.track !== undefined) {
    for (const t of q.track) requireTrack(reader, t);
    query.tracks = q.track;
  }
  return query;
}

/** Page cursors are the last name of the previous page, base64url: opaque to clients. */
function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isValidName(name) || Buffer.from(name).toString('base64url') !== cursor) throw new HttpError('E_BAD_REQUEST', 'invalid cursor');
  return name;
}

export async function restRoutes(app: FastifyInstance): Promise<void> {
  const read = app.access.readHook(nameParam);
  const onRequest = [nameHook, read];

  app.get<{ Querystring: { limit?: number; cursor?: string }; Reply: ListDoc }>(
    '/v1/containers',
    { schema: routes.list, onRequest: app.access.readHook(() => null) },
    async (request) => {
      const after = decodeCursor(request.query.cursor);
      const { items, more } = await app.store.list(after, request.query.limit ?? 100);
      const last = items[items.length - 1];
      return { items, next_cursor: more && last !== undefined ? Buffer.from(last.name).toString('base64url') : null };
    },
  );

  app.get<NameParams & { Reply: ManifestDoc }>('/v1/containers/:name/manifest', { schema: routes.manifest, onRequest }, async (request) =>
    app.store.use(request.params.name, cachedManifest),
  );

  app.get<NameParams & { Querystring: { track: string; pts_us: number }; Reply: SeekDoc }>(
    '/v1/containers/:name/seek',
    { schema: routes.seek, onRequest },
    async (request) => {
      const { track, pts_us } = request.query;
      return app.store.use(request.params.name, async ({ reader }) => {
        requireTrack(reader, track);
        return seekView(track, pts_us, await reader.seek(track, pts_us));
      });
    },
  );

  app.get<NameParams & { Querystring: RangeFilter & { limit?: number; after?: number }; Reply: RangePageDoc }>(
    '/v1/containers/:name/range',
    { schema: routes.range, onRequest },
    async (request) => {
      const limit = request.query.limit ?? 1000;
      const after = request.query.after ?? -1;
      return app.store.use(request.params.name, async ({ reader }) => {
        const blocks: BlockDoc[] = [];
        let truncated = false;
        for await (const b of reader.infos(rangeQuery(reader, request.query))) {
          if (b.coreIndex <= after) continue;
          if (blocks.length === limit) {
            truncated = true;
            break;
          }
          blocks.push(blockView(b));
        }
        const last = blocks[blocks.length - 1];
        return { count: blocks.length, truncated, next_after: truncated && last !== undefined ? last.core_index : null, blocks };
      });
    },
  );

  app.get<NameParams & { Querystring: RangeFilter & { from_keyframe?: boolean; max_gap?: number; max_length?: number }; Reply: PlanDoc }>(
    '/v1/containers/:name/plan',
    { schema: routes.plan, onRequest },
    async (request) => {
      const q = request.query;
      return app.store.use(request.params.name, async ({ reader }) => {
        const query = { ...rangeQuery(reader, q), fromKeyframe: q.from_keyframe === true };
        const options = { ...(q.max_gap === undefined ? {} : { maxGap: q.max_gap }), ...(q.max_length === undefined ? {} : { maxLength: q.max_length }) };
        return planView(await reader.plan(query, options));
      });
    },
  );

  app.get<{ Params: { name: string; core_index: number }; Querystring: { decompress?: boolean } }>(
    '/v1/containers/:name/blocks/:core_index',
    { schema: routes.block, onRequest },
    async (request, reply) => sendBlock(app, request, reply, request.params.name, request.params.core_index, request.query.decompress === true),
  );

  app.get<NameParams & { Reply: VerifyDoc }>('/v1/containers/:name/verify', { schema: routes.verify, onRequest }, async (request) =>
    app.store.use(request.params.name, async (entry) => {
      // Verifying reads the whole file: once per version, however many ask at once.
      if (entry.verify === null) {
        entry.verify = entry.reader.verify();
        entry.verify.catch(() => {
          entry.verify = null;
        });
      }
      return verifyView(entry.name, entry.etag, await entry.verify);
    }),
  );
}
