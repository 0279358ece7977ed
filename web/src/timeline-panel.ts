/**
 * The timelines, one canvas per track, over a window of the container that
 * zooms and pans (mouse wheel and drag, pinch and swipe on touch screens,
 * keys on a focused timeline, the buttons). The whole container is drawn
 * from the index summaries (one bar per segment, no read); a window of at
 * most WINDOW_SEGMENT_LIMIT segments is drawn block by block from their
 * tables, read when the window settles. Hovering shows the time and the
 * facts of the block (or segment) under the pointer; a click seeks.
 */
import type { BlockInfo, TrackInfo } from 'h4mk/web';
import { formatBytes, formatInteger, formatTime, h, replaceChildren } from './dom.js';
import type { Session } from './session.js';
import { drawCursor, drawDetailTimeline, drawIndexTimeline, type Shade, type TimeSpan, TIMELINE_HEIGHT, usAt } from './timeline.js';

/** The narrowest window, µs. */
const MIN_WINDOW_US = 20_000;
/** Pointer travel (px) that makes a press a drag rather than a click. */
const DRAG_PX = 4;
/** How long the window must stay still before its block tables are read, ms. */
const SETTLE_MS = 120;

export class TimelinePanel {
  readonly element: HTMLElement;
  readonly timelines = h('div', { class: 'timelines', 'data-testid': 'timelines' });
  private readonly axis = h('div', { class: 'timeline-axis muted small', 'data-testid': 'timeline-axis' });
  private readonly hover = h('p', { class: 'timeline-hover small', 'data-testid': 'hover-info', 'aria-live': 'polite' }, '\u00a0');
  private readonly windowLabel = h('span', { class: 'muted small', 'data-testid': 'timeline-window' });
  private view: TimeSpan;
  private cursorUs: number | null = null;
  private readonly bases = new Map<HTMLCanvasElement, HTMLCanvasElement>();
  private baseKey = '';
  private settleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly pointers = new Map<number, { x: number; y: number }>();
  private gesture: { kind: 'press' | 'drag' | 'pinch'; startX: number; view: TimeSpan; distance: number; moved: boolean } | null = null;
  destroyed = false;

  constructor(
    private readonly session: Session,
    /** The whole container's span, µs. */
    private readonly full: TimeSpan,
    private readonly onSeek: (us: number) => void,
    private readonly shades: () => Shade[],
    /** Told whether the window is drawn block by block ('blocks') or from the index ('index'). */
    private readonly onMode: (mode: 'blocks' | 'index') => void = () => undefined,
  ) {
    this.view = { ...full };
    const button = (label: string, title: string, testid: string, fn: () => void) =>
      h('button', { type: 'button', class: 'step small', title, 'aria-label': title, 'data-testid': testid, onclick: fn }, label);
    const tools = h(
      'div',
      { class: 'timeline-tools' },
      button('−', 'zoom out (−)', 'zoom-out', () => this.zoom(2, this.anchor())),
      button('+', 'zoom in (+)', 'zoom-in', () => this.zoom(0.5, this.anchor())),
      button('whole', 'show the whole container (0)', 'zoom-reset', () => this.setView(this.full)),
      this.windowLabel,
    );
    for (const t of session.reader.tracks()) this.timelines.append(this.row(t));
    this.element = h(
      'section',
      { class: 'timeline-section', 'data-testid': 'timeline-section' },
      h('h2', {}, 'Timelines'),
      h(
        'p',
        { class: 'muted small' },
        'Bars: stored size of each block (red: keyframes) or, zoomed out, of each segment; line: bitrate. Click to seek; wheel, drag, pinch or +/−/←/→ on a timeline to zoom and pan.',
      ),
      tools,
      this.timelines,
      this.axis,
      this.hover,
    );
    // The window's block tables are read once the page calls settle() (after the first frame).
  }

