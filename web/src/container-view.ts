/**
 * The view of one container: summary, integrity (VERI, seal, full verify),
 * encryption (key or grant pasted here, used here, sent nowhere), the track
 * table, per-track timelines, GOP statistics, and the frame preview that
 * seeks with the library's reader over range requests and decodes with
 * WebCodecs.
 */
import { H4mkError } from '../../src/format/errors.js';
import { ticksToUs } from '../../src/format/time.js';
import type { Block } from '../../src/reader/reader.js';
import type { BlockInfo, TrackInfo } from '../../src/reader/types.js';
import { gopStats } from '../../src/media/gop.js';
import { parseKeyText, type WebCipher } from '../../src/web-platform/web-cipher.js';
import { decodeAudio, drawWaveform } from './audio.js';
import { errorText, formatBitrate, formatBytes, formatInteger, formatTime, h, parseTime, replaceChildren } from './dom.js';
import { checkSeal } from './integrity.js';
import type { RequestRecord, Session, TrackDetail } from './session.js';
import { drawCursor, drawDetailTimeline, drawIndexTimeline, type Shade, type TimeSpan, TIMELINE_HEIGHT, usAt } from './timeline.js';
import { canDecode, decodeFrameAt, drawFrame } from './video.js';

/** Half the width of the waveform window around the cursor, µs. */
const WAVE_HALF_US = 500_000;

/** What the preview is showing (also `data-state` for tests and styling). */
type PreviewState = 'idle' | 'loading' | 'frame' | 'locked' | 'no-key' | 'no-frame' | 'no-video' | 'unsupported' | 'error';

/** Hooks from the page. */
export type ViewHooks = {
  /** The shown time changed (the page keeps it in the URL fragment). */
  onTime(us: number): void;
};

/** A rendered container view; {@link destroy} it before showing another. */
export class ContainerView {
  private readonly video: TrackInfo | null;
  private readonly audio: TrackInfo | null;
  private readonly span: TimeSpan;
  private readonly canvas = h('canvas', { id: 'frame', 'data-testid': 'frame-canvas', role: 'img', 'aria-label': 'no frame yet', width: 640, height: 360 });
  private readonly message = h('div', { class: 'frame-message', 'data-testid': 'frame-message' });
  private readonly preview: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly timeInput: HTMLInputElement;
  private readonly stats = h('aside', { class: 'seek-stats', 'data-testid': 'seek-stats' });
  private readonly wave = h('canvas', { class: 'waveform', 'data-testid': 'waveform', width: 800, height: 72 });
  private readonly waveNote = h('p', { class: 'muted small', 'data-testid': 'waveform-stats' });
  private readonly timelines = h('div', { class: 'timelines', 'data-testid': 'timelines' });
  private readonly gop = h('div', { 'data-testid': 'gop-stats' });
  private readonly keyStatus = h('p', { class: 'key-status', 'data-testid': 'key-status' });
  private readonly totals = h('p', { class: 'muted small', 'data-testid': 'totals' });
  private cursorUs: number | null = null;
  private shownUs: number | null = null;
  private pending: number | null = null;
  private pumping = false;
  private seq = 0;
  private destroyed = false;
  private readonly onKey = (event: KeyboardEvent): void => this.keydown(event);

  constructor(
    private readonly root: HTMLElement,
    private readonly session: Session,
    private readonly hooks: ViewHooks,
  ) {
    const reader = session.reader;
    const tracks = reader.tracks();
    this.video = tracks.find((t) => t.kind === 'video' && t.blockCount > 0) ?? null;
    this.audio = tracks.find((t) => t.kind === 'audio' && t.blockCount > 0) ?? null;
    const firsts = tracks.map((t) => t.firstPtsUs).filter((v): v is number => v !== null);
    const lasts = tracks.map((t) => t.lastPtsUs).filter((v): v is number => v !== null);
    this.span = { fromUs: Math.min(0, ...firsts), toUs: Math.max(1, ...lasts) };
    const v = this.video;
    this.slider = h('input', {
      type: 'range',
      class: 'slider',
      'data-testid': 'seek-slider',
      'aria-label': 'time',
      min: v?.firstPtsUs ?? this.span.fromUs,
      max: v?.lastPtsUs ?? this.span.toUs,
      step: 1,
      value: v?.firstPtsUs ?? 0,
    });
    this.timeInput = h('input', { type: 'text', class: 'time-input', 'data-testid': 'time-input', 'aria-label': 'time in seconds', value: '0', size: 10, autocomplete: 'off' });
    this.preview = h('div', { class: 'preview', 'data-testid': 'preview', 'data-state': 'idle', 'data-seq': 0 }, this.canvas, this.message);
    this.render();
    document.addEventListener('keydown', this.onKey);
  }

