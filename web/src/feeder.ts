/**
 * Keeps the SourceBuffers fed while playing: the segment holding the
 * playback position first (every track), then the following ones until
 * about {@link AHEAD_SECONDS} (times the playback rate) are buffered;
 * segments further than {@link BEHIND_SECONDS} behind or far ahead are
 * removed. A seek needs nothing special: the next round starts from the
 * segment holding the new position.
 *
 * Times: source seconds are the container's presentation times; the media
 * element's clock is source + {@link Feeder.shift}, measured on the first
 * appended segment (0 when the browser applies the init segments' edit
 * list, the plan's offset when it does not).
 */
import type { Fragmenter, PlayTrack } from './fragments.js';
import { type MseSink, QuotaError } from './mse.js';

/** Segment `k` could not be built or appended. */
class SegmentError extends Error {
  readonly code: unknown;
  constructor(
    readonly k: number,
    readonly reason: unknown,
  ) {
    super(reason instanceof Error ? reason.message : String(reason));
    this.code = (reason as { code?: unknown } | null)?.code;
  }
}

export const AHEAD_SECONDS = 10;
export const BEHIND_SECONDS = 5;

/** What the feeder tells the player. */
export type FeederHooks = {
  /** A segment could not be built or appended (playback stops at its start). */
  onError(error: unknown, k: number): void;
  /** Runs every operation that reads the container (the session's queue). */
  serial<T>(fn: () => Promise<T>): Promise<T>;
};

export class Feeder {
  /** media seconds = source seconds + shift. */
  shift = 0;
  /** Per track: segments appended and not removed since. */
  readonly #loaded: Set<number>[];
  #stopped = false;
  #wake: (() => void) | null = null;
  #failedAt: number | null = null;
  /** Segment builds and appends so far (for the stats). */
  appended = 0;
  appendedBytes = 0;

  constructor(
    private readonly fragmenter: Fragmenter,
    private readonly sink: MseSink,
    private readonly video: HTMLVideoElement,
    private readonly hooks: FeederHooks,
  ) {
    this.#loaded = fragmenter.tracks.map(() => new Set<number>());
  }

  get tracks(): readonly PlayTrack[] {
    return this.fragmenter.tracks;
  }

  /**
   * Opens the buffers, appends the init segments and the segment holding
   * `fromSeconds`, and measures the shift. Returns the media time of
   * `fromSeconds`.
   */
  async start(fromSeconds: number): Promise<number> {
    const f = this.fragmenter;
    await this.sink.open(f.tracks.map((t) => t.mime));
    for (const [i, t] of f.tracks.entries()) await this.sink.append(i, await this.hooks.serial(() => f.init(t)));
    const k = f.segmentAt(fromSeconds);
    for (let i = 0; i < f.tracks.length; i++) await this.load(i, k);
    await this.measureShift(k);
    this.sink.setDuration(f.endSeconds + this.shift);
    void this.loop();
    return fromSeconds + this.shift;
  }

