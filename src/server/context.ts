/**
 * Per-server settings and state shared by the route plugins, and small
 * helpers they have in common.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { checkName } from './names.js';
import type { BlockCache } from './routes/block-response.js';

/** Resolved limits and settings (app.ts fills in the defaults). */
export type ServerConfig = {
  /** Largest upload, bytes. */
  maxUploadBytes: number;
  /** Largest container sent as the body of a seed request, bytes (held in memory, never stored). */
  maxInlineBytes: number;
  /** Uploads in progress at once; more get 503. */
  maxConcurrentUploads: number;
  /** Ranges of one request; more get 416. */
  maxRanges: number;
  /** `max-age` of raw-file and block responses, seconds. */
  cacheMaxAge: number;
  /** Byte budget of the cache of verified block responses; 0 disables it. */
  blockCacheBytes: number;
};

/** What the server knows about itself at run time. */
export type ServerState = {
  readonly config: ServerConfig;
  readonly startedAt: number;
  /** Set by `drain()`: new requests get 503, in-flight ones finish. */
  draining: boolean;
  /** Verified block responses (routes/block-response.ts). */
  readonly blocks: BlockCache;
};

declare module 'fastify' {
  interface FastifyInstance {
    /** Settings and run-time state (context.ts). */
    h4mk: ServerState;
  }
}

/** `Cache-Control` of immutable bytes (raw file, blocks): private when reads need credentials. */
export function immutableCacheControl(app: FastifyInstance): string {
  return `${app.access.publicReads ? 'public' : 'private'}, max-age=${app.h4mk.config.cacheMaxAge}, immutable`;
}

/** The `:name` route parameter. */
export function nameParam(request: FastifyRequest): string {
  return (request.params as { name: string }).name;
}

/**
 * Checks `:name` before anything else (auth included), so a traversal
 * attempt is refused the same way whatever the access policy.
 */
export const nameHook: onRequestAsyncHookHandler = async (request) => {
  checkName(nameParam(request));
};
