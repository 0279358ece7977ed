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
  // §5.5 (v2 only): five one-block records whose index (421 bytes one record per segment) passes a
  // 400-byte budget, so SEGX lists runs of 2: segments of 2, 2 and 1 records (extra_records 1).
  {
    name: 'v2-runs',
    layout: 'tail',
    formatVersion: 2,
    indexBudget: 400,
    tracks: [{ id: 'v', kind: 'video', codec: 'opaque' }],
    blocks: [0, 1, 2, 3, 4].map((i) => ({ track: 'v', ptsUs: i * 40000, durationUs: 40000, keyframe: true, kind: 'I', payload: `R${i}` })),
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
  });
}
