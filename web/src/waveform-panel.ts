/**
 * The waveform of an audio track around a time: its blocks in the window,
 * read through the page's cache (after a seek or while playing, the bytes
 * are usually there already), opened with the page's key when encrypted,
 * decoded with WebCodecs' AudioDecoder and drawn as min/max columns. Under a
 * video it is a strip; for an audio-only container it is the main view.
 */
import type { Block, TrackInfo, WebCipher } from 'h4mk/web';
import { decodeAudio, drawWaveform } from './audio.js';
import { errorText, formatInteger, formatTime, h, replaceChildren } from './dom.js';
import type { Session } from './session.js';

export class WavePanel {
  readonly canvas: HTMLCanvasElement;
  readonly note = h('p', { class: 'muted small', 'data-testid': 'waveform-stats' });
  readonly element: HTMLElement;
  private running = false;
  private next: number | null = null;

  constructor(
    private readonly session: Session,
    private readonly track: TrackInfo,
    /** Half the window, µs. */
    private readonly halfUs: number,
    large: boolean,
    private readonly onRead: () => void,
  ) {
    this.canvas = h('canvas', { class: large ? 'waveform large' : 'waveform', 'data-testid': 'waveform', width: large ? 1200 : 800, height: large ? 200 : 72 });
    this.element = h('div', { class: large ? 'wave-panel large' : 'wave-panel' }, this.canvas, this.note);
  }

  /** Draws the window around `target` (when one is being drawn, the latest request follows it). */
  async show(target: number): Promise<void> {
    this.next = target;
    if (this.running) return;
    this.running = true;
    try {
      while (this.next !== null) {
        const t = this.next;
        this.next = null;
        await this.draw(t);
      }
    } finally {
      this.running = false;
    }
  }

  private async draw(target: number): Promise<void> {
    const track = this.track;
    const reader = this.session.reader;
    const from = target - this.halfUs;
    const to = target + this.halfUs;
    const cipher = this.session.cipher;
    this.canvas.dataset.centerUs = String(target);
    if (reader.encrypted && (cipher === null || !coversWindow(cipher, track.number, from, to, reader.cryptoParams?.epochUs ?? 0))) {
      // Nothing to read: no key opens these blocks.
      drawWaveform(this.canvas, null, from, to, target, 'audio: no key for this window');
      replaceChildren(this.note, `Waveform ${track.id}: no key for these blocks (nothing read).`);
      this.canvas.dataset.state = 'no-key';
      return;
    }
    try {
      const read = await this.session.measured(async () => {
        const blocks: Block[] = [];
        for await (const b of reader.blocks({ tracks: [track.number], fromUs: from, toUs: to }, { decompress: !reader.encrypted })) blocks.push(b);
        return blocks;
      });
      let blocks = read.value;
      if (reader.encrypted && cipher !== null) blocks = await cipher.openBlocks(blocks.filter((b) => cipher.covers(b)));
      const samples = await decodeAudio(track, blocks);
      drawWaveform(this.canvas, samples, from, to, target, samples === null ? `audio: cannot decode ${track.codec}` : '');
      const cost =
        read.requests === 0
          ? `no request${read.cacheBytes > 0 ? " (from the page's cache)" : ''}`
          : `${read.requests} ${read.requests === 1 ? 'request' : 'requests'}, ${formatInteger(read.bytes)} bytes`;
      replaceChildren(this.note, `Waveform ${track.id} ${formatTime(from)} – ${formatTime(to)}: ${blocks.length} blocks, ${cost}.`);
      this.canvas.dataset.state = samples === null ? 'unsupported' : 'drawn';
      this.canvas.dataset.samples = String(samples?.data.length ?? 0);
      this.canvas.dataset.requests = String(read.requests);
    } catch (error) {
      drawWaveform(this.canvas, null, from, to, target, `audio: ${errorText(error)}`);
      this.canvas.dataset.state = 'error';
    }
    this.onRead();
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