  /**
   * Where the first segment landed on each buffer tells whether the browser
   * applied the edit list: its start is the segment's start, or that plus
   * the plan's offset. Tracks that disagree with the first are moved onto
   * its timeline with timestampOffset and appended again.
   */
  private async measureShift(k: number): Promise<void> {
    const offset = this.fragmenter.offsetSeconds;
    const start = this.fragmenter.bounds(k).start;
    const landed = this.tracks.map((_, i) => {
      const first = this.sink.buffered(i)[0];
      if (first === undefined) return null;
      const d = first[0] - start;
      return Math.abs(d - offset) < Math.abs(d) ? offset : 0;
    });
    this.shift = landed.find((d) => d !== null) ?? 0;
    for (const [i, d] of landed.entries()) {
      if (d === null || d === this.shift) continue;
      await this.sink.remove(i, 0, Number.MAX_SAFE_INTEGER);
      (this.#loaded[i] as Set<number>).clear();
      await this.sink.setTimestampOffset(i, this.shift - d);
      await this.load(i, k);
    }
  }

  /** Source seconds of the element's clock. */
  get position(): number {
    return this.video.currentTime - this.shift;
  }

  /** Wakes the loop (after a seek or a rate change). */
  kick(): void {
    this.#wake?.();
  }

  /** After a seek: a segment that failed is tried again when it is needed. */
  retry(): void {
    this.#failedAt = null;
    this.kick();
  }

  stop(): void {
    this.#stopped = true;
    this.kick();
  }

  /** True when segment `k` is appended for every track. */
  has(k: number): boolean {
    return this.#loaded.every((s) => s.has(k));
  }

  private async load(i: number, k: number): Promise<void> {
    const track = this.tracks[i] as PlayTrack;
    let bytes: Uint8Array;
    try {
      bytes = await this.hooks.serial(() => this.fragmenter.media(track, k));
      if (this.#stopped) return;
      try {
        await this.sink.append(i, bytes);
      } catch (error) {
        if (!(error instanceof QuotaError)) throw error;
        await this.evict(this.position, 0);
        await this.sink.append(i, bytes);
      }
    } catch (error) {
      throw new SegmentError(k, error);
    }
    (this.#loaded[i] as Set<number>).add(k);
    this.appended++;
    this.appendedBytes += bytes.length;
  }

  private async loop(): Promise<void> {
    while (!this.#stopped) {
      let worked = false;
      try {
        worked = await this.round();
      } catch (error) {
        if (this.#stopped) return;
        const k = error instanceof SegmentError ? error.k : (this.nextMissing(this.fragmenter.segmentAt(this.position)) ?? 0);
        this.#failedAt = k;
        this.hooks.onError(error instanceof SegmentError ? error.reason : error, k);
      }
      if (!worked && !this.#stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 250);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
  }

  private nextMissing(k0: number): number | null {
    for (let k = k0; k < this.fragmenter.count; k++) if (!this.has(k)) return k;
    return null;
  }

  /** One step: evicts, then loads one missing track-segment; false when there was nothing to do. */
  private async round(): Promise<boolean> {
    const f = this.fragmenter;
    const t = this.position;
    const k0 = f.segmentAt(t);
    await this.evict(t, BEHIND_SECONDS);
    const horizon = t + AHEAD_SECONDS * Math.max(1, this.video.playbackRate);
    const limit = this.#failedAt ?? f.count;
    for (let k = k0; k < limit; k++) {
      if (k > k0 && f.bounds(k).start > horizon) break;
      for (let i = 0; i < this.tracks.length; i++) {
        if ((this.#loaded[i] as Set<number>).has(k)) continue;
        await this.load(i, k);
        return true;
      }
    }
    // Everything from here to the end (or to a segment that cannot be built) is in: let the element end there.
    let complete = true;
    for (let k = k0; k < limit && complete; k++) complete = this.has(k);
    if (complete && !this.sink.ended) this.sink.endOfStream();
    return false;
  }

  /** Removes segments more than `behind` seconds before `t` or beyond twice the horizon. */
  private async evict(t: number, behind: number): Promise<void> {
    const f = this.fragmenter;
    const far = t + 2 * AHEAD_SECONDS * Math.max(1, this.video.playbackRate) + 2;
    for (const [i, set] of this.#loaded.entries()) {
      const drop = [...set].filter((k) => {
        const b = f.bounds(k);
        return b.end < t - behind || b.start > far;
      });
      if (drop.length === 0) continue;
      drop.sort((a, b) => a - b);
      // Contiguous runs go in one remove each.
      let runStart = drop[0] as number;
      let prev = runStart;
      for (const k of [...drop.slice(1), Number.NaN]) {
        if (k === prev + 1) {
          prev = k;
          continue;
        }
        await this.sink.remove(i, f.bounds(runStart).start + this.shift, f.bounds(prev).end + this.shift);
        for (let j = runStart; j <= prev; j++) set.delete(j);
        runStart = k;
        prev = k;
      }
    }
  }
}
