/**
 * A least-recently-used cache of byte regions of one remote file, bounded by a
 * byte budget. Used by {@link HttpSource}; no I/O here.
 *
 * @internal
 */

/** A half-open byte interval `[start, end)`. */
export type ByteInterval = { start: number; end: number };

type Region = { start: number; bytes: Uint8Array };

/** @internal */
export class RegionCache {
  /** Insertion order is recency order: the first entry is evicted first. */
  private readonly regions = new Map<number, Region>();
  private nextKey = 0;
  private held = 0;

  /** @param budget the most bytes held at once; 0 disables the cache. */
  constructor(readonly budget: number) {}

  /** Bytes held now (never more than the budget). */
  get heldBytes(): number {
    return this.held;
  }

  /** Number of regions held now. */
  get regionCount(): number {
    return this.regions.size;
  }

  /**
   * Copies every cached byte of `[offset, offset + out.length)` into `out` and
   * returns the smallest interval holding every byte that is not cached, or
   * null when all of them were. Regions used become the most recent.
   */
  fill(out: Uint8Array, offset: number): ByteInterval | null {
    const end = offset + out.length;
    const used: Array<[number, Region]> = [];
    for (const entry of this.regions) {
      const r = entry[1];
      if (r.start < end && r.start + r.bytes.length > offset) used.push(entry);
    }
    used.sort((a, b) => a[1].start - b[1].start);
    let cursor = offset;
    let missingStart = -1;
    let missingEnd = -1;
    for (const [key, r] of used) {
      const from = Math.max(offset, r.start);
      const to = Math.min(end, r.start + r.bytes.length);
      out.set(r.bytes.subarray(from - r.start, to - r.start), from - offset);
      if (from > cursor) {
        if (missingStart < 0) missingStart = cursor;
        missingEnd = from;
      }
      cursor = Math.max(cursor, to);
      this.regions.delete(key);
      this.regions.set(key, r);
    }
    if (cursor < end) {
      if (missingStart < 0) missingStart = cursor;
      missingEnd = end;
    }
    return missingStart < 0 ? null : { start: missingStart, end: missingEnd };
  }

  /**
   * Keeps `bytes` (found at `start`) as the most recent region, dropping regions
   * it contains, then evicts the least recent until the budget holds. A region
   * larger than the whole budget is not kept. The cache keeps a reference:
   * callers must not modify `bytes` afterwards.
   */
  insert(start: number, bytes: Uint8Array): void {
    if (bytes.length === 0 || bytes.length > this.budget) return;
    const end = start + bytes.length;
    for (const [key, r] of this.regions) {
      if (r.start >= start && r.start + r.bytes.length <= end) {
        this.regions.delete(key);
        this.held -= r.bytes.length;
      }
    }
    this.regions.set(this.nextKey++, { start, bytes });
    this.held += bytes.length;
    for (const [key, r] of this.regions) {
      if (this.held <= this.budget) break;
      this.regions.delete(key);
      this.held -= r.bytes.length;
    }
  }

  /** Drops everything. */
  clear(): void {
    this.regions.clear();
    this.held = 0;
  }
}
