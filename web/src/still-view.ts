/**
 * The frame-exact still view: for a time, the library's reader reads the
 * decodable span (keyframe to target) through the page's cache, the page
 * opens it with WebCrypto when it is encrypted, WebCodecs decodes it, and
 * the frame presented at that time is drawn on the canvas. The aside shows
 * what that seek cost (requests, bytes, what the cache answered, timings).
 * The <video> element of playback sits in the same box; `data-mode` says
 * which of the two shows.
 */
import type { Block, TrackInfo } from 'h4mk/web';
import { errorText, formatInteger, formatTime, h, replaceChildren } from './dom.js';
import type { RequestRecord, Session } from './session.js';
import { canDecode, drawFrame, FrameDecoder } from './video.js';

/** What the preview is showing (also `data-state` for tests and styling). */
export type PreviewState = 'idle' | 'loading' | 'frame' | 'locked' | 'no-key' | 'no-frame' | 'no-video' | 'unsupported' | 'error';

type Read = { requests: number; bytes: number; cacheBytes: number; sent: RequestRecord[]; ms: number };
type SeekStats = {
  read: Read;
  decryptMs: number | null;
  decodeMs: number | null;
  decoded: number;
  frameUs: number | null;
  keyframe: number | null;
  blocks: number;
} | null;

export type StillHooks = {
  /** A seek started (the page keeps the time in the URL fragment). */
  onTime(us: number): void;
  /** A seek finished (the totals line is redrawn). */
  onDone(): void;
  /** The frame for `us` is drawn and no other seek is waiting (the waveform follows). */
  afterFrame(us: number): Promise<void>;
  /** True while the video plays (the still then stays hidden). */
  playing(): boolean;
};

export class StillView {
  readonly canvas = h('canvas', { id: 'frame', 'data-testid': 'frame-canvas', role: 'img', 'aria-label': 'no frame yet', width: 640, height: 360 });
  readonly message = h('div', { class: 'frame-message', 'data-testid': 'frame-message' });
  readonly preview: HTMLElement;
  /** "This seek": what the last seek cost. */
  readonly stats = h('aside', { class: 'seek-stats', 'data-testid': 'seek-stats' });
  /** The frame on the canvas (µs), or null. */
  shownUs: number | null = null;
  private pending: number | null = null;
  private pumping = false;
  private seq = 0;
  /** The track's decoder, configured once and kept between seeks. */
  private readonly decoder: FrameDecoder | null;
  #destroyed = false;

  constructor(
    private readonly session: Session,
    private readonly track: TrackInfo | null,
    private readonly totals: HTMLElement,
    private readonly hooks: StillHooks,
    video: HTMLVideoElement,
  ) {
    this.decoder = track === null ? null : new FrameDecoder(track);
    this.preview = h(
      'div',
      { class: 'preview', 'data-testid': 'preview', 'data-state': 'idle', 'data-seq': 0, 'data-mode': 'still' },
      this.canvas,
      video,
      this.message,
    );
  }

  /** Shows the frame at `us` (the latest request wins while one is running). */
  show(us: number): void {
    if (this.destroyed || this.track === null) return;
    this.pending = us;
    if (!this.pumping) void this.pump();
  }

  /** True once the view is gone (its decoder is closed then, and nothing more is shown). */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  set destroyed(value: boolean) {
    this.#destroyed = value;
    // A seek still running finishes with it; the pump closes it then.
    if (value && !this.pumping) this.decoder?.close();
  }

