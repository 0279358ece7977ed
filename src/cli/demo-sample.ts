/**
 * The synthetic multitrack sample behind `h4mk demo`: about ten seconds of
 * a 30 fps video track (I/P/B frames, closed 2 s GOPs, B-frames reordered so
 * pts ≠ dts, varied frame sizes), a 48 kHz audio track (1024-sample packets
 * at timescale 48000) and a camera-control track of JSON pan/tilt/zoom
 * commands. Everything comes from a fixed-seed PRNG, so the sample (and the
 * container packed from it) is the same on every run.
 */
import type { BlockInput, FrameKind, TrackOptions } from '../index.js';

/** Seed of the sample's PRNG. */
export const DEMO_SEED = 0x4834_4d4b;

const VIDEO_TIMESCALE = 90_000;
const VIDEO_FRAME_TICKS = 3_000; // 30 fps
const GOP_FRAMES = 60; // 2 s
const AUDIO_TIMESCALE = 48_000;
const AUDIO_PACKET_SAMPLES = 1024;
const CONTROL_INTERVAL_US = 100_000; // 10 Hz

/** The three tracks of the sample. */
export const DEMO_TRACKS: readonly TrackOptions[] = [
  {
    id: 'video_main',
    kind: 'video',
    codec: 'opaque',
    timescale: VIDEO_TIMESCALE,
    name: 'Synthetic camera',
    config: new TextEncoder().encode('synthetic-video-config:1920x1080@30'),
    extra: { width: 1920, height: 1080, fps: 30, gop_frames: GOP_FRAMES },
  },
  {
    id: 'audio_main',
    kind: 'audio',
    codec: 'opaque',
    timescale: AUDIO_TIMESCALE,
    name: 'Synthetic audio',
    language: 'en',
    extra: { sample_rate: AUDIO_TIMESCALE, channels: 2, frame_samples: AUDIO_PACKET_SAMPLES },
  },
  { id: 'camera_control', kind: 'control', codec: 'json', timescale: 1_000_000, name: 'Camera control', extra: { schema: 'pan/tilt/zoom, degrees' } },
];

/** mulberry32: a tiny, fast, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A block before its payload is made; `order` makes the interleave stable. */
type Planned = {
  block: Omit<BlockInput, 'payload'>;
  dtsUs: number;
  order: number;
  size: number;
  makePayload: (size: number, seed: number) => Uint8Array;
};

/**
 * The sample's blocks, interleaved in decode-time order across tracks, with
 * payloads made one at a time as they are consumed.
 */
export function* demoBlocks(seconds = 10, seed = DEMO_SEED): Generator<BlockInput> {
  const planned = [...planVideo(seconds, seed), ...planAudio(seconds, seed), ...planControl(seconds)];
  planned.sort((a, b) => a.dtsUs - b.dtsUs || a.order - b.order);
  let n = 0;
  for (const p of planned) yield { ...p.block, payload: p.makePayload(p.size, seed + n++) };
}

/** Number of blocks {@link demoBlocks} yields. */
export function demoBlockCount(seconds = 10): number {
  return videoFrameCount(seconds) + audioPacketCount(seconds) + controlCount(seconds);
}

const videoFrameCount = (seconds: number) => Math.round((seconds * VIDEO_TIMESCALE) / VIDEO_FRAME_TICKS);
const audioPacketCount = (seconds: number) => Math.ceil((seconds * AUDIO_TIMESCALE) / AUDIO_PACKET_SAMPLES);
const controlCount = (seconds: number) => Math.round((seconds * 1e6) / CONTROL_INTERVAL_US);

/** Frame kind of display frame `i` of a closed GOP: I, then P every third frame and on the last, B between. */
function frameKind(i: number): FrameKind {
  if (i % GOP_FRAMES === 0) return 'I';
  return i % 3 === 0 || i % GOP_FRAMES === GOP_FRAMES - 1 ? 'P' : 'B';
}

function planVideo(seconds: number, seed: number): Planned[] {
  const rng = mulberry32(seed);
  const frames = videoFrameCount(seconds);
  // Decode order: an anchor (I/P) is sent before the B-frames that precede it in display order.
  const decodeOrder: number[] = [];
  let pendingB: number[] = [];
  for (let i = 0; i < frames; i++) {
    if (frameKind(i) === 'B') pendingB.push(i);
    else {
      decodeOrder.push(i, ...pendingB);
      pendingB = [];
    }
  }
  decodeOrder.push(...pendingB);
  return decodeOrder.map((display, d) => {
    const kind = frameKind(display);
    // Scene complexity drifts slowly; each kind has its own typical size.
    const complexity = 1 + 0.35 * Math.sin((display / frames) * Math.PI * 4);
    const typical = kind === 'I' ? 48_000 : kind === 'P' ? 9_000 : 3_200;
    const size = Math.max(200, Math.round(typical * complexity * (0.7 + 0.6 * rng())));
    // dts lags one frame behind so that pts ≥ dts with two B-frames between anchors.
    const dts = (d - 1) * VIDEO_FRAME_TICKS;
    return {
      block: { track: 'video_main', pts: display * VIDEO_FRAME_TICKS, dts, duration: VIDEO_FRAME_TICKS, keyframe: kind === 'I', kind },
      dtsUs: (dts * 1e6) / VIDEO_TIMESCALE,
      order: 0,
      size,
      makePayload: videoPayload,
    };
  });
}

function planAudio(seconds: number, seed: number): Planned[] {
  const rng = mulberry32(seed ^ 0xa0d10);
  const out: Planned[] = [];
  for (let k = 0; k < audioPacketCount(seconds); k++) {
    const pts = k * AUDIO_PACKET_SAMPLES;
    out.push({
      block: { track: 'audio_main', pts, duration: AUDIO_PACKET_SAMPLES, keyframe: true },
      dtsUs: (pts * 1e6) / AUDIO_TIMESCALE,
      order: 1,
      size: 300 + Math.round(80 * rng()),
      makePayload: noisePayload,
    });
  }
  return out;
}

function planControl(seconds: number): Planned[] {
  const out: Planned[] = [];
  for (let k = 0; k < controlCount(seconds); k++) {
    const ptsUs = k * CONTROL_INTERVAL_US;
    const t = ptsUs / 1e6;
    const command = {
      pan: round(30 * Math.sin((2 * Math.PI * t) / 10)),
      tilt: round(10 * Math.sin((2 * Math.PI * t) / 5)),
      zoom: round(1 + (0.5 * t) / seconds),
    };
    const bytes = new TextEncoder().encode(JSON.stringify(command));
    out.push({
      block: { track: 'camera_control', ptsUs, durationUs: CONTROL_INTERVAL_US, keyframe: true },
      dtsUs: ptsUs,
      order: 2,
      size: bytes.length,
      makePayload: () => bytes,
    });
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Video-like bytes: short runs and structure, so that zstd has something to find. */
function videoPayload(size: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(size);
  let value = 0;
  for (let i = 0; i < size; i++) {
    if (rng() < 0.4) value = (rng() * 256) | 0;
    out[i] = value;
  }
  return out;
}

/** Audio-like bytes: entropy-coded data barely compresses. */
function noisePayload(size: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng() * 256) | 0;
  return out;
}
