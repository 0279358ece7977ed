/**
 * ISO BMFF (ISO/IEC 14496-12) box parsing for the MP4/MOV importer: the
 * top-level box list, the `moov` tree, and each track's sample table
 * (stts, ctts, stss, stsz/stz2, stsc, stco/co64) and edit list (elst),
 * followed by the samples of the movie fragments of a fragmented file
 * (./fragments.ts), on the box tree of ./box-tree.ts. From these the
 * importer takes exact decode times and composition offsets, which
 * mediabunny does not expose, and the sample byte ranges.
 */
import type { ByteReader } from '../byte-reader.js';
import { MediaError } from '../errors.js';
import { type Box, child, fourcc, full, parseBox } from './box-tree.js';
import { readFragments } from './fragments.js';
import { mdhdLanguage } from './language.js';

/** Largest moov read into memory. */
const MAX_MOOV = 512 * 1024 * 1024;

/** One edit-list entry (ISO/IEC 14496-12 §8.6.6); `segmentDuration` in the movie timescale, `mediaTime` in the media timescale (−1: empty edit). */
export type Mp4Edit = { segmentDuration: number; mediaTime: number; rateInteger: number; rateFraction: number };

/** A track's sample table and timing. */
export type Mp4Track = {
  trackId: number;
  handler: string;
  /** Sample entry four-character code (avc1, mp4a, tx3g, …). */
  sampleEntry: string;
  timescale: number;
  mediaDuration: number;
  language: string;
  sampleCount: number;
  /** Per sample: decode time (media timescale, from 0), composition offset, size, file offset, sync flag. */
  dts: Float64Array;
  cts: Int32Array;
  sizes: Uint32Array;
  offsets: Float64Array;
  sync: Uint8Array;
  /** True when the track has an stss box (otherwise every sample is a sync sample). */
  hasStss: boolean;
  /** End of the last sample (dts + its stts delta). */
  endDts: number;
  hasCtts: boolean;
  cttsVersion: number;
  edits: Mp4Edit[] | null;
  elstVersion: number;
  tkhdMatrix: number[];
  /** The raw stsd sample entry (for subtitle export). */
  stsdEntry: Uint8Array | null;
};

export type Mp4Movie = {
  movieTimescale: number;
  movieDuration: number;
  /** True when the movie has fragments (mvex, moof): their samples are appended to the tracks' tables. */
  fragmented: boolean;
  /** Number of movie fragments (moof boxes) read. */
  fragments: number;
  tracks: Mp4Track[];
  majorBrand: string;
};

/** Lists the top-level boxes (headers only). */
export async function topLevelBoxes(reader: ByteReader): Promise<{ type: string; offset: number; headerLength: number; size: number }[]> {
  const out: { type: string; offset: number; headerLength: number; size: number }[] = [];
  let at = 0;
  while (at < reader.size) {
    if (reader.size - at < 8) throw new MediaError('E_MEDIA_TRUNCATED', `the file ends inside a box header at offset ${at}`, reader.name);
    const head = await reader.peek(at, 16);
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    let size = view.getUint32(0);
    const type = fourcc(head, 4);
    let headerLength = 8;
    if (size === 1) {
      if (head.length < 16) throw new MediaError('E_MEDIA_TRUNCATED', `the file ends inside a box header at offset ${at}`, reader.name);
      size = Number(view.getBigUint64(8));
      headerLength = 16;
    } else if (size === 0) size = reader.size - at;
    if (size < headerLength || !/^[\x20-\x7e]{4}$/.test(type)) throw new MediaError('E_MEDIA_FORMAT', `invalid box header at offset ${at}`, reader.name);
    if (at + size > reader.size) {
      throw new MediaError(
        'E_MEDIA_TRUNCATED',
        `the file ends early: box '${type}' at offset ${at} declares ${size} bytes, ${reader.size - at} remain`,
        reader.name,
      );
    }
    out.push({ type, offset: at, headerLength, size });
    at += size;
  }
  return out;
}

