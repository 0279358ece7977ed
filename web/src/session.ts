/**
 * One open container in the page: the library's reader over HTTP range
 * requests (HttpSource) or over a local file (BlobSource), the request log,
 * the block-level detail behind the timelines, and the WebCrypto cipher once
 * the user has given a key or a grant.
 *
 * Every use of the reader goes through {@link Session.serial}, so the
 * requests and bytes measured around one operation (a seek, the waveform)
 * are that operation's own.
 */
import { BlobSource } from '../../src/io/blob-source.js';
import { HttpSource } from '../../src/io/http-source.js';
import type { RandomAccessSource } from '../../src/io/source.js';
import { H4mkReader } from '../../src/reader/reader.js';
import type { BlockInfo, TrackInfo } from '../../src/reader/types.js';
import { WebCipher, type WebKeyInput } from '../../src/web-platform/web-cipher.js';
import { CachedSource } from './cache.js';

/** One HTTP request the source sent. */
export type RequestRecord = { method: string; range: string; status: number; bytes: number; ms: number };

/** Requests and bytes so far (HTTP: requests sent; local file: reads), and what the page's cache answered. */
export type Counters = { requests: number; bytes: number; log: number; cacheHits: number; cacheBytes: number };

/** Per track, its blocks in presentation order (from the segment tables). */
export type TrackDetail = {
  track: TrackInfo;
  blocks: BlockInfo[];
  /** pts (µs) of every block, ascending. */
  ptsUs: number[];
  /** pts (µs) of every keyframe, ascending. */
  keyframesUs: number[];
  /** End of the track: the largest pts + duration (µs). */
  endUs: number;
};

/** Bytes of the first (suffix) read when opening over HTTP: the index of most files fits. */
const OPEN_BYTES = 64 * 1024;
/** Block-level detail is loaded at open up to this many segments (one table read each, batched)… */
export const DETAIL_SEGMENT_LIMIT = 1024;
/** …and this many blocks (their metadata is kept in memory for the timelines and frame stepping). */
export const DETAIL_BLOCK_LIMIT = 250_000;

