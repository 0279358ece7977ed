/**
 * The server's one error table. Every error a client can see is
 * `{"error":{"code","message","request_id"}}` with the HTTP status this table
 * gives its code: container errors ({@link H4mkError} codes, docs/FORMAT.md
 * §10), the server's own codes, and Fastify's framework errors mapped onto
 * them. Anything else is `E_INTERNAL` (500) with a fixed message: stack
 * traces and internal messages stay in the log.
 */
import { H4mkError, type H4mkErrorCode } from '../node.js';
import { StoreError } from './store/errors.js';

/** Codes the server adds to the container codes. */
export type ServerOnlyCode =
  | 'E_BAD_REQUEST'
  | 'E_BAD_NAME'
  | 'E_UNAUTHORIZED'
  | 'E_FORBIDDEN'
  | 'E_URL_EXPIRED'
  | 'E_METHOD'
  | 'E_CONFLICT'
  | 'E_PRECONDITION'
  | 'E_TOO_LARGE'
  | 'E_MEDIA_TYPE'
  | 'E_RANGE'
  | 'E_INCOMPLETE'
  | 'E_INTERNAL'
  | 'E_NOT_IMPLEMENTED'
  | 'E_ORIGIN'
  | 'E_BUSY'
  | 'E_UNAVAILABLE'
  | 'E_HOST'
  | 'E_TIMEOUT'
  | 'E_HEADERS_TOO_LARGE';

/** Every code a client can receive. */
export type ServerErrorCode = H4mkErrorCode | ServerOnlyCode;

/**
 * Code → HTTP status. Container-data failures are 422: the named (or sent)
 * bytes are not a valid container, whoever is at fault; retrying cannot help.
 */
export const ERROR_STATUS: Readonly<Record<ServerErrorCode, number>> = Object.freeze({
  // Container data (H4mkError codes).
  E_MAGIC: 422,
  E_VERSION: 422,
  E_TRUNCATED: 422,
  E_CHECKSUM: 422,
  E_DIGEST: 422,
  E_FORMAT: 422,
  E_LIMIT: 422,
  E_UNSUPPORTED: 422,
  E_DECOMPRESS: 422,
  E_ORDER: 422,
  E_AUTH: 422,
  E_TRANSCRIPT: 422,
  E_SIGNATURE: 422,
  // The server never holds user keys: an operation that needs one is refused.
  E_KEY: 403,
  E_NOT_FOUND: 404,
  // The origin (or the disk) failed: a gateway problem, worth a retry.
  E_IO: 502,
  // The origin file changed under an open reader twice in a row.
  E_CHANGED: 503,
  // The server's own codes.
  E_BAD_REQUEST: 400,
  E_BAD_NAME: 400,
  E_INCOMPLETE: 400,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_URL_EXPIRED: 403,
  E_METHOD: 405,
  // The request (its headers or its body) took longer than the server allows.
  E_TIMEOUT: 408,
  E_CONFLICT: 409,
  E_PRECONDITION: 412,
  E_TOO_LARGE: 413,
  E_MEDIA_TYPE: 415,
  E_RANGE: 416,
  // A Host this server does not answer for (DNS rebinding of a loopback server).
  E_HOST: 421,
  E_HEADERS_TOO_LARGE: 431,
  E_INTERNAL: 500,
  E_NOT_IMPLEMENTED: 501,
  E_ORIGIN: 502,
  E_BUSY: 503,
  E_UNAVAILABLE: 503,
});

/** An error meant for the client: its code fixes the status. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  /** Extra response headers (WWW-Authenticate, Allow, Content-Range, Retry-After). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly code: ServerErrorCode,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
    this.headers = headers;
  }
}

/** What the client is told about one error. */
export type ErrorResponse = { status: number; code: ServerErrorCode; message: string; headers: Record<string, string> };

/** Fastify's own error codes and the server code each becomes. */
const FRAMEWORK_CODES: Readonly<Record<string, ServerErrorCode>> = {
  FST_ERR_VALIDATION: 'E_BAD_REQUEST',
  FST_ERR_BAD_URL: 'E_BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'E_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'E_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'E_BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'E_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'E_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'E_MEDIA_TYPE',
  FST_ERR_NOT_FOUND: 'E_NOT_FOUND',
  FST_ERR_HANDLER_TIMEOUT: 'E_UNAVAILABLE',
};

/** Client-safe messages for framework errors whose own message could echo request data. */
const FRAMEWORK_MESSAGES: Readonly<Partial<Record<ServerErrorCode, string>>> = {
  E_TOO_LARGE: 'the request body is larger than this endpoint accepts',
  E_MEDIA_TYPE: 'unsupported Content-Type for this endpoint',
  E_NOT_FOUND: 'not found',
  E_UNAVAILABLE: 'the request took too long',
};

/** Maps anything thrown while handling a request to what the client sees. */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof HttpError) return { status: error.status, code: error.code, message: error.message, headers: { ...error.headers } };
  if (error instanceof StoreError) return { status: ERROR_STATUS[error.code], code: error.code, message: error.message, headers: {} };
  if (error instanceof H4mkError) {
    return { status: ERROR_STATUS[error.code], code: error.code, message: error.message, headers: error.code === 'E_CHANGED' ? { 'retry-after': '1' } : {} };
  }
  const fastifyCode = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  const mapped = FRAMEWORK_CODES[fastifyCode];
  if (mapped !== undefined) {
    // Validation messages name the field and the rule (never the value sent).
    const message = mapped === 'E_BAD_REQUEST' && error instanceof Error ? error.message : (FRAMEWORK_MESSAGES[mapped] ?? 'bad request');
    return { status: ERROR_STATUS[mapped], code: mapped, message, headers: {} };
  }
  const status = (error as { statusCode?: unknown })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Another framework 4xx (e.g. a malformed request): say what kind, not the internals.
    return { status: 400, code: 'E_BAD_REQUEST', message: 'malformed request', headers: {} };
  }
  return { status: 500, code: 'E_INTERNAL', message: 'internal error', headers: {} };
}

/**
 * Codes of conditions the server expects and handles (load shedding,
 * draining, an origin that changed or failed): logged at warn with their
 * code and message only, never with a stack trace.
 */
export const EXPECTED_CODES: ReadonlySet<ServerErrorCode> = new Set<ServerErrorCode>([
  'E_BUSY',
  'E_UNAVAILABLE',
  'E_CHANGED',
  'E_IO',
  'E_ORIGIN',
  'E_NOT_IMPLEMENTED',
  'E_TIMEOUT',
]);

/** The JSON body of an error response (views/error.ts). */
export { errorBody } from '../views/index.js';
