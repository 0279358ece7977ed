/**
 * Per-server settings and state shared by the route plugins, and small
 * helpers they have in common.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
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
  /** Bytes of seed request bodies held in memory at once, all requests together; beyond it, 503. */
  bodyMemoryBytes: number;
  /** Bytes of block payloads (decompressed or stored) held for responses at once; beyond it, 503. */
  blockMemoryBytes: number;
};

/** What the server knows about itself at run time. */
export type ServerState = {
  readonly config: ServerConfig;
  readonly startedAt: number;
  /** Set by `drain()`: new requests get 503, in-flight ones finish. */
  draining: boolean;
  /** Verified block responses (routes/block-response.ts). */
  readonly blocks: BlockCache;
  /** Memory of seed request bodies in flight (routes/seed.ts). */
  readonly bodies: ByteBudget;
  /** Memory of block payloads being sent (routes/block-response.ts). */
  readonly payloads: ByteBudget;
};

/** A release at least this large counts towards {@link releaseLarge}. */
const LARGE_RELEASE = 8 * 1024 * 1024;
/** Bytes of large buffers released before a collection is asked for. */
const COLLECT_AFTER = 32 * 1024 * 1024;
/** At most one collection asked for per this many ms (a full GC of this server's small heap takes ~10 ms). */
const COLLECT_INTERVAL_MS = 1000;

let collector: (() => void) | null | undefined;
let releasedLarge = 0;
let lastCollect = 0;
let collectTimer: NodeJS.Timeout | null = null;

/** V8's gc(), obtained once without --expose-gc on the command line; null if unavailable. */
function gcFunction(): (() => void) | null {
  if (collector === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as unknown;
      collector = typeof gc === 'function' ? () => (gc as () => void)() : null;
    } catch {
      collector = null;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  return collector;
}

/**
 * Notes that `bytes` of large buffers (a request body, a decompressed block)
 * have just become garbage, and returns their memory to the system soon:
 * V8 collects external memory (Buffers) only when more of it is allocated,
 * so without this the buffers of one attack stay resident, unused, until
 * the next one, and add to it. A full collection is asked for once 32 MiB
 * were released, at most once a second, shortly after (when the request
 * that held them is gone).
 */
export function releaseLarge(bytes: number): void {
  if (bytes < LARGE_RELEASE) return;
  releasedLarge += bytes;
  if (releasedLarge < COLLECT_AFTER || collectTimer !== null) return;
  const gc = gcFunction();
  if (gc === null) return;
  const wait = Math.max(100, lastCollect + COLLECT_INTERVAL_MS - Date.now());
  collectTimer = setTimeout(() => {
    collectTimer = null;
    releasedLarge = 0;
    lastCollect = Date.now();
    gc();
  }, wait);
  collectTimer.unref();
}

/**
 * A shared byte budget: what requests may hold in memory at once, all
 * together. A request reserves before it allocates and gives back when its
 * response is over; a reservation that does not fit is refused (the caller
 * answers 503), it never waits. One reservation larger than the whole budget
 * is still granted when nothing else is held, so a limit set below the
 * largest legitimate request slows such requests down to one at a time
 * instead of refusing them forever.
 */
export class ByteBudget {
  private held = 0;

  constructor(readonly limit: number) {}

  /** Bytes reserved now. */
  get used(): number {
    return this.held;
  }

  /** Reserves `bytes` if they fit; false otherwise. */
  take(bytes: number): boolean {
    if (bytes > this.limit - this.held && this.held > 0) return false;
    this.held += bytes;
    return true;
  }

  /** Gives back `bytes` taken earlier (their buffers are garbage now). */
  give(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
    releaseLarge(bytes);
  }

  /** A reservation of `bytes` (may grow), or null when they do not fit. */
  reserve(bytes: number): Reservation | null {
    return this.take(bytes) ? new Reservation(this, bytes) : null;
  }
}

/** Bytes held from a {@link ByteBudget} by one request; `release` is idempotent. */
export class Reservation {
  private released = false;

  constructor(
    private readonly budget: ByteBudget,
    private bytes: number,
  ) {}

  /** Adds `more` bytes; false (nothing added) when the budget has no room. */
  grow(more: number): boolean {
    if (this.released) return false;
    if (!this.budget.take(more)) return false;
    this.bytes += more;
    return true;
  }

  /** Gives back `fewer` bytes early (a transient copy is gone). */
  shrink(fewer: number): void {
    const n = Math.min(fewer, this.bytes);
    this.bytes -= n;
    if (!this.released) this.budget.give(n);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.give(this.bytes);
  }
}

/** Releases `reservation` when the response is over: sent, failed, or its client gone. */
export function releaseWithResponse(reply: FastifyReply, reservation: { release(): void }): void {
  const raw = reply.raw;
  // inject() responses may not emit 'close'; 'finish' covers them.
  const done = () => reservation.release();
  raw.once('close', done);
  raw.once('finish', done);
  if (raw.destroyed || raw.writableFinished) done();
}

const CONTINUED = new WeakSet<object>();

/**
 * Answers `Expect: 100-continue` with `100 Continue`: call it once the
 * request is authorised and about to be read (the server registers a
 * 'checkContinue' listener, so Node no longer sends 100 on its own before
 * any check). Does nothing for a request that did not ask, or twice.
 */
export function sendContinue(request: FastifyRequest, reply: FastifyReply): void {
  const expect = request.headers.expect;
  if (typeof expect !== 'string' || !/^\s*100-continue\s*$/i.test(expect)) return;
  const raw = reply.raw as typeof reply.raw & { writeContinue?: () => void };
  if (CONTINUED.has(raw) || raw.headersSent || typeof raw.writeContinue !== 'function') return;
  CONTINUED.add(raw);
  raw.writeContinue();
}

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