/** Reads and parses the moov box and every track's sample table. */
export async function readMp4Movie(reader: ByteReader): Promise<Mp4Movie> {
  const top = await topLevelBoxes(reader);
  const moovHead = top.find((b) => b.type === 'moov');
  if (moovHead === undefined) throw new MediaError('E_MEDIA_FORMAT', 'no moov box (not an MP4, or a truncated one)', reader.name);
  if (moovHead.size > MAX_MOOV) throw new MediaError('E_MEDIA_UNSUPPORTED', `moov of ${moovHead.size} bytes is too large`, reader.name);
  const ftyp = top.find((b) => b.type === 'ftyp');
  const majorBrand = ftyp === undefined ? '' : fourcc(await reader.copy(ftyp.offset + ftyp.headerLength, 4), 0);
  const bytes = await reader.copy(moovHead.offset, moovHead.size);
  const moov = parseBox(bytes, 0, moovHead.offset, reader.name);
  const mvhd = child(moov, 'mvhd');
  if (mvhd === undefined) throw new MediaError('E_MEDIA_FORMAT', 'moov without mvhd', reader.name);
  const mv = full(mvhd);
  const movieTimescale = mv.version === 1 ? mv.view.getUint32(16) : mv.view.getUint32(8);
  const movieDuration = mv.version === 1 ? Number(mv.view.getBigUint64(20)) : mv.view.getUint32(12);
  const tracks = (moov.children ?? []).filter((b) => b.type === 'trak').map((t) => readTrack(t, reader.name));
  const mvex = child(moov, 'mvex');
  const fragmented = mvex !== undefined || top.some((b) => b.type === 'moof');
  const fragments = fragmented ? await readFragments(reader, top, mvex, tracks) : 0;
  return { movieTimescale, movieDuration, fragmented, fragments, tracks, majorBrand };
}

