/**
 * Restores exact timing in an MP4 that mediabunny wrote. Its muxer picks its
 * own timescales and rewrites decode times as sorted presentation times with
 * negative composition offsets; a lossless export needs the source's. With
 * `fastStart: false` the moov box is the file's last box, so this rewrites
 * only the tail: mvhd timescale and duration; per track mdhd timescale and
 * duration, stts (decode deltas), ctts (composition offsets), the edit list,
 * and tkhd duration and matrix. Sample sizes and chunk offsets (into mdat,
 * which precedes moov) stay valid.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { MediaError } from '../errors.js';
import type { Mp4Edit } from './boxes.js';

/** The timing of one track, in the order the tracks were added to the muxer. */
export type TrackTiming = {
  timescale: number;
  /** Decode times (ticks, any origin) and composition offsets (pts − dts) per sample, decode order. */
  dts: Float64Array;
  cts: Float64Array;
  /** Duration of the last sample. */
  lastDuration: number;
  /** Edit list (segment durations in the movie timescale); null: none. */
  edits: Mp4Edit[] | null;
  /** tkhd transformation matrix (9 values) to restore, if known. */
  matrix?: number[];
  /** ctts version of the source (1 allows negative offsets); chosen automatically when absent. */
  cttsVersion?: number;
};

/** A timed-text track (tx3g) to add: its samples' bytes go into a second mdat before moov. */
export type TextTrackData = {
  timescale: number;
  /** ISO 639-2 code ("eng"; "und" when unknown). */
  language: string;
  /** The whole sample entry (size, "tx3g", fields, boxes) as the source had it. */
  sampleEntry: Uint8Array;
  timing: TrackTiming;
  samples: Uint8Array[];
};

type Node = { type: string; raw?: Uint8Array; kids?: Node[] };

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts']);

