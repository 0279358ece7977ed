/**
 * Playback with sound: a <video> element on a MediaSource whose
 * SourceBuffers (first video, default or first audio track) take fMP4
 * segments built in the page from blocks it range-reads (./fragments.ts,
 * ./feeder.ts). Controls: play/pause (also the space bar) and the rate; the
 * view's scrub bar seeks. Paused, the view's frame-exact still takes over.
 *
 * `data-state` of the controls: idle, starting, playing, paused, ended,
 * error or unavailable; `data-ttff-ms` (play pressed → playing) and
 * `data-seek-ms` (last seek while playing → seeked) are what the page measured.
 */
import { errorText, formatTime, h, replaceChildren } from './dom.js';
import { Feeder } from './feeder.js';
import { Fragmenter } from './fragments.js';
import { MseSink } from './mse.js';
import type { Session } from './session.js';

export type PlayerHooks = {
  /** Where playback starts or resumes: the view's cursor, µs. */
  cursorUs(): number;
  /** While playing, about ten times a second: the position, µs. */
  onPosition(us: number): void;
  /** Playback started: the video shows. */
  onPlay(): void;
  /** Paused (or ended) at `us`: the still view takes over. */
  onPause(us: number): void;
};

type State = 'idle' | 'starting' | 'playing' | 'paused' | 'ended' | 'error' | 'unavailable';

const RATES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];

export class Player {
  readonly video = h('video', { class: 'player-video', 'data-testid': 'video', playsinline: true, preload: 'auto' });
  readonly button = h('button', { type: 'button', class: 'play', 'data-testid': 'play', title: 'play / pause (space)', 'aria-label': 'play' }, '▶');
  readonly rate = h('select', { 'data-testid': 'rate', 'aria-label': 'playback rate', title: 'playback rate' });
  readonly status = h('span', { class: 'player-status muted small', 'data-testid': 'player-status', 'aria-live': 'polite' });
  private fragmenter: Fragmenter | null = null;
  private feeder: Feeder | null = null;
  private sink: MseSink | null = null;
  private starting: Promise<void> | null = null;
  /** The user wants playback (pressed play and not pause). */
  private wanted = false;
  private pressedAt = 0;
  /** The press being timed starts a new MediaSource (a cold start), else it resumes. */
  private cold = false;
  private seekAt: number | null = null;
  private ticker = 0;
  /** Media time of the last frame the element painted (requestVideoFrameCallback), or null. */
  private painted: number | null = null;
  private frameChain = 0;
  private destroyed = false;
  private error = '';

  constructor(
    private readonly session: Session,
    private readonly hooks: PlayerHooks,
  ) {
    for (const r of RATES) this.rate.append(h('option', { value: r, selected: r === 1 }, `${r}×`));
    this.button.addEventListener('click', () => this.toggle());
    this.rate.addEventListener('change', () => {
      this.video.playbackRate = Number(this.rate.value);
      this.feeder?.kick();
    });
    const v = this.video;
    v.addEventListener('playing', () => {
      if (this.pressedAt > 0) {
        this.button.dataset[this.cold ? 'ttffMs' : 'resumeMs'] = String(Math.round(performance.now() - this.pressedAt));
        this.pressedAt = 0;
      }
      this.setState('playing');
      this.hooks.onPlay();
    });
    v.addEventListener('waiting', () => {
      if (this.wanted) replaceChildren(this.status, 'buffering…');
    });
    v.addEventListener('seeking', () => this.feeder?.retry());
    v.addEventListener('seeked', () => {
      if (this.seekAt !== null) {
        this.button.dataset.seekMs = String(Math.round(performance.now() - this.seekAt));
        this.seekAt = null;
      }
    });
    v.addEventListener('pause', () => this.paused());
    v.addEventListener('ended', () => {
      this.wanted = false;
      this.paused('ended');
    });
    this.setState('idle');
  }

  /** True while playback is wanted (playing, starting or buffering). */
  get active(): boolean {
    return this.wanted;
  }

  toggle(): void {
    if (this.wanted) this.pause();
    else void this.play();
  }

  async play(): Promise<void> {
    if (this.destroyed || this.wanted) return;
    this.wanted = true;
    this.error = '';
    this.pressedAt = performance.now();
    this.setState('starting');
    let from = this.hooks.cursorUs() / 1e6;
    try {
      if (this.fragmenter === null) {
        const made = Fragmenter.create(this.session);
        if (!made.ok) throw new Error(made.reason);
        this.fragmenter = made.fragmenter;
      }
      const f = this.fragmenter;
      // From the end, start again.
      if (from >= f.endSeconds - 0.05) from = f.bounds(0).start;
      this.cold = this.feeder === null;
      if (this.feeder === null) {
        this.sink = new MseSink(this.video);
        this.feeder = new Feeder(f, this.sink, this.video, {
          serial: (fn) => this.session.serial(fn),
          onError: (error, k) => {
            this.error = `playback stops at ${formatTime(f.bounds(k).start * 1e6)}: ${errorText(error)}`;
            replaceChildren(this.status, this.error);
          },
        });
        const feeder = this.feeder;
        this.starting = feeder.start(from).then((mediaFrom) => {
          this.button.dataset.shift = String(feeder.shift);
          this.button.dataset.offset = String(f.offsetSeconds);
          this.video.currentTime = mediaFrom;
        });
        await this.starting;
        this.starting = null;
      } else {
        await this.starting;
        const target = from + this.feeder.shift;
        if (this.video.ended || Math.abs(this.video.currentTime - target) > 0.001) this.video.currentTime = target;
        this.feeder.kick();
      }
      if (!this.wanted || this.destroyed) return;
      this.video.playbackRate = Number(this.rate.value);
      await this.video.play();
      this.tick();
    } catch (error) {
      if (this.destroyed) return;
      this.wanted = false;
      this.error = errorText(error);
      const state: State = this.fragmenter === null ? 'unavailable' : 'error';
      this.teardown();
      this.setState(state);
      replaceChildren(this.status, `Cannot play: ${this.error}`);
      this.hooks.onPause(this.hooks.cursorUs());
    }
  }

