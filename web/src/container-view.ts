/**
 * The view of one container: summary; the player (MSE playback with sound,
 * and paused, the frame-exact still view that seeks with the library's
 * reader over range requests and decodes with WebCodecs; for audio-only
 * containers the waveform instead); encryption (key or grant given here,
 * used here, sent nowhere); integrity; the track table, per-track timelines
 * and GOP statistics. This file lays them out and keeps the cursor; each
 * panel is its own module.
 */
import type { TrackInfo } from 'h4mk/web';
import { errorText, formatBytes, formatInteger, formatTime, h, parseTime, replaceChildren } from './dom.js';
import { EncryptionPanel } from './encryption-panel.js';
import { integritySection } from './integrity-panel.js';
import { Player } from './player.js';
import type { Session } from './session.js';
import { StillView } from './still-view.js';
import type { TimeSpan } from './timeline.js';
import { TimelinePanel } from './timeline-panel.js';
import { indexKeyframes, TracksPanel } from './tracks-panel.js';
import { WavePanel } from './waveform-panel.js';

/** Half the waveform window under a video, µs; and of the main view of an audio-only container. */
const WAVE_HALF_US = 500_000;
const AUDIO_VIEW_HALF_US = 2_000_000;

/** Hooks from the page. */
export type ViewHooks = {
  /** The shown time changed (the page keeps it in the URL fragment). */
  onTime(us: number): void;
};

/** A rendered container view; {@link destroy} it before showing another. */
export class ContainerView {
  private readonly video: TrackInfo | null;
  private readonly audio: TrackInfo | null;
  /** What the timelines span, µs. */
  private readonly span: TimeSpan;
  /** Where the cursor can go: the video track's pts, else the audio track's. */
  private readonly bounds: TimeSpan;
  private readonly slider: HTMLInputElement;
  private readonly timeInput: HTMLInputElement;
  private readonly totals = h('p', { class: 'muted small', 'data-testid': 'totals' });
  private readonly totalsBox: HTMLElement;
  private readonly player: Player;
  private readonly still: StillView | null;
  private readonly wave: WavePanel | null;
  private readonly tracks: TracksPanel;
  private readonly timeline: TimelinePanel;
  private readonly keys: EncryptionPanel;
  private cursorUs: number | null = null;
  private lastDraw = 0;
  private destroyed = false;
  private readonly onKey = (event: KeyboardEvent): void => this.keydown(event);

