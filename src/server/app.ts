/**
 * The h4mk HTTP service: `build(options)` returns a Fastify instance with
 * every route registered and nothing listening (tests call `inject()`;
 * `h4mk serve` calls `listen()`).
 *
 * Layout: plugins/ (auth: tokens and signed URLs; store: containers from a
 * directory or an origin, cached readers, built from store/: the reader
 * cache, local directory, origin, publication), routes/ by area (seed: the seed's
 * /video API; rest: /v1 JSON and blocks; raw: the file with ranges; upload:
 * PUT and DELETE; ops: /healthz, /openapi.json), errors.ts (the one error
 * table), schemas.ts (every request and response schema; the JSON documents
 * are declared and built in ../views/).
 *
 * Logs are pino JSON lines with a request id (taken from a well-formed
 * `X-Request-Id`, else generated, and echoed back). A request is logged as
 * method and path only: query strings (which carry signed-URL signatures)
 * and headers (which carry tokens) are never logged.
 *
 * Bounded under attack: a connection cap (`maxConnections`), a time limit
 * on headers, on idle sockets and on idle keep-alive connections, shared
 * memory budgets for request bodies (routes/seed.ts) and block payloads
 * (routes/block-response.ts), `Expect: 100-continue` answered only after
 * authorisation, and the one error format even for requests Node's parser
 * refuses (400, 408, 431).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import { ByteBudget, type ServerConfig, type ServerState } from './context.js';
import { ERROR_STATUS, errorBody, EXPECTED_CODES, HttpError, type ServerErrorCode, toErrorResponse } from './errors.js';
import { addStrictNumbers } from './strict-numbers.js';
import { addHostCheck, type AuthOptions, authPlugin } from './plugins/auth.js';
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
    /** Open connections at once; more are closed as they arrive. Default 512. */
    maxConnections?: number;
    /** Milliseconds to receive a request's headers (from the connection or the previous response). Default 20 s. */
    headersTimeoutMs?: number;
    /**
     * Milliseconds a socket may see no traffic before it is closed: a client
     * that stops sending a body or stops reading a response. A request whose
     * answer is still being worked out is not cut. Default 2 minutes; 0: never.
     */
    idleTimeoutMs?: number;
    /** Milliseconds an idle keep-alive connection is kept. Default 5 s. */
    keepAliveTimeoutMs?: number;
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
  bodyMemoryBytes: 128 * MiB,
  blockMemoryBytes: 128 * MiB,
});

/** The defaults of the connection limits in {@link ServerOptions}. */
export const CONNECTION_DEFAULTS = Object.freeze({
  maxConnections: 512,
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  requestTimeoutMs: 600_000,
});

/** A request id from the client is kept only if it is short and plain (it is logged and echoed). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Client-error codes of Node's HTTP parser and what the client is told. */
function clientErrorCode(error: { code?: unknown }): ServerErrorCode {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'E_HEADERS_TOO_LARGE';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'E_TIMEOUT';
  return 'E_BAD_REQUEST';
}

