/**
 * The container store: where named containers come from (a local directory,
 * or a remote HTTP origin read through {@link HttpSource}), a bounded cache
 * of open readers, and, for a local directory, atomic publication and
 * removal.
 *
 * Open readers are cached per name (LRU, `maxOpen`). An entry is checked
 * again after `revalidateMs`: locally by comparing the file's identity
 * (device, inode, size, mtime) with the one it was opened with; on an origin
 * by opening it again. The server's own uploads and deletions invalidate at
 * once. An entry in use when it is replaced or evicted is closed when its
 * last user releases it, so a response being streamed keeps reading the file
 * it started with — and its bytes always match the ETag it was sent with.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type Dirent, type Stats, constants as fsConstants } from 'node:fs';
import { lstat, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { H4mkError, H4mkReader, HttpSource, type RandomAccessSource, readExactly, type VerifyReport } from '../../node.js';
import { encodeHeader } from '../../format/header.js';
import { LocalFile } from '../local-file.js';
import { HttpError } from '../errors.js';
import { isValidName } from '../names.js';
import type { ManifestDoc } from '../../views/index.js';
import type { DeliveryPlan } from '../../delivery/index.js';

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

/** One open container version. */
export class Entry {
  /** Users holding it (requests, streams). */
  refs = 0;
  /** Replaced or evicted: closed when the last user releases it. */
  retired = false;
  /** Cached derived documents of this exact version. */
  manifest: Promise<ManifestDoc> | null = null;
  verify: Promise<VerifyReport> | null = null;
  /** The delivery plan (HLS/DASH) of this version, and its init segments by track number. */
  plan: DeliveryPlan | null = null;
  readonly inits = new Map<string, Promise<Uint8Array>>();

  constructor(
    readonly name: string,
    readonly reader: H4mkReader,
    /** Strong ETag of this version (see {@link containerEtag}). */
    readonly etag: string,
    /** HTTP date of the file's mtime (local mode), else null. */
    readonly lastModified: string | null,
  ) {}

  get size(): number {
    return this.reader.fileSize;
  }

  get source(): RandomAccessSource {
    return this.reader.source;
  }
}

/** An entry held by one user; call `release` exactly once. */
export type Lease = { entry: Entry; release(): void };

/** What a cache slot holds once its open settles. */
type Opened = { ok: true; entry: Entry } | { ok: false; error: unknown };

type Slot = {
  ready: Promise<Opened>;
  /** Local: dev/ino/size/mtime at open; origin: ''. */
  identity: string;
  checkedAt: number;
  checking: Promise<boolean> | null;
};

/**
 * Opens a container; one that a live writer is still appending to (its end is
 * not a FOOT) opens at its latest durable checkpoint (docs/FORMAT.md §14), so
 * that it can be followed and streamed while it grows.
 */
async function openPossiblyLive(source: RandomAccessSource): Promise<H4mkReader> {
  try {
    return await H4mkReader.open(source);
  } catch (error) {
    if (!(error instanceof H4mkError) || (error.code !== 'E_FORMAT' && error.code !== 'E_CHECKSUM' && error.code !== 'E_TRUNCATED')) throw error;
    try {
      return await H4mkReader.open(source, { live: true });
    } catch {
      throw error;
    }
  }
}

/** A listed container. */
export type Listed = { name: string; size: number; modified: string };

/** Prefix of upload temporaries: starts with `.`, so no valid name can collide with one. */
const TEMP_PREFIX = '.h4mk-upload-';
const TEMP_PATTERN = /^\.h4mk-upload-[0-9a-f-]{36}\.tmp$/;
/**
 * A temporary not written for this long is a leftover (a crash, a killed
 * process): an upload in progress writes as its bytes arrive, and one that
 * sends nothing for this long has been cut off by the request timeout (10
 * minutes by default) already. Younger ones may belong to another instance.
 */
const STALE_TEMP_MS = 600_000;
/** Leftovers are looked for at start and then this often. */
const TEMP_SWEEP_MS = 120_000;