  /** Removes listeners; later callbacks do nothing. */
  destroy(): void {
    this.destroyed = true;
    document.removeEventListener('keydown', this.onKey);
  }

  // ── layout ─────────────────────────────────────────────────────────────

  private render(): void {
    const { reader, name } = this.session;
    const open = this.session.openCounters;
    const openLine =
      this.session.origin === 'http'
        ? `opened with ${open.requests} request${open.requests === 1 ? '' : 's'} (${formatInteger(open.bytes)} bytes: the index, read from the ${reader.layout === 'tail' ? 'end' : 'start'} of the file)`
        : `local file, read in this page (${open.requests} reads, ${formatInteger(open.bytes)} bytes to open); nothing is uploaded`;
    const controls = h(
      'div',
      { class: 'controls' },
      h('button', { type: 'button', title: 'previous keyframe (shift+←)', 'data-testid': 'prev-key', onclick: () => this.stepKeyframe(-1) }, '◀◀'),
      h('button', { type: 'button', title: 'previous frame (←)', 'data-testid': 'prev-frame', onclick: () => this.stepFrame(-1) }, '◀'),
      this.slider,
      h('button', { type: 'button', title: 'next frame (→)', 'data-testid': 'next-frame', onclick: () => this.stepFrame(1) }, '▶'),
      h('button', { type: 'button', title: 'next keyframe (shift+→)', 'data-testid': 'next-key', onclick: () => this.stepKeyframe(1) }, '▶▶'),
      h('label', { class: 'time-label' }, 'time ', this.timeInput, ' s'),
    );
    this.slider.addEventListener('input', () => this.seek(Number(this.slider.value)));
    this.timeInput.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      const us = parseTime(this.timeInput.value);
      if (us === null) {
        this.timeInput.setCustomValidity('a time in seconds, e.g. 1.24, or m:ss.fff');
        this.timeInput.reportValidity();
        return;
      }
      this.timeInput.setCustomValidity('');
      this.seek(us);
    });
    replaceChildren(
      this.root,
      h('h1', { 'data-testid': 'container-name' }, name),
      h(
        'p',
        { class: 'summary' },
        `${formatBytes(reader.fileSize)} (${formatInteger(reader.fileSize)} bytes) · ${reader.layout} layout · ${formatInteger(reader.blockCount)} blocks in ${formatInteger(reader.segmentCount)} segments · index ${formatInteger(reader.indexLength)} bytes · `,
        openLine,
      ),
      h(
        'section',
        { class: 'player' },
        h('div', { class: 'player-main' }, this.preview, controls, this.audio === null ? null : h('div', {}, this.wave, this.waveNote)),
        this.stats,
      ),
      this.encryptionSection(),
      this.integritySection(),
      this.trackSection(),
      h('section', {}, h('h2', {}, 'Timelines'), h('p', { class: 'muted small' }, 'Bars: stored size of each block (red: keyframes); line: bitrate; click to seek.'), this.timelines),
      h('section', {}, h('h2', {}, 'GOP statistics'), this.gop),
      h(
        'details',
        { class: 'meta' },
        h('summary', {}, 'META and SAFE'),
        h('pre', { 'data-testid': 'meta' }, JSON.stringify(reader.meta, null, 2)),
        h('pre', { 'data-testid': 'safe' }, JSON.stringify(reader.safe, null, 2)),
      ),
    );
    this.drawTimelines();
    this.renderGop();
    this.renderTotals();
    if (this.video === null) {
      this.setState('no-video', 'This container has no video track: no frames to show.');
      return;
    }
    void this.session.loadDetail().then(
      () => {
        if (this.destroyed) return;
        this.drawTimelines();
        this.renderGop();
        this.renderTotals();
        this.root.dataset.detail = this.session.detail === null ? 'index-only' : 'blocks';
      },
      (error: unknown) => {
        if (!this.destroyed) replaceChildren(this.gop, h('p', { class: 'error' }, `Block tables could not be read: ${errorText(error)}`));
      },
    );
  }

  private encryptionSection(): HTMLElement | null {
    const params = this.session.reader.cryptoParams;
    if (params === null) return null;
    const input = h('textarea', {
      class: 'key-input',
      'data-testid': 'key-input',
      rows: 3,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: params.kdf.kind === 'scrypt' ? 'passphrase, or a grant file’s JSON' : 'h4mk-secret-v1 … (the key file’s line, or its base64), or a grant file’s JSON',
    });
    const unlock = async (): Promise<void> => {
      const text = input.value;
      // The key is not kept in the page's DOM once read.
      input.value = '';
      try {
        replaceChildren(this.keyStatus, 'Checking the key…');
        const cipher = await this.session.unlock(parseKeyText(text, params));
        this.describeKey();
        if (cipher.kind === 'grant') this.drawTimelines();
        if (this.cursorUs !== null) this.seek(this.cursorUs);
      } catch (error) {
        this.session.lock();
        this.describeKey(error instanceof H4mkError && error.code === 'E_KEY' ? error.message : errorText(error));
      }
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void unlock();
    });
    const kdf = params.kdf.kind === 'scrypt' ? `passphrase (scrypt N=2^${params.kdf.log2N}, r=${params.kdf.r}, p=${params.kdf.p})` : 'key file';
    const epochs = params.epochUs === 0 ? 'one key per track' : `key epochs of ${formatTime(params.epochUs)}`;
    this.describeKey();
    return h(
      'section',
      { class: 'encryption', 'data-testid': 'encryption' },
      h('h2', {}, 'Encryption'),
      h('p', {}, `AES-256-GCM per block · ${kdf} · ${epochs} · container id `, h('code', {}, hex(params.containerId)), params.engineId === '' ? '' : ` · engine ${params.engineId}`),
      h(
        'p',
        { class: 'muted small' },
        'The index, tracks and timelines need no key. To see frames, paste the key or a grant: it is checked and used in this page with WebCrypto, kept in memory only, and never sent anywhere.',
      ),
      input,
      h(
        'div',
        { class: 'key-buttons' },
        h('button', { type: 'button', 'data-testid': 'unlock', onclick: () => void unlock() }, 'Unlock'),
        h(
          'button',
          {
            type: 'button',
            'data-testid': 'lock',
            onclick: () => {
              this.session.lock();
              this.describeKey();
              this.drawTimelines();
              if (this.cursorUs !== null) this.seek(this.cursorUs);
            },
          },
          'Forget the key',
        ),
      ),
      this.keyStatus,
    );
  }

  private describeKey(error?: string): void {
    const cipher = this.session.cipher;
    this.keyStatus.dataset.state = error !== undefined ? 'error' : cipher === null ? 'locked' : cipher.kind;
    if (error !== undefined) {
      replaceChildren(this.keyStatus, h('span', { class: 'error' }, error));
      return;
    }
    if (cipher === null) {
      replaceChildren(this.keyStatus, 'Locked: index and timelines only.');
      return;
    }
    const w = cipher.grantWindow;
    if (w === null) replaceChildren(this.keyStatus, 'Unlocked with the container key (key check passed): every block opens.');
    else
      replaceChildren(
        this.keyStatus,
        `Unlocked with a grant for track ${w.track}, ${formatTime(w.fromUs)} – ${formatTime(w.toUs)} (epoch${w.epochs.length === 1 ? '' : 's'} ${w.epochs.join(', ')}): frames show inside this window only.`,
      );
  }

  private integritySection(): HTMLElement {
    const reader = this.session.reader;
    const v = reader.index.integrity;
    const sealLine = h('p', { 'data-testid': 'seal-status' }, 'Seal: checking…');
    const verifyOut = h('p', { 'data-testid': 'verify-result', class: 'small' });
    const verifyButton = h('button', { type: 'button', 'data-testid': 'verify' }, 'Verify every block');
    verifyButton.addEventListener('click', () => {
      verifyButton.disabled = true;
      replaceChildren(verifyOut, 'Verifying: reading the whole file…');
      void this.session
        .measured(() => reader.verify())
        .then(
          ({ value: report, requests, bytes, ms }) => {
            const cost = `${requests} ${this.session.origin === 'http' ? 'requests' : 'reads'}, ${formatBytes(bytes)}, ${(ms / 1000).toFixed(2)} s`;
            replaceChildren(
              verifyOut,
              report.ok
                ? h('span', { class: 'badge ok' }, `OK: ${formatInteger(report.blocksChecked)} blocks, every CRC, digest and the chain head`)
                : h('span', { class: 'badge bad' }, `FAILED: ${report.failures.length} problem(s), blocks ${report.failedBlocks.slice(0, 20).join(', ')}`),
              ` (${cost})`,
            );
            verifyOut.dataset.ok = String(report.ok);
            this.renderTotals();
          },
          (error: unknown) => replaceChildren(verifyOut, h('span', { class: 'error' }, errorText(error))),
        )
        .finally(() => {
          verifyButton.disabled = false;
        });
    });
    void checkSeal(reader).then((s) => {
      if (s.state === 'none') {
        replaceChildren(sealLine, 'Seal: none (the container is not signed).');
      } else {
        const when = new Date(s.signedAt * 1000).toISOString().replace('.000Z', 'Z');
        const badge =
          s.state === 'valid'
            ? h('span', { class: 'badge ok' }, 'signature valid')
            : s.state === 'invalid'
              ? h('span', { class: 'badge bad' }, 'signature INVALID')
              : h('span', { class: 'badge' }, 'signature not checked');
        replaceChildren(sealLine, 'Seal: Ed25519 by ', h('strong', {}, s.signer || 'anonymous'), ` at ${when} · `, badge, s.reason === undefined ? '' : ` (${s.reason})`, ' · public key ', h('code', { class: 'key' }, s.publicKey));
      }
      sealLine.dataset.state = s.state;
    });
    return h(
      'section',
      { class: 'integrity', 'data-testid': 'integrity' },
      h('h2', {}, 'Integrity'),
      h(
        'p',
        { 'data-testid': 'veri-status' },
        `VERI: ${formatInteger(v.blockCount)} blocks in ${formatInteger(v.segmentCount)} segments · chain head `,
        h('code', {}, hex(v.chainHead)),
        ' · index digest ',
        h('span', { class: 'badge ok' }, 'checked at open'),
      ),
      sealLine,
      h('p', {}, verifyButton, ' ', h('span', { class: 'muted small' }, 'reads every byte: CRCs, block digests, segment tables, the hash chain')),
      verifyOut,
    );
  }

  private trackSection(): HTMLElement {
    const rows = this.session.reader.tracks().map((t) => {
      const duration = t.firstPtsUs === null || t.lastPtsUs === null ? null : t.lastPtsUs - t.firstPtsUs;
      return h(
        'tr',
        { 'data-track': t.id },
        h('td', { class: 'num' }, t.number),
        h('td', {}, t.id),
        h('td', {}, h('span', { class: `kind kind-${t.kind}` }, t.kind)),
        h('td', {}, h('code', {}, t.codec)),
        h('td', { class: 'num' }, t.config.length),
        h('td', { class: 'num' }, formatInteger(t.timescale)),
        h('td', { class: 'num' }, formatInteger(t.blockCount)),
        h('td', { class: 'num' }, formatInteger(t.keyframeCount)),
        h('td', { class: 'num' }, `${formatTime(t.firstPtsUs)} – ${formatTime(t.lastPtsUs)}`),
        h('td', { class: 'num' }, formatBytes(t.storedBytes)),
        h('td', { class: 'num' }, duration === null || duration <= 0 ? '–' : formatBitrate((t.storedBytes * 8 * 1e6) / duration)),
        h('td', {}, t.compression),
        h('td', {}, [t.name, t.language].filter((x) => x !== '').join(' · ')),
      );
    });
    return h(
      'section',
      {},
      h('h2', {}, 'Tracks'),
      h(
        'table',
        { class: 'grid', 'data-testid': 'track-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['#', 'id', 'kind', 'codec', 'config B', 'timescale', 'blocks', 'keyframes', 'pts', 'stored', 'bitrate', 'compression', 'name · language'].map((c, i) =>
              h('th', { class: [0, 4, 5, 6, 7, 8, 9, 10].includes(i) ? 'num' : '' }, c),
            ),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    );
  }

  private shades(): Shade[] {
    const w = this.session.cipher?.grantWindow ?? null;
    if (w === null) return [];
    const epochUs = this.session.reader.cryptoParams?.epochUs ?? 0;
    if (epochUs === 0) return [{ trackNumber: w.trackNumber, fromUs: this.span.fromUs, toUs: this.span.toUs }];
    return w.epochs.map((e) => ({ trackNumber: w.trackNumber, fromUs: e * epochUs, toUs: (e + 1) * epochUs }));
  }

  /** Timeline pictures without the cursor, redrawn only when the detail or the grant changes. */
  private readonly timelineBase = new Map<HTMLCanvasElement, HTMLCanvasElement>();
  private timelineKey = '';

  private drawTimelines(): void {
    const reader = this.session.reader;
    const detail = this.session.detail;
    if (this.timelines.childElementCount === 0) {
      for (const t of reader.tracks()) {
        const canvas = h('canvas', { width: 1000, height: TIMELINE_HEIGHT, 'data-track': t.id, class: 'timeline' });
        canvas.addEventListener('click', (event) => {
          const rect = canvas.getBoundingClientRect();
          this.seek(usAt(((event.clientX - rect.left) / rect.width) * canvas.width, this.span, canvas.width));
        });
        this.timelines.append(
          h(
            'div',
            { class: 'timeline-row' },
            h('div', { class: 'timeline-label' }, h('strong', {}, t.id), h('br'), h('span', { class: 'muted small' }, `${t.kind} · ${t.codec}`)),
            canvas,
          ),
        );
      }
      this.timelines.append(h('div', { class: 'timeline-axis muted small' }, h('span', {}, formatTime(this.span.fromUs)), h('span', {}, formatTime(this.span.toUs))));
    }
    const shades = this.shades();
    const key = `${detail === null ? 'index' : 'blocks'}|${JSON.stringify(shades)}`;
    const stale = key !== this.timelineKey;
    this.timelineKey = key;
    for (const canvas of this.timelines.querySelectorAll<HTMLCanvasElement>('canvas.timeline')) {
      let base = this.timelineBase.get(canvas);
      if (base === undefined || stale) {
        const t = reader.tracks().find((x) => x.id === canvas.dataset.track);
        if (t === undefined) continue;
        base ??= h('canvas', { width: canvas.width, height: canvas.height });
        const d = detail?.[t.number];
        if (d !== undefined) drawDetailTimeline(base, d, this.span, null, shades);
        else drawIndexTimeline(base, reader, t, this.span, null, shades);
        this.timelineBase.set(canvas, base);
      }
      const ctx = canvas.getContext('2d');
      if (ctx === null) continue;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(base, 0, 0);
      drawCursor(ctx, this.cursorUs, this.span, canvas.width);
    }
    this.timelines.dataset.mode = detail === null ? 'index' : 'blocks';
  }

  private renderGop(): void {
    const detail = this.session.detail;
    const videos = this.session.reader.tracks().filter((t) => t.kind === 'video');
    if (videos.length === 0) {
      replaceChildren(this.gop, h('p', { class: 'muted' }, 'No video track.'));
      return;
    }
    const rows = videos.map((t) => {
      const d = detail?.[t.number];
      if (d === undefined) {
        const mean = t.keyframeCount > 0 && t.firstPtsUs !== null && t.lastPtsUs !== null ? (t.lastPtsUs - t.firstPtsUs) / t.keyframeCount : null;
        return h('tr', {}, h('td', {}, t.id), h('td', { class: 'num' }, t.keyframeCount), h('td', { colspan: 3, class: 'muted' }, `index only: mean interval about ${formatTime(mean)}`));
      }
      const s = gopStats(d.keyframesUs, framesPerGop(d), d.endUs, d.blocks.length);
      return h(
        'tr',
        { 'data-track': t.id },
        h('td', {}, t.id),
        h('td', { class: 'num' }, s.keyframes),
        h('td', { class: 'num' }, `${formatTime(s.minUs)} / ${formatTime(s.meanUs)} / ${formatTime(s.maxUs)}`),
        h('td', { class: 'num' }, `${s.minFrames ?? '–'} / ${s.meanFrames ?? '–'} / ${s.maxFrames ?? '–'}`),
        h('td', {}, s.maxFrames === null ? '–' : `a seek decodes at most ${s.maxFrames} frames`),
      );
    });
    replaceChildren(
      this.gop,
      h(
        'table',
        { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', {}, 'track'), h('th', { class: 'num' }, 'keyframes'), h('th', { class: 'num' }, 'interval min / mean / max'), h('th', { class: 'num' }, 'frames per GOP'), h('th', {}, 'seek cost'))),
        h('tbody', {}, ...rows),
      ),
    );
  }

  private renderTotals(): void {
    const c = this.session.counters();
    const unit = this.session.origin === 'http' ? 'requests' : 'reads';
    replaceChildren(this.totals, `Since open: ${c.requests} ${unit}, ${formatInteger(c.bytes)} bytes (${formatBytes(c.bytes)} of ${formatBytes(this.session.reader.fileSize)}).`);
    this.totals.dataset.requests = String(c.requests);
    this.totals.dataset.bytes = String(c.bytes);
  }

  // ── seeking ────────────────────────────────────────────────────────────

  /** Shows the frame at `us` (latest request wins while one is running). */
  seek(us: number): void {
    if (this.destroyed || this.video === null || !Number.isFinite(us)) return;
    const t = this.video;
    const clamped = Math.round(Math.min(Math.max(us, t.firstPtsUs ?? us), t.lastPtsUs ?? us));
    this.pending = clamped;
    this.cursorUs = clamped;
    this.slider.value = String(clamped);
    if (document.activeElement !== this.timeInput) this.timeInput.value = (clamped / 1e6).toFixed(6).replace(/0{1,3}$/, '');
    this.drawTimelines();
    if (!this.pumping) void this.pump();
  }

  /** The time last asked for (µs), or null. */
  get targetUs(): number | null {
    return this.cursorUs;
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
    }
  }

  private setState(state: PreviewState, message = ''): void {
    this.preview.dataset.state = state;
    replaceChildren(this.message, message);
    this.message.hidden = message === '';
    this.canvas.classList.toggle('stale', state !== 'frame' && state !== 'loading');
  }

  private async showFrame(target: number): Promise<void> {
    const track = this.video as TrackInfo;
    const reader = this.session.reader;
    const seq = ++this.seq;
    this.preview.dataset.seq = String(seq);
    this.preview.dataset.targetUs = String(target);
    this.hooks.onTime(target);
    if (reader.encrypted && this.session.cipher === null) {
      this.clearCanvas();
      this.setState('locked', 'Encrypted: paste a key or a grant below to see frames. The index and timelines need no key.');
      this.renderStats(target, null);
      this.done(seq);
      return;
    }
    if (!(await canDecode(track))) {
      // Nothing is read for frames this browser cannot decode (or that are not media).
      this.clearCanvas();
      this.setState('unsupported', `This browser cannot decode ${track.codec} (WebCodecs VideoDecoder): the index and timelines still show.`);
      this.renderStats(target, null);
      this.done(seq);
      return;
    }
    this.setState('loading', '');
    let read: Awaited<ReturnType<Session['measured']>> & { value: Awaited<ReturnType<typeof reader.readSpan>> };
    try {
      read = await this.session.measured(() => reader.readSpan(track.number, target, { decompress: !reader.encrypted }));
    } catch (error) {
      this.fail(seq, target, error);
      return;
    }
    const span = read.value;
    if (span === null) {
      this.clearCanvas();
      this.setState('no-frame', `No keyframe at or before ${formatTime(target)}.`);
      this.renderStats(target, { read, decryptMs: null, decodeMs: null, decoded: 0, frameUs: null, keyframe: null, blocks: 0 });
      this.done(seq);
      return;
    }
    let blocks: Block[] = span.blocks;
    let decryptMs: number | null = null;
    const cipher = this.session.cipher;
    if (reader.encrypted && cipher !== null) {
      const outside = blocks.find((b) => !cipher.covers(b));
      if (outside !== undefined) {
        const w = cipher.grantWindow;
        this.clearCanvas();
        this.setState(
          'no-key',
          `Outside the grant: block ${outside.coreIndex} (${formatTime(outside.ptsUs)}, epoch ${cipher.epochOf(outside)}) needs a key the grant does not hold${w === null ? '' : ` (it opens ${w.track} ${formatTime(w.fromUs)} – ${formatTime(w.toUs)})`}.`,
        );
        this.renderStats(target, { read, decryptMs: null, decodeMs: null, decoded: 0, frameUs: null, keyframe: span.keyframe.ptsUs, blocks: blocks.length });
        this.done(seq);
        return;
      }
      try {
        blocks = await cipher.openBlocks(blocks);
        decryptMs = cipher.lastTiming.ms;
      } catch (error) {
        this.fail(seq, target, error, { read, decryptMs: null, decodeMs: null, decoded: 0, frameUs: null, keyframe: span.keyframe.ptsUs, blocks: blocks.length });
        return;
      }
    }
    const decodeStarted = performance.now();
    let frameUs: number;
    let decoded: number;
    try {
      const out = await decodeFrameAt(track, blocks, target);
      try {
        if (seq === this.seq) drawFrame(this.canvas, out.frame);
      } finally {
        out.frame.close();
      }
      frameUs = out.frame.timestamp;
      decoded = out.decoded;
    } catch (error) {
      this.fail(seq, target, error, { read, decryptMs, decodeMs: null, decoded: 0, frameUs: null, keyframe: span.keyframe.ptsUs, blocks: blocks.length });
      return;
    }
    this.shownUs = frameUs;
    this.preview.dataset.frameUs = String(frameUs);
    this.canvas.setAttribute('aria-label', `frame at ${formatTime(frameUs)}`);
    this.setState('frame', '');
    this.renderStats(target, { read, decryptMs, decodeMs: performance.now() - decodeStarted, decoded, frameUs, keyframe: span.keyframe.ptsUs, blocks: blocks.length });
    this.done(seq);
    if (this.audio !== null && this.pending === null) await this.showWaveform(target);
  }

  private done(seq: number): void {
    this.preview.dataset.done = String(seq);
    this.renderTotals();
  }

  private fail(seq: number, target: number, error: unknown, stats: Parameters<ContainerView['renderStats']>[1] = null): void {
    this.clearCanvas();
    this.setState('error', errorText(error));
    this.renderStats(target, stats);
    this.done(seq);
  }

  private clearCanvas(): void {
    const ctx = this.canvas.getContext('2d');
    ctx?.clearRect(0, 0, this.canvas.width, this.canvas.height);
    delete this.preview.dataset.frameUs;
  }

  private renderStats(
    target: number,
    r: {
      read: { requests: number; bytes: number; sent: RequestRecord[]; ms: number };
      decryptMs: number | null;
      decodeMs: number | null;
      decoded: number;
      frameUs: number | null;
      keyframe: number | null;
      blocks: number;
    } | null,
  ): void {
    const unit = this.session.origin === 'http' ? 'request' : 'read';
    if (r === null) {
      this.stats.dataset.requests = '0';
      this.stats.dataset.bytes = '0';
      replaceChildren(this.stats, h('h3', {}, 'This seek'), h('p', {}, `target ${formatTime(target)}: nothing read.`), this.totals);
      return;
    }
    this.stats.dataset.requests = String(r.read.requests);
    this.stats.dataset.bytes = String(r.read.bytes);
    const requests = r.read.sent.map((q) => h('li', {}, h('code', {}, `${q.method} ${q.range || '(whole file)'}`), ` → ${q.status}, ${formatInteger(q.bytes)} B, ${q.ms.toFixed(0)} ms`));
    replaceChildren(
      this.stats,
      h('h3', {}, 'This seek'),
      h('p', { class: 'big', 'data-testid': 'seek-requests' }, `${r.read.requests} ${unit}${r.read.requests === 1 ? '' : 's'} · ${formatInteger(r.read.bytes)} bytes`),
      h(
        'ul',
        { class: 'facts' },
        h('li', {}, `target ${formatTime(target)} → frame ${formatTime(r.frameUs)}`),
        h('li', {}, `keyframe at ${formatTime(r.keyframe)}; ${r.blocks} blocks read, ${r.decoded} frames decoded`),
        h('li', {}, `read ${r.read.ms.toFixed(0)} ms`, r.decryptMs === null ? '' : ` · decrypt ${r.decryptMs.toFixed(1)} ms (WebCrypto, ${r.blocks} blocks in parallel)`, r.decodeMs === null ? '' : ` · decode ${r.decodeMs.toFixed(0)} ms`),
      ),
      this.session.origin === 'http' ? h('h4', {}, 'Requests') : null,
      this.session.origin === 'http' ? h('ul', { class: 'requests', 'data-testid': 'seek-request-list' }, ...requests) : null,
      this.totals,
    );
  }

  private async showWaveform(target: number): Promise<void> {
    const track = this.audio as TrackInfo;
    const reader = this.session.reader;
    const from = target - WAVE_HALF_US;
    const to = target + WAVE_HALF_US;
    const cipher = this.session.cipher;
    if (reader.encrypted && (cipher === null || !coversWindow(cipher, track.number, from, to, reader.cryptoParams?.epochUs ?? 0))) {
      // Nothing to read: no key opens these blocks.
      drawWaveform(this.wave, null, from, to, target, 'audio: no key for this window');
      replaceChildren(this.waveNote, `Waveform ${track.id}: no key for these blocks (nothing read).`);
      return;
    }
    try {
      const read = await this.session.measured(async () => {
        const blocks: Block[] = [];
        for await (const b of reader.range({ tracks: [track.number], fromUs: from, toUs: to }, { payloads: true, decompress: !reader.encrypted })) blocks.push(b as Block);
        return blocks;
      }, { reuseLastRead: true });
      let blocks = read.value;
      if (reader.encrypted && cipher !== null) blocks = await cipher.openBlocks(blocks.filter((b) => cipher.covers(b)));
      const samples = await decodeAudio(track, blocks);
      drawWaveform(this.wave, samples, from, to, target, samples === null ? `audio: cannot decode ${track.codec}` : '');
      replaceChildren(
        this.waveNote,
        `Waveform ${track.id} ${formatTime(from)} – ${formatTime(to)}: ${blocks.length} blocks, ${read.requests === 0 ? 'taken from the bytes the seek fetched, no request' : `${read.requests} ${read.requests === 1 ? 'request' : 'requests'}, ${formatInteger(read.bytes)} bytes`} (after the frame; not counted in the seek).`,
      );
    } catch (error) {
      drawWaveform(this.wave, null, from, to, target, `audio: ${errorText(error)}`);
    }
    this.renderTotals();
  }

  // ── stepping and keyboard ──────────────────────────────────────────────

  private reference(): number {
    return this.shownUs ?? this.cursorUs ?? this.video?.firstPtsUs ?? 0;
  }

  /** Steps to the next (1) or previous (−1) frame in presentation order. */
  stepFrame(direction: 1 | -1): void {
    const d = this.video === null ? undefined : this.session.detail?.[this.video.number];
    const now = this.reference();
    if (d === undefined) {
      const t = this.video;
      const step = t === null || t.blockCount < 2 || t.lastPtsUs === null || t.firstPtsUs === null ? 40_000 : (t.lastPtsUs - t.firstPtsUs) / (t.blockCount - 1);
      this.seek(now + direction * step);
      return;
    }
    const next = direction > 0 ? d.ptsUs.find((p) => p > now) : findLast(d.ptsUs, (p) => p < now);
    if (next !== undefined) this.seek(next);
  }

  /** Steps to the next (1) or previous (−1) keyframe. */
  stepKeyframe(direction: 1 | -1): void {
    const d = this.video === null ? undefined : this.session.detail?.[this.video.number];
    const now = this.reference();
    const keys = d?.keyframesUs ?? indexKeyframes(this.session, this.video);
    const next = direction > 0 ? keys.find((p) => p > now) : findLast(keys, (p) => p < now);
    if (next !== undefined) this.seek(next);
  }

  private keydown(event: KeyboardEvent): void {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    const target = event.target as HTMLElement | null;
    if (target !== null && target !== this.slider && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable)) return;
    event.preventDefault();
    const direction = event.key === 'ArrowRight' ? 1 : -1;
    if (event.shiftKey) this.stepKeyframe(direction);
    else this.stepFrame(direction);
  }
}