function readTrack(trak: Box, name: string): Mp4Track {
  const bad = (what: string) => new MediaError('E_MEDIA_FORMAT', `trak: ${what}`, name);
  const tkhd = child(trak, 'tkhd');
  const mdhd = child(trak, 'mdia/mdhd');
  const hdlr = child(trak, 'mdia/hdlr');
  const stbl = child(trak, 'mdia/minf/stbl');
  if (tkhd === undefined || mdhd === undefined || hdlr === undefined || stbl === undefined) throw bad('missing tkhd, mdhd, hdlr or stbl');
  const th = full(tkhd);
  const trackId = th.view.getUint32(th.version === 1 ? 16 : 8);
  const matrixAt = th.version === 1 ? 48 : 36;
  const tkhdMatrix: number[] = [];
  for (let i = 0; i < 9; i++) tkhdMatrix.push(th.view.getInt32(matrixAt + 4 * i));
  const md = full(mdhd);
  const timescale = md.view.getUint32(md.version === 1 ? 16 : 8);
  const mediaDuration = md.version === 1 ? Number(md.view.getBigUint64(20)) : md.view.getUint32(12);
  const language = mdhdLanguage(md.view.getUint16(md.version === 1 ? 28 : 16));
  const handler = fourcc(hdlr.data, 8);
  const stsd = child(stbl, 'stsd');
  let sampleEntry = '';
  let stsdEntry: Uint8Array | null = null;
  if (stsd !== undefined && stsd.data.length >= 16) {
    const entrySize = new DataView(stsd.data.buffer, stsd.data.byteOffset).getUint32(8);
    sampleEntry = fourcc(stsd.data, 12);
    stsdEntry = stsd.data.slice(8, 8 + entrySize);
  }

  // stsz / stz2: sample sizes.
  let sizes: Uint32Array;
  const stsz = child(stbl, 'stsz');
  const stz2 = child(stbl, 'stz2');
  if (stsz !== undefined) {
    const s = full(stsz);
    const constant = s.view.getUint32(0);
    const count = s.view.getUint32(4);
    if (constant === 0 && 8 + 4 * count > s.body.length) throw bad('stsz overruns its box');
    sizes = new Uint32Array(count);
    for (let i = 0; i < count; i++) sizes[i] = constant !== 0 ? constant : s.view.getUint32(8 + 4 * i);
  } else if (stz2 !== undefined) {
    const s = full(stz2);
    const field = s.view.getUint8(3);
    const count = s.view.getUint32(4);
    sizes = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      if (field === 16) sizes[i] = s.view.getUint16(8 + 2 * i);
      else if (field === 8) sizes[i] = s.view.getUint8(8 + i);
      else sizes[i] = (s.view.getUint8(8 + (i >> 1)) >> (i % 2 === 0 ? 4 : 0)) & 15;
    }
  } else sizes = new Uint32Array(0);
  const n = sizes.length;

  // stts: decode deltas.
  const dts = new Float64Array(n);
  let endDts = 0;
  const stts = child(stbl, 'stts');
  if (stts !== undefined) {
    const s = full(stts);
    const entries = s.view.getUint32(0);
    if (4 + 8 * entries > s.body.length) throw bad('stts overruns its box');
    let k = 0;
    for (let e = 0; e < entries; e++) {
      const count = s.view.getUint32(4 + 8 * e);
      const delta = s.view.getUint32(8 + 8 * e);
      for (let j = 0; j < count && k < n; j++) {
        dts[k++] = endDts;
        endDts += delta;
      }
    }
    if (k !== n) throw bad(`stts describes ${k} samples, stsz ${n}`);
  } else if (n > 0) throw bad('no stts');

  // ctts: composition offsets.
  const cts = new Int32Array(n);
  const ctts = child(stbl, 'ctts');
  let cttsVersion = 0;
  if (ctts !== undefined) {
    const s = full(ctts);
    cttsVersion = s.version;
    const entries = s.view.getUint32(0);
    if (4 + 8 * entries > s.body.length) throw bad('ctts overruns its box');
    let k = 0;
    for (let e = 0; e < entries; e++) {
      const count = s.view.getUint32(4 + 8 * e);
      // Version 0 is unsigned by the letter of the spec, but writers put negative offsets there too (as ffmpeg reads it).
      const offset = s.view.getInt32(8 + 8 * e);
      for (let j = 0; j < count && k < n; j++) cts[k++] = offset;
    }
  }

  // stss: sync samples (absent: all are sync).
  const sync = new Uint8Array(n);
  const stss = child(stbl, 'stss');
  if (stss === undefined) sync.fill(1);
  else {
    const s = full(stss);
    const entries = s.view.getUint32(0);
    if (4 + 4 * entries > s.body.length) throw bad('stss overruns its box');
    for (let e = 0; e < entries; e++) {
      const i = s.view.getUint32(4 + 4 * e) - 1;
      if (i >= 0 && i < n) sync[i] = 1;
    }
  }

  // stsc + stco/co64: sample offsets.
  const offsets = new Float64Array(n);
  const stsc = child(stbl, 'stsc');
  const stco = child(stbl, 'stco');
  const co64 = child(stbl, 'co64');
  if (n > 0) {
    if (stsc === undefined || (stco === undefined && co64 === undefined)) throw bad('no stsc or chunk offsets');
    const chunkBox = full((stco ?? co64) as Box);
    const chunkCount = chunkBox.view.getUint32(0);
    const chunkOffset = (c: number) => (stco !== undefined ? chunkBox.view.getUint32(4 + 4 * c) : Number(chunkBox.view.getBigUint64(4 + 8 * c)));
    if (4 + (stco !== undefined ? 4 : 8) * chunkCount > chunkBox.body.length) throw bad('chunk offsets overrun their box');
    const sc = full(stsc);
    const entries = sc.view.getUint32(0);
    if (4 + 12 * entries > sc.body.length) throw bad('stsc overruns its box');
    let k = 0;
    for (let e = 0; e < entries && k < n; e++) {
      const first = sc.view.getUint32(4 + 12 * e) - 1;
      const perChunk = sc.view.getUint32(8 + 12 * e);
      const last = e + 1 < entries ? sc.view.getUint32(4 + 12 * (e + 1)) - 1 : chunkCount;
      for (let c = first; c < last && k < n; c++) {
        let at = chunkOffset(c);
        for (let j = 0; j < perChunk && k < n; j++) {
          offsets[k] = at;
          at += sizes[k] as number;
          k++;
        }
      }
    }
    if (k !== n) throw bad(`chunks hold ${k} samples, stsz ${n}`);
  }

  // elst.
  let edits: Mp4Edit[] | null = null;
  let elstVersion = 0;
  const elst = child(trak, 'edts/elst');
  if (elst !== undefined) {
    const e = full(elst);
    elstVersion = e.version;
    const count = e.view.getUint32(0);
    edits = [];
    let q = 4;
    for (let i = 0; i < count; i++) {
      if (e.version === 1) {
        edits.push({
          segmentDuration: Number(e.view.getBigUint64(q)),
          mediaTime: Number(e.view.getBigInt64(q + 8)),
          rateInteger: e.view.getInt16(q + 16),
          rateFraction: e.view.getInt16(q + 18),
        });
        q += 20;
      } else {
        edits.push({
          segmentDuration: e.view.getUint32(q),
          mediaTime: e.view.getInt32(q + 4),
          rateInteger: e.view.getInt16(q + 8),
          rateFraction: e.view.getInt16(q + 10),
        });
        q += 12;
      }
    }
  }
  return {
    trackId,
    handler,
    sampleEntry,
    timescale,
    mediaDuration,
    language,
    sampleCount: n,
    dts,
    cts,
    sizes,
    offsets,
    sync,
    hasStss: stss !== undefined,
    endDts,
    hasCtts: ctts !== undefined,
    cttsVersion,
    edits,
    elstVersion,
    tkhdMatrix,
    stsdEntry,
  };
}

/**
 * The presentation shift of a track, as ffmpeg's mov demuxer applies a simple
 * edit list: leading empty edits delay the track, the first media edit's
 * `media_time` is subtracted. Returns ticks to add to (dts, dts + cts).
 */
export function editShift(track: Mp4Track, movieTimescale: number): number {
  if (track.edits === null) return 0;
  let empty = 0;
  for (const e of track.edits) {
    if (e.mediaTime === -1) {
      empty += e.segmentDuration;
      continue;
    }
    return Math.round((empty * track.timescale) / movieTimescale) - e.mediaTime;
  }
  return 0;
}
