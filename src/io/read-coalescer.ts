/**
 * How an {@link HttpSource} (src/io/http-source.ts) turns reads into
 * requests: a read is answered from memory when it can be, else queued;
 * reads queued in the same tick (or while the concurrency limit is reached)
 * that are adjacent or closer than `coalesceGap` are merged into one bounded
 * request, and a read inside a request already in flight waits for it.
 */
import { H4mkError } from '../format/errors.js';
import type { Fetched, RangeFetcher } from './http-fetcher.js';
import type { HttpSourceStats, ResolvedOptions } from './http-options.js';

/** One logical read waiting for bytes: `[offset, end)`, of which `[needStart, needEnd)` must be fetched. */
export type Member = {
  offset: number;
  end: number;
  needStart: number;
  needEnd: number;
  /** Allocated once the size is known, and pre-filled from the cache. */
  out: Uint8Array | null;
  resolve: (bytes: Uint8Array) => void;
  reject: (error: unknown) => void;
};

/** A bounded range request in flight and the reads it will answer. */
type Flight = { start: number; end: number; members: Member[] };

/** The reads of one source waiting for bytes, and the merged requests in flight. */
export class ReadCoalescer {
  private pending: Member[] = [];
  private readonly flights = new Set<Flight>();
  private flushScheduled = false;

  constructor(
    private readonly fetcher: RangeFetcher,
    private readonly options: ResolvedOptions,
    private readonly stats: HttpSourceStats,
    private readonly signal: AbortSignal,
  ) {}

  /** Answers `m` from memory, or attaches it to a request in flight, or queues it for the next flush. */
  enqueue(m: Member): void {
    if (!this.prepare(m)) return;
    const flight = this.coveringFlight(m);
    if (flight !== undefined) flight.members.push(m);
    else {
      this.pending.push(m);
      this.scheduleFlush();
    }
  }

  /** Rejects every queued read (not those in flight: their requests answer them). */
  rejectQueued(reason: unknown): void {
    const waiting = this.pending;
    this.pending = [];
    for (const m of waiting) m.reject(reason);
  }

  /**
   * Clips `m` to the size when known and fills it from memory. Returns false
   * when `m` was answered (from the cache, the whole file, or as empty).
   */
  private prepare(m: Member): boolean {
    const size = this.fetcher.size;
    if (size === undefined) return true;
    const end = Math.min(m.end, size);
    if (end <= m.offset) {
      m.resolve(new Uint8Array(0));
      return false;
    }
    m.end = end;
    if (this.fetcher.whole !== null) {
      this.stats.cacheHits++;
      m.resolve(this.fetcher.whole.slice(m.offset, end));
      return false;
    }
    if (m.out === null || m.out.length !== end - m.offset) m.out = new Uint8Array(end - m.offset);
    const missing = this.fetcher.cache.fill(m.out, m.offset);
    if (missing === null) {
      this.stats.cacheHits++;
      m.resolve(m.out);
      return false;
    }
    m.needStart = missing.start;
    m.needEnd = missing.end;
    return true;
  }

  private coveringFlight(m: Member): Flight | undefined {
    for (const f of this.flights) if (f.start <= m.needStart && m.needEnd <= f.end) return f;
    return undefined;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // A microtask: every read issued in the current synchronous run (e.g. a
    // Promise.all over many reads) is queued before the flush groups them.
    queueMicrotask(() => this.flush());
  }

  /** Groups waiting reads into bounded requests and starts as many as the concurrency limit allows. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.signal.aborted) return;
    const waiting = this.pending;
    this.pending = [];
    const open: Member[] = [];
    for (const m of waiting) {
      if (!this.prepare(m)) continue;
      const flight = this.coveringFlight(m);
      if (flight !== undefined) flight.members.push(m);
      else open.push(m);
    }
    open.sort((a, b) => a.needStart - b.needStart);
    const { coalesceGap, maxRequestLength, maxConcurrentRequests } = this.options;
    const groups: Flight[] = [];
    for (const m of open) {
      const g = groups[groups.length - 1];
      if (g !== undefined && m.needStart <= g.end + coalesceGap && Math.max(g.end, m.needEnd) - g.start <= maxRequestLength) {
        g.end = Math.max(g.end, m.needEnd);
        g.members.push(m);
      } else groups.push({ start: m.needStart, end: m.needEnd, members: [m] });
    }
    for (const g of groups) {
      if (this.flights.size >= maxConcurrentRequests) this.pending.push(...g.members);
      else this.launch(g);
    }
  }

  private launch(flight: Flight): void {
    this.flights.add(flight);
    const settle = (answer: (m: Member) => void): void => {
      // Leave the in-flight set before answering, in the same turn, so no read
      // can attach to a flight that has already answered.
      this.flights.delete(flight);
      for (const m of flight.members) answer(m);
      if (this.pending.length > 0) this.scheduleFlush();
    };
    this.fetcher.request({ kind: 'bounded', start: flight.start, end: flight.end }).then(
      (fetched) => settle((m) => this.deliver(m, fetched)),
      (error: unknown) => settle((m) => m.reject(error)),
    );
  }

  /** Answers `m` from its pre-filled bytes plus `fetched`. */
  private deliver(m: Member, fetched: Fetched): void {
    const size = this.fetcher.size;
    if (size === undefined) {
      m.reject(new H4mkError('E_IO', `${this.fetcher.displayUrl} did not tell its size`));
      return;
    }
    const end = Math.min(m.end, size);
    if (end <= m.offset) {
      m.resolve(new Uint8Array(0));
      return;
    }
    const out = m.out !== null && m.out.length === end - m.offset ? m.out : new Uint8Array(end - m.offset);
    const needEnd = Math.min(m.needEnd, end);
    const have = this.fetcher.whole !== null ? { start: 0, bytes: this.fetcher.whole } : fetched;
    if (have.start > m.needStart || have.start + have.bytes.length < needEnd) {
      m.reject(new H4mkError('E_IO', `${this.fetcher.displayUrl} answered with fewer bytes than asked`, { offset: m.needStart }));
      return;
    }
    out.set(have.bytes.subarray(m.needStart - have.start, needEnd - have.start), m.needStart - m.offset);
    m.resolve(out);
  }
}
