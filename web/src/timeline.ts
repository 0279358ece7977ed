/**
 * Per-track timeline pictures over a window of time: keyframe ticks and a
 * block-size / bitrate plot, drawn from block metadata (segment tables) or
 * from the top-level index alone (one bar per segment).
 */
import { type H4mkReader, ticksToUs, type TrackInfo } from 'h4mk/web';
import type { TrackDetail } from './session.js';

/** The time span the timelines share, µs. */
export type TimeSpan = { fromUs: number; toUs: number };

/** What to shade: a grant's window on its track. */
export type Shade = { trackNumber: number; fromUs: number; toUs: number };

const HEIGHT = 64;
const COLORS = { video: '#2f6f9f', audio: '#1a7f37', control: '#8250df', data: '#9a6700', subtitle: '#bf3989' } as Record<string, string>;

/** The pixel x of `us` on a canvas of `width`. */
export function xOf(us: number, span: TimeSpan, width: number): number {
  return ((us - span.fromUs) / Math.max(1, span.toUs - span.fromUs)) * width;
}

/** The time (µs) at pixel `x` of a canvas of `width`. */
export function usAt(x: number, span: TimeSpan, width: number): number {
  return Math.round(span.fromUs + (x / width) * (span.toUs - span.fromUs));
}

function frame(ctx: CanvasRenderingContext2D, width: number): void {
  ctx.clearRect(0, 0, width, HEIGHT);
  ctx.fillStyle = '#f6f8fa';
  ctx.fillRect(0, 0, width, HEIGHT);
}

function shade(ctx: CanvasRenderingContext2D, track: TrackInfo, span: TimeSpan, width: number, shades: readonly Shade[]): void {
  for (const s of shades) {
    if (s.trackNumber !== track.number) continue;
    ctx.fillStyle = 'rgba(46, 160, 67, 0.15)';
    const a = xOf(s.fromUs, span, width);
    ctx.fillRect(a, 0, xOf(s.toUs, span, width) - a, HEIGHT);
  }
}

/** Draws a track's timeline from its block detail: bars by stored size, keyframes in red, bitrate as a line. */
export function drawDetailTimeline(canvas: HTMLCanvasElement, d: TrackDetail, span: TimeSpan, cursorUs: number | null, shades: readonly Shade[] = []): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  const width = canvas.width;
  frame(ctx, width);
  shade(ctx, d.track, span, width, shades);
  // The blocks in the window (and the one running into it): pictures of a zoomed window cost what it shows.
  const first = Math.max(0, lowerBound(d.ptsUs, span.fromUs) - 1);
  const end = lowerBound(d.ptsUs, span.toUs + 1);
  const shown = d.blocks.slice(first, end);
  const maxStored = shown.reduce((m, b) => Math.max(m, b.storedLength), 1);
  const color = COLORS[d.track.kind] ?? '#57606a';
  const plot = HEIGHT - 14;
  for (const b of shown) {
    const x = Math.floor(xOf(b.ptsUs, span, width));
    const w = Math.max(1, Math.floor(xOf(b.ptsUs + b.durationUs, span, width)) - x - (b.durationUs > 0 ? 1 : 0));
    const h = Math.max(1, Math.sqrt(b.storedLength / maxStored) * plot);
    ctx.fillStyle = b.keyframe && d.track.kind === 'video' ? '#cf222e' : color;
    ctx.fillRect(x, HEIGHT - h, w, h);
  }
  // Keyframe ticks along the top (every block of audio and control tracks is a keyframe: ticks only for video).
  if (d.track.kind === 'video') {
    ctx.fillStyle = '#cf222e';
    for (const k of d.keyframesUs) if (k >= span.fromUs && k <= span.toUs) ctx.fillRect(Math.floor(xOf(k, span, width)), 0, 2, 10);
  }
  // Bitrate over 40 bins, as a line.
  const bins = new Float64Array(40);
  const binUs = (span.toUs - span.fromUs) / bins.length;
  for (const b of shown) {
    const i = Math.min(bins.length - 1, Math.max(0, Math.floor((b.ptsUs - span.fromUs) / binUs)));
    bins[i] = (bins[i] as number) + b.storedLength;
  }
  const peak = Math.max(1, ...bins);
  ctx.strokeStyle = '#bc4c00';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  bins.forEach((v, i) => {
    const x = ((i + 0.5) / bins.length) * width;
    const y = HEIGHT - 2 - (v / peak) * (plot - 4);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.lineWidth = 1;
  drawCursor(ctx, cursorUs, span, width);
}

/**
 * Draws a track's timeline from the top-level index only (SEEK and SEGX):
 * one bar per segment holding the track (height: the segment's bytes per
 * second), keyframe ticks at the first and last keyframe of each segment.
 */
export function drawIndexTimeline(
  canvas: HTMLCanvasElement,
  reader: H4mkReader,
  track: TrackInfo,
  span: TimeSpan,
  cursorUs: number | null,
  shades: readonly Shade[] = [],
): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  const width = canvas.width;
  frame(ctx, width);
  shade(ctx, track, span, width, shades);
  const entries = reader.indexEntries(track.number);
  const rates = entries.map((e) => reader.segmentSpan(e.segment).length / Math.max(1, ticksToUs(e.maxPts - e.minPts, track.timescale)));
  const peak = Math.max(1e-9, ...rates);
  ctx.fillStyle = COLORS[track.kind] ?? '#57606a';
  entries.forEach((e, k) => {
    const a = xOf(ticksToUs(e.minPts, track.timescale), span, width);
    const b = xOf(ticksToUs(e.maxPts, track.timescale), span, width);
    if (b < 0 || a > width) return;
    const h = ((rates[k] as number) / peak) * (HEIGHT - 14);
    ctx.fillRect(Math.floor(a), HEIGHT - h, Math.max(1, Math.floor(b - a)), h);
  });
  if (track.kind === 'video') {
    ctx.fillStyle = '#cf222e';
    for (const k of reader.indexKeyframes(track.number))
      if (k.ptsUs >= span.fromUs && k.ptsUs <= span.toUs) ctx.fillRect(Math.floor(xOf(k.ptsUs, span, width)), 0, 2, 10);
  }
  drawCursor(ctx, cursorUs, span, width);
}

/** The first index of ascending `xs` whose value is ≥ `x` (xs.length when none). */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Draws the cursor line at `cursorUs` (nothing when null). */
export function drawCursor(ctx: CanvasRenderingContext2D, cursorUs: number | null, span: TimeSpan, width: number): void {
  if (cursorUs === null) return;
  const x = Math.round(xOf(cursorUs, span, width)) + 0.5;
  ctx.strokeStyle = '#24292f';
  ctx.beginPath();
  ctx.moveTo(x, 0);
  ctx.lineTo(x, HEIGHT);
  ctx.stroke();
}

export const TIMELINE_HEIGHT = HEIGHT;