export class Session {
  cipher: WebCipher | null = null;
  detail: TrackDetail[] | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** Name shown (container name or file name). */
    readonly name: string,
    readonly reader: H4mkReader,
    /** The page's byte cache over the container (shared by frames, playback and the waveform). */
    readonly source: CachedSource,
    /** 'http' (served container) or 'file' (local file, no network). */
    readonly origin: 'http' | 'file',
    /** What opening cost. */
    readonly openCounters: Counters,
    /** Every HTTP request sent, in order (empty for local files). */
    readonly log: RequestRecord[],
  ) {}

  /** Opens a served container by name: `/v1/containers/{name}` with range requests. */
  static async openServed(name: string, options: { signal?: AbortSignal } = {}): Promise<Session> {
    const log: RequestRecord[] = [];
    const url = new URL(`v1/containers/${encodeURIComponent(name)}`, document.baseURI).href;
    // Same origin only: the page's Content-Security-Policy allows connections to itself alone.
    const http = await HttpSource.open(url, {
      // The page keeps its own cache (CachedSource), shared by every reader use and shown in the stats.
      cacheBudget: 0,
      // Reads issued together (the segment tables at open) merge only across small gaps: fewer bytes over fewer requests.
      coalesceGap: 16 * 1024,
      fetch: loggingFetch(log),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const source = new CachedSource(http);
    const reader = await H4mkReader.open(source, { openBytes: OPEN_BYTES });
    return new Session(name, reader, source, 'http', { requests: http.stats.requests, bytes: http.stats.bytesRead, log: log.length, cacheHits: 0, cacheBytes: 0 }, log);
  }

  /** Opens a local file (File or Blob): read in the page, never uploaded; no network at all. */
  static async openFile(file: File): Promise<Session> {
    const blob = new BlobSource(file);
    const source = new CachedSource(blob);
    const reader = await H4mkReader.open(source);
    return new Session(file.name, reader, source, 'file', { requests: blob.stats.reads, bytes: blob.stats.bytesRead, log: 0, cacheHits: 0, cacheBytes: 0 }, []);
  }

  /** Requests (HTTP) or reads (file) and bytes so far, and the log length. */
  counters(): Counters {
    const stats = this.source.stats ?? { reads: 0, bytesRead: 0 };
    const c = this.source.cacheStats;
    return { requests: this.origin === 'http' ? (stats.requests ?? 0) : stats.reads, bytes: stats.bytesRead, log: this.log.length, cacheHits: c.hits, cacheBytes: c.bytesFromCache };
  }

  /** Runs `fn` after every operation queued before it (one reader user at a time). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` alone and measures what it cost: requests (or reads), bytes, what the cache answered, and the requests it sent. */
  measured<T>(fn: () => Promise<T>): Promise<{ value: T; requests: number; bytes: number; cacheBytes: number; sent: RequestRecord[]; ms: number }> {
    return this.serial(async () => {
      const before = this.counters();
      const started = performance.now();
      const value = await fn();
      const after = this.counters();
      return {
        value,
        requests: after.requests - before.requests,
        bytes: after.bytes - before.bytes,
        cacheBytes: after.cacheBytes - before.cacheBytes,
        sent: this.log.slice(before.log),
        ms: performance.now() - started,
      };
    });
  }

  /**
   * Loads every segment table (block metadata, no payloads) when there are at
   * most {@link DETAIL_SEGMENT_LIMIT} segments and {@link DETAIL_BLOCK_LIMIT}
   * blocks, and builds the per-track
   * detail. Reads are issued together so the source merges adjacent ones.
   * Returns null (index-only views) for larger containers.
   */
  async loadDetail(): Promise<TrackDetail[] | null> {
    const reader = this.reader;
    if (reader.segmentCount > DETAIL_SEGMENT_LIMIT || reader.blockCount > DETAIL_BLOCK_LIMIT) return null;
    await this.serial(async () => {
      const BATCH = 64;
      for (let s = 0; s < reader.segmentCount; s += BATCH) {
        const batch: Promise<unknown>[] = [];
        for (let k = s; k < Math.min(reader.segmentCount, s + BATCH); k++) batch.push(reader.segmentTable(k));
        await Promise.all(batch);
      }
      const perTrack = reader.tracks().map((track) => ({ track, blocks: [] as BlockInfo[] }));
      // Every table is cached now: this pass reads nothing.
      for await (const b of reader.range()) perTrack[b.trackNumber]?.blocks.push(b);
      this.detail = perTrack.map(({ track, blocks }) => {
        const byPts = [...blocks].sort((a, b) => a.ptsUs - b.ptsUs || a.coreIndex - b.coreIndex);
        return {
          track,
          blocks: byPts,
          ptsUs: byPts.map((b) => b.ptsUs),
          keyframesUs: byPts.filter((b) => b.keyframe).map((b) => b.ptsUs),
          endUs: byPts.reduce((end, b) => Math.max(end, b.ptsUs + b.durationUs), Number.NEGATIVE_INFINITY),
        };
      });
    });
    return this.detail;
  }

  /** Checks `key` against the container and keeps the cipher (E_KEY when it is not this container's). */
  async unlock(key: WebKeyInput): Promise<WebCipher> {
    const params = this.reader.cryptoParams;
    if (params === null) throw new TypeError('this container is not encrypted');
    this.cipher = await WebCipher.unlock(params, key, this.reader.index.raw);
    return this.cipher;
  }

  /** Forgets the key (the CryptoKeys go with the cipher). */
  lock(): void {
    this.cipher = null;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}

/** A fetch that records each request's range, status, body length and time. */
function loggingFetch(log: RequestRecord[]): (input: string, init: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const started = performance.now();
    const range = new Headers(init.headers).get('range') ?? '';
    const response = await fetch(input, init);
    log.push({
      method: init.method ?? 'GET',
      range,
      status: response.status,
      bytes: Number(response.headers.get('content-length') ?? 0),
      ms: performance.now() - started,
    });
    return response;
  };
}