  private row(t: TrackInfo): HTMLElement {
    const canvas = h('canvas', {
      width: 1000,
      height: TIMELINE_HEIGHT,
      'data-track': t.id,
      class: 'timeline',
      tabindex: 0,
      role: 'slider',
      'aria-label': `${t.id} timeline: click to seek, + and − to zoom, arrows to pan`,
    });
    canvas.addEventListener('wheel', (event) => this.wheel(event, canvas), { passive: false });
    canvas.addEventListener('pointerdown', (event) => this.pointerDown(event, canvas));
    canvas.addEventListener('pointermove', (event) => this.pointerMove(event, canvas, t));
    canvas.addEventListener('pointerup', (event) => this.pointerUp(event, canvas));
    canvas.addEventListener('pointercancel', (event) => this.pointers.delete(event.pointerId));
    canvas.addEventListener('pointerleave', () => replaceChildren(this.hover, '\u00a0'));
    canvas.addEventListener('keydown', (event) => this.key(event));
    return h(
      'div',
      { class: 'timeline-row' },
      h('div', { class: 'timeline-label' }, h('strong', {}, t.id), h('br'), h('span', { class: 'muted small' }, `${t.kind} · ${t.codec}`)),
      canvas,
    );
  }

  // ── the window ──────────────────────────────────────────────────────────

  /** The window shown, µs. */
  get window(): TimeSpan {
    return { ...this.view };
  }

  /** Shows [fromUs, toUs] (clamped to the container, at least {@link MIN_WINDOW_US} wide). */
  setView(span: TimeSpan): void {
    const fullWidth = this.full.toUs - this.full.fromUs;
    const width = Math.min(fullWidth, Math.max(MIN_WINDOW_US, span.toUs - span.fromUs));
    const from = Math.min(Math.max(span.fromUs, this.full.fromUs), this.full.toUs - width);
    this.view = { fromUs: Math.round(from), toUs: Math.round(from + width) };
    this.draw(this.cursorUs);
    this.settle();
  }

  /** Zooms by `factor` (< 1: in) keeping `atUs` where it is on screen. */
  zoom(factor: number, atUs: number): void {
    const { fromUs, toUs } = this.view;
    const f = Math.min(Math.max(factor, 0.05), 20);
    this.setView({ fromUs: atUs - (atUs - fromUs) * f, toUs: atUs + (toUs - atUs) * f });
  }

  /** Moves the window by `fraction` of its width. */
  pan(fraction: number): void {
    const shift = (this.view.toUs - this.view.fromUs) * fraction;
    this.setView({ fromUs: this.view.fromUs + shift, toUs: this.view.toUs + shift });
  }

  /** Where keyboard and button zooms centre: the cursor when it is in view, else the middle. */
  private anchor(): number {
    const c = this.cursorUs;
    return c !== null && c >= this.view.fromUs && c <= this.view.toUs ? c : (this.view.fromUs + this.view.toUs) / 2;
  }

