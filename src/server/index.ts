/**
 * `h4mk/server`: the HTTP service as a library (Node only). `build()` gives
 * a Fastify instance to `listen()` on or to `inject()` into; `drain()` stops
 * it gracefully; `signedUrl()` makes the URLs `h4mk share` prints.
 */
import { installNodePlatform } from '../platform/node.js';

// The server runs on Node's platform (node:crypto, hardware CRC-32C, zlib and zstd) whoever imports it.
installNodePlatform();

export { build, drain, SERVER_DEFAULTS, type ServerOptions } from './app.js';
export type { ServerConfig } from './context.js';
export { ERROR_STATUS, type ServerErrorCode } from './errors.js';
export { NAME_PATTERN, isValidName } from './names.js';
export { checkSignature, MAX_SHARE_SECONDS, parseDuration, signName, signedUrl, type SignatureCheck } from './signed-url.js';
