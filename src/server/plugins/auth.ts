/**
 * Access control. Writes (PUT, DELETE) need the write token as a bearer
 * token; with none configured they are disabled. Reads are public unless a
 * read token or a signing secret is configured; then a read needs the read
 * token (or the write token) as a bearer token, or a valid signed URL for
 * that container (signed-url.ts).
 *
 * Checks run in `onRequest` hooks, before any request body is read, so an
 * unauthorised upload costs the server nothing. Tokens are kept as SHA-256
 * digests and compared in constant time (secrets.ts). Failures are generic:
 * a wrong token and a missing one read the same.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../errors.js';
import { header } from '../ranges.js';
import { tokenDigest, tokenMatches } from '../secrets.js';
import { checkSignature } from '../signed-url.js';

export type AuthOptions = {
  /** Bearer token for PUT and DELETE; writes are disabled without one. */
  writeToken?: string;
  /** Bearer token for reads; makes reads private. */
  readToken?: string;
  /** Secret of signed URLs (`h4mk share`); makes reads private unless `publicReads`. */
  shareSecret?: string;
  /** Force public reads even with a read token or signing secret configured. */
  publicReads?: boolean;
  /** Clock for signed-URL expiry, seconds (tests). */
  now?: () => number;
};

const CHALLENGE = { 'www-authenticate': 'Bearer realm="h4mk"' };

/** The access policy of one server. */
export class Access {
  readonly publicReads: boolean;
  readonly writesEnabled: boolean;
  private readonly write: Buffer | null;
  private readonly read: Buffer | null;
  private readonly secret: string | null;
  private readonly now: () => number;

  constructor(options: AuthOptions) {
    this.write = options.writeToken === undefined ? null : tokenDigest(options.writeToken);
    this.read = options.readToken === undefined ? null : tokenDigest(options.readToken);
    this.secret = options.shareSecret ?? null;
    this.publicReads = options.publicReads ?? (this.read === null && this.secret === null);
    this.writesEnabled = this.write !== null;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Throws unless `request` may read container `name` (null: a read not about one stored container). */
  checkRead(request: FastifyRequest, name: string | null): void {
    if (this.publicReads) return;
    const token = bearer(request);
    if (token !== null) {
      // Both compared, always: which token matched must not show in the timing.
      const isRead = this.read !== null && tokenMatches(token, this.read);
      const isWrite = this.write !== null && tokenMatches(token, this.write);
      if (isRead || isWrite) return;
      throw new HttpError('E_UNAUTHORIZED', 'missing or invalid credentials', CHALLENGE);
    }
    if (this.secret !== null && name !== null) {
      const query = request.query as Record<string, unknown>;
      const result = checkSignature(this.secret, name, query.expires, query.sig, this.now());
      if (result === 'ok') return;
      if (result === 'expired') throw new HttpError('E_URL_EXPIRED', 'the signed URL has expired');
      if (result === 'invalid') throw new HttpError('E_FORBIDDEN', 'the signed URL is not valid');
    }
    throw new HttpError('E_UNAUTHORIZED', 'missing or invalid credentials', CHALLENGE);
  }

  /** Throws unless `request` carries the write token. */
  checkWrite(request: FastifyRequest): void {
    if (this.write === null) throw new HttpError('E_FORBIDDEN', 'writes are disabled on this server (no write token is configured)');
    const token = bearer(request);
    if (token === null || !tokenMatches(token, this.write)) throw new HttpError('E_UNAUTHORIZED', 'missing or invalid credentials', CHALLENGE);
  }

  /** An onRequest hook checking read access to the container `nameOf(request)` names. */
  readHook(nameOf: (request: FastifyRequest) => string | null): onRequestAsyncHookHandler {
    return async (request) => this.checkRead(request, nameOf(request));
  }

  /** An onRequest hook checking write access. */
  readonly writeHook: onRequestAsyncHookHandler = async (request) => this.checkWrite(request);
}

/** The bearer token of `request`, or null. */
function bearer(request: FastifyRequest): string | null {
  const value = header(request.headers, 'authorization');
  if (value === undefined) return null;
  const m = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(value);
  return m === null ? null : (m[1] as string);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The access policy (see plugins/auth.ts). */
    access: Access;
  }
}

/** Decorates the instance with `access`. */
export const authPlugin = fp(
  async (app: FastifyInstance, options: AuthOptions) => {
    app.decorate('access', new Access(options));
  },
  { name: 'h4mk-auth', fastify: '5.x' },
);