  constructor(
    private readonly root: HTMLElement,
    private readonly session: Session,
    private readonly hooks: ViewHooks,
  ) {
    const tracks = session.reader.tracks();
    this.video = tracks.find((t) => t.kind === 'video' && t.blockCount > 0) ?? null;
    this.audio = tracks.find((t) => t.kind === 'audio' && t.blockCount > 0) ?? null;
    const firsts = tracks.map((t) => t.firstPtsUs).filter((v): v is number => v !== null);
    const lasts = tracks.map((t) => t.lastPtsUs).filter((v): v is number => v !== null);
    this.span = { fromUs: Math.min(0, ...firsts), toUs: Math.max(1, ...lasts) };
    const main = this.video ?? this.audio;
    this.bounds = { fromUs: main?.firstPtsUs ?? this.span.fromUs, toUs: main?.lastPtsUs ?? this.span.toUs };
    this.slider = h('input', {
      type: 'range',
      class: 'slider',
      'data-testid': 'seek-slider',
      'aria-label': 'time',
      min: this.bounds.fromUs,
      max: this.bounds.toUs,
      step: 1,
      value: this.bounds.fromUs,
    });
    this.timeInput = h('input', {
      type: 'text',
      class: 'time-input',
      'data-testid': 'time-input',
      'aria-label': 'time in seconds',
      value: '0',
      size: 9,
      autocomplete: 'off',
      inputmode: 'decimal',
    });
    const drop = h(
      'button',
      { type: 'button', class: 'link', 'data-testid': 'drop-cache', title: 'forget every cached byte: the next seek shows its cold cost' },
      'drop the cache',
    );
    drop.addEventListener('click', () => {
      session.source.clear();
      this.renderTotals();
    });
    this.totalsBox = h('div', { class: 'totals' }, this.totals, drop);
    this.player = new Player(session, {
      cursorUs: () => this.cursorUs ?? this.bounds.fromUs,
      onPosition: (us) => this.follow(us),
      onPlay: () => {
        if (this.still !== null) this.still.preview.dataset.mode = 'video';
        this.root.dataset.playing = 'true';
      },
      onPause: (us) => {
        delete this.root.dataset.playing;
        this.seek(us);
      },
    });
    this.still =
      this.video === null
        ? null
        : new StillView(
            session,
            this.video,
            this.totalsBox,
            {
              onTime: (us) => hooks.onTime(us),
              onDone: () => {
                this.renderTotals();
                this.afterFirstFrame();
              },
              afterFrame: async (us) => {
                if (!this.player.active) await this.wave?.show(us);
              },
              playing: () => this.player.active,
            },
            this.player.video,
          );
    this.wave =
      this.audio === null
        ? null
        : new WavePanel(session, this.audio, this.video === null ? AUDIO_VIEW_HALF_US : WAVE_HALF_US, this.video === null, () => {
            this.renderTotals();
            this.afterFirstFrame();
          });
    this.tracks = new TracksPanel(session, this.span);
    this.timeline = new TimelinePanel(
      session,
      this.span,
      (us) => this.seek(us),
      () => this.tracks.shades(),
      (mode) => {
        this.root.dataset.detail = mode;
      },
    );
    this.keys = new EncryptionPanel(session, () => {
      this.player.reset();
      this.timeline.draw(this.cursorUs);
      if (this.cursorUs !== null) this.seek(this.cursorUs);
    });
    this.render();
    document.addEventListener('keydown', this.onKey);
  }

  /** Removes listeners and stops playback; later callbacks do nothing. */
  destroy(): void {
    this.destroyed = true;
    if (this.still !== null) this.still.destroyed = true;
    this.player.destroy();
    this.timeline.destroyed = true;
    document.removeEventListener('keydown', this.onKey);
  }

