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
import {
  BlobSource,
  type Block,
  type BlockInfo,
  COMPRESSIONS,
  decompressPayload,
  H4mkReader,
  HttpSource,
  installWebPlatform,
  ticksToUs,
  type TrackInfo,
  WebCipher,
  type WebKeyInput,
} from 'h4mk/web';
import { authHeaders } from './access.js';
import { CachedSource } from './cache.js';

/** One HTTP request the source sent. */
export type RequestRecord = { method: string; range: string; status: number; bytes: number; ms: number };

/** Requests and bytes so far (HTTP: requests sent; local file: reads), and what the page's cache answered. */
export type Counters = { requests: number; bytes: number; log: number; cacheHits: number; cacheBytes: number };

/** Per track, its blocks in presentation order, from the segment tables read so far (see {@link Session.covers}). */
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

/**
 * Bytes of the first (suffix) read when opening over HTTP: the library's
 * default, which holds the index of a 2-hour container (3,600 segments), so
 * opening is one request whatever the length.
 */
const OPEN_BYTES = 512 * 1024;
/** Block tables are read for a window of at most this many segments (the whole container when it has no more)… */
export const WINDOW_SEGMENT_LIMIT = 256;
/** …and block metadata is held for at most this many blocks (beyond, only the last window's is kept). */
export const HELD_BLOCK_LIMIT = 250_000;

