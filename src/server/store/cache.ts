/**
 * The cache of open container readers: at most `maxOpen` names, least
 * recently used out, each entry reference-counted. An entry is checked
 * again after `revalidateMs` (how, the {@link ContainerSource} says); one in
 * use when it is replaced or evicted is closed when its last user releases
 * it, so a response being streamed keeps reading the version it started
 * with — and its bytes always match the ETag it was sent with.
 */
import { isH4mkError } from '../../node.js';
import { isValidName } from '../names.js';
import type { Entry, Lease } from './entry.js';
import { isNotFound, StoreError } from './errors.js';

/** What a source may record about what it opened, and when it was last checked. */
export type SlotState = {
  /** Local: dev/ino/size/mtime at open; origin: ''. */
  identity: string;
  checkedAt: number;
};

/** Where containers are opened from: a local directory or an origin. */
export interface ContainerSource {
  /** Check an unfinished (live) or failed entry on every use, not only after revalidateMs. */
  readonly followsGrowth: boolean;
  /** Opens the current version of `name` (recording its identity in `slot`). */
  open(name: string, slot: SlotState): Promise<Entry>;
  /** Whether `slot` still describes what `name` is now. */
  stillCurrent(name: string, slot: SlotState): Promise<boolean>;
}

/** What a cache slot holds once its open settles. */
type Opened = { ok: true; entry: Entry } | { ok: false; error: unknown };

type Slot = SlotState & {
  ready: Promise<Opened>;
  checking: Promise<boolean> | null;
};

export class ReaderCache {
  private readonly slots = new Map<string, Slot>();
  private closed = false;

  constructor(
    private readonly source: ContainerSource,
    private readonly maxOpen: number,
    private readonly revalidateMs: number,
  ) {}

  /**
   * Holds the current version of `name` until `release`. Throws `E_NOT_FOUND`
   * for a missing name (or one whose symlink leads out of the directory) and
   * the container's own error for a file that is not a valid container.
   */
  async acquire(name: string): Promise<Lease> {
    if (this.closed) throw new StoreError('E_UNAVAILABLE', 'the server is shutting down');
    if (!isValidName(name)) throw new StoreError('E_BAD_NAME', 'invalid container name');
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
      const growing = this.source.followsGrowth && (!opened.ok || !opened.entry.reader.finished);
      if (this.slots.get(name) === slot && (growing || Date.now() - slot.checkedAt >= this.revalidateMs) && attempt < 3) {
        slot.checking ??= this.source.stillCurrent(name, slot).finally(() => {
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
        if (attempt === 0 && isH4mkError(error, 'E_CHANGED')) {
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

  /** Refuses new users; closes every cached reader (in-use ones when released). */
  close(): void {
    this.closed = true;
    for (const [name, slot] of [...this.slots]) this.drop(name, slot);
  }

  private openSlot(name: string): Slot {
    const slot: Slot = { ready: Promise.resolve({ ok: false, error: null }), identity: '', checkedAt: Date.now(), checking: null };
    slot.ready = this.source.open(name, slot).then(
      (entry): Opened => ({ ok: true, entry }),
      (error: unknown): Opened => {
        // Not found is cheap to ask again and may change any moment: not cached.
        if (isNotFound(error) && this.slots.get(name) === slot) this.slots.delete(name);
        return { ok: false, error };
      },
    );
    return slot;
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
}