/** Rewrites the timing boxes of the MP4 at `path` in place and appends the timed-text tracks `text`. */
export async function rewriteMp4Timing(path: string, movieTimescale: number, tracks: TrackTiming[], text: TextTrackData[] = []): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const { offset, bytes } = await readLastBox(handle, 'moov', path);
    const moov = parse(bytes, 0, bytes.length)[0] as Node;
    const traks = (moov.kids ?? []).filter((k) => k.type === 'trak');
    if (traks.length !== tracks.length) throw new MediaError('E_MEDIA_FORMAT', `the muxer wrote ${traks.length} tracks, expected ${tracks.length}`, path);
    let movieDuration = 0;
    traks.forEach((trak, i) => {
      const t = tracks[i] as TrackTiming;
      const n = t.dts.length;
      const deltas: number[] = [];
      for (let k = 0; k < n; k++) deltas.push(k + 1 < n ? (t.dts[k + 1] as number) - (t.dts[k] as number) : t.lastDuration);
      const mediaDuration = n === 0 ? 0 : (t.dts[n - 1] as number) - (t.dts[0] as number) + t.lastDuration;
      const stbl = find(trak, 'mdia/minf/stbl');
      if (stbl?.kids === undefined) throw new MediaError('E_MEDIA_FORMAT', 'the muxer wrote a track without stbl', path);
      const stts = fullBox('stts', 0, [u32(runs(deltas).length), ...runs(deltas).flatMap(([c, d]) => [u32(c), u32(d)])]);
      const offsets = Array.from(t.cts);
      const needCtts = offsets.some((o) => o !== 0);
      const version = t.cttsVersion ?? (offsets.some((o) => o < 0) ? 1 : 0);
      const kids = stbl.kids.filter((k) => k.type !== 'ctts');
      const at = kids.findIndex((k) => k.type === 'stts');
      kids[at] = { type: 'stts', raw: stts };
      if (needCtts)
        kids.splice(at + 1, 0, {
          type: 'ctts',
          raw: fullBox('ctts', version, [u32(runs(offsets).length), ...runs(offsets).flatMap(([c, o]) => [u32(c), i32(o)])]),
        });
      stbl.kids = kids;
      // Sample group boxes describe the muxer's timing choices (roll distances); keep them.
      const mdhd = find(trak, 'mdia/mdhd');
      if (mdhd?.raw === undefined) throw new MediaError('E_MEDIA_FORMAT', 'the muxer wrote a track without mdhd', path);
      mdhd.raw = patchMdhd(mdhd.raw, t.timescale, mediaDuration);
      trak.kids = (trak.kids ?? []).filter((k) => k.type !== 'edts');
      let trackDuration = Math.round((mediaDuration * movieTimescale) / t.timescale);
      if (t.edits !== null && t.edits.length > 0) {
        const body = [u32(t.edits.length)];
        for (const e of t.edits) body.push(u64(e.segmentDuration), i64(e.mediaTime), i16(e.rateInteger), i16(e.rateFraction));
        trak.kids.splice(1, 0, { type: 'edts', kids: [{ type: 'elst', raw: fullBox('elst', 1, body) }] });
        trackDuration = t.edits.reduce((a, e) => a + e.segmentDuration, 0);
      }
      const tkhd = trak.kids.find((k) => k.type === 'tkhd');
      if (tkhd?.raw === undefined) throw new MediaError('E_MEDIA_FORMAT', 'the muxer wrote a track without tkhd', path);
      tkhd.raw = patchTkhd(tkhd.raw, trackDuration, t.matrix);
      movieDuration = Math.max(movieDuration, trackDuration);
    });
    const mvhd = moov.kids?.find((k) => k.type === 'mvhd');
    if (mvhd?.raw === undefined) throw new MediaError('E_MEDIA_FORMAT', 'the muxer wrote no mvhd', path);
    // Timed text: one chunk per track in a second mdat that takes moov's place; moov follows it.
    let at = offset;
    const mdatParts: Uint8Array[] = [];
    let nextTrackId = traks.length + 1;
    for (const t of text) {
      const chunkOffset = at + 8 + mdatParts.reduce((a, p) => a + p.length, 0);
      mdatParts.push(...t.samples);
      const { trak, duration } = textTrak(t, nextTrackId++, chunkOffset, movieTimescale);
      moov.kids = [...(moov.kids ?? []).filter((k) => k.type !== 'udta'), trak, ...(moov.kids ?? []).filter((k) => k.type === 'udta')];
      movieDuration = Math.max(movieDuration, duration);
    }
    mvhd.raw = patchMvhd(mvhd.raw, movieTimescale, movieDuration, nextTrackId);
    await handle.truncate(offset);
    if (text.length > 0) {
      const mdat = box('mdat', mdatParts);
      await handle.write(mdat, 0, mdat.length, at);
      at += mdat.length;
    }
    const out = serialize(moov);
    await handle.write(out, 0, out.length, at);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** The last top-level box of `path`, which must be of type `type`. */
async function readLastBox(handle: FileHandle, type: string, path: string): Promise<{ offset: number; bytes: Uint8Array }> {
  const size = (await handle.stat()).size;
  let at = 0;
  let last: { offset: number; size: number; type: string } | null = null;
  const head = new Uint8Array(16);
  while (at < size) {
    await handle.read(head, 0, 16, at);
    const view = new DataView(head.buffer);
    let boxSize = view.getUint32(0);
    if (boxSize === 1) boxSize = Number(view.getBigUint64(8));
    else if (boxSize === 0) boxSize = size - at;
    if (boxSize < 8) throw new MediaError('E_MEDIA_FORMAT', `invalid box at offset ${at}`, path);
    last = { offset: at, size: boxSize, type: String.fromCharCode(...head.subarray(4, 8)) };
    at += boxSize;
  }
  if (last === null || last.type !== type) throw new MediaError('E_MEDIA_FORMAT', `the muxer's last box is not ${type}`, path);
  const bytes = new Uint8Array(last.size);
  await handle.read(bytes, 0, last.size, last.offset);
  return { offset: last.offset, bytes };
}

function parse(b: Uint8Array, start: number, end: number): Node[] {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Node[] = [];
  let p = start;
  while (p + 8 <= end) {
    let size = view.getUint32(p);
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(p + 8));
      header = 16;
    } else if (size === 0) size = end - p;
    const type = String.fromCharCode(...b.subarray(p + 4, p + 8));
    out.push(CONTAINERS.has(type) ? { type, kids: parse(b, p + header, p + size) } : { type, raw: b.slice(p, p + size) });
    p += size;
  }
  return out;
}

