/**
 * Streaming views of a container, on the fly: an HLS master playlist at
 * `/v1/containers/:name/hls/master.m3u8` and a DASH MPD at
 * `/v1/containers/:name/dash/manifest.mpd` (the entry points: revalidated
 * on every use, `no-cache` with a strong ETag), pointing into
 * `/v1/containers/:name/hls/v-{version}/t{N}/` (media and I-frames
 * playlists, CMAF init and media segments, WebVTT). The version names the
 * recording (DeliveryPlan.version): a URL under it never changes meaning,
 * so it is `immutable` (playlists while live: max-age 1), and a request for
 * another version (the container was replaced) is a 404, never bytes of the
 * new one. Playlists come from the index alone; each segment is one read of
 * the container, every block checked against its digest before it is sent,
 * and built segments are kept in a byte-budgeted LRU.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  buildInitSegment,
  buildKeyframeSegment,
  buildMediaSegment,
  buildSubtitleFile,
  buildSubtitleSegment,
  completeSegments,
  dashManifest,
  DeliveryError,
  type DeliveryPlan,
  deliverable,
  deliveryPlan,
  iframePlaylist,
  masterPlaylist,
  mediaPlaylist,
  versionDir,
} from '../../delivery/index.js';
import { ByteLru } from '../byte-lru.js';
import { immutableCacheControl, nameHook, nameParam } from '../context.js';
import { HttpError } from '../errors.js';
import { streamRoutes as schemas } from '../schemas.js';
import type { Entry } from '../store/entry.js';

type TrackParams = { Params: { name: string; version: string; track: string } };
type SegmentParams = { Params: { name: string; version: string; track: string; segment: string } };

/** Longest a blocking playlist reload waits (three 1 s segments), and how often it looks. */
const BLOCKING_RELOAD_MS = 3000;
const BLOCKING_POLL_MS = 50;

/** Bytes of built init and media segments kept for repeated requests. */
export const SEGMENT_CACHE_BYTES = 128 * 1024 * 1024;

/** The plan of an entry, computed once per container version. */
function planOf(entry: Entry): DeliveryPlan {
  if (entry.plan === null) entry.plan = deliveryPlan(entry.reader);
  return entry.plan;
}

/** DeliveryError → the server's error table. */
function httpError(error: unknown): unknown {
  if (!(error instanceof DeliveryError)) return error;
  if (error.code === 'E_ENCRYPTED') return new HttpError('E_KEY', error.message);
  if (error.code === 'E_EXISTS') return new HttpError('E_CONFLICT', error.message);
  return new HttpError(error.code, error.message);
}

/** Track number of a `t{N}` path segment, or 404. */
function trackNumber(dir: string): number {
  const m = /^t(0|[1-9]\d{0,4})$/.exec(dir);
  if (m === null) throw new HttpError('E_NOT_FOUND', `no track directory ${JSON.stringify(dir.slice(0, 40))} (tracks are t0, t1, …)`);
  return Number(m[1]);
}

/** The query string to carry into playlist URIs: a signed URL's signature, nothing else. */
function carriedQuery(request: FastifyRequest): string {
  const q = request.query as Record<string, unknown>;
  if (typeof q.sig !== 'string' || typeof q.expires !== 'string') return '';
  return `?expires=${encodeURIComponent(q.expires)}&sig=${encodeURIComponent(q.sig)}`;
}

function etagOf(entry: Entry, what: string): string {
  return `"${createHash('sha256').update(entry.etag).update('\n').update(what).digest('hex').slice(0, 32)}"`;
}

/** How long a live container's playlists may be cached: about one poll of a player. */
const LIVE_PLAYLIST_MAX_AGE = 1;

/** How a response may be cached: forever, briefly (a live playlist), or only with revalidation (entry points). */
type Caching = 'immutable' | 'growing' | 'revalidate';

