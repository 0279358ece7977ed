/**
 * The inputs of `h4mk demo`: the embedded default clip (assets/demo-clip.mp4,
 * made by scripts/make-media-fixtures.sh with ffmpeg: 4 s of H.264 with
 * B-frames and AAC, under 1 MB) and a camera move over it, as control
 * records: a slow pan with a tilt and a zoom, eased.
 */
import { fileURLToPath } from 'node:url';
import type { ControlRecord } from '../node.js';

/** Path of the embedded default clip (two levels above dist/cli, like package.json). */
export const DEMO_CLIP = fileURLToPath(new URL('../../assets/demo-clip.mp4', import.meta.url));

/** The camera move of the demo over `durationUs`: one control of each kind every half second. */
export function demoControls(durationUs: number): ControlRecord[] {
  const step = 500_000;
  const out: ControlRecord[] = [];
  for (let t = 0; t < durationUs; t += step) {
    const phase = t / Math.max(durationUs, 1);
    out.push(
      { control: 'pan', value: round(30 * Math.sin(2 * Math.PI * phase)), unit: 'deg', t_us: t, duration_us: step, easing: 'ease-in-out' },
      { control: 'tilt', value: round(-5 + 10 * phase), unit: 'deg', t_us: t, duration_us: step, easing: 'linear' },
      { control: 'zoom', value: round(1 + phase), unit: 'x', t_us: t, duration_us: step, easing: 'ease-out' },
    );
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