const CLIENT_ERROR_MESSAGES: Readonly<Partial<Record<ServerErrorCode, string>>> = {
  E_HEADERS_TOO_LARGE: 'the request headers are too large',
  E_TIMEOUT: 'the request took too long to arrive',
  E_BAD_REQUEST: 'malformed HTTP request',
};

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
    const code = (error as { code?: unknown } | null)?.code;
    // A client that goes away mid-response is an expected condition: no stack trace.
    if (error && (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED')) {
      reply.log.info({ ...entry, code }, 'client went away');
    } else if (error) reply.log.error({ ...entry, err: error }, 'request errored');
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
    bodyMemoryBytes: positiveInteger(options.bodyMemoryBytes, 'bodyMemoryBytes', SERVER_DEFAULTS.bodyMemoryBytes),
    blockMemoryBytes: positiveInteger(options.blockMemoryBytes, 'blockMemoryBytes', SERVER_DEFAULTS.blockMemoryBytes),
  };
  const requestTimeout = positiveInteger(options.requestTimeoutMs, 'requestTimeoutMs', CONNECTION_DEFAULTS.requestTimeoutMs);
  // Node requires headersTimeout ≤ requestTimeout.
  const headersTimeout = Math.min(requestTimeout, positiveInteger(options.headersTimeoutMs, 'headersTimeoutMs', CONNECTION_DEFAULTS.headersTimeoutMs));
  const idleTimeout = positiveInteger(options.idleTimeoutMs, 'idleTimeoutMs', CONNECTION_DEFAULTS.idleTimeoutMs, 0);
  const keepAliveTimeout = positiveInteger(options.keepAliveTimeoutMs, 'keepAliveTimeoutMs', CONNECTION_DEFAULTS.keepAliveTimeoutMs);
  const maxConnections = positiveInteger(options.maxConnections, 'maxConnections', CONNECTION_DEFAULTS.maxConnections);
  const checkInterval = Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4)));
  // Set once the app exists (the servers are made before it, but used only after).
  let log: FastifyInstance['log'] | null = null;

  /** What Node's HTTP parser refuses (malformed, headers too large, too slow) never reaches a route: answered here, in the one error format. */
  const onClientError = (error: Error & { code?: unknown }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const code = clientErrorCode(error);
    const requestId = randomUUID();
    log?.info({ code, reason: typeof error.code === 'string' ? error.code : 'unknown', requestId }, 'client error');
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const status = ERROR_STATUS[code];
    const body = JSON.stringify(errorBody({ code, message: CLIENT_ERROR_MESSAGES[code] ?? 'bad request' }, requestId));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Cache-Control: no-store\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
    // Whatever the client still sends is not read: close once the answer is out (or after a second).
    socket.once('finish', () => socket.destroy());
    setTimeout(() => socket.destroy(), 1000).unref();
  };

  let dropped = 0;
  let dropLogged = 0;
  let servers = 0;
  /**
   * Every listening server (Fastify makes one per address, e.g. 127.0.0.1
   * and ::1 for `localhost`) gets the same limits and listeners.
   */
  const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void): Server => {
    // Node checks the header and request deadlines every connectionsCheckingInterval (30 s by default: far too coarse).
    const server = createServer({ requestTimeout, headersTimeout, keepAliveTimeout, connectionsCheckingInterval: checkInterval }, handler);
    server.setTimeout(idleTimeout);
    // Connections beyond the cap are closed by Node as they are accepted (it emits 'drop').
    server.maxConnections = maxConnections;
    server.on('drop', () => {
      dropped++;
      // At most one line a second, however many.
      if (Date.now() - dropLogged >= 1000) {
        dropLogged = Date.now();
        log?.warn({ maxConnections, dropped }, 'connection limit reached: new connections closed');
      }
    });
    // An idle socket is closed, unless its request is complete and its answer is still being worked
    // out (a verify, an upload being checked): idle then is the server, not the client.
    server.on('timeout', (socket: Socket) => {
      const res = (socket as Socket & { _httpMessage?: (ServerResponse & { req?: IncomingMessage }) | null })._httpMessage;
      if (res != null && !res.headersSent && res.req?.complete === true) return;
      socket.destroy();
    });
    // Expect: 100-continue: Node would answer 100 at once, before any check. With this listener the
    // request goes through its hooks (authorisation first), and the routes that read a body send
    // 100 (context.ts sendContinue) once it is authorised and its size and memory are accepted.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      server.emit('request', req, res);
    });
    // Fastify adds its clientErrorHandler to the first server only.
    if (servers++ > 0) server.on('clientError', onClientError);
    return server;
  };

  const app: FastifyInstance = Fastify({
    logger: loggerOptions(options.logger),
    logController: new RequestLog(),
    genReqId: (raw) => {
      const given = raw.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Draining is answered by our own hook, in the one error format.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    serverFactory,
    clientErrorHandler: onClientError,
    routerOptions: { maxParamLength: 300 },
    // A malformed URL (bad percent-encoding) is answered in the one error format too.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      const e = toErrorResponse(error);
      reply.code(e.status).header('cache-control', 'no-store').type('application/json; charset=utf-8');
      reply.send(JSON.stringify(errorBody(e, request.id)));
    },
  });
  log = app.log;
  const state: ServerState = {
    config,
    startedAt: Date.now(),
    draining: false,
    blocks: new BlockCache(config.blockCacheBytes),
    bodies: new ByteBudget(config.bodyMemoryBytes),
    payloads: new ByteBudget(config.blockMemoryBytes),
  };
  app.decorate('h4mk', state);

  app.addSchema(errorSchema);
  app.setErrorHandler((error, request, reply) => {
    const e = toErrorResponse(error);
    // Load shedding, draining, a changed or failing origin: expected, so no stack trace.
    if (e.status >= 500 && EXPECTED_CODES.has(e.code)) request.log.warn({ code: e.code, reason: e.message }, 'request refused');
    else if (e.status >= 500) request.log.error({ err: error }, 'request failed');
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
  addStrictNumbers(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (state.draining && request.routeOptions.url !== '/healthz') {
      reply.header('connection', 'close');
      throw new HttpError('E_UNAVAILABLE', 'the server is shutting down');
    }
  });
  // DNS rebinding (plugins/auth.ts): before anything else answers, CORS preflights included.
  addHostCheck(app, options);

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