  private render(): void {
    const { reader, name } = this.session;
    const open = this.session.openCounters;
    const openLine =
      this.session.origin === 'http'
        ? `opened with ${open.requests} request${open.requests === 1 ? '' : 's'} (${formatInteger(open.bytes)} bytes: the index, read from the ${reader.layout === 'tail' ? 'end' : 'start'} of the file)`
        : `local file, read in this page (${open.requests} reads, ${formatInteger(open.bytes)} bytes to open); nothing is uploaded`;
    const button = (title: string, testid: string, label: string, fn: () => void) =>
      h('button', { type: 'button', class: 'step', title, 'aria-label': title, 'data-testid': testid, onclick: fn }, label);
    const video = this.video !== null;
    const controls = h(
      'div',
      { class: 'controls', 'data-testid': 'controls' },
      this.player.button,
      video ? button('previous keyframe (shift+←)', 'prev-key', '«', () => this.stepKeyframe(-1)) : null,
      video ? button('previous frame (←)', 'prev-frame', '‹', () => this.stepFrame(-1)) : null,
      this.slider,
      video ? button('next frame (→)', 'next-frame', '›', () => this.stepFrame(1)) : null,
      video ? button('next keyframe (shift+→)', 'next-key', '»', () => this.stepKeyframe(1)) : null,
      h('label', { class: 'time-label' }, this.timeInput, ` / ${formatTime(this.bounds.toUs)}`),
      this.player.rate,
    );
    this.slider.addEventListener('input', () => this.seek(Number(this.slider.value)));
    this.timeInput.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      const us = parseTime(this.timeInput.value);
      this.timeInput.setCustomValidity(us === null ? 'a time in seconds, e.g. 1.24, or m:ss.fff' : '');
      if (us === null) this.timeInput.reportValidity();
      else this.seek(us);
    });
    const aside = this.still?.stats ?? this.audioAside();
    const mainPanel =
      this.still !== null
        ? [this.still.preview, controls, this.player.status, this.wave?.element]
        : [this.wave?.element, controls, this.player.status, this.player.video];
    if (this.still === null) this.player.video.hidden = true;
    replaceChildren(
      this.root,
      h('h1', { 'data-testid': 'container-name' }, name),
      h(
        'p',
        { class: 'summary', 'data-testid': 'summary', 'data-open-requests': open.requests, 'data-open-bytes': open.bytes },
        `${formatBytes(reader.fileSize)} (${formatInteger(reader.fileSize)} bytes) · ${reader.layout} layout · ${formatInteger(reader.blockCount)} blocks in ${formatInteger(reader.segmentCount)} segments · index ${formatInteger(reader.indexLength)} bytes · `,
        openLine,
      ),
      h('section', { class: video ? 'player' : 'player audio-only', 'data-testid': 'player' }, h('div', { class: 'player-main' }, ...mainPanel), aside),
      this.timeline.element,
      this.keys.element,
      integritySection(this.session, () => this.renderTotals()),
      this.tracks.tableSection(),
      h('section', {}, h('h2', {}, 'GOP statistics'), this.tracks.gop),
      h(
        'details',
        { class: 'meta' },
        h('summary', {}, 'META and SAFE'),
        h('pre', { 'data-testid': 'meta' }, JSON.stringify(reader.meta, null, 2)),
        h('pre', { 'data-testid': 'safe' }, JSON.stringify(reader.safe, null, 2)),
      ),
    );
    this.timeline.draw(this.cursorUs);
    this.renderTotals();
    if (this.video === null && this.audio === null) {
      replaceChildren(this.player.status, 'No audio or video track: nothing to play.');
      this.afterFirstFrame();
    }
  }

  private firstFrameShown = false;

  /**
   * Once the first frame (or waveform) is on screen: what can wait for it, so
   * the first picture's reads are the only ones in the queue before it —
   * GOP statistics (one table read at most) and the timelines' block tables.
   */
  private afterFirstFrame(): void {
    if (this.firstFrameShown || this.destroyed) return;
    this.firstFrameShown = true;
    this.timeline.settle();
    this.tracks.renderGop().catch((error: unknown) => {
      if (!this.destroyed) replaceChildren(this.tracks.gop, h('p', { class: 'error' }, `GOP statistics could not be read: ${errorText(error)}`));
    });
  }

  /** The side panel of an audio-only container: the track and the totals. */
  private audioAside(): HTMLElement {
    const a = this.audio;
    const extra = (a?.extra as { audio?: { sample_rate?: number; channels?: number } } | undefined)?.audio;
    const facts =
      a === null
        ? []
        : [
            `${a.id}: ${a.codec}`,
            extra?.sample_rate === undefined ? null : `${formatInteger(extra.sample_rate)} Hz`,
            extra?.channels === undefined ? null : `${extra.channels} channel${extra.channels === 1 ? '' : 's'}`,
          ];
    return h(
      'aside',
      { class: 'seek-stats', 'data-testid': 'seek-stats' },
      h('h3', {}, 'Audio only'),
      h('p', {}, facts.filter((f) => f !== null).join(' · ') || 'no audio track'),
      this.totalsBox,
    );
  }

  private renderTotals(): void {
    const c = this.session.counters();
    const cache = this.session.source.cacheStats;
    const unit = this.session.origin === 'http' ? 'requests' : 'reads';
    replaceChildren(
      this.totals,
      `Since open: ${c.requests} ${unit}, ${formatInteger(c.bytes)} bytes (${formatBytes(c.bytes)} of ${formatBytes(this.session.reader.fileSize)}). `,
      `Page cache: ${formatBytes(cache.held)} of ${formatBytes(cache.budget)} held, ${formatBytes(cache.bytesFromCache)} answered from it.`,
    );
    this.totals.dataset.requests = String(c.requests);
    this.totals.dataset.bytes = String(c.bytes);
    this.totals.dataset.cacheBytes = String(cache.bytesFromCache);
  }

  // ── the cursor ─────────────────────────────────────────────────────────

  /** Moves the cursor to `us`: playing, playback seeks; paused, the still (or the waveform) shows it. */
  seek(us: number): void {
    if (this.destroyed || !Number.isFinite(us) || (this.video === null && this.audio === null)) return;
    const clamped = Math.round(Math.min(Math.max(us, this.bounds.fromUs), this.bounds.toUs));
    this.place(clamped);
    this.timeline.draw(clamped);
    if (this.player.active) {
      this.player.seek(clamped);
      this.hooks.onTime(clamped);
    } else if (this.still !== null) {
      this.still.show(clamped);
    } else {
      this.hooks.onTime(clamped);
      void this.wave?.show(clamped);
    }
  }

  /** While playing: the cursor follows the clock (no still decode). */
  private follow(us: number): void {
    if (this.destroyed) return;
    this.place(us);
    const now = performance.now();
    if (now - this.lastDraw >= 250) {
      this.lastDraw = now;
      this.timeline.draw(us);
      void this.wave?.show(us);
    }
  }

  private place(us: number): void {
    this.cursorUs = us;
    this.slider.value = String(us);
    if (document.activeElement !== this.timeInput) this.timeInput.value = (us / 1e6).toFixed(6).replace(/0{1,3}$/, '');
  }

  /** The time last asked for (µs), or null. */
  get targetUs(): number | null {
    return this.cursorUs;
  }

  // ── stepping and keyboard ──────────────────────────────────────────────

  private reference(): number {
    return this.still?.shownUs ?? this.cursorUs ?? this.bounds.fromUs;
  }

  /** Steps to the next (1) or previous (−1) frame in presentation order (the block tables around the frame are read first, once). */
  stepFrame(direction: 1 | -1): void {
    if (this.player.active) {
      this.player.pause();
      return;
    }
    const t = this.video;
    if (t === null) return;
    const started = this.reference();
    void this.session.loadAround(t, started).then(
      () => {
        if (this.destroyed) return;
        const now = this.reference();
        const d = this.session.detail?.[t.number];
        const next = d === undefined ? undefined : direction > 0 ? d.ptsUs.find((p) => p > now) : findLast(d.ptsUs, (p) => p < now);
        if (next !== undefined) this.seek(next);
      },
      (error: unknown) => replaceChildren(this.player.status, h('span', { class: 'error' }, `Block tables could not be read: ${errorText(error)}`)),
    );
  }

  /** Steps to the next (1) or previous (−1) keyframe: those the index names, and those of the block tables read. */
  stepKeyframe(direction: 1 | -1): void {
    if (this.player.active) {
      this.player.pause();
      return;
    }
    const d = this.video === null ? undefined : this.session.detail?.[this.video.number];
    const now = this.reference();
    const keys = [...new Set([...indexKeyframes(this.session, this.video), ...(d?.keyframesUs ?? [])])].sort((a, b) => a - b);
    const next = direction > 0 ? keys.find((p) => p > now) : findLast(keys, (p) => p < now);
    if (next !== undefined) this.seek(next);
  }

  private keydown(event: KeyboardEvent): void {
    const target = event.target as HTMLElement | null;
    const typing =
      target !== null &&
      target !== this.slider &&
      (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT' || target.isContentEditable);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === ' ' && target?.tagName !== 'BUTTON') {
      event.preventDefault();
      this.player.toggle();
      return;
    }
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    const direction = event.key === 'ArrowRight' ? 1 : -1;
    if (this.video === null) this.seek((this.cursorUs ?? 0) + direction * (event.shiftKey ? 10_000_000 : 1_000_000));
    else if (event.shiftKey) this.stepKeyframe(direction);
    else this.stepFrame(direction);
  }
}

function findLast<T>(xs: readonly T[], test: (x: T) => boolean): T | undefined {
  for (let i = xs.length - 1; i >= 0; i--) if (test(xs[i] as T)) return xs[i];
  return undefined;
}
