/**
 * The h4mk HTTP service: `build(options)` returns a Fastify instance with
 * every route registered and nothing listening (tests call `inject()`;
 * `h4mk serve` calls `listen()`).
 *
 * Layout: plugins/ (auth: tokens and signed URLs; store: containers from a
 * directory or an origin, cached readers), routes/ by area (seed: the seed's
 * /video API; rest: /v1 JSON and blocks; raw: the file with ranges; upload:
 * PUT and DELETE; ops: /healthz, /openapi.json), errors.ts (the one error
 * table), schemas.ts (every request and response schema).
 *
 * Logs are pino JSON lines with a request id (taken from a well-formed
 * `X-Request-Id`, else generated, and echoed back). A request is logged as
 * method and path only: query strings (which carry signed-URL signatures)
 * and headers (which carry tokens) are never logged.
 */
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import type { ServerConfig, ServerState } from './context.js';
import { errorBody, HttpError, toErrorResponse } from './errors.js';
import { type AuthOptions, authPlugin } from './plugins/auth.js';
import { type StoreOptions, storePlugin } from './plugins/store.js';
import { BLOCK_HEADERS, BlockCache } from './routes/block-response.js';
import { opsRoutes } from './routes/ops.js';
import { rawRoutes } from './routes/raw.js';
import { restRoutes } from './routes/rest.js';
import { seedRoutes } from './routes/seed.js';
import { uploadRoutes } from './routes/upload.js';
import { streamRoutes } from './routes/stream.js';
import { registerInspector } from './routes/inspector.js';
import { errorSchema } from './schemas.js';
import { MAX_RANGES } from './ranges.js';

const MiB = 1024 * 1024;

/** Options of {@link build}. */
export type ServerOptions = StoreOptions &
  AuthOptions &
  Partial<ServerConfig> & {
    /** Allowed CORS origins: `'*'` (default), one origin, a list, or false to send no CORS headers. */
    corsOrigin?: string | string[] | false;
    /** Logging: false (default for tests), true (info to stdout), or a level and a destination stream. */
    logger?: boolean | { level?: string; stream?: { write(line: string): void } };
    /** Milliseconds to receive a whole request (uploads included). Default 10 minutes. */
    requestTimeoutMs?: number;
    /** Package version shown in the OpenAPI document. */
    version?: string;
  };

/** The defaults of the limits in {@link ServerConfig}. */
export const SERVER_DEFAULTS: Readonly<ServerConfig> = Object.freeze({
  maxUploadBytes: 4096 * MiB,
  maxInlineBytes: 64 * MiB,
  maxConcurrentUploads: 4,
  maxRanges: MAX_RANGES,
  cacheMaxAge: 31_536_000,
  blockCacheBytes: 32 * MiB,
});

/** A request id from the client is kept only if it is short and plain (it is logged and echoed). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The path of a request target, without its query string. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function positiveInteger(value: number | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function loggerOptions(logger: ServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return false;
  const base = {
    level: logger === true ? 'info' : (logger.level ?? 'info'),
    serializers: {
      req: (request: FastifyRequest) => ({ method: request.method, path: pathOf(request.url), remoteAddress: request.ip }),
      res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
    },
    // Defence in depth: nothing above logs headers, but if anything ever does, no credentials.
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.query'],
  };
  return logger === true || logger.stream === undefined ? base : { ...base, stream: logger.stream };
}

/**
 * One log line per request, when it completes: method, path, status, time
 * and request id together (the "incoming request" line is debug level).
 */
class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const entry = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...entry, err: error }, 'request errored');
    else reply.log.info(entry, 'request completed');
  }
}