  /** Reads the block tables of the window once it has stayed still for a moment (when it holds few enough segments); the page calls it first after the first frame. */
  settle(): void {
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      const { fromUs, toUs } = this.view;
      void this.session.loadWindow(fromUs, toUs).then(
        () => {
          if (!this.destroyed) this.draw(this.cursorUs);
        },
        () => undefined,
      );
    }, SETTLE_MS);
  }

  // ── drawing ─────────────────────────────────────────────────────────────

  /** True when the window is drawn block by block. */
  private detailed(): boolean {
    return this.session.detail !== null && this.session.covers(this.view.fromUs, this.view.toUs);
  }

  /** Redraws the timelines (their pictures only when the window, the detail or the grant changed) with the cursor at `cursorUs`. */
  draw(cursorUs: number | null): void {
    this.cursorUs = cursorUs;
    const shades = this.shades();
    const detailed = this.detailed();
    const key = `${this.view.fromUs}|${this.view.toUs}|${detailed ? `blocks${this.session.detailVersion}` : 'index'}|${JSON.stringify(shades)}`;
    const stale = key !== this.baseKey;
    this.baseKey = key;
    for (const canvas of this.timelines.querySelectorAll<HTMLCanvasElement>('canvas.timeline')) {
      let base = this.bases.get(canvas);
      if (base === undefined || stale) {
        const t = this.session.reader.tracks().find((x) => x.id === canvas.dataset.track);
        if (t === undefined) continue;
        base ??= h('canvas', { width: canvas.width, height: canvas.height });
        const d = detailed ? this.session.detail?.[t.number] : undefined;
        if (d !== undefined) drawDetailTimeline(base, d, this.view, null, shades);
        else drawIndexTimeline(base, this.session.reader, t, this.view, null, shades);
        this.bases.set(canvas, base);
      }
      const ctx = canvas.getContext('2d');
      if (ctx === null) continue;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(base, 0, 0);
      drawCursor(ctx, cursorUs, this.view, canvas.width);
    }
    if (stale) this.label(detailed);
  }

  private label(detailed: boolean): void {
    const { fromUs, toUs } = this.view;
    this.timelines.dataset.mode = detailed ? 'blocks' : 'index';
    this.onMode(detailed ? 'blocks' : 'index');
    this.timelines.dataset.fromUs = String(fromUs);
    this.timelines.dataset.toUs = String(toUs);
    const whole = fromUs === this.full.fromUs && toUs === this.full.toUs;
    const segments = this.session.segmentsIn(fromUs, toUs).length;
    replaceChildren(
      this.windowLabel,
      `${whole ? 'whole container' : `${formatTime(fromUs)} – ${formatTime(toUs)}`} · ${formatTime(toUs - fromUs)} · ${formatInteger(segments)} segment${segments === 1 ? '' : 's'} · ${detailed ? 'every block' : 'segment summaries from the index'}`,
    );
    replaceChildren(this.axis, ...[0, 0.25, 0.5, 0.75, 1].map((f) => h('span', {}, formatTime(fromUs + f * (toUs - fromUs)))));
  }

  // ── input ───────────────────────────────────────────────────────────────

  private usAtEvent(event: { clientX: number }, canvas: HTMLCanvasElement): number {
    const rect = canvas.getBoundingClientRect();
    return usAt(((event.clientX - rect.left) / Math.max(1, rect.width)) * canvas.width, this.view, canvas.width);
  }

  private wheel(event: WheelEvent, canvas: HTMLCanvasElement): void {
    event.preventDefault();
    const horizontal = Math.abs(event.deltaX) > Math.abs(event.deltaY) || event.shiftKey;
    const delta = horizontal ? event.deltaX || event.deltaY : event.deltaY;
    const pixels = event.deltaMode === 1 ? delta * 16 : event.deltaMode === 2 ? delta * 400 : delta;
    if (horizontal) this.pan(pixels / Math.max(1, canvas.getBoundingClientRect().width));
    else this.zoom(Math.exp(pixels * 0.002), this.usAtEvent(event, canvas));
  }

  private pointerDown(event: PointerEvent, canvas: HTMLCanvasElement): void {
    this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    canvas.setPointerCapture?.(event.pointerId);
    if (this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()] as [{ x: number; y: number }, { x: number; y: number }];
      this.gesture = { kind: 'pinch', startX: (a.x + b.x) / 2, view: { ...this.view }, distance: Math.max(1, Math.abs(a.x - b.x)), moved: true };
    } else if (this.pointers.size === 1) {
      this.gesture = { kind: 'press', startX: event.clientX, view: { ...this.view }, distance: 0, moved: false };
    }
  }

  private pointerMove(event: PointerEvent, canvas: HTMLCanvasElement, track: TrackInfo): void {
    this.showFacts(track, this.usAtEvent(event, canvas), canvas);
    if (!this.pointers.has(event.pointerId) || this.gesture === null) return;
    this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    const width = Math.max(1, canvas.getBoundingClientRect().width);
    const g = this.gesture;
    const span = g.view.toUs - g.view.fromUs;
    if (g.kind === 'pinch' && this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()] as [{ x: number; y: number }, { x: number; y: number }];
      const factor = g.distance / Math.max(1, Math.abs(a.x - b.x));
      const rect = canvas.getBoundingClientRect();
      const at = g.view.fromUs + ((g.startX - rect.left) / width) * span;
      this.setView({ fromUs: at - (at - g.view.fromUs) * factor, toUs: at + (g.view.toUs - at) * factor });
      return;
    }
    if (g.kind === 'press' && Math.abs(event.clientX - g.startX) >= DRAG_PX) g.kind = 'drag';
    if (g.kind === 'drag') {
      g.moved = true;
      const shift = ((g.startX - event.clientX) / width) * span;
      this.setView({ fromUs: g.view.fromUs + shift, toUs: g.view.toUs + shift });
    }
  }

  private pointerUp(event: PointerEvent, canvas: HTMLCanvasElement): void {
    const g = this.gesture;
    this.pointers.delete(event.pointerId);
    if (this.pointers.size === 0) this.gesture = null;
    if (g !== null && g.kind === 'press' && !g.moved) this.onSeek(this.usAtEvent(event, canvas));
  }

  private key(event: KeyboardEvent): void {
    const actions: Record<string, () => void> = {
      '+': () => this.zoom(0.5, this.anchor()),
      '=': () => this.zoom(0.5, this.anchor()),
      '-': () => this.zoom(2, this.anchor()),
      _: () => this.zoom(2, this.anchor()),
      '0': () => this.setView(this.full),
      ArrowLeft: () => this.pan(-0.25),
      ArrowRight: () => this.pan(0.25),
      Home: () => this.setView({ fromUs: this.full.fromUs, toUs: this.full.fromUs + (this.view.toUs - this.view.fromUs) }),
      End: () => this.setView({ fromUs: this.full.toUs - (this.view.toUs - this.view.fromUs), toUs: this.full.toUs }),
      Enter: () => this.onSeek(this.anchor()),
    };
    const action = actions[event.key];
    if (action === undefined || event.ctrlKey || event.metaKey || event.altKey) return;
    // The page's own keys (frame steps on the arrows) do not see keys meant for the timeline.
    event.preventDefault();
    event.stopPropagation();
    action();
  }

  // ── hover ───────────────────────────────────────────────────────────────

  /** The time under the pointer and the block (window drawn block by block) or segment (index view) there. */
  private showFacts(track: TrackInfo, us: number, canvas: HTMLCanvasElement): void {
    const time = `${track.id} at ${formatTime(us)}`;
    const d = this.detailed() ? this.session.detail?.[track.number] : undefined;
    if (d !== undefined && d.blocks.length > 0) {
      const b = nearest(d.blocks, d.ptsUs, us);
      const tolerance = ((this.view.toUs - this.view.fromUs) / canvas.width) * 4;
      if (b !== null && us >= b.ptsUs - tolerance && us <= b.ptsUs + Math.max(b.durationUs, tolerance)) {
        const size =
          b.compression === 'none' ? formatBytes(b.storedLength) : `${formatBytes(b.storedLength)} stored (${b.compression}), ${formatBytes(b.originalLength)}`;
        const kind = b.frameKind === null ? (b.keyframe ? 'keyframe' : 'block') : `${b.keyframe ? 'keyframe, ' : ''}${b.frameKind}`;
        replaceChildren(
          this.hover,
          `${time} · block ${formatInteger(b.coreIndex)}: pts ${formatTime(b.ptsUs)}, dts ${formatTime(b.dtsUs)}, duration ${formatTime(b.durationUs)}, ${kind}, ${size}${b.encrypted ? ', encrypted' : ''} · segment ${formatInteger(this.session.reader.segmentOf(b.coreIndex))}`,
        );
        return;
      }
      replaceChildren(this.hover, `${time} · no block here`);
      return;
    }
    const e = this.session.entryAt(track, us);
    if (e === null || us > e.toUs + (this.view.toUs - this.view.fromUs) / 200) {
      replaceChildren(this.hover, `${time} · no block here`);
      return;
    }
    const entry = this.session.reader.indexEntries(track.number).find((x) => x.segment === e.segment);
    const segment = this.session.reader.segmentSpan(e.segment).length;
    replaceChildren(
      this.hover,
      `${time} · segment ${formatInteger(e.segment)}: ${formatTime(e.fromUs)} – ${formatTime(e.toUs)}, ${formatInteger(entry?.count ?? 0)} blocks of ${track.id}, ${formatInteger(entry?.keyCount ?? 0)} keyframe${entry?.keyCount === 1 ? '' : 's'}, segment ${formatBytes(segment)} (zoom in for blocks)`,
    );
  }
}

/** The block whose pts is nearest at or before `us` (else the first), by binary search over `ptsUs`. */
function nearest(blocks: readonly BlockInfo[], ptsUs: readonly number[], us: number): BlockInfo | null {
  let lo = 0;
  let hi = ptsUs.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((ptsUs[mid] as number) <= us) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return blocks[Math.max(0, at)] ?? null;
}
