/**
 * Text subtitles (SubRip, WebVTT, ASS/SSA, MP4 timed text) as WebVTT
 * segments (W3C WebVTT; RFC 8216 §3.5 for the timestamp map). Cue times
 * are the source's presentation times; X-TIMESTAMP-MAP ties them to the
 * fMP4 media timeline, which is moved by `offsetSeconds`.
 */
import type { Block } from '../reader/reader.js';
import type { DeliveryTrack } from './tracks.js';

const decoder = new TextDecoder('utf-8', { fatal: false });

/** The cue text of one subtitle packet, by codec. */
export function cueText(mediaCodec: string, payload: Uint8Array): string {
  let text: string;
  if (mediaCodec === 'tx3g') {
    // 3GPP TS 26.245 §5.17: a 16-bit big-endian text length, the UTF-8 text, then style boxes.
    const length = payload.length >= 2 ? ((payload[0] as number) << 8) | (payload[1] as number) : 0;
    text = decoder.decode(payload.subarray(2, 2 + Math.min(length, Math.max(0, payload.length - 2))));
  } else if (mediaCodec === 'ass' || mediaCodec === 'ssa') {
    // Matroska ASS blocks: ReadOrder, Layer, Style, Name, MarginL, MarginR, MarginV, Effect, Text.
    const raw = decoder.decode(payload);
    let at = 0;
    for (let i = 0; i < 8 && at >= 0; i++) at = raw.indexOf(',', at) < 0 ? -1 : raw.indexOf(',', at) + 1;
    text = (at < 0 ? raw : raw.slice(at)).replace(/\{[^}]*\}/g, '').replace(/\\[Nn]/g, '\n');
  } else text = decoder.decode(payload);
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/&/g, '&amp;')
    .replace(/<(?!\/?[ibu]>)/g, '&lt;')
    .replace(/-->/g, '--&gt;')
    .replace(/\n{2,}/g, '\n')
    .trim();
}

/** hh:mm:ss.ttt of a time in seconds (may exceed 24 h). */
export function vttTime(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (v: number, n: number) => String(v).padStart(n, '0');
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(ms % 1000, 3)}`;
}

/** A WebVTT document with one cue per block (empty cues dropped). */
export function webvttSegment(t: DeliveryTrack, blocks: readonly Block[], offsetSeconds: number): string {
  const ts = t.info.timescale;
  const lines = ['WEBVTT', `X-TIMESTAMP-MAP=MPEGTS:${Math.round(offsetSeconds * 90_000)},LOCAL:00:00:00.000`, ''];
  for (const b of blocks) {
    const text = cueText(t.mediaCodec, b.payload);
    if (text === '') continue;
    const start = b.pts / ts;
    const end = (b.pts + Math.max(b.duration, 1)) / ts;
    lines.push(`${vttTime(start)} --> ${vttTime(end)}`, text, '');
  }
  return `${lines.join('\n')}\n`;
}