/** Sends `body` with caching headers; 304 when the client has it. */
function send(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  entry: Entry,
  what: string,
  type: string,
  body: Uint8Array | string,
  caching: Caching = 'immutable',
): FastifyReply {
  const etag = etagOf(entry, what);
  const scope = app.access.publicReads ? 'public' : 'private';
  const cacheControl =
    caching === 'immutable' ? immutableCacheControl(app) : caching === 'growing' ? `${scope}, max-age=${LIVE_PLAYLIST_MAX_AGE}` : `${scope}, no-cache`;
  reply.header('etag', etag).header('cache-control', cacheControl).type(type);
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

const M3U8 = 'application/vnd.apple.mpegurl';

export async function streamRoutes(app: FastifyInstance): Promise<void> {
  const onRequest = [nameHook, app.access.readHook(nameParam)];
  const segments = new ByteLru(SEGMENT_CACHE_BYTES);
  /** A built segment, from the cache or `build` (cached per container version and URL). */
  const cached = async (entry: Entry, path: string, build: () => Promise<Uint8Array>): Promise<Uint8Array> => {
    const key = `${entry.name}\n${entry.etag}\n${path}`;
    const hit = segments.get(key);
    if (hit !== undefined) return hit;
    const bytes = await build();
    segments.set(key, bytes);
    return bytes;
  };
  const use = <T>(request: FastifyRequest, fn: (entry: Entry, plan: DeliveryPlan) => Promise<T>): Promise<T> =>
    app.store
      .use(nameParam(request), async (entry) => {
        const plan = planOf(entry);
        const version = (request.params as { version?: string }).version;
        if (version !== undefined && version !== versionDir(plan)) {
          throw new DeliveryError(
            'E_NOT_FOUND',
            'this URL names another version of the container (it was replaced or is not this one): load the master playlist or MPD again',
          );
        }
        if (plan.encrypted)
          throw new DeliveryError(
            'E_ENCRYPTED',
            'the container is encrypted: the server holds no keys (play it in the inspector with a key, or `h4mk package --key-file … --decrypt`)',
          );
        if (plan.primary === null)
          throw new DeliveryError('E_UNSUPPORTED', 'no track of this container can be delivered (no video or audio that fMP4 carries)');
        return fn(entry, plan);
      })
      .catch((error: unknown) => {
        throw httpError(error);
      });

  app.get('/v1/containers/:name/hls/master.m3u8', { schema: schemas.master, onRequest }, async (request, reply) =>
    use(request, async (entry, plan) =>
      send(app, request, reply, entry, 'master', M3U8, masterPlaylist(plan, { query: carriedQuery(request), prefix: `${versionDir(plan)}/` }), 'revalidate'),
    ),
  );

  app.get('/v1/containers/:name/dash/manifest.mpd', { schema: schemas.mpd, onRequest }, async (request, reply) =>
    use(request, async (entry, plan) =>
      send(
        app,
        request,
        reply,
        entry,
        'mpd',
        'application/dash+xml',
        dashManifest(plan, { base: `../hls/${versionDir(plan)}/`, query: carriedQuery(request) }),
        'revalidate',
      ),
    ),
  );

  /**
   * Blocking playlist reload (RFC 8216bis §6.2.5.2): a reload of a live media
   * playlist that names the next segment (`_HLS_msn=N`) is answered once the
   * segment is listed (or the container ends), at most BLOCKING_RELOAD_MS
   * later, checking the container every BLOCKING_POLL_MS.
   */
  const awaitSegment = async (request: FastifyRequest, n: number): Promise<void> => {
    const msn = (request.query as Record<string, unknown>)._HLS_msn;
    if (msn === undefined) return;
    if (typeof msn !== 'string' || !/^(0|[1-9]\d{0,8})$/.test(msn)) throw new HttpError('E_BAD_REQUEST', '_HLS_msn must be a segment number');
    const wanted = Number(msn);
    const deadline = Date.now() + BLOCKING_RELOAD_MS;
    for (;;) {
      const listed = await use(request, async (_entry, plan) => {
        const t = plan.tracks[n];
        return t === undefined || !plan.live || completeSegments(plan, t) > wanted;
      });
      if (listed || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, BLOCKING_POLL_MS));
    }
  };

  app.get<TrackParams>('/v1/containers/:name/hls/:version/:track/index.m3u8', { schema: schemas.mediaPlaylist, onRequest }, async (request, reply) => {
    await awaitSegment(request, trackNumber(request.params.track));
    return use(request, async (entry, plan) => {
      const n = trackNumber(request.params.track);
      const t = plan.tracks[n];
      if (t === undefined) throw new DeliveryError('E_NOT_FOUND', `no track ${n} in this container`);
      deliverable(plan, n, t.carriage === 'webvtt' ? 'webvtt' : 'cmaf');
      return send(
        app,
        request,
        reply,
        entry,
        `t${n}/index`,
        M3U8,
        mediaPlaylist(plan, t, { query: carriedQuery(request) }),
        plan.live ? 'growing' : 'immutable',
      );
    });
  });

  app.get<TrackParams>('/v1/containers/:name/hls/:version/:track/iframes.m3u8', { schema: schemas.iframes, onRequest }, async (request, reply) =>
    use(request, async (entry, plan) => {
      const n = trackNumber(request.params.track);
      const t = deliverable(plan, n, 'cmaf');
      if (t.kind !== 'video' || (plan.videos.has(n) === false && plan.primary?.track !== t))
        throw new DeliveryError('E_NOT_FOUND', `track ${t.info.id} is not video: no I-frames playlist`);
      return send(
        app,
        request,
        reply,
        entry,
        `t${n}/iframes`,
        M3U8,
        iframePlaylist(plan, t, { query: carriedQuery(request) }),
        plan.live ? 'growing' : 'immutable',
      );
    }),
  );

  for (const file of ['init.mp4', 'init-dash.mp4']) {
    const dash = file === 'init-dash.mp4';
    app.get<TrackParams>(`/v1/containers/:name/hls/:version/:track/${file}`, { schema: schemas.init, onRequest }, async (request, reply) =>
      use(request, async (entry, plan) => {
        const n = trackNumber(request.params.track);
        deliverable(plan, n, 'cmaf');
        const key = `${n}/${file}`;
        let init = entry.inits.get(key);
        if (init === undefined) {
          init = buildInitSegment(entry.reader, plan, n, { dash });
          entry.inits.set(key, init);
          init.catch(() => entry.inits.delete(key));
        }
        return send(app, request, reply, entry, `t${n}/${file}`, 'video/mp4', await init);
      }),
    );
  }

  app.get<SegmentParams>('/v1/containers/:name/hls/:version/:track/:segment', { schema: schemas.segment, onRequest }, async (request, reply) =>
    use(request, async (entry, plan) => {
      const n = trackNumber(request.params.track);
      const name = request.params.segment;
      if (name === 'all.vtt')
        return send(
          app,
          request,
          reply,
          entry,
          `t${n}/all.vtt`,
          'text/vtt; charset=utf-8',
          await buildSubtitleFile(entry.reader, plan, n),
          plan.live ? 'growing' : 'immutable',
        );
      const m = /^(0|[1-9]\d{0,8})(\.key)?\.(m4s|vtt)$/.exec(name);
      if (m === null) throw new HttpError('E_NOT_FOUND', `no segment ${JSON.stringify(name.slice(0, 40))} (segments are N.m4s, N.key.m4s, N.vtt)`);
      const k = Number(m[1]);
      if (m[3] === 'vtt') {
        if (m[2] !== undefined) throw new HttpError('E_NOT_FOUND', 'no such segment');
        return send(app, request, reply, entry, `t${n}/${k}.vtt`, 'text/vtt; charset=utf-8', await buildSubtitleSegment(entry.reader, plan, n, k));
      }
      const bytes = await cached(entry, `t${n}/${name}`, () =>
        m[2] !== undefined ? buildKeyframeSegment(entry.reader, plan, n, k) : buildMediaSegment(entry.reader, plan, n, k),
      );
      return send(app, request, reply, entry, `t${n}/${name}`, 'video/mp4', bytes);
    }),
  );
}
