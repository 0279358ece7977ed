/**
 * Spans of blocks: §8.2 seeking (the keyframe at or before a time and the
 * bytes to read to decode there) and range selection (which blocks of which
 * segments a query yields, reading adjacent segments together).
 */
import { BlockFlag } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import type { KeyframeMap } from '../format/keyframe-map.js';
import type { SegmentTable } from '../format/segment-table.js';
import { lastTickAtOrBeforeUs, ticksToUs } from '../format/time.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';
import { type Block, blockInfo, keyframeInTable, type ReadBlockOptions } from './block-decoder.js';
import { lastEntryAtOrBefore, type TrackSearch } from './index-search.js';
import type { IndexView, RangeQuery, TrackBounds } from './index-view.js';
import type { SegmentTables } from './segment-tables.js';
import type { BlockInfo, SeekResult } from './types.js';

/** What selecting blocks needs from a reader. */
export type SpanContext = {
  source: RandomAccessSource;
  view: IndexView;
  segmentTable(segment: number): Promise<SegmentTable>;
  fromBytes(segment: number, bytes: Uint8Array, base: number, verifyData?: boolean): SegmentTable;
  decode(info: BlockInfo, bytes: Uint8Array, base: number, options: ReadBlockOptions): Block;
};

/** Where a seek finds a keyframe the index does not name: a segment's table, or the KEYS map when the reader uses one. */
export type SeekTables = Pick<SegmentTables, 'get'> & { keys?: () => Promise<KeyframeMap | null> };

/**
 * The keyframe of `track` with the largest pts ≤ `ptsUs` (the last such in
 * file order on ties), and the span to read to decode up to `ptsUs`.
 *
 * A target before the track's first keyframe (a time before the track
 * starts, e.g. 0 on a video whose first frame is at 21 ms) gives the first
 * keyframe, with the span to decode it: what a player seeking there shows
 * first. The result is then the same as a seek to that keyframe's time;
 * callers tell the two cases apart by `ptsUs > target`.
 *
 * Null only when the track has no keyframe at all (an empty track).
 */
export async function seekKeyframe(view: IndexView, tables: SeekTables, track: string | number, ptsUs: number): Promise<SeekResult | null> {
  if (!Number.isFinite(ptsUs)) throw new RangeError('ptsUs must be a finite number');
  const t = view.track(track);
  const search = view.searches[t.number] as TrackSearch;
  const table = search.table;
  let ticks = lastTickAtOrBeforeUs(Math.floor(ptsUs), t.timescale);
  let key = view.keyframeFromIndex(t.number, ticks);
  if (key === null) {
    // Before the first keyframe: seek to it (§5.4 keyframe pts never decrease along the seek table).
    if (search.keyEntryPts.length === 0) return null;
    ticks = search.keyEntryPts[0] as number;
    key = view.keyframeFromIndex(t.number, ticks);
    if (key === null) throw new H4mkError('E_FORMAT', 'the seek table names a keyframe it cannot find', { chunk: 'SEEK' });
  }
  const { segment } = key;
  const dir = view.content.segments;
  let { coreIndex, pts } = key;
  if (coreIndex < 0) {
    // Several keyframes in this segment and the target falls among them: the KEYS map names it (§6.6), else read its table.
    const keys = (await tables.keys?.()) ?? null;
    if (keys?.has(t.number, key.entry)) {
      const found = keys.keyAtOrBefore(t.number, key.entry, ticks);
      coreIndex = (dir.firstCoreIndex[segment] as number) + found.position;
      pts = found.pts;
    } else ({ coreIndex, pts } = keyframeInTable(await tables.get(segment), t.number, ticks));
  }
  const lastEntry = lastEntryAtOrBefore(search, ticks);
  const lastSegment = Math.max(segment, table.segment[lastEntry] as number);
  const offset = view.dataOffset + (dir.offset[segment] as number);
  const end = view.dataOffset + (dir.offset[lastSegment] as number) + (dir.length[lastSegment] as number);
  return {
    trackId: t.id,
    trackNumber: t.number,
    coreIndex,
    pts,
    ptsUs: ticksToUs(pts, t.timescale),
    span: {
      offset,
      length: end - offset,
      fromCoreIndex: coreIndex,
      toCoreIndex: (dir.firstCoreIndex[lastSegment] as number) + (dir.blockCount[lastSegment] as number) - 1,
    },
  };
}

/**
 * Blocks with `fromUs ≤ pts < toUs` of the chosen tracks, in file order
 * (see {@link RangeQuery.fromKeyframe} for decodable spans), with payloads
 * when `options` is given (null: metadata only). Reads follow {@link plan}:
 * adjacent segments are fetched together, each planned range in one read.
 */
export async function* selectBlocks(ctx: SpanContext, query: RangeQuery, options: ReadBlockOptions | null): AsyncGenerator<Block | BlockInfo> {
  const selection = ctx.view.select(query);
  const held = new Map<number, BlockInfo[]>();
  const planned = options !== null ? ctx.view.coalesce(selection.segments) : selection.segments.map((s) => ({ offset: 0, length: 0, segments: [s] }));
  for (const range of planned) {
    const bytes = options !== null ? await readExactly(ctx.source, range.offset, range.length) : null;
    for (const segment of range.segments) {
      const table = bytes === null ? await ctx.segmentTable(segment) : ctx.fromBytes(segment, bytes, range.offset, options?.verify !== false);
      for (let i = 0; i < table.count; i++) {
        const track = table.trackNumber[i] as number;
        if (selection.wanted[track] !== 1) continue;
        const b = selection.bounds.get(track) as TrackBounds;
        if (b.firstCoreIndex < 0 && segment === b.keySegment) b.firstCoreIndex = keyframeInTable(table, track, b.keyTicks).coreIndex;
        const pts = table.pts[i] as number;
        const flags = table.flags[i] as number;
        if (query.keyframesOnly && (flags & BlockFlag.KEYFRAME) === 0) continue;
        if (query.fromKeyframe) {
          if (table.firstCoreIndex + i < b.firstCoreIndex) continue;
          // Blocks at or after `to` are held until a later block before `to` shows they are needed.
          const pending = held.get(track) ?? [];
          const info = blockInfo(ctx.view, segment, table, i);
          if (pts >= b.to) {
            pending.push(info);
            held.set(track, pending);
            continue;
          }
          for (const p of pending) yield bytes === null ? p : ctx.decode(p, bytes, range.offset, options ?? {});
          held.set(track, []);
          yield bytes === null ? info : ctx.decode(info, bytes, range.offset, options ?? {});
          continue;
        }
        if (pts < b.from || pts >= b.to) continue;
        const info = blockInfo(ctx.view, segment, table, i);
        yield bytes === null ? info : ctx.decode(info, bytes, range.offset, options ?? {});
      }
    }
  }
}
