// Recipes of the golden vectors (docs/FORMAT.md §11). Each builds a tiny
// container with the public writer; test/vectors.test.ts checks that the
// committed hex equals what the writer produces today, byte for byte, and
// runs every vector through the reader.
import { buildH4mkTracks } from '../../dist/node.js';

const enc = new TextEncoder();

const V1_RECIPES = [
  {
    name: 'v1-minimal-tail',
    layout: 'tail',
    tracks: [{ id: 'v', kind: 'video', codec: 'opaque' }],
    blocks: [{ track: 'v', ptsUs: 0, durationUs: 40000, keyframe: true, kind: 'I', payload: 'H4MK' }],
    meta: {},
  },
  {
    name: 'v1-minimal-faststart',
    layout: 'faststart',
    tracks: [{ id: 'v', kind: 'video', codec: 'opaque' }],
    blocks: [{ track: 'v', ptsUs: 0, durationUs: 40000, keyframe: true, kind: 'I', payload: 'H4MK' }],
    meta: {},
  },
  {
    name: 'v1-empty',
    layout: 'tail',
    tracks: [],
    blocks: [],
    meta: {},
  },
  {
    name: 'v1-two-tracks-two-segments',
    layout: 'tail',
    tracks: [
      { id: 'video_main', kind: 'video', codec: 'avc1.42001e', timescale: 90000, language: 'und' },
      { id: 'audio_main', kind: 'audio', codec: 'opus', timescale: 48000, config: [0x4f, 0x70, 0x75, 0x73] },
    ],
    blocks: [
      { track: 'video_main', pts: 0, dts: -3000, duration: 3000, keyframe: true, kind: 'I', payload: 'I0' },
      { track: 'audio_main', pts: 0, duration: 960, keyframe: true, payload: 'a0' },
      { track: 'video_main', pts: 6000, dts: 0, duration: 3000, kind: 'P', payload: 'P2' },
      { track: 'video_main', pts: 3000, dts: 3000, duration: 3000, kind: 'B', payload: 'B1' },
      { track: 'video_main', pts: 9000, dts: 6000, duration: 3000, keyframe: true, kind: 'I', payload: 'I3' },
      { track: 'audio_main', pts: 960, duration: 960, keyframe: true, payload: 'a1' },
    ],
    meta: { title: 'golden' },
  },
  {
    name: 'v1-zstd-block',
    layout: 'tail',
    compression: 'zstd',
    tracks: [{ id: 'data', kind: 'data', codec: 'opaque' }],
    blocks: [{ track: 'data', ptsUs: 0, keyframe: true, payload: 'abcd'.repeat(32) }],
    meta: {},
  },
];

/**
 * Every recipe in both versions: `v1-…` (formatVersion 1, §6.1–6.2 CORE and
 * BIDX) and `v2-…` (the default, §6.5 SEGT and SEGD) from the same inputs.
 */
export const RECIPES = [
  ...V1_RECIPES.map((r) => ({ ...r, formatVersion: 1 })),
  ...V1_RECIPES.map((r) => ({ ...r, name: r.name.replace(/^v1-/, 'v2-'), formatVersion: 2 })),
  // §5.5 (v2 only): five one-block records (segments of at most one block) whose index passes a
  // 400-byte budget one record per segment, so SEGX lists runs: the shortest that fits is 3
  // (extra_records 2), segments of 3 and 2 records. Keyframes at R0, R2 and R4 only, so no run
  // holds three keyframes and there is no KEYS (§6.6).
  {
    name: 'v2-runs',
    layout: 'tail',
    formatVersion: 2,
    indexBudget: 400,
    segment: { maxBlocks: 1 },
    tracks: [{ id: 'v', kind: 'video', codec: 'opaque' }],
    blocks: [0, 1, 2, 3, 4].map((i) => ({
      track: 'v',
      ptsUs: i * 40000,
      durationUs: 40000,
      keyframe: i % 2 === 0,
      kind: i % 2 === 0 ? 'I' : 'P',
      payload: `R${i}`,
    })),
    meta: {},
  },
  // §5.10, §6.6 (v2 only): one segment whose audio track has five evenly spaced keyframes (KEYS
  // coding 0) and whose data track has four unevenly spaced ones (coding 1).
  {
    name: 'v2-keys',
    layout: 'tail',
    formatVersion: 2,
    tracks: [
      { id: 'v', kind: 'video', codec: 'opaque', timescale: 90000 },
      { id: 'a', kind: 'audio', codec: 'opaque', timescale: 48000 },
      { id: 'd', kind: 'data', codec: 'opaque', timescale: 1000 },
    ],
    blocks: [
      { track: 'v', pts: 0, duration: 7200, keyframe: true, kind: 'I', payload: 'V0' },
      { track: 'a', pts: 0, duration: 960, keyframe: true, payload: 'A0' },
      { track: 'd', pts: 0, keyframe: true, payload: 'D0' },
      { track: 'a', pts: 960, duration: 960, keyframe: true, payload: 'A1' },
      { track: 'd', pts: 3, keyframe: true, payload: 'D1' },
      { track: 'v', pts: 7200, duration: 7200, kind: 'P', payload: 'V1' },
      { track: 'a', pts: 1920, duration: 960, keyframe: true, payload: 'A2' },
      { track: 'a', pts: 2880, duration: 960, keyframe: true, payload: 'A3' },
      { track: 'd', pts: 40, keyframe: true, payload: 'D2' },
      { track: 'a', pts: 3840, duration: 960, keyframe: true, payload: 'A4' },
      { track: 'd', pts: 80, keyframe: true, payload: 'D3' },
    ],
    meta: {},
  },
];

/** Builds the container of a recipe. */
export async function buildVector(recipe) {
  const tracks = recipe.tracks.map((t) => ({ ...t, ...(t.config ? { config: Uint8Array.from(t.config) } : {}) }));
  const blocks = recipe.blocks.map((b) => ({ ...b, payload: enc.encode(b.payload) }));
  return buildH4mkTracks(tracks, blocks, recipe.meta, undefined, {
    layout: recipe.layout,
    compression: recipe.compression ?? 'none',
    formatVersion: recipe.formatVersion,
    ...(recipe.indexBudget === undefined ? {} : { indexBudget: recipe.indexBudget }),
    ...(recipe.segment === undefined ? {} : { segment: recipe.segment }),
  });
}