  /** True while a seek is running or waiting. */
  get busy(): boolean {
    return this.pumping;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.pending !== null && !this.destroyed) {
        const target = this.pending;
        this.pending = null;
        await this.showFrame(target);
      }
    } finally {
      this.pumping = false;
      if (this.destroyed) this.decoder?.close();
    }
  }

  setState(state: PreviewState, message = ''): void {
    this.preview.dataset.state = state;
    replaceChildren(this.message, message);
    this.message.hidden = message === '';
    this.canvas.classList.toggle('stale', state !== 'frame' && state !== 'loading');
  }

  private async showFrame(target: number): Promise<void> {
    const track = this.track as TrackInfo;
    const reader = this.session.reader;
    const seq = ++this.seq;
    this.preview.dataset.seq = String(seq);
    this.preview.dataset.targetUs = String(target);
    this.hooks.onTime(target);
    if (reader.encrypted && this.session.cipher === null) {
      this.clearCanvas();
      this.setState('locked', 'Encrypted: give a key or a grant below to see frames. The index and timelines need no key.');
      return this.finish(seq, target, null);
    }
    if (!(await canDecode(track))) {
      // Nothing is read for frames this browser cannot decode (or that are not media).
      this.clearCanvas();
      this.setState('unsupported', `This browser cannot decode ${track.codec} (WebCodecs VideoDecoder): the index and timelines still show.`);
      return this.finish(seq, target, null);
    }
    const refusal = this.outsideGrant(track, target);
    if (refusal !== null) {
      // Known from the block tables alone: nothing is read for a frame no key here opens.
      this.clearCanvas();
      this.setState('no-key', refusal);
      return this.finish(seq, target, null);
    }
    this.setState('loading', '');
    // Configured while the span is read: the decoder is ready when the bytes are.
    this.decoder?.warm();
    let read: Read & { value: Awaited<ReturnType<typeof reader.readSpan>> };
    const before = this.session.counters();
    const started = performance.now();
    try {
      // Stored payloads: the span's read waits for no codec (zstd's wasm) unless a block needs one, below.
      read = await this.session.measured(() => reader.readSpan(track.number, target, { decompress: false }), false);
    } catch (error) {
      // What the failed read cost is shown too: the stats match the requests sent.
      const after = this.session.counters();
      const spent = {
        requests: after.requests - before.requests,
        bytes: after.bytes - before.bytes,
        cacheBytes: after.cacheBytes - before.cacheBytes,
        sent: this.session.log.slice(before.log),
        ms: performance.now() - started,
      };
      return this.fail(seq, target, error, { read: spent, decryptMs: null, decodeMs: null, decoded: 0, frameUs: null, keyframe: null, blocks: 0 });
    }
    const span = read.value;
    if (span === null) {
      this.clearCanvas();
      this.setState('no-frame', `No keyframe at or before ${formatTime(target)}.`);
      return this.finish(seq, target, { read, decryptMs: null, decodeMs: null, decoded: 0, frameUs: null, keyframe: null, blocks: 0 });
    }
    let blocks: Block[] = span.blocks;
    if (!reader.encrypted) {
      try {
        blocks = await this.session.decompressed(blocks);
      } catch (error) {
        return this.fail(seq, target, error, {
          read,
          decryptMs: null,
          decodeMs: null,
          decoded: 0,
          frameUs: null,
          keyframe: span.keyframe.ptsUs,
          blocks: blocks.length,
        });
      }
    }
    let decryptMs: number | null = null;
    const cipher = this.session.cipher;
    const partial = { read, decryptMs: null, decodeMs: null, decoded: 0, frameUs: null, keyframe: span.keyframe.ptsUs, blocks: blocks.length };
    if (reader.encrypted && cipher !== null) {
      const outside = blocks.find((b) => !cipher.covers(b));
      if (outside !== undefined) {
        const w = cipher.grantWindow;
        this.clearCanvas();
        this.setState(
          'no-key',
          `Outside the grant: block ${outside.coreIndex} (${formatTime(outside.ptsUs)}, epoch ${cipher.epochOf(outside)}) needs a key the grant does not hold${w === null ? '' : ` (it opens ${w.track} ${formatTime(w.fromUs)} – ${formatTime(w.toUs)})`}.`,
        );
        return this.finish(seq, target, partial);
      }
      try {
        blocks = await cipher.openBlocks(blocks);
        decryptMs = cipher.lastTiming.ms;
      } catch (error) {
        return this.fail(seq, target, error, partial);
      }
    }
    const decodeStarted = performance.now();
    let frameUs: number;
    let decoded: number;
    try {
      const out = await (this.decoder as FrameDecoder).decodeAt(blocks, target);
      try {
        if (seq === this.seq) drawFrame(this.canvas, out.frame);
      } finally {
        out.frame.close();
      }
      frameUs = out.frame.timestamp;
      decoded = out.decoded;
    } catch (error) {
      return this.fail(seq, target, error, { ...partial, decryptMs });
    }
    this.shownUs = frameUs;
    this.preview.dataset.frameUs = String(frameUs);
    this.canvas.setAttribute('aria-label', `frame at ${formatTime(frameUs)}`);
    this.setState('frame', '');
    this.finish(seq, target, {
      read,
      decryptMs,
      decodeMs: performance.now() - decodeStarted,
      decoded,
      frameUs,
      keyframe: span.keyframe.ptsUs,
      blocks: blocks.length,
    });
    if (this.pending === null) await this.hooks.afterFrame(target);
  }

  /**
   * With a grant: why the frame at `target` cannot be opened (its
   * keyframe or itself lies outside the grant), or null when it can or when only a read can tell.
   */
  private outsideGrant(track: TrackInfo, target: number): string | null {
    const cipher = this.session.cipher;
    if (cipher === null || cipher.kind !== 'grant') return null;
    // The keyframes the index names (no read): a refusal costs no request.
    const keys = this.session.reader.indexKeyframes(track.number).map((k) => k.ptsUs);
    let key: number | undefined;
    for (const k of keys) if (k <= target) key = k;
    const w = cipher.grantWindow;
    const window = w === null ? '' : ` (it opens ${w.track} ${formatTime(w.fromUs)} – ${formatTime(w.toUs)})`;
    for (const [what, us] of [
      ['the frame', target],
      ['its keyframe', key],
    ] as const) {
      if (us !== undefined && !cipher.covers({ trackNumber: track.number, ptsUs: us })) {
        return `Outside the grant: ${what} at ${formatTime(us)} (epoch ${cipher.epochOf({ ptsUs: us })}) needs a key the grant does not hold${window}; nothing was read.`;
      }
    }
    return null;
  }

  private finish(seq: number, target: number, stats: SeekStats): void {
    this.renderStats(target, stats);
    // The still replaces the paused video once it is drawn.
    if (!this.hooks.playing()) this.preview.dataset.mode = 'still';
    this.preview.dataset.done = String(seq);
    this.hooks.onDone();
  }

  private fail(seq: number, target: number, error: unknown, stats: SeekStats = null): void {
    this.clearCanvas();
    this.setState('error', errorText(error));
    this.finish(seq, target, stats);
  }

  clearCanvas(): void {
    const ctx = this.canvas.getContext('2d');
    ctx?.clearRect(0, 0, this.canvas.width, this.canvas.height);
    delete this.preview.dataset.frameUs;
  }

  private renderStats(target: number, r: SeekStats): void {
    const unit = this.session.origin === 'http' ? 'request' : 'read';
    if (r === null) {
      this.stats.dataset.requests = '0';
      this.stats.dataset.bytes = '0';
      this.stats.dataset.cacheBytes = '0';
      replaceChildren(this.stats, h('h3', {}, 'This seek'), h('p', {}, `target ${formatTime(target)}: nothing read.`), this.totals);
      return;
    }
    this.stats.dataset.requests = String(r.read.requests);
    this.stats.dataset.bytes = String(r.read.bytes);
    this.stats.dataset.cacheBytes = String(r.read.cacheBytes);
    const requests = r.read.sent.map((q) =>
      h('li', {}, h('code', {}, `${q.method} ${q.range || '(whole file)'}`), ` → ${q.status}, ${formatInteger(q.bytes)} B, ${q.ms.toFixed(0)} ms`),
    );
    const cached = r.read.cacheBytes > 0 ? ` (+ ${formatInteger(r.read.cacheBytes)} from the page's cache)` : '';
    replaceChildren(
      this.stats,
      h('h3', {}, 'This seek'),
      h(
        'p',
        { class: 'big', 'data-testid': 'seek-requests' },
        `${r.read.requests} ${unit}${r.read.requests === 1 ? '' : 's'} · ${formatInteger(r.read.bytes)} bytes`,
      ),
      cached === '' ? null : h('p', { class: 'muted small' }, cached.trim()),
      h(
        'ul',
        { class: 'facts' },
        h('li', {}, `target ${formatTime(target)} → frame ${formatTime(r.frameUs)}`),
        h('li', {}, `keyframe at ${formatTime(r.keyframe)}; ${r.blocks} blocks read, ${r.decoded} frames decoded`),
        h(
          'li',
          {},
          `read ${r.read.ms.toFixed(0)} ms`,
          r.decryptMs === null ? '' : ` · decrypt ${r.decryptMs.toFixed(1)} ms (WebCrypto, ${r.blocks} blocks in parallel)`,
          r.decodeMs === null ? '' : ` · decode ${r.decodeMs.toFixed(0)} ms`,
        ),
      ),
      this.session.origin === 'http' ? h('h4', {}, 'Requests') : null,
      this.session.origin === 'http' ? h('ul', { class: 'requests', 'data-testid': 'seek-request-list' }, ...requests) : null,
      this.session.origin === 'http' && requests.length === 0 ? h('p', { class: 'muted small' }, "none: the page's cache held every byte") : null,
      this.totals,
    );
  }
}
