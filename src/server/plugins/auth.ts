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
 *
 * The Host check ({@link HostCheck}) guards a server on a loopback address
 * against DNS rebinding: a web page whose own name has been made to resolve
 * to 127.0.0.1 reaches the server as a "same-origin" page, and CORS cannot
 * stop it; only the Host header still tells.
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
  /**
   * Refuse (421 E_HOST) a request that arrives on a loopback address (the
   * server listens on one, or on every address) and whose Host is not
   * `localhost`, `127.0.0.1` or `[::1]` (any port) or one of `allowedHosts`.
   * Default false; `h4mk serve` turns it on.
   */
  hostCheck?: boolean;
  /** More Host names accepted (`name` or `name:port`); with any, the check applies to requests on every address. */
  allowedHosts?: string[];
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

/** Host names a loopback server always answers to. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Splits a Host header (or an allowed-host entry) into a lower-case name and a port (null: none given). */
export function parseHost(value: string): { name: string; port: string | null } | null {
  let text = value.trim().toLowerCase();
  // A bare IPv6 address in an allowed-host entry.
  if (!text.startsWith('[') && (text.match(/:/g) ?? []).length > 1) text = `[${text}]`;
  const m = /^(\[[0-9a-f:.]+\]|[^\s:/@[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (m === null) return null;
  // A fully qualified name may end with a dot.
  return { name: (m[1] as string).replace(/\.$/, ''), port: m[2] ?? null };
}

/** True for 127.0.0.0/8 and ::1 (also IPv4-mapped). */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || a === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * The Host header check (DNS rebinding). Applies to requests that arrive on
 * a loopback address (a browser on this machine, whatever name it was given
 * for it), or to every request when extra names are configured.
 */
export class HostCheck {
  private readonly allowed: { name: string; port: string | null }[];
  readonly explicit: boolean;

  constructor(
    readonly enabled: boolean,
    extra: readonly string[] = [],
  ) {
    this.allowed = LOOPBACK_NAMES.map((name) => ({ name, port: null }));
    for (const entry of extra) {
      const parsed = parseHost(entry);
      if (parsed === null) throw new TypeError(`not a host name: ${JSON.stringify(entry)}`);
      this.allowed.push(parsed);
    }
    this.explicit = extra.length > 0;
  }

  /** Whether a request with this Host header may be answered (`local`: the address it arrived on, null: unknown). */
  accepts(host: string | undefined, local: string | null): boolean {
    if (!this.enabled) return true;
    if (!this.explicit && (local === null || !isLoopbackAddress(local))) return true;
    // HTTP/1.0 without Host: no browser sends that, so no rebinding either (Node requires Host of HTTP/1.1).
    if (host === undefined) return true;
    const given = parseHost(host);
    if (given === null) return false;
    return this.allowed.some((a) => a.name === given.name && (a.port === null || a.port === given.port));
  }
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

/**
 * Adds the Host check to every request of `app` (an onRequest hook, added
 * before CORS so that not even a preflight is answered for a foreign Host).
 * Does nothing unless `options.hostCheck`.
 */
export function addHostCheck(app: FastifyInstance, options: Pick<AuthOptions, 'hostCheck' | 'allowedHosts'>): void {
  const hosts = new HostCheck(options.hostCheck === true, options.allowedHosts ?? []);
  if (!hosts.enabled) return;
  app.addHook('onRequest', async (request) => {
    // The address the request arrived on: on a server listening on every address, a browser on this
    // machine still comes in through 127.0.0.1 or ::1 (and is checked); another machine is not.
    const local = request.raw.socket?.localAddress ?? null;
    if (!hosts.accepts(request.headers.host, local)) {
      throw new HttpError('E_HOST', 'this server does not answer for that Host (see h4mk serve --allowed-host)');
    }
  });
}

/** Decorates the instance with `access`. */
export const authPlugin = fp(
  async (app: FastifyInstance, options: AuthOptions) => {
    app.decorate('access', new Access(options));
  },
  { name: 'h4mk-auth', fastify: '5.x' },
);
