/**
 * Shared fixtures for the core test suite: a seeded PRNG, a generated
 * three-track sample (video with B-frames, audio, control), writers into
 * memory or files, and brute-force oracles the reader is compared against.
 */
import {
  type BlockInfo,
  type Compression,
  type FrameKind,
  H4mkReader,
  H4mkWriter,
  MemorySink,
  MemorySource,
  type TrackOptions,
  type WriterOptions,
  ticksToUs,
} from '../src/node.js';
import type { BlockInput } from '../src/node.js';

/** mulberry32: small, fast, deterministic. Returns a float in [0, 1). */
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

/** A seeded random source with the helpers the tests need. */
export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }
}

/** What a block must read back as. */
export type ExpectedBlock = {
  trackId: string;
  pts: number;
  dts: number;
  duration: number;
  keyframe: boolean;
  frameKind: FrameKind | null;
  payload: Uint8Array;
};

export type Sample = {
  tracks: TrackOptions[];
  /** Writer inputs, in write order (core_index order). */
  inputs: BlockInput[];
  /** Expected read-back of each input, same order. */
  expected: ExpectedBlock[];
};

export type SampleOptions = {
  seed?: number;
  /** Video GOPs of 10 frames (display order I B B P B B P B B P). */
  gops?: number;
  /** Audio frames of 1024 samples at 48 kHz. */
  audioFrames?: number;
  /** Control events. */
  controlEvents?: number;
  /** Payload size multiplier. */
  scale?: number;
};

export const VIDEO_TIMESCALE = 90_000;
export const AUDIO_TIMESCALE = 48_000;
export const CONTROL_TIMESCALE = 1_000_000;
const FRAME_TICKS = 3003; // 29.97 fps
const AUDIO_FRAME = 1024;

/** Payload bytes: half compressible (a repeated pattern), half random, so both stored forms occur. */
function payload(rng: Rng, length: number): Uint8Array {
  if (rng.bool()) return rng.bytes(length);
  const out = new Uint8Array(length);
  const period = rng.int(1, 7);
  const base = rng.int(0, 255);
  for (let i = 0; i < length; i++) out[i] = (base + (i % period)) & 0xff;
  return out;
}

/**
 * Three interleaved tracks:
 * - video, 1/90000: closed GOPs of 10 frames, decode order I0 P3 B1 B2 P6 B4 B5 P9 B7 B8,
 *   dts starting at −2 frames so pts ≠ dts, keyframes at I frames;
 * - audio, 1/48000: every block a keyframe;
 * - control, µs: JSON payloads written with ptsUs, a keyframe every 4th event,
 *   some equal timestamps (ties), given in microseconds.
 */