/** Builds the service (not listening). Close it with `app.close()`. */
export async function build(options: ServerOptions): Promise<FastifyInstance> {
  const config: ServerConfig = {
    maxUploadBytes: positiveInteger(options.maxUploadBytes, 'maxUploadBytes', SERVER_DEFAULTS.maxUploadBytes),
    maxInlineBytes: positiveInteger(options.maxInlineBytes, 'maxInlineBytes', SERVER_DEFAULTS.maxInlineBytes),
    maxConcurrentUploads: positiveInteger(options.maxConcurrentUploads, 'maxConcurrentUploads', SERVER_DEFAULTS.maxConcurrentUploads),
    maxRanges: positiveInteger(options.maxRanges, 'maxRanges', SERVER_DEFAULTS.maxRanges),
    cacheMaxAge: positiveInteger(options.cacheMaxAge, 'cacheMaxAge', SERVER_DEFAULTS.cacheMaxAge, 0),
    blockCacheBytes: positiveInteger(options.blockCacheBytes, 'blockCacheBytes', SERVER_DEFAULTS.blockCacheBytes, 0),
  };
  const app = Fastify({
    logger: loggerOptions(options.logger),
    logController: new RequestLog(),
    genReqId: (raw) => {
      const given = raw.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Draining is answered by our own hook, in the one error format.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestTimeout: positiveInteger(options.requestTimeoutMs, 'requestTimeoutMs', 600_000),
    routerOptions: { maxParamLength: 300 },
    // A malformed URL (bad percent-encoding) is answered in the one error format too.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      const e = toErrorResponse(error);
      reply.code(e.status).header('cache-control', 'no-store').type('application/json; charset=utf-8');
      reply.send(JSON.stringify(errorBody(e, request.id)));
    },
  });
  const state: ServerState = { config, startedAt: Date.now(), draining: false, blocks: new BlockCache(config.blockCacheBytes) };
  app.decorate('h4mk', state);

  app.addSchema(errorSchema);
  app.setErrorHandler((error, request, reply) => {
    const e = toErrorResponse(error);
    if (e.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: e.code }, 'request refused');
    // A body left unread (a refused upload) is not drained: the connection closes instead.
    if ((request.method === 'PUT' || request.method === 'POST') && !request.raw.complete) reply.header('connection', 'close');
    // Whatever a handler set for a success (validators, immutable caching, block headers) does not apply to an error.
    for (const name of Object.keys(reply.getHeaders())) {
      if (name === 'etag' || name === 'last-modified' || name.startsWith('h4mk-')) reply.removeHeader(name);
    }
    reply.header('cache-control', 'no-store');
    reply.code(e.status).headers(e.headers).type('application/json; charset=utf-8');
    return reply.send(errorBody(e, request.id));
  });
  app.setNotFoundHandler((request) => {
    throw new HttpError('E_NOT_FOUND', `no route ${request.method} ${pathOf(request.url)}`);
  });
  // JSON-schema coercion turns "1e400" into Infinity, which passes `integer` and `maximum`: refuse it here.
  app.addHook('preHandler', async (request) => {
    for (const values of [request.query, request.params]) {
      if (typeof values !== 'object' || values === null) continue;
      for (const [key, value] of Object.entries(values)) {
        if (typeof value === 'number' && !Number.isFinite(value)) throw new HttpError('E_BAD_REQUEST', `${key} must be a finite number`);
      }
    }
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (state.draining && request.routeOptions.url !== '/healthz') {
      reply.header('connection', 'close');
      throw new HttpError('E_UNAVAILABLE', 'the server is shutting down');
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'h4mk',
        version: options.version ?? '0.0.0',
        description:
          'H4MK containers over HTTP: the seed /video API, REST views (manifest, seek, range, plan, blocks, verify), ' +
          'the raw file with RFC 9110 ranges, and verified atomic uploads. Errors are {"error":{"code","message","request_id"}}.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'write token (PUT, DELETE), or read token when reads are private' },
          signedUrl: { type: 'apiKey', in: 'query', name: 'sig', description: 'signed URL from `h4mk share` (with `expires`)' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  if (options.corsOrigin !== false) {
    await app.register(cors, {
      origin: options.corsOrigin ?? '*',
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['Range', 'If-Range', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'Authorization', 'Content-Type', 'X-Request-Id'],
      exposedHeaders: ['Content-Range', 'Content-Length', 'Accept-Ranges', 'ETag', 'Last-Modified', 'X-Request-Id', ...BLOCK_HEADERS],
      maxAge: 86_400,
    });
  }
  await app.register(authPlugin, options);
  await app.register(storePlugin, options);
  await app.register(opsRoutes);
  await app.register(seedRoutes);
  await app.register(restRoutes);
  await app.register(rawRoutes);
  await app.register(streamRoutes);
  await app.register(uploadRoutes);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // The browser inspector (web/, built into dist-web/) at `/`.
  await registerInspector(app);
  return app;
}

/**
 * Starts a graceful stop: new requests get 503 (`/healthz` says
 * `draining`), in-flight ones finish, then the server closes. Resolves when
 * closed; rejects if in-flight requests are still running after `timeoutMs`.
 */
export async function drain(app: FastifyInstance, timeoutMs = 30_000): Promise<void> {
  app.h4mk.draining = true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`requests still in flight after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([app.close(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

