/**
 * Tracks: the track table, GOP statistics, and what the timelines shade (a
 * grant's window).
 */
import { type GopStats, trackGopStats, type TrackInfo } from 'h4mk/web';
import { formatBitrate, formatBytes, formatInteger, formatTime, h, replaceChildren } from './dom.js';
import type { Session } from './session.js';
import type { Shade, TimeSpan } from './timeline.js';

export class TracksPanel {
  readonly gop = h('div', { 'data-testid': 'gop-stats' });

  constructor(
    private readonly session: Session,
    private readonly span: TimeSpan,
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
            ...['#', 'id', 'kind', 'codec', 'config B', 'timescale', 'blocks', 'keyframes', 'pts', 'stored', 'bitrate', 'compression', 'name · language'].map(
              (c, i) => h('th', { class: [0, 4, 5, 6, 7, 8, 9, 10].includes(i) ? 'num' : '' }, c),
            ),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    );
  }

  /** What to shade on the timelines: a grant's window on its track. */
  shades(): Shade[] {
    const w = this.session.cipher?.grantWindow ?? null;
    if (w === null) return [];
    const epochUs = this.session.reader.cryptoParams?.epochUs ?? 0;
    if (epochUs === 0) return [{ trackNumber: w.trackNumber, fromUs: this.span.fromUs, toUs: this.span.toUs }];
    return w.epochs.map((e) => ({ trackNumber: w.trackNumber, fromUs: e * epochUs, toUs: (e + 1) * epochUs }));
  }

  /** GOP statistics of each video track, from the index (the library's trackGopStats: one table read at most). */
  async renderGop(): Promise<void> {
    const videos = this.session.reader.tracks().filter((t) => t.kind === 'video');
    if (videos.length === 0) {
      replaceChildren(this.gop, h('p', { class: 'muted' }, 'No video track.'));
      return;
    }
    const stats = await this.session.serial(() => Promise.all(videos.map((t) => trackGopStats(this.session.reader, t.number))));
    const rows = videos.map((t, i) => {
      const s = stats[i] as GopStats;
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
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'track'),
            h('th', { class: 'num' }, 'keyframes'),
            h('th', { class: 'num' }, 'interval min / mean / max'),
            h('th', { class: 'num' }, 'frames per GOP'),
            h('th', {}, 'seek cost'),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    );
  }
}

/** Keyframe times the index names (with this writer: every keyframe of the first video track), ascending, µs. */
export function indexKeyframes(session: Session, track: TrackInfo | null): number[] {
  if (track === null) return [];
  return [...new Set(session.reader.indexKeyframes(track.number).map((k) => k.ptsUs))].sort((a, b) => a - b);
}
