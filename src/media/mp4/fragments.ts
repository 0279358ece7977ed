/**
 * The samples of a fragmented MP4's movie fragments (ISO/IEC 14496-12 §8.8:
 * moof, tfhd, tfdt, trun, with the mvex/trex defaults): decode times from
 * each track fragment's tfdt plus the trun durations, composition offsets,
 * sizes, offsets and sync flags, appended to the tracks of the moov.
 */
import type { ByteReader } from '../byte-reader.js';
import { MediaError } from '../errors.js';
import { type Box, child, full, parseBox } from './box-tree.js';
import type { Mp4Track } from './boxes.js';

/** Largest moof read into memory. */
const MAX_MOOF = 64 * 1024 * 1024;
/** sample_is_non_sync_sample, and sample_depends_on = 1 (not an I picture): not a keyframe, as ffmpeg reads them. */
const NON_SYNC = 0x0001_0000;
const DEPENDS_YES = 0x0100_0000;

type TrackDefaults = { duration: number; size: number; flags: number };

/** Growable per-sample columns of one track while fragments are read. */
class SampleColumns {
  dts: number[] = [];
  cts: number[] = [];
  sizes: number[] = [];
  offsets: number[] = [];
  sync: number[] = [];
}

/**
 * Appends the samples of every movie fragment (moof: tfhd, tfdt, trun) to
 * the tracks' tables, after the samples the moov itself holds. Decode times
 * are the tfdt baseMediaDecodeTime of each track fragment (the end of the
 * previous one when it has none) plus the trun sample durations; composition
 * offsets and sync flags come from the trun (or the tfhd / trex defaults).
 * Returns the number of fragments.
 */
