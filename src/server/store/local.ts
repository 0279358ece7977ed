/**
 * Containers in a local directory: resolving a name to a regular file inside
 * it (never outside, whatever its symlinks say), opening it, noticing that
 * it changed (its device, inode, size and mtime), and listing the directory.
 */
import type { Dirent, Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { LocalFile } from '../local-file.js';
import { isValidName } from '../names.js';
import type { ContainerSource, SlotState } from './cache.js';
import { containerEtag, Entry, openPossiblyLive } from './entry.js';
import { StoreError } from './errors.js';

/** A listed container. */
export type Listed = { name: string; size: number; modified: string };

const notFound = () => new StoreError('E_NOT_FOUND', 'no such container');

export class LocalDirectory implements ContainerSource {
  readonly followsGrowth = true;

  constructor(readonly dir: string) {}

  /**
   * The real path of `name` and its stats, or E_NOT_FOUND when it is
   * missing, not a regular file, or resolves outside the directory (a
   * symlink pointing out: reported as absent rather than as forbidden, so
   * nothing about the rest of the filesystem is revealed).
   */
  async resolve(name: string): Promise<{ path: string; stats: Stats }> {
    let path: string;
    try {
      path = await realpath(join(this.dir, name));
    } catch {
      throw notFound();
    }
    const rel = relative(this.dir, path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw notFound();
    const stats = await stat(path).catch(() => null);
    if (stats === null || !stats.isFile()) throw notFound();
    return { path, stats };
  }

  async open(name: string, slot: SlotState): Promise<Entry> {
    const { path, stats } = await this.resolve(name);
    const source = await LocalFile.open(path).catch((error: unknown) => {
      // Gone (or replaced by something else) since it was resolved.
      if ((error as { code?: unknown }).code === 'ENOENT' || !(error as { code?: unknown }).code) throw notFound();
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

  async stillCurrent(name: string, slot: SlotState): Promise<boolean> {
    try {
      const { stats } = await this.resolve(name);
      return identityOf(stats) === slot.identity;
    } catch {
      return false;
    }
  }

  /** Containers by name after `after` (exclusive), at most `limit`. */
  async list(after: string | null, limit: number): Promise<{ items: Listed[]; more: boolean }> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch {
      throw new StoreError('E_INTERNAL', 'the container directory cannot be read');
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
      const resolved = await this.resolve(name).catch(() => null);
      if (resolved === null) continue;
      items.push({ name, size: resolved.stats.size, modified: resolved.stats.mtime.toISOString() });
    }
    return { items, more: i < names.length };
  }
}

function identityOf(s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
}

/** Byte-wise (code unit) order: what `cursor` paging relies on. */
function byBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