/** One seek entry of a track, in µs: which segment holds blocks of the track between two times. */
type Entry = { segment: number; fromUs: number; toUs: number };

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
  static async openServed(name: string, options: { signal?: AbortSignal; query?: string } = {}): Promise<Session> {
    const log: RequestRecord[] = [];
    // A signed URL's `?expires=…&sig=…` stays on every request; a read token goes in a header (access.ts).
    const url = new URL(`v1/containers/${encodeURIComponent(name)}${options.query ?? ''}`, document.baseURI).href;
    // Same origin only: the page's Content-Security-Policy allows connections to itself alone.
    const http = await HttpSource.open(url, {
      // The page keeps its own cache (CachedSource), shared by every reader use and shown in the stats.
      cacheBudget: 0,
      // Reads issued together (the segment tables at open) merge only across small gaps: fewer bytes over fewer requests.
      coalesceGap: 16 * 1024,
      fetch: loggingFetch(log),
      headers: authHeaders(),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const source = new CachedSource(http);
    const reader = await H4mkReader.open(source, { openBytes: OPEN_BYTES });
    return new Session(
      name,
      reader,
      source,
      'http',
      { requests: http.stats.requests, bytes: http.stats.bytesRead, log: log.length, cacheHits: 0, cacheBytes: 0 },
      log,
    );
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
    return {
      requests: this.origin === 'http' ? (stats.requests ?? 0) : stats.reads,
      bytes: stats.bytesRead,
      log: this.log.length,
      cacheHits: c.hits,
      cacheBytes: c.bytesFromCache,
    };
  }

  /**
   * Runs `fn` after every operation queued before it (one reader user at a time), and once the
   * platform's codecs are ready (zstd's wasm) unless `codecs` is false: opening does not wait
   * for them (the index needs none); a use that reads stored payloads only need not either.
   */
  serial<T>(fn: () => Promise<T>, codecs = true): Promise<T> {
    const go = codecs ? () => platformReady().then(fn) : fn;
    const run = this.#queue.then(go, go);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` alone and measures what it cost: requests (or reads), bytes, what the cache answered, and the requests it sent. */
  measured<T>(
    fn: () => Promise<T>,
    codecs = true,
  ): Promise<{ value: T; requests: number; bytes: number; cacheBytes: number; sent: RequestRecord[]; ms: number }> {
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
    }, codecs);
  }

  /**
   * Blocks read with their stored payloads (`decompress: false`, not encrypted) as the media:
   * decompressed where a block is compressed, which waits for the platform's codecs then;
   * blocks stored uncompressed (video, usually) need no codec and wait for nothing.
   */
  async decompressed(blocks: Block[]): Promise<Block[]> {
    if (blocks.some((b) => b.compression !== 'none')) await platformReady();
    return blocks.map((b) =>
      b.compression === 'none' && b.payload.length === b.originalLength
        ? b
        : { ...b, payload: decompressPayload(b.payload, COMPRESSIONS.indexOf(b.compression), b.originalLength, b.coreIndex) },
    );
  }

  /** Per track, its seek entries in µs (from the index: no read). */
  #entries: Entry[][] | null = null;
  /** Block metadata of the segments read so far. */
  readonly #blocks = new Map<number, BlockInfo[]>();
  #held = 0;
  /** Bumped whenever {@link detail} changes. */
  detailVersion = 0;

  private entries(): Entry[][] {
    this.#entries ??= this.reader
      .tracks()
      .map((t) =>
        this.reader
          .indexEntries(t.number)
          .map((e) => ({ segment: e.segment, fromUs: ticksToUs(e.minPts, t.timescale), toUs: ticksToUs(e.maxPts, t.timescale) })),
      );
    return this.#entries;
  }

  /** The segments holding blocks of any track with pts in [fromUs, toUs], ascending (from the index alone). */
  segmentsIn(fromUs: number, toUs: number): number[] {
    const out = new Set<number>();
    for (const list of this.entries()) for (const e of list) if (e.toUs >= fromUs && e.fromUs <= toUs) out.add(e.segment);
    return [...out].sort((a, b) => a - b);
  }

  /** The seek entry of `track` whose pts range holds `us` (or the nearest before it), or null. */
  entryAt(track: TrackInfo, us: number): Entry | null {
    let best: Entry | null = null;
    for (const e of this.entries()[track.number] ?? []) if (e.fromUs <= us && (best === null || e.fromUs >= best.fromUs)) best = e;
    return best;
  }

  /** True when every segment with blocks in [fromUs, toUs] has been read: {@link detail} is complete there. */
  covers(fromUs: number, toUs: number): boolean {
    return this.segmentsIn(fromUs, toUs).every((k) => this.#blocks.has(k));
  }

  /**
   * Reads the block tables (metadata, no payloads) of the segments with
   * blocks in [fromUs, toUs] that were not read yet, when there are at most
   * {@link WINDOW_SEGMENT_LIMIT}, and rebuilds {@link detail}. Reads are issued
   * together so the source merges adjacent ones. False when the window holds
   * too many segments (the views stay on the index summaries).
   */
  async loadWindow(fromUs: number, toUs: number, extra: readonly number[] = []): Promise<boolean> {
    const wanted = [...new Set([...this.segmentsIn(fromUs, toUs), ...extra])].filter((k) => k >= 0 && k < this.reader.segmentCount);
    if (wanted.length > WINDOW_SEGMENT_LIMIT) return false;
    const missing = wanted.filter((k) => !this.#blocks.has(k));
    if (missing.length === 0) return true;
    await this.serial(async () => {
      if (this.#held + missing.length * (this.reader.blockCount / Math.max(1, this.reader.segmentCount)) > HELD_BLOCK_LIMIT) {
        for (const k of [...this.#blocks.keys()]) if (!wanted.includes(k)) this.#blocks.delete(k);
      }
      const BATCH = 64;
      for (let i = 0; i < missing.length; i += BATCH) {
        const batch = missing.slice(i, i + BATCH);
        const tables = await Promise.all(batch.map((k) => this.reader.segmentBlocks(k)));
        for (const [j, k] of batch.entries()) this.#blocks.set(k, tables[j] as BlockInfo[]);
      }
      this.#rebuild();
    });
    return true;
  }

  /** Reads the tables around `us`: its segment and one on each side (what a frame step needs). */
  async loadAround(track: TrackInfo, us: number): Promise<void> {
    const at = this.entryAt(track, us)?.segment ?? 0;
    await this.loadWindow(us, us, [at - 1, at, at + 1]);
  }

  #rebuild(): void {
    const perTrack = this.reader.tracks().map((track) => ({ track, blocks: [] as BlockInfo[] }));
    this.#held = 0;
    for (const list of this.#blocks.values()) {
      this.#held += list.length;
      for (const b of list) perTrack[b.trackNumber]?.blocks.push(b);
    }
    this.detail = perTrack.map(({ track, blocks }) => {
      const byPts = blocks.sort((a, b) => a.ptsUs - b.ptsUs || a.coreIndex - b.coreIndex);
      return {
        track,
        blocks: byPts,
        ptsUs: byPts.map((b) => b.ptsUs),
        keyframesUs: byPts.filter((b) => b.keyframe).map((b) => b.ptsUs),
        endUs: byPts.reduce((end, b) => Math.max(end, b.ptsUs + b.durationUs), Number.NEGATIVE_INFINITY),
      };
    });
    this.detailVersion++;
  }

  /** Checks `key` against the container and keeps the cipher (E_KEY when it is not this container's). */
  async unlock(key: WebKeyInput): Promise<WebCipher> {
    const params = this.reader.cryptoParams;
    if (params === null) throw new TypeError('this container is not encrypted');
    this.cipher = await WebCipher.unlock(params, key, this.reader.bindings);
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

/** The browser platform's codecs ready (zstd's wasm loaded); a failure to load it leaves zstd blocks unreadable, not the page. */
function platformReady(): Promise<void> {
  return installWebPlatform().catch(() => undefined);
}

/** The open request boot.ts sent before this script loaded (one use). */
type EarlyOpen = { url: string; range: string; authorization: string | null; response: Promise<Response> };

/**
 * The response of boot.ts's early open request when `input`/`init` is that
 * very request (same URL, GET, same range, same authorization, no other
 * header), else null; it is taken once, by the first request, either way.
 */
function takeEarlyOpen(input: string, init: RequestInit): Promise<Response> | null {
  const holder = globalThis as { h4mkEarlyOpen?: EarlyOpen };
  const early = holder.h4mkEarlyOpen;
  if (early === undefined) return null;
  delete holder.h4mkEarlyOpen;
  const headers = new Headers(init.headers);
  const names = [...headers.keys()].filter((k) => k !== 'range' && k !== 'authorization');
  const same =
    input === early.url &&
    (init.method ?? 'GET') === 'GET' &&
    headers.get('range') === early.range &&
    headers.get('authorization') === early.authorization &&
    names.length === 0 &&
    init.signal?.aborted !== true;
  return same ? early.response : null;
}

/** A fetch that records each request's range, status, body length and time. */
function loggingFetch(log: RequestRecord[]): (input: string, init: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const started = performance.now();
    const range = new Headers(init.headers).get('range') ?? '';
    const early = takeEarlyOpen(input, init);
    const response = (early === null ? null : await early.catch(() => null)) ?? (await fetch(input, init));
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
