/**
 * The container store, as the routes see it (`app.store`): where named
 * containers come from — a local directory (store/local.ts) or a remote HTTP
 * origin (store/origin.ts) — a bounded cache of open readers
 * (store/cache.ts), and, for a local directory, atomic publication and
 * removal (store/publication.ts). Storage raises {@link StoreError}s and
 * H4mkErrors; errors.ts gives them their HTTP statuses.
 *
 * An entry is checked again after `revalidateMs`: locally by comparing the
 * file's identity (device, inode, size, mtime) with the one it was opened
 * with; on an origin by opening it again. The server's own uploads and
 * deletions invalidate at once.
 */
import { realpath, stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ReaderCache } from '../store/cache.js';
import type { Entry, Lease } from '../store/entry.js';
import { StoreError } from '../store/errors.js';
import { type Listed, LocalDirectory } from '../store/local.js';
import { RemoteOrigin } from '../store/origin.js';
import { type Current, Publisher } from '../store/publication.js';

/** Options of the store. */
export type StoreOptions = {
  /** Directory of containers (local mode). */
  dir?: string;
  /** Base URL of a remote origin (origin mode, read-only): NAME is read from `origin/NAME`. */
  origin?: string;
  /** Extra headers sent to the origin (e.g. its own Authorization). */
  originHeaders?: Record<string, string>;
  /** Open readers kept (each holds a file descriptor or an HTTP cache). Default 64. */
  maxOpen?: number;
  /** Re-check a cached entry after this many ms. Default 1000 (local), 5000 (origin). */
  revalidateMs?: number;
  /** An upload temporary not written for this long is a leftover and is removed. Default 10 minutes. */
  staleTempMs?: number;
  /** How often leftovers are looked for (also once at start). Default 2 minutes; 0: at start only. */
  tempSweepMs?: number;
};

/**
 * A temporary not written for this long is a leftover (a crash, a killed
 * process): an upload in progress writes as its bytes arrive, and one that
 * sends nothing for this long has been cut off by the request timeout (10
 * minutes by default) already. Younger ones may belong to another instance.
 */
const STALE_TEMP_MS = 600_000;
/** Leftovers are looked for at start and then this often. */
const TEMP_SWEEP_MS = 120_000;

export class ContainerStore {
  readonly mode: 'local' | 'origin';
  private readonly cache: ReaderCache;
  private readonly publisher: Publisher | null;

  private constructor(
    private readonly local: LocalDirectory | null,
    origin: RemoteOrigin | null,
    options: StoreOptions,
  ) {
    this.mode = local === null ? 'origin' : 'local';
    this.cache = new ReaderCache(
      (local ?? origin) as LocalDirectory | RemoteOrigin,
      options.maxOpen ?? 64,
      options.revalidateMs ?? (local === null ? 5000 : 1000),
    );
    this.publisher = local === null ? null : new Publisher(local.dir, this.cache, options.staleTempMs ?? STALE_TEMP_MS);
  }

  /** Checks the options, resolves the directory, removes stale upload temporaries. */
  static async create(options: StoreOptions): Promise<ContainerStore> {
    if ((options.dir === undefined) === (options.origin === undefined)) throw new TypeError('the store needs exactly one of dir or origin');
    if (options.maxOpen !== undefined && (!Number.isSafeInteger(options.maxOpen) || options.maxOpen < 1))
      throw new RangeError('maxOpen must be a positive integer');
    for (const key of ['revalidateMs', 'staleTempMs', 'tempSweepMs'] as const) {
      const value = options[key];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) throw new RangeError(`${key} must be a non-negative integer`);
    }
    if (options.origin !== undefined) {
      const url = new URL(options.origin);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('the origin must be an http: or https: URL');
      if (!url.pathname.endsWith('/')) url.pathname += '/';
      return new ContainerStore(null, new RemoteOrigin(url, options.originHeaders ?? {}), options);
    }
    const dir = await realpath(options.dir as string);
    if (!(await stat(dir)).isDirectory()) throw new TypeError(`${options.dir} is not a directory`);
    const store = new ContainerStore(new LocalDirectory(dir), null, options);
    const publisher = store.publisher as Publisher;
    await publisher.removeStaleTemporaries();
    publisher.sweepEvery(options.tempSweepMs ?? TEMP_SWEEP_MS);
    return store;
  }

  /** True when uploads and deletions are possible (local mode). */
  get writable(): boolean {
    return this.publisher !== null;
  }

  /** Holds the current version of `name` until `release` (see {@link ReaderCache.acquire}). */
  acquire(name: string): Promise<Lease> {
    return this.cache.acquire(name);
  }

  /** Runs `fn` on the current version of `name` (see {@link ReaderCache.use}). */
  use<T>(name: string, fn: (entry: Entry) => Promise<T>): Promise<T> {
    return this.cache.use(name, fn);
  }

  /** Forgets the cached version of `name`. */
  invalidate(name: string): void {
    this.cache.invalidate(name);
  }

  /** Lists containers by name after `after` (exclusive), at most `limit`. Local mode only. */
  list(after: string | null, limit: number): Promise<{ items: Listed[]; more: boolean }> {
    if (this.local === null) return Promise.reject(notLocal('listing'));
    return this.local.list(after, limit);
  }

  /** A new upload temporary in the directory (see {@link Publisher.temporaryPath}). */
  temporaryPath(): string {
    return this.writer('uploads').temporaryPath();
  }

  /** Removes a temporary from {@link temporaryPath}. */
  async discardTemporary(path: string): Promise<void> {
    await this.publisher?.discardTemporary(path);
  }

  /** Publishes the verified file at `temporary` as `name` (see {@link Publisher.publish}). */
  async publish(name: string, temporary: string, check: (current: Current) => void): Promise<{ created: boolean }> {
    return this.writer('uploads').publish(name, temporary, check);
  }

  /** Throws E_CONFLICT when `name` exists and is not a regular file. */
  async assertWritable(name: string): Promise<void> {
    return this.writer('uploads').assertWritable(name);
  }

  /** Deletes `name` (see {@link Publisher.remove}). */
  async remove(name: string, check: (current: Current) => void): Promise<void> {
    return this.writer('deletion').remove(name, check);
  }

  /** Whether `name` exists, and its ETag if it is a valid container (for write preconditions). */
  async current(name: string): Promise<Current> {
    return this.writer('uploads').current(name);
  }

  /** Removes leftover upload temporaries; returns how many went. */
  async removeStaleTemporaries(): Promise<number> {
    return this.writer('uploads').removeStaleTemporaries();
  }

  /** Closes every cached reader (in-use ones when released). */
  async close(): Promise<void> {
    this.cache.close();
    await this.publisher?.close();
  }

  private writer(what: string): Publisher {
    if (this.publisher === null) throw notLocal(what);
    return this.publisher;
  }
}

const notLocal = (what: string) => new StoreError('E_NOT_IMPLEMENTED', `${what} needs a local directory; this server reads from an origin`);

declare module 'fastify' {
  interface FastifyInstance {
    /** The container store (see plugins/store.ts). */
    store: ContainerStore;
  }
}

/** Decorates the instance with `store`; closes it with the server. */
export const storePlugin = fp(
  async (app: FastifyInstance, options: StoreOptions) => {
    const store = await ContainerStore.create(options);
    app.decorate('store', store);
    app.addHook('onClose', async () => {
      await store.close();
    });
  },
  { name: 'h4mk-store', fastify: '5.x' },
);