/** True when `cipher` holds the keys of `trackNumber` for every epoch of [fromUs, toUs). */
function coversWindow(cipher: WebCipher, trackNumber: number, fromUs: number, toUs: number, epochUs: number): boolean {
  if (cipher.kind === 'secret') return true;
  if (epochUs === 0) return cipher.covers({ trackNumber, ptsUs: fromUs });
  for (let e = Math.floor(fromUs / epochUs); e <= Math.floor((toUs - 1) / epochUs); e++) {
    if (!cipher.covers({ trackNumber, ptsUs: Math.max(fromUs, e * epochUs) })) return false;
  }
  return true;
}

function findLast<T>(xs: readonly T[], test: (x: T) => boolean): T | undefined {
  for (let i = xs.length - 1; i >= 0; i--) if (test(xs[i] as T)) return xs[i];
  return undefined;
}

/** Keyframe times from the index alone (first and last keyframe of each segment). */
function indexKeyframes(session: Session, track: TrackInfo | null): number[] {
  if (track === null) return [];
  const table = session.reader.index.seek[track.number];
  if (table === undefined) return [];
  const out = new Set<number>();
  for (let k = 0; k < table.entryCount; k++) {
    if ((table.keyCount[k] as number) === 0) continue;
    out.add(ticksToUs(table.firstKeyPts[k] as number, track.timescale));
    out.add(ticksToUs(table.lastKeyPts[k] as number, track.timescale));
  }
  return [...out].sort((a, b) => a - b);
}

/** Frames of each GOP, in presentation order of the keyframes. */
function framesPerGop(d: TrackDetail): number[] {
  const counts = d.keyframesUs.map(() => 0);
  for (const b of d.blocks as BlockInfo[]) {
    // The GOP of a block: the last keyframe at or before it (blocks before the first keyframe count with it).
    let lo = 0;
    let hi = d.keyframesUs.length - 1;
    let at = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((d.keyframesUs[mid] as number) <= b.ptsUs) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (counts.length > 0) counts[at] = (counts[at] as number) + 1;
  }
  return counts;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