/**
 * The strong ETag of a container version: the chain head (which names the
 * exact sequence of blocks, §7) plus a digest of everything else that can
 * change while the blocks stay the same — the file size, the header, the
 * whole index region (TRAK … VERI, and SEAL, which a re-seal replaces with
 * one of the same length) and the footer. The data region's tables (BIDX)
 * are covered through SEGX digests in the index region.
 */
export async function containerEtag(reader: H4mkReader): Promise<string> {
  const size = reader.fileSize;
  const hash = createHash('sha256').update('h4mk-etag-v1').update(String(size)).update('\n');
  // The header as the reader decoded it (equal to its bytes, which are checked): over HTTP a one-request
  // open has not read them, and fetching 32 bytes would cost the origin a second request.
  hash.update(encodeHeader(reader.header));
  hash.update(await readExactly(reader.source, reader.indexOffset, reader.indexLength));
  hash.update(await readExactly(reader.source, size - 36, 36));
  return `"${reader.chainHead.slice(0, 16)}-${hash.digest('hex').slice(0, 24)}"`;
}

export class ContainerStore {
  readonly mode: 'local' | 'origin';
  private readonly slots = new Map<string, Slot>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly maxOpen: number;
  private readonly revalidateMs: number;
  private readonly staleTempMs: number;
  /** Temporaries of uploads of this instance still in progress: never swept. */
  private readonly ownTemporaries = new Set<string>();
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string | null,
    private readonly origin: URL | null,
    private readonly originHeaders: Record<string, string>,
    options: StoreOptions,
  ) {
    this.mode = origin === null ? 'local' : 'origin';
    this.maxOpen = options.maxOpen ?? 64;
    this.revalidateMs = options.revalidateMs ?? (origin === null ? 1000 : 5000);
    this.staleTempMs = options.staleTempMs ?? STALE_TEMP_MS;
  }

  /** Checks the options, resolves the directory, removes stale upload temporaries. */
  static async create(options: StoreOptions): Promise<ContainerStore> {
    if ((options.dir === undefined) === (options.origin === undefined)) throw new TypeError('the store needs exactly one of dir or origin');
    if (options.maxOpen !== undefined && (!Number.isSafeInteger(options.maxOpen) || options.maxOpen < 1)) throw new RangeError('maxOpen must be a positive integer');
    for (const key of ['revalidateMs', 'staleTempMs', 'tempSweepMs'] as const) {
      const value = options[key];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) throw new RangeError(`${key} must be a non-negative integer`);
    }
    if (options.origin !== undefined) {
      const url = new URL(options.origin);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('the origin must be an http: or https: URL');
      if (!url.pathname.endsWith('/')) url.pathname += '/';
      return new ContainerStore(null, url, options.originHeaders ?? {}, options);
    }
    const dir = await realpath(options.dir as string);
    if (!(await stat(dir)).isDirectory()) throw new TypeError(`${options.dir} is not a directory`);
    const store = new ContainerStore(dir, null, {}, options);
    await store.removeStaleTemporaries();
    const every = options.tempSweepMs ?? TEMP_SWEEP_MS;
    if (every > 0) {
      store.sweeper = setInterval(() => {
        store.sweeping ??= store
          .removeStaleTemporaries()
          .then(
            () => {},
            () => {},
          )
          .finally(() => {
            store.sweeping = null;
          });
      }, every);
      store.sweeper.unref();
    }
    return store;
  }

  /** True when uploads and deletions are possible (local mode). */
  get writable(): boolean {
    return this.dir !== null;
  }

  /**
   * Holds the current version of `name` until `release`. Throws `E_NOT_FOUND`
   * for a missing name (or one whose symlink leads out of the directory) and
   * the container's own error for a file that is not a valid container.
   */
  async acquire(name: string): Promise<Lease> {
    if (this.closed) throw new HttpError('E_UNAVAILABLE', 'the server is shutting down');
    if (!isValidName(name)) throw new HttpError('E_BAD_NAME', 'invalid container name');
    for (let attempt = 0; ; attempt++) {
      let slot = this.slots.get(name);
      if (slot === undefined) {
        slot = this.openSlot(name);
        this.slots.set(name, slot);
        this.evict();
      } else {
        // Most recently used last.
        this.slots.delete(name);
        this.slots.set(name, slot);
      }
      const opened = await slot.ready;
      // A container a live writer is still appending to (its FOOT is a checkpoint), or one that failed to
      // open (a live file before its first checkpoint), is checked on every use, locally one stat: its next
      // checkpoint shows at once, not up to revalidateMs later (live playlists).
      const growing = this.dir !== null && (!opened.ok || !opened.entry.reader.finished);
      if (this.slots.get(name) === slot && (growing || Date.now() - slot.checkedAt >= this.revalidateMs) && attempt < 3) {
        slot.checking ??= this.stillCurrent(name, slot).finally(() => {
          slot.checking = null;
        });
        if (!(await slot.checking)) {
          this.drop(name, slot);
          continue;
        }
        slot.checkedAt = Date.now();
      }
      // A cached failure for this exact file (not-found is never cached).
      if (!opened.ok) throw opened.error;
      const entry = opened.entry;
      // Replaced or evicted while this request waited (its reader may be closed): take the current one.
      if (entry.retired) continue;
      entry.refs++;
      let released = false;
      return {
        entry,
        release: () => {
          if (released) return;
          released = true;
          entry.refs--;
          if (entry.retired && entry.refs === 0) void entry.reader.close().catch(() => {});
        },
      };
    }
  }

  /**
   * Runs `fn` on the current version of `name`. An origin file that changed
   * under a cached reader (`E_CHANGED`) is reopened and `fn` run once more.
   */
  async use<T>(name: string, fn: (entry: Entry) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const lease = await this.acquire(name);
      try {
        return await fn(lease.entry);
      } catch (error) {
        if (attempt === 0 && error instanceof H4mkError && error.code === 'E_CHANGED') {
          this.invalidate(name);
          continue;
        }
        throw error;
      } finally {
        lease.release();
      }
    }
  }

  /** Forgets the cached version of `name`. */
  invalidate(name: string): void {
    const slot = this.slots.get(name);
    if (slot !== undefined) this.drop(name, slot);
  }

  /** Lists containers by name after `after` (exclusive), at most `limit`. Local mode only. */
  async list(after: string | null, limit: number): Promise<{ items: Listed[]; more: boolean }> {
    const dir = this.requireDir('listing');
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      throw new HttpError('E_INTERNAL', 'the container directory cannot be read');
    }
    const names = entries
      .filter((d) => (d.isFile() || d.isSymbolicLink()) && isValidName(d.name))
      .map((d) => d.name)
      .sort(byBytes)
      .filter((n) => after === null || byBytes(n, after) > 0);
    const items: Listed[] = [];
    let i = 0;
    for (; i < names.length && items.length < limit; i++) {
      const name = names[i] as string;
      const resolved = await this.resolveLocal(name).catch(() => null);
      if (resolved === null) continue;
      items.push({ name, size: resolved.stats.size, modified: resolved.stats.mtime.toISOString() });
    }
    return { items, more: i < names.length };
  }

  /**
   * A new temporary path in the directory (same filesystem, so publishing is
   * a rename), kept from the sweeper until {@link discardTemporary}.
   */
  temporaryPath(): string {
    const path = join(this.requireDir('uploads'), `${TEMP_PREFIX}${randomUUID()}.tmp`);
    this.ownTemporaries.add(path);
    return path;
  }

  /** Removes a temporary from {@link temporaryPath} (if still there: a published one has been renamed). */
  async discardTemporary(path: string): Promise<void> {
    try {
      await unlink(path).catch(() => {});
    } finally {
      this.ownTemporaries.delete(path);
    }
  }

  /**
   * Publishes the verified file at `temporary` as `name` with one rename:
   * readers see the old container or the new one, never a mix. `check` sees
   * the current version's ETag (null: absent or not a container; `exists`
   * tells which) and throws to refuse. Serialised per name.
   */
  async publish(name: string, temporary: string, check: (current: { exists: boolean; etag: string | null }) => void): Promise<{ created: boolean }> {
    const dir = this.requireDir('uploads');
    return this.locked(name, async () => {
      const current = await this.current(name);
      check(current);
      const target = join(dir, name);
      const existing = await lstat(target).catch(() => null);
      refuseUnmanaged(existing);
      await rename(temporary, target);
      await syncDirectory(dir);
      this.invalidate(name);
      return { created: existing === null };
    });
  }

  /** Throws E_CONFLICT when `name` exists and is not a regular file (checked again when publishing). */
  async assertWritable(name: string): Promise<void> {
    refuseUnmanaged(await lstat(join(this.requireDir('uploads'), name)).catch(() => null));
  }

  /** Deletes `name` (a regular file only). `check` as in {@link publish}. */
  async remove(name: string, check: (current: { exists: boolean; etag: string | null }) => void): Promise<void> {
    const dir = this.requireDir('deletion');
    await this.locked(name, async () => {
      const current = await this.current(name);
      if (!current.exists) throw new HttpError('E_NOT_FOUND', 'no such container');
      check(current);
      refuseUnmanaged(await lstat(join(dir, name)).catch(() => null));
      await unlink(join(dir, name));
      await syncDirectory(dir);
      this.invalidate(name);
    });
  }

  /** Closes every cached reader (in-use ones when released). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    await this.sweeping;
    for (const [name, slot] of [...this.slots]) this.drop(name, slot);
    await Promise.all([...this.locks.values()].map((p) => p.catch(() => {})));
  }

  private requireDir(what: string): string {
    if (this.dir === null) throw new HttpError('E_NOT_IMPLEMENTED', `${what} needs a local directory; this server reads from an origin`);
    return this.dir;
  }

  /** Whether `name` exists, and its ETag if it is a valid container (for write preconditions). */
  async current(name: string): Promise<{ exists: boolean; etag: string | null }> {
    try {
      const lease = await this.acquire(name);
      lease.release();
      return { exists: true, etag: lease.entry.etag };
    } catch (error) {
      if ((error instanceof HttpError || error instanceof H4mkError) && error.code === 'E_NOT_FOUND') {
        // A symlink leading out, or a directory: present in the directory, but never a container here.
        const present = await lstat(join(this.dir as string, name)).then(
          (s) => !s.isDirectory(),
          () => false,
        );
        return { exists: present, etag: null };
      }
      if (error instanceof H4mkError) return { exists: true, etag: null };
      throw error;
    }
  }

  /** Runs `fn` after every earlier `locked` call for `name` has settled. */
  private async locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(fn);
    this.locks.set(name, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(name) === run) this.locks.delete(name);
    }
  }

  private openSlot(name: string): Slot {
    const slot: Slot = { ready: Promise.resolve({ ok: false, error: null }), identity: '', checkedAt: Date.now(), checking: null };
    slot.ready = (this.dir !== null ? this.openLocal(name, slot) : this.openRemote(name)).then(
      (entry): Opened => ({ ok: true, entry }),
      (error: unknown): Opened => {
        // Not found is cheap to ask again and may change any moment: not cached.
        if ((error instanceof HttpError || error instanceof H4mkError) && error.code === 'E_NOT_FOUND') {
          if (this.slots.get(name) === slot) this.slots.delete(name);
        }
        return { ok: false, error };
      },
    );
    return slot;
  }

  /**
   * The real path of `name` and its stats, or E_NOT_FOUND when it is
   * missing, not a regular file, or resolves outside the directory (a
   * symlink pointing out: reported as absent rather than as forbidden, so
   * nothing about the rest of the filesystem is revealed).
   */
  private async resolveLocal(name: string): Promise<{ path: string; stats: Stats }> {
    const dir = this.dir as string;
    let path: string;
    try {
      path = await realpath(join(dir, name));
    } catch {
      throw new HttpError('E_NOT_FOUND', 'no such container');
    }
    const rel = relative(dir, path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new HttpError('E_NOT_FOUND', 'no such container');
    const stats = await stat(path).catch(() => null);
    if (stats === null || !stats.isFile()) throw new HttpError('E_NOT_FOUND', 'no such container');
    return { path, stats };
  }

  private async openLocal(name: string, slot: Slot): Promise<Entry> {
    const { path, stats } = await this.resolveLocal(name);
    const source = await LocalFile.open(path).catch((error: unknown) => {
      // Gone (or replaced by something else) since it was resolved.
      if ((error as { code?: unknown }).code === 'ENOENT' || !(error as { code?: unknown }).code) throw new HttpError('E_NOT_FOUND', 'no such container');
      throw error;
    });
    try {
      // The identity of what was opened (a rename between stat and open shows at the next check).
      slot.identity = identityOf(source.fileStats);
      if (identityOf(stats) !== slot.identity) slot.checkedAt = 0;
      const reader = await openPossiblyLive(source);
      return new Entry(name, reader, await containerEtag(reader), source.fileStats.mtime.toUTCString());
    } catch (error) {
      await source.close();
      throw error;
    }
  }

  private async openRemote(name: string): Promise<Entry> {
    const url = new URL(encodeURIComponent(name), this.origin as URL);
    const source = await HttpSource.open(url, { headers: this.originHeaders });
    try {
      const reader = await H4mkReader.open(source);
      return new Entry(name, reader, await containerEtag(reader), null);
    } catch (error) {
      await source.close();
      if (error instanceof H4mkError && error.code === 'E_NOT_FOUND') throw new HttpError('E_NOT_FOUND', 'no such container');
      throw error;
    }
  }

  /** Whether the cached slot still describes what `name` is now. */
  private async stillCurrent(name: string, slot: Slot): Promise<boolean> {
    if (this.dir === null) return false;
    try {
      const { stats } = await this.resolveLocal(name);
      return identityOf(stats) === slot.identity;
    } catch {
      return false;
    }
  }

  private drop(name: string, slot: Slot): void {
    if (this.slots.get(name) === slot) this.slots.delete(name);
    void slot.ready.then((opened) => {
      if (!opened.ok || opened.entry.retired) return;
      const entry = opened.entry;
      entry.retired = true;
      if (entry.refs === 0) void entry.reader.close().catch(() => {});
    });
  }

  /** Drops least recently used slots beyond `maxOpen`. */
  private evict(): void {
    for (const [name, slot] of this.slots) {
      if (this.slots.size <= this.maxOpen) break;
      this.drop(name, slot);
    }
  }

  /**
   * Removes upload temporaries not written for `staleTempMs` (their mtime),
   * except this instance's own uploads in progress. Returns how many went.
   */
  async removeStaleTemporaries(): Promise<number> {
    const dir = this.dir as string;
    let removed = 0;
    for (const name of await readdir(dir)) {
      if (!TEMP_PATTERN.test(name)) continue;
      const path = join(dir, name);
      if (this.ownTemporaries.has(path)) continue;
      const s = await lstat(path).catch(() => null);
      if (s?.isFile() && Date.now() - s.mtimeMs > this.staleTempMs) {
        await unlink(path).then(
          () => removed++,
          () => {},
        );
      }
    }
    return removed;
  }
}

/**
 * The server writes regular files only. A symlink or directory at a name
 * was put there by the operator (an alias, a mount): replacing or removing
 * it through the API would silently undo that, so it is refused.
 */
function refuseUnmanaged(existing: Stats | null): void {
  if (existing === null || existing.isFile()) return;
  throw new HttpError('E_CONFLICT', existing.isSymbolicLink() ? 'that name is a symbolic link managed outside the server' : 'that name is not a regular file');
}

function identityOf(s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
}

/** Byte-wise (code unit) order: what `cursor` paging relies on. */
function byBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** fsync of a directory, so a rename or unlink survives a crash. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

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