  pause(): void {
    if (!this.wanted) return;
    this.wanted = false;
    if (this.video.paused) this.paused();
    else this.video.pause();
  }

  /** Moves playback to `us` (while playing; paused, the next play starts from the cursor). */
  seek(us: number): void {
    const f = this.feeder;
    if (f === null || this.starting !== null) return;
    this.seekAt = performance.now();
    this.video.currentTime = us / 1e6 + f.shift;
    f.kick();
  }

  /** Playback position in source µs (the cursor when nothing plays). */
  positionUs(): number {
    const f = this.feeder;
    return f === null ? this.hooks.cursorUs() : Math.round(f.position * 1e6);
  }

  private paused(state: State = 'paused'): void {
    if (this.feeder === null) return;
    cancelAnimationFrame(this.ticker);
    if (this.wanted && !this.video.ended) return; // a pause the element made itself (e.g. a rate change): keep going
    this.wanted = false;
    // The clock may stop a little before the frame already painted: stay on that frame, and seek the
    // element onto it, so the video, the still that replaces it and a later resume all agree.
    const painted = this.painted;
    const now = this.video.currentTime;
    if (state === 'paused') this.video.currentTime = painted !== null && painted > now && painted - now < 0.25 ? painted : now;
    this.painted = null;
    this.setState(state);
    const at = this.positionUs();
    if (this.error === '') replaceChildren(this.status, `${state} at ${formatTime(at)}${this.figures()}`);
    this.hooks.onPause(at);
  }

  /** Follows the clock while playing (about 10 Hz), and the frames the element paints. */
  private tick(): void {
    cancelAnimationFrame(this.ticker);
    const v = this.video;
    if (typeof v.requestVideoFrameCallback === 'function') {
      const chain = ++this.frameChain;
      const frame = (_now: number, meta: VideoFrameCallbackMetadata): void => {
        if (!this.wanted || this.destroyed || chain !== this.frameChain) return;
        this.painted = meta.mediaTime;
        v.requestVideoFrameCallback(frame);
      };
      v.requestVideoFrameCallback(frame);
    }
    let last = 0;
    const step = (now: number): void => {
      if (!this.wanted || this.destroyed) return;
      if (now - last >= 100) {
        last = now;
        this.hooks.onPosition(this.positionUs());
        if (this.state === 'playing' && this.error === '') replaceChildren(this.status, this.describe());
      }
      this.ticker = requestAnimationFrame(step);
    };
    this.ticker = requestAnimationFrame(step);
  }

  private describe(): string {
    const f = this.feeder;
    if (f === null) return '';
    const ranges = f.tracks.map((t, i) => {
      const here = this.sink?.buffered(i).find(([a, b]) => a <= this.video.currentTime + 0.05 && this.video.currentTime <= b);
      return `${t.kind} ${here === undefined ? 0 : Math.max(0, here[1] - this.video.currentTime).toFixed(1)} s`;
    });
    return `buffered ahead: ${ranges.join(', ')} · ${f.appended} segments appended${this.figures()}`;
  }

  /** What the page measured: first frame after play (cold), last resume, last seek while playing. */
  private figures(): string {
    const d = this.button.dataset;
    const parts = [
      d.ttffMs === undefined ? '' : `first frame ${d.ttffMs} ms after play`,
      d.resumeMs === undefined ? '' : `resume ${d.resumeMs} ms`,
      d.seekMs === undefined ? '' : `last seek ${d.seekMs} ms`,
    ];
    const shown = parts.filter((p) => p !== '');
    return shown.length === 0 ? '' : ` · ${shown.join(' · ')}`;
  }

  private get state(): State {
    return (this.button.dataset.state as State | undefined) ?? 'idle';
  }

  private setState(state: State): void {
    this.button.dataset.state = state;
    const playing = state === 'playing' || state === 'starting';
    replaceChildren(this.button, playing ? '❚❚' : '▶');
    this.button.setAttribute('aria-label', playing ? 'pause' : 'play');
    if (state === 'playing' && this.error === '') replaceChildren(this.status, '');
    if (state === 'starting') replaceChildren(this.status, 'starting…');
  }

  /** Forgets the MediaSource (after a key change, or on close); the next play builds a new one. */
  reset(): void {
    const wasWanted = this.wanted;
    this.wanted = false;
    this.video.pause();
    this.teardown();
    this.error = '';
    replaceChildren(this.status, '');
    this.setState('idle');
    if (wasWanted) this.hooks.onPause(this.hooks.cursorUs());
  }

  private teardown(): void {
    cancelAnimationFrame(this.ticker);
    this.feeder?.stop();
    this.sink?.close();
    this.feeder = null;
    this.sink = null;
    this.fragmenter = null;
    this.starting = null;
  }

  destroy(): void {
    this.destroyed = true;
    this.reset();
  }
}