export async function readFragments(
  reader: ByteReader,
  top: { type: string; offset: number; headerLength: number; size: number }[],
  mvex: Box | undefined,
  tracks: Mp4Track[],
): Promise<number> {
  const name = reader.name;
  const bad = (what: string, at: number) => new MediaError('E_MEDIA_FORMAT', `movie fragment at offset ${at}: ${what}`, name);
  const trex = new Map<number, TrackDefaults>();
  for (const b of mvex?.children ?? []) {
    if (b.type !== 'trex') continue;
    const t = full(b);
    if (t.body.length < 20) throw bad('trex too short', b.offset);
    trex.set(t.view.getUint32(0), { duration: t.view.getUint32(8), size: t.view.getUint32(12), flags: t.view.getUint32(16) });
  }
  const byId = new Map(tracks.map((t) => [t.trackId, t]));
  const columns = new Map<Mp4Track, SampleColumns>();
  const shifts = new Map<Mp4Track, number>();
  let fragments = 0;
  for (const head of top) {
    if (head.type !== 'moof') continue;
    if (head.size > MAX_MOOF) throw new MediaError('E_MEDIA_UNSUPPORTED', `moof of ${head.size} bytes at offset ${head.offset} is too large`, name);
    const moof = parseBox(await reader.copy(head.offset, head.size), 0, head.offset, name);
    fragments++;
    // The data of a track fragment without a base offset follows the previous one's (the first: the moof).
    let implicit = head.offset;
    for (const traf of moof.children ?? []) {
      if (traf.type !== 'traf') continue;
      const tfhdBox = child(traf, 'tfhd');
      if (tfhdBox === undefined) throw bad('traf without tfhd', traf.offset);
      const tfhd = full(tfhdBox);
      if (tfhd.body.length < 4) throw bad('tfhd too short', tfhdBox.offset);
      const trackId = tfhd.view.getUint32(0);
      const track = byId.get(trackId);
      if (track === undefined) throw bad(`track fragment of an unknown track ${trackId}`, traf.offset);
      const defaults = { ...(trex.get(trackId) ?? { duration: 0, size: 0, flags: 0 }) };
      let q = 4;
      const field = (bytes: 4 | 8): number => {
        if (q + bytes > tfhd.body.length) throw bad('tfhd too short', tfhdBox.offset);
        const v = bytes === 8 ? Number(tfhd.view.getBigUint64(q)) : tfhd.view.getUint32(q);
        q += bytes;
        return v;
      };
      let base = tfhd.flags & 0x02_0000 ? head.offset : implicit;
      if (tfhd.flags & 0x01) base = field(8);
      if (tfhd.flags & 0x02) field(4); // sample_description_index
      if (tfhd.flags & 0x08) defaults.duration = field(4);
      if (tfhd.flags & 0x10) defaults.size = field(4);
      if (tfhd.flags & 0x20) defaults.flags = field(4);
      let cols = columns.get(track);
      if (cols === undefined) {
        cols = new SampleColumns();
        columns.set(track, cols);
      }
      const tfdtBox = child(traf, 'tfdt');
      let dts = track.endDts;
      if (tfdtBox !== undefined) {
        const tfdt = full(tfdtBox);
        if (tfdt.body.length < (tfdt.version === 1 ? 8 : 4)) throw bad('tfdt too short', tfdtBox.offset);
        dts = tfdt.version === 1 ? Number(tfdt.view.getBigUint64(0)) : tfdt.view.getUint32(0);
      }
      let at = base;
      const first = cols.cts.length;
      for (const trunBox of traf.children ?? []) {
        if (trunBox.type !== 'trun') continue;
        const trun = full(trunBox);
        const f = trun.flags;
        if (trun.body.length < 4) throw bad('trun too short', trunBox.offset);
        const count = trun.view.getUint32(0);
        let p = 4;
        if (f & 0x01) {
          at = base + trun.view.getInt32(p);
          p += 4;
        }
        let firstFlags: number | null = null;
        if (f & 0x04) {
          firstFlags = trun.view.getUint32(p);
          p += 4;
        }
        const per = (f & 0x100 ? 4 : 0) + (f & 0x200 ? 4 : 0) + (f & 0x400 ? 4 : 0) + (f & 0x800 ? 4 : 0);
        if (p + per * count > trun.body.length) throw bad('trun overruns its box', trunBox.offset);
        for (let i = 0; i < count; i++) {
          const duration = f & 0x100 ? trun.view.getUint32((p += 4) - 4) : defaults.duration;
          const size = f & 0x200 ? trun.view.getUint32((p += 4) - 4) : defaults.size;
          let flags = f & 0x400 ? trun.view.getUint32((p += 4) - 4) : defaults.flags;
          if (i === 0 && firstFlags !== null) flags = firstFlags;
          // Version 0 offsets are unsigned by the letter of the spec; writers put negative ones there too (as ffmpeg reads them).
          const cts = f & 0x800 ? trun.view.getInt32((p += 4) - 4) : 0;
          cols.dts.push(dts);
          cols.cts.push(cts);
          cols.sizes.push(size);
          cols.offsets.push(at);
          cols.sync.push(flags & (NON_SYNC | DEPENDS_YES) ? 0 : 1);
          dts += duration;
          at += size;
        }
      }
      // Negative composition offsets (trun version 1, CMAF): ffmpeg presents each sample later by the
      // largest negative offset read so far (its dts_shift, which grows fragment by fragment) and keeps
      // the decode times; the offsets are stored shifted so that pts = dts + cts as ffmpeg reports them.
      let shift = shifts.get(track) ?? 0;
      for (let i = first; i < cols.cts.length; i++) shift = Math.max(shift, -(cols.cts[i] as number));
      shifts.set(track, shift);
      if (shift > 0) for (let i = first; i < cols.cts.length; i++) cols.cts[i] = (cols.cts[i] as number) + shift;
      track.endDts = dts;
      implicit = at;
    }
  }
  for (const [track, cols] of columns) appendSamples(track, cols);
  return fragments;
}

/** The track's table with `cols` appended. */
function appendSamples(t: Mp4Track, cols: SampleColumns): void {
  const n = t.sampleCount;
  const m = cols.dts.length;
  const grow = <A extends Float64Array | Int32Array | Uint32Array | Uint8Array>(old: A, make: (size: number) => A, extra: number[]): A => {
    const out = make(n + m);
    out.set(old.subarray(0, n) as never);
    out.set(extra as never, n);
    return out;
  };
  // A track whose samples all come from fragments is all sync only if every fragment sample is.
  const allSyncBefore = n === 0 || t.sync.subarray(0, n).every((s) => s === 1);
  t.dts = grow(t.dts, (k) => new Float64Array(k), cols.dts);
  t.cts = grow(t.cts, (k) => new Int32Array(k), cols.cts);
  t.sizes = grow(t.sizes, (k) => new Uint32Array(k), cols.sizes);
  t.offsets = grow(t.offsets, (k) => new Float64Array(k), cols.offsets);
  t.sync = grow(t.sync, (k) => new Uint8Array(k), cols.sync);
  t.sampleCount = n + m;
  if (cols.cts.some((c) => c !== 0)) t.hasCtts = true;
  if (!allSyncBefore || cols.sync.some((s) => s === 0)) t.hasStss = true;
}
