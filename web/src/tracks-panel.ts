/**
 * Tracks: the track table, per-track timelines (block sizes, keyframes,
 * bitrate; a grant's window shaded; click to seek) and GOP statistics.
 */
import { ticksToUs } from '../../src/format/time.js';
import { gopStats } from '../../src/media/gop.js';
import type { BlockInfo, TrackInfo } from '../../src/reader/types.js';
import { formatBitrate, formatBytes, formatInteger, formatTime, h, replaceChildren } from './dom.js';
import type { Session, TrackDetail } from './session.js';
import { drawCursor, drawDetailTimeline, drawIndexTimeline, type Shade, type TimeSpan, TIMELINE_HEIGHT, usAt } from './timeline.js';

export class TracksPanel {
  readonly timelines = h('div', { class: 'timelines', 'data-testid': 'timelines' });
  readonly gop = h('div', { 'data-testid': 'gop-stats' });

  constructor(
    private readonly session: Session,
    private readonly span: TimeSpan,
    private readonly onSeek: (us: number) => void,
  ) {}

  /** The track table. */
  tableSection(): HTMLElement {
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

  /** Redraws the timelines (their pictures only when the detail or the grant changed) with the cursor at `cursorUs`. */
  draw(cursorUs: number | null): void {
    const reader = this.session.reader;
    const detail = this.session.detail;
    if (this.timelines.childElementCount === 0) {
      for (const t of reader.tracks()) {
        const canvas = h('canvas', { width: 1000, height: TIMELINE_HEIGHT, 'data-track': t.id, class: 'timeline' });
        canvas.addEventListener('click', (event) => {
          const rect = canvas.getBoundingClientRect();
          this.onSeek(usAt(((event.clientX - rect.left) / rect.width) * canvas.width, this.span, canvas.width));
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
      drawCursor(ctx, cursorUs, this.span, canvas.width);
    }
    this.timelines.dataset.mode = detail === null ? 'index' : 'blocks';
  }

  /** GOP statistics of each video track (from the block detail, else the index). */
  renderGop(): void {
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
}

/** Keyframe times from the index alone (first and last keyframe of each segment). */
export function indexKeyframes(session: Session, track: TrackInfo | null): number[] {
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