export function makeSample(options: SampleOptions = {}): Sample {
  const rng = new Rng(options.seed ?? 1);
  const gops = options.gops ?? 6;
  const audioFrames = options.audioFrames ?? Math.floor((gops * 10 * FRAME_TICKS * AUDIO_TIMESCALE) / VIDEO_TIMESCALE / AUDIO_FRAME);
  const controlEvents = options.controlEvents ?? gops * 3;
  const scale = options.scale ?? 1;
  const tracks: TrackOptions[] = [
    {
      id: 'video_main',
      kind: 'video',
      codec: 'avc1.64001f',
      timescale: VIDEO_TIMESCALE,
      config: Uint8Array.of(1, 0x64, 0, 0x1f),
      name: 'Main',
      language: 'und',
    },
    { id: 'audio_main', kind: 'audio', codec: 'opus', timescale: AUDIO_TIMESCALE, language: 'en', extra: { channels: 2 } },
    { id: 'control', kind: 'control', codec: 'json' },
  ];
  type Pending = { dtsUs: number; order: number; input: BlockInput; expected: ExpectedBlock };
  const perTrack: Pending[][] = [[], [], []];
  const decodeOrder = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8];
  const kindOf = (d: number): FrameKind => (d === 0 ? 'I' : d % 3 === 0 ? 'P' : 'B');
  let k = 0;
  for (let g = 0; g < gops; g++) {
    for (const d of decodeOrder) {
      const kind = kindOf(d);
      const pts = (g * 10 + d) * FRAME_TICKS;
      const dts = (k - 2) * FRAME_TICKS;
      const size = Math.round((kind === 'I' ? rng.int(300, 700) : kind === 'P' ? rng.int(60, 200) : rng.int(10, 80)) * scale);
      const bytes = payload(rng, size);
      const keyframe = kind === 'I';
      perTrack[0]?.push({
        dtsUs: ticksToUs(dts, VIDEO_TIMESCALE),
        order: 0,
        input: { track: 'video_main', pts, dts, duration: FRAME_TICKS, keyframe, kind, payload: bytes },
        expected: { trackId: 'video_main', pts, dts, duration: FRAME_TICKS, keyframe, frameKind: kind, payload: bytes },
      });
      k++;
    }
  }
  for (let i = 0; i < audioFrames; i++) {
    const pts = i * AUDIO_FRAME;
    const bytes = payload(rng, Math.round(rng.int(20, 120) * scale));
    perTrack[1]?.push({
      dtsUs: ticksToUs(pts, AUDIO_TIMESCALE),
      order: 1,
      input: { track: 'audio_main', pts, duration: AUDIO_FRAME, keyframe: true, payload: bytes },
      expected: { trackId: 'audio_main', pts, dts: pts, duration: AUDIO_FRAME, keyframe: true, frameKind: null, payload: bytes },
    });
  }
  let us = 0;
  for (let i = 0; i < controlEvents; i++) {
    if (i > 0 && i % 7 !== 3) us += rng.int(1, 250_000); // i % 7 === 3: same time as the previous event
    const keyframe = i % 4 === 0 || i % 7 === 3;
    const text = JSON.stringify({ seq: i, cmd: rng.pick(['cut', 'fade', 'mark', 'note']), value: rng.int(0, 1e6), pad: 'x'.repeat(rng.int(0, 40)) });
    const bytes = new TextEncoder().encode(text);
    const durationUs = i % 5 === 0 ? 0 : rng.int(0, 100_000);
    perTrack[2]?.push({
      dtsUs: us,
      order: 2,
      input: { track: 'control', ptsUs: us, durationUs, keyframe, payload: bytes },
      expected: { trackId: 'control', pts: us, dts: us, duration: durationUs, keyframe, frameKind: null, payload: bytes },
    });
  }
  // Merge by dts (µs), ties by track: each track keeps its own order.
  const merged: Pending[] = [];
  const next = [0, 0, 0];
  for (;;) {
    let best = -1;
    for (let t = 0; t < 3; t++) {
      const candidate = perTrack[t]?.[next[t] as number];
      if (candidate === undefined) continue;
      const current = best < 0 ? undefined : perTrack[best]?.[next[best] as number];
      if (current === undefined || candidate.dtsUs < current.dtsUs) best = t;
    }
    if (best < 0) break;
    merged.push(perTrack[best]?.[next[best] as number] as Pending);
    next[best] = (next[best] as number) + 1;
  }
  return { tracks, inputs: merged.map((p) => p.input), expected: merged.map((p) => p.expected) };
}

/** Writes `sample` into memory and returns the container bytes. */
export async function writeSample(sample: Pick<Sample, 'tracks' | 'inputs'>, options: WriterOptions = {}): Promise<Uint8Array> {
  const sink = new MemorySink();
  const writer = await H4mkWriter.create(sink, options);
  for (const t of sample.tracks) writer.addTrack(t);
  for (const b of sample.inputs) await writer.writeBlock(b);
  await writer.finish();
  return sink.bytes();
}

export async function openBytes(bytes: Uint8Array, options = {}): Promise<H4mkReader> {
  return H4mkReader.open(new MemorySource(bytes), options);
}

/** Every block's metadata in file order, read one by one through blockInfo. */
export async function allInfos(reader: H4mkReader): Promise<BlockInfo[]> {
  const out: BlockInfo[] = [];
  for (let i = 0; i < reader.blockCount; i++) out.push(await reader.blockInfo(i));
  return out;
}

/** Runs `fn` and returns what it threw (or fails if it did not throw). */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an exception, none was thrown');
}

export const ALL_COMPRESSIONS: readonly Compression[] = ['none', 'deflate', 'brotli', 'zstd'];
export const ALL_LAYOUTS = ['tail', 'faststart'] as const;
