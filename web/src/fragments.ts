/**
 * Playback segments built in the page: the library's delivery plan and CMAF
 * fragmenter (src/delivery/) run on the page's reader, so the init and media
 * segments a SourceBuffer takes are made here from blocks the page
 * range-reads (through its cache). Encrypted containers: blocks are read as
 * stored and opened with the page's WebCrypto cipher before they are
 * remuxed; the key never leaves the page.
 */
import {
  type Block,
  type BlockInfo,
  buildInitSegment,
  buildMediaSegment,
  completeSegments,
  type DeliveryPlan,
  deliveryPlan,
  type DeliveryTrack,
  type H4mkReader,
  type ReadBlockOptions,
  segmentBounds,
  timelineOf,
  type TrackTimeline,
  type WebCipher,
} from 'h4mk/web';
import type { Session } from './session.js';

/** One track the player feeds to a SourceBuffer. */
export type PlayTrack = { number: number; kind: 'video' | 'audio'; id: string; codecs: string; mime: string };

/** Why nothing can be played, or the fragmenter. */
export type Playable = { ok: true; fragmenter: Fragmenter } | { ok: false; reason: string };

const isSupported = (mime: string): boolean => typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported(mime);

export class Fragmenter {
  readonly #inits = new Map<number, Promise<Uint8Array>>();

  private constructor(
    private readonly reader: H4mkReader,
    readonly plan: DeliveryPlan,
    /** The timeline whose cuts are the segments every played track follows. */
    readonly timeline: TrackTimeline,
    /** Video first (when there is one), then audio. */
    readonly tracks: PlayTrack[],
    /** Segments that can be played (all of them in a finished container). */
    readonly count: number,
  ) {}

  /**
   * The fragmenter of `session`'s container: its first video track and its
   * default (else first) audio track that this browser's MSE takes. With a
   * grant, only the granted track.
   */
  static create(session: Session): Playable {
    if (typeof MediaSource === 'undefined') return { ok: false, reason: 'this browser has no Media Source Extensions' };
    const base = session.reader;
    const cipher = session.cipher;
    if (base.encrypted && cipher === null) return { ok: false, reason: 'encrypted: give a key or a grant to play' };
    const reader = base.encrypted && cipher !== null ? decryptingReader(base, cipher) : base;
    const plan = deliveryPlan(reader);
    // The page holds the key: segments are built from blocks it opened itself.
    if (cipher !== null) plan.encrypted = false;
    const grantTrack = cipher?.grantWindow?.trackNumber ?? null;
    const usable = (t: DeliveryTrack): boolean => t.carriage === 'cmaf' && (grantTrack === null || t.info.number === grantTrack);
    const mime = (t: DeliveryTrack): string => `${t.kind}/mp4; codecs="${t.codecs}"`;
    const video = plan.tracks.find((t) => t.kind === 'video' && usable(t) && isSupported(mime(t)));
    const audios = plan.tracks.filter((t) => t.kind === 'audio' && usable(t) && isSupported(mime(t)));
    const audio = audios.find((t) => t.isDefault) ?? audios[0];
    const chosen = [video, audio].filter((t): t is DeliveryTrack => t !== undefined);
    if (chosen.length === 0) {
      const codecs = plan.tracks
        .filter((t) => t.kind === 'video' || t.kind === 'audio')
        .map((t) => (t.carriage === 'cmaf' ? t.codecs : `${t.info.codec} (${t.reason ?? 'not carried in fMP4'})`));
      return { ok: false, reason: `this browser's MSE plays none of the tracks (${codecs.join(', ') || 'no audio or video'})` };
    }
    const timeline = timelineOf(plan, chosen[0] as DeliveryTrack);
    if (timeline === null || timeline.cuts.length === 0) return { ok: false, reason: 'no keyframe to start playback from' };
    const count = Math.min(...chosen.map((t) => completeSegments(plan, t)));
    const tracks = chosen.map((t) => ({ number: t.info.number, kind: t.kind as 'video' | 'audio', id: t.info.id, codecs: t.codecs, mime: mime(t) }));
    return { ok: true, fragmenter: new Fragmenter(reader, plan, timeline, tracks, count) };
  }

  /** Start and end (source seconds) of segment `k`. */
  bounds(k: number): { start: number; end: number } {
    return segmentBounds(this.timeline, k);
  }

  /** The segment holding source time `seconds` (the first one before the start). */
  segmentAt(seconds: number): number {
    const ts = this.timeline.track.info.timescale;
    const cuts = this.timeline.cuts;
    let lo = 0;
    let hi = Math.min(cuts.length, this.count) - 1;
    let at = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((cuts[mid] as { pts: number }).pts / ts <= seconds + 1e-6) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at;
  }

  /** Whole seconds the fMP4 timeline is moved by (the init segments' edit lists take them off). */
  get offsetSeconds(): number {
    return this.plan.offsetSeconds;
  }

  /** Estimated end of the presentation, source seconds. */
  get endSeconds(): number {
    return this.plan.endSeconds;
  }

  /** The init segment of `track` (built once). */
  init(track: PlayTrack): Promise<Uint8Array> {
    let p = this.#inits.get(track.number);
    if (p === undefined) {
      p = buildInitSegment(this.reader, this.plan, track.number);
      this.#inits.set(track.number, p);
      p.catch(() => this.#inits.delete(track.number));
    }
    return p;
  }

  /** Media segment `k` of `track` (styp + moof + mdat). */
  media(track: PlayTrack, k: number): Promise<Uint8Array> {
    return buildMediaSegment(this.reader, this.plan, track.number, k);
  }
}

/**
 * `reader` with every payload read as stored and opened by `cipher` (which
 * authenticates, decrypts and decompresses). A block the cipher does not
 * cover fails with E_KEY, except the first keyframe the init segment reads
 * for the codec's sample entry: the first keyframe of that track inside the
 * grant stands in for it.
 */
export function decryptingReader(reader: H4mkReader, cipher: WebCipher): H4mkReader {
  const stored = (options: ReadBlockOptions = {}): ReadBlockOptions => ({ ...options, decompress: false });
  const open = async (blocks: Block[]): Promise<Block[]> => cipher.openBlocks(blocks);
  const readBlock = async (coreIndex: number, options?: ReadBlockOptions): Promise<Block> => {
    let info: BlockInfo = await reader.blockInfo(coreIndex);
    if (!cipher.covers(info) && info.keyframe) {
      for (const k of reader.indexKeyframes(info.trackNumber)) {
        const candidate = await reader.blockInfo(k.coreIndex);
        if (cipher.covers(candidate)) {
          info = candidate;
          break;
        }
      }
    }
    return (await open([await reader.readBlock(info.coreIndex, stored(options))]))[0] as Block;
  };
  async function* readBlocks(from: number, to: number, options: ReadBlockOptions & { tracks?: ReadonlyArray<string | number> } = {}): AsyncGenerator<Block> {
    const blocks: Block[] = [];
    for await (const b of reader.readBlocks(from, to, { ...options, decompress: false })) blocks.push(b);
    yield* await open(blocks);
  }
  async function* blocks(query: Parameters<H4mkReader['blocks']>[0], options: ReadBlockOptions = {}): AsyncGenerator<Block> {
    const stored: Block[] = [];
    for await (const b of reader.blocks(query, { ...options, decompress: false })) stored.push(b);
    yield* await open(stored);
  }
  const overrides: Record<string, unknown> = { readBlock, readBlocks, blocks };
  return new Proxy(reader, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop];
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
