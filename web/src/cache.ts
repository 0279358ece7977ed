/**
 * The page's one byte cache: a source wrapper that keeps recently read
 * regions of the container (LRU, within a byte budget) and answers reads
 * from them. Playback segments, frame steps and the waveform all read
 * through it, so a step to the next frame, the audio of a segment whose
 * video was just fetched, or the waveform after a seek cost no request.
 * Only the bytes that are not held are fetched.
 */
import { type RandomAccessSource, RegionCache, type SourceStats } from 'h4mk/web';

/** Default budget: enough for minutes of typical video around the cursor. */
export const CACHE_BUDGET = 48 * 1024 * 1024;

/** What the cache has done so far. */
export type CacheStats = { hits: number; bytesFromCache: number; held: number; budget: number };

export class CachedSource implements RandomAccessSource {
  readonly #cache: RegionCache;
  readonly cacheStats: CacheStats;

  constructor(
    private readonly inner: RandomAccessSource,
    budget = CACHE_BUDGET,
  ) {
    this.#cache = new RegionCache(budget);
    this.cacheStats = { hits: 0, bytesFromCache: 0, held: 0, budget };
  }

  /** The inner source's counters: requests and bytes that really went out. */
  get stats(): SourceStats | undefined {
    return this.inner.stats;
  }

  /** Whether reads that miss the cache go over the network (an HttpSource inside). */
  get remote(): boolean {
    return this.inner.remote === true;
  }

  size(): Promise<number> {
    return this.inner.size();
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const size = await this.inner.size();
    const end = Math.min(offset + length, size);
    if (end <= offset) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    const missing = this.#cache.fill(out, offset);
    if (missing === null) {
      this.cacheStats.hits++;
      this.cacheStats.bytesFromCache += out.length;
      return out;
    }
    // Only the smallest interval holding what is not cached goes to the source.
    const fetched = await this.inner.read(missing.start, missing.end - missing.start);
    out.set(fetched.subarray(0, Math.min(fetched.length, end - missing.start)), missing.start - offset);
    this.cacheStats.bytesFromCache += out.length - (missing.end - missing.start);
    this.#cache.insert(missing.start, fetched);
    this.cacheStats.held = this.#cache.heldBytes;
    return fetched.length === missing.end - missing.start ? out : out.subarray(0, missing.start - offset + fetched.length);
  }

  readTail(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    if (this.inner.readTail === undefined) throw new TypeError('the source has no readTail');
    return this.inner.readTail(length);
  }

  readHead(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    if (this.inner.readHead === undefined) throw new TypeError('the source has no readHead');
    return this.inner.readHead(length);
  }

  /** Drops every cached byte (the next reads go to the source). */
  clear(): void {
    this.#cache.clear();
    this.cacheStats.held = 0;
  }

  async close(): Promise<void> {
    this.clear();
    await this.inner.close?.();
  }
}