function serialize(n: Node): Uint8Array {
  if (n.raw !== undefined) return n.raw;
  const kids = (n.kids ?? []).map(serialize);
  return box(n.type, kids);
}

function find(n: Node, path: string): Node | undefined {
  let cur: Node | undefined = n;
  for (const t of path.split('/')) cur = cur?.kids?.find((k) => k.type === t);
  return cur;
}

function runs(values: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const v of values) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === v) last[0]++;
    else out.push([1, v]);
  }
  return out;
}

function box(type: string, parts: Uint8Array[]): Uint8Array {
  let n = 8;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  new DataView(out.buffer).setUint32(0, n);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  let at = 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const fullBox = (type: string, version: number, parts: Uint8Array[]) => box(type, [Uint8Array.of(version, 0, 0, 0), ...parts]);
const num = (bytes: number, set: (v: DataView) => void) => {
  const b = new Uint8Array(bytes);
  set(new DataView(b.buffer));
  return b;
};
const u32 = (v: number) => num(4, (d) => d.setUint32(0, v >>> 0));
const i32 = (v: number) => num(4, (d) => d.setInt32(0, v));
const i16 = (v: number) => num(2, (d) => d.setInt16(0, v));
const u64 = (v: number) => num(8, (d) => d.setBigUint64(0, BigInt(v)));
const i64 = (v: number) => num(8, (d) => d.setBigInt64(0, BigInt(v)));

/** mdhd (ISO/IEC 14496-12 §8.4.2): timescale and duration, version 0 or 1. */
function patchMdhd(raw: Uint8Array, timescale: number, duration: number): Uint8Array {
  const b = zeroTimes(raw);
  const d = new DataView(b.buffer);
  if (b[8] === 1) {
    d.setUint32(28, timescale);
    d.setBigUint64(32, BigInt(duration));
    return b;
  }
  if (duration > 0xffff_ffff) return patchMdhd(upgradeToV1(b, 'mdhd'), timescale, duration);
  d.setUint32(20, timescale);
  d.setUint32(24, duration);
  return b;
}

/** mvhd (ISO/IEC 14496-12 §8.2.2): timescale, duration and next_track_ID (its last field). */
function patchMvhd(raw: Uint8Array, timescale: number, duration: number, nextTrackId: number): Uint8Array {
  const b = zeroTimes(raw);
  const d = new DataView(b.buffer);
  d.setUint32(b.length - 4, Math.max(d.getUint32(b.length - 4), nextTrackId));
  if (b[8] === 1) {
    d.setUint32(28, timescale);
    d.setBigUint64(32, BigInt(duration));
  } else {
    d.setUint32(20, timescale);
    d.setUint32(24, Math.min(duration, 0xffff_ffff));
  }
  return b;
}

/** tkhd (ISO/IEC 14496-12 §8.3.2): duration and matrix. */
function patchTkhd(raw: Uint8Array, duration: number, matrix: number[] | undefined): Uint8Array {
  const b = zeroTimes(raw);
  const d = new DataView(b.buffer);
  const v1 = b[8] === 1;
  if (v1) d.setBigUint64(36, BigInt(duration));
  else d.setUint32(28, Math.min(duration, 0xffff_ffff));
  if (matrix !== undefined && matrix.length === 9) {
    const at = v1 ? 60 : 48;
    for (const [i, m] of matrix.entries()) d.setInt32(at + 4 * i, m);
  }
  return b;
}

/**
 * A copy of a movie, track or media header with creation and modification
 * times set to 0 (as ffmpeg's -bitexact writes them): the same container
 * always exports to the same bytes.
 */
function zeroTimes(raw: Uint8Array): Uint8Array {
  const b = raw.slice();
  b.fill(0, 12, b[8] === 1 ? 28 : 20);
  return b;
}

/** A version-0 mdhd widened to version 1 (64-bit times). */
function upgradeToV1(b: Uint8Array, type: string): Uint8Array {
  const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const created = d.getUint32(12);
  const modified = d.getUint32(16);
  const rest = b.subarray(28);
  return fullBox(type, 1, [u64(created), u64(modified), u32(0), u64(0), rest]);
}

/**
 * A timed-text trak as ffmpeg writes one in MP4 (ISO/IEC 14496-30 / 3GPP
 * TS 26.245): tkhd, edts, mdia(mdhd, hdlr "sbtl", minf(nmhd, dinf, stbl)),
 * all samples in one chunk at `chunkOffset`.
 */
function textTrak(t: TextTrackData, trackId: number, chunkOffset: number, movieTimescale: number): { trak: Node; duration: number } {
  const n = t.samples.length;
  const dts = t.timing.dts;
  const deltas: number[] = [];
  for (let k = 0; k < n; k++) deltas.push(k + 1 < n ? (dts[k + 1] as number) - (dts[k] as number) : t.timing.lastDuration);
  const mediaDuration = deltas.reduce((a, b) => a + b, 0);
  let duration = Math.round((mediaDuration * movieTimescale) / t.timescale);
  const kids: Node[] = [];
  if (t.timing.edits !== null && t.timing.edits.length > 0) {
    const body = [u32(t.timing.edits.length)];
    for (const e of t.timing.edits) body.push(u64(e.segmentDuration), i64(e.mediaTime), i16(e.rateInteger), i16(e.rateFraction));
    kids.push({ type: 'edts', kids: [{ type: 'elst', raw: fullBox('elst', 1, body) }] });
    duration = t.timing.edits.reduce((a, e) => a + e.segmentDuration, 0);
  }
  const identity = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000].map(i32);
  const tkhd = box('tkhd', [
    Uint8Array.of(0, 0, 0, 3),
    u32(0),
    u32(0),
    u32(trackId),
    u32(0),
    u32(duration),
    new Uint8Array(8),
    new Uint8Array(8),
    ...identity,
    u32(0),
    u32(0),
  ]);
  const lang = (t.language.length === 3 ? t.language : 'und').toLowerCase();
  const packed = ((lang.charCodeAt(0) - 0x60) << 10) | ((lang.charCodeAt(1) - 0x60) << 5) | (lang.charCodeAt(2) - 0x60);
  const mdhd = fullBox('mdhd', 0, [u32(0), u32(0), u32(t.timescale), u32(mediaDuration), num(2, (d) => d.setUint16(0, packed)), new Uint8Array(2)]);
  const hdlr = fullBox('hdlr', 0, [u32(0), Uint8Array.from([0x73, 0x62, 0x74, 0x6c]), new Uint8Array(12), new TextEncoder().encode('SubtitleHandler\0')]);
  const dinf = box('dinf', [fullBox('dref', 0, [u32(1), box('url ', [Uint8Array.of(0, 0, 0, 1)])])]);
  const stsd = fullBox('stsd', 0, [u32(1), t.sampleEntry]);
  const stts = fullBox('stts', 0, [u32(runs(deltas).length), ...runs(deltas).flatMap(([c, d]) => [u32(c), u32(d)])]);
  const offsets = Array.from(t.timing.cts);
  const ctts = offsets.some((o) => o !== 0) ? [fullBox('ctts', 1, [u32(runs(offsets).length), ...runs(offsets).flatMap(([c, o]) => [u32(c), i32(o)])])] : [];
  const stsc = fullBox('stsc', 0, [u32(1), u32(1), u32(n), u32(1)]);
  const stsz = fullBox('stsz', 0, [u32(0), u32(n), ...t.samples.map((s) => u32(s.length))]);
  const stco = chunkOffset > 0xffff_ffff ? fullBox('co64', 0, [u32(1), u64(chunkOffset)]) : fullBox('stco', 0, [u32(1), u32(chunkOffset)]);
  const minf = box('minf', [fullBox('nmhd', 0, []), dinf, box('stbl', [stsd, stts, ...ctts, stsc, stsz, stco])]);
  kids.unshift({ type: 'tkhd', raw: tkhd });
  kids.push({ type: 'mdia', raw: box('mdia', [mdhd, hdlr, minf]) });
  return { trak: { type: 'trak', kids }, duration };
}
