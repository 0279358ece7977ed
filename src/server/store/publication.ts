/**
 * Writing to a local directory: uploads go to a temporary in the directory
 * and are published with one rename (readers see the old container or the
 * new one, never a mix), deletions unlink; both are serialised per name,
 * checked against the current version's ETag, and fsync'd. Leftover
 * temporaries (a crash, a killed process) are swept.
 */
import { randomUUID } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isH4mkError } from '../../node.js';
import type { Lease } from './entry.js';
import { isNotFound, StoreError } from './errors.js';

/** What a write is checked against: whether `name` exists, and its ETag if it is a valid container. */
export type Current = { exists: boolean; etag: string | null };

/** Prefix of upload temporaries: starts with `.`, so no valid name can collide with one. */
const TEMP_PREFIX = '.h4mk-upload-';
const TEMP_PATTERN = /^\.h4mk-upload-[0-9a-f-]{36}\.tmp$/;

export class Publisher {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Temporaries of uploads of this instance still in progress: never swept. */
  private readonly ownTemporaries = new Set<string>();
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly dir: string,
    /** The store's cache: what is current, and what to forget once a name changes. */
    private readonly cache: { acquire(name: string): Promise<Lease>; invalidate(name: string): void },
    private readonly staleTempMs: number,
  ) {}

  /** Looks for leftover temporaries every `every` ms (0: never). */
  sweepEvery(every: number): void {
    if (every <= 0) return;
    this.sweeper = setInterval(() => {
      this.sweeping ??= this.removeStaleTemporaries()
        .then(
          () => {},
          () => {},
        )
        .finally(() => {
          this.sweeping = null;
        });
    }, every);
    this.sweeper.unref();
  }

  /**
   * A new temporary path in the directory (same filesystem, so publishing is
   * a rename), kept from the sweeper until {@link discardTemporary}.
   */
  temporaryPath(): string {
    const path = join(this.dir, `${TEMP_PREFIX}${randomUUID()}.tmp`);
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
   * Publishes the verified file at `temporary` as `name` with one rename.
   * `check` sees the current version's ETag (null: absent or not a
   * container; `exists` tells which) and throws to refuse.
   */
  async publish(name: string, temporary: string, check: (current: Current) => void): Promise<{ created: boolean }> {
    return this.locked(name, async () => {
      check(await this.current(name));
      const target = join(this.dir, name);
      const existing = await lstat(target).catch(() => null);
      refuseUnmanaged(existing);
      await rename(temporary, target);
      await syncDirectory(this.dir);
      this.cache.invalidate(name);
      return { created: existing === null };
    });
  }

  /** Throws E_CONFLICT when `name` exists and is not a regular file (checked again when publishing). */
  async assertWritable(name: string): Promise<void> {
    refuseUnmanaged(await lstat(join(this.dir, name)).catch(() => null));
  }

  /** Deletes `name` (a regular file only). `check` as in {@link publish}. */
  async remove(name: string, check: (current: Current) => void): Promise<void> {
    await this.locked(name, async () => {
      const current = await this.current(name);
      if (!current.exists) throw new StoreError('E_NOT_FOUND', 'no such container');
      check(current);
      refuseUnmanaged(await lstat(join(this.dir, name)).catch(() => null));
      await unlink(join(this.dir, name));
      await syncDirectory(this.dir);
      this.cache.invalidate(name);
    });
  }

  /** Whether `name` exists, and its ETag if it is a valid container (for write preconditions). */
  async current(name: string): Promise<Current> {
    try {
      const lease = await this.cache.acquire(name);
      lease.release();
      return { exists: true, etag: lease.entry.etag };
    } catch (error) {
      if (isNotFound(error)) {
        // A symlink leading out, or a directory: present in the directory, but never a container here.
        const present = await lstat(join(this.dir, name)).then(
          (s) => !s.isDirectory(),
          () => false,
        );
        return { exists: present, etag: null };
      }
      if (isH4mkError(error)) return { exists: true, etag: null };
      throw error;
    }
  }

  /**
   * Removes upload temporaries not written for `staleTempMs` (their mtime),
   * except this instance's own uploads in progress. Returns how many went.
   */
  async removeStaleTemporaries(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (!TEMP_PATTERN.test(name)) continue;
      const path = join(this.dir, name);
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

  /** Stops sweeping; waits for a sweep and for every write in progress. */
  async close(): Promise<void> {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    await this.sweeping;
    await Promise.all([...this.locks.values()].map((p) => p.catch(() => {})));
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
}

/**
 * The server writes regular files only. A symlink or directory at a name
 * was put there by the operator (an alias, a mount): replacing or removing
 * it through the API would silently undo that, so it is refused.
 */
function refuseUnmanaged(existing: Stats | null): void {
  if (existing === null || existing.isFile()) return;
  throw new StoreError('E_CONFLICT', existing.isSymbolicLink() ? 'that name is a symbolic link managed outside the server' : 'that name is not a regular file');
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
