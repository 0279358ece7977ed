/**
 * CMAF header (init segment): ftyp + moov with one track, empty sample
 * tables and mvex/trex (ISO/IEC 14496-12 §8.8, ISO/IEC 23000-19 §7.3).
 */
import { concatBytes } from '../../format/bytes.js';
import { box, fields, fullBox, UNITY_MATRIX } from './bmff.js';

/** One track of an init segment. */
export type InitSpec = {
  kind: 'video' | 'audio';
  /** Ticks per second of the media timeline (mdhd), the source track's own. */
  timescale: number;
  /** The sample description (from ./sample-entry.ts). */
  stsd: Uint8Array;
  /** ISO 639-2/T code; '' or invalid → "und". */
  language: string;
  width?: number;
  height?: number;
  /**
   * Ticks every decode time of the media segments is shifted by (so that
   * none is negative); an edit list takes them off again, so a reader that
   * honours edit lists sees the source's timestamps. 0: no edit list.
   */
  offset: number;
  /** mvhd timescale (default 1000). */
  movieTimescale?: number;
  /**
   * Presentation length of the edit, in `movieTimescale` ticks: the source's
   * own edit (an MP4's trimmed last AAC frame, say) so readers that honour
   * edit lists end where the source ends. 0: as long as the media.
   */
  editDuration?: number;
};

/** Track id inside every init and media segment (one track per rendition). */
export const TRACK_ID = 1;

/** The brands of CMAF tracks. */
const BRANDS = ['iso6', 'cmfc', 'mp41', 'dash'];

function packLanguage(language: string): number {
  const code = /^[a-z]{3}$/.test(language) ? language : 'und';
  return (((code.charCodeAt(0) - 0x60) & 31) << 10) | (((code.charCodeAt(1) - 0x60) & 31) << 5) | ((code.charCodeAt(2) - 0x60) & 31);
}

function matrix(w: { u32(v: number): unknown }): void {
  for (const v of UNITY_MATRIX) w.u32(v);
}

/** The ftyp box of init segments. */
export function ftyp(): Uint8Array {
  return box(
    'ftyp',
    fields((w) => {
      w.fourcc('iso6').u32(0);
      for (const b of BRANDS) w.fourcc(b);
    }),
  );
}

/** ftyp + moov for one track. */
export function initSegment(spec: InitSpec): Uint8Array {
  const video = spec.kind === 'video';
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    fields((w) => {
      w.u32(0)
        .u32(0)
        .u32(spec.movieTimescale ?? 1000)
        .u32(0); // creation, modification, timescale, duration (unknown: fragmented)
      w.u32(0x00010000).u16(0x0100).zeros(10); // rate 1.0, volume 1.0
      matrix(w);
      w.zeros(24).u32(TRACK_ID + 1); // pre_defined, next_track_ID
    }),
  );
  const tkhd = fullBox(
    'tkhd',
    0,
    0x3, // enabled, in movie
    fields((w) => {
      w.u32(0).u32(0).u32(TRACK_ID).u32(0).u32(0); // creation, modification, track_ID, reserved, duration
      w.zeros(8)
        .u16(0)
        .u16(0)
        .u16(video ? 0 : 0x0100)
        .u16(0); // reserved, layer, alternate_group, volume, reserved
      matrix(w);
      w.u32(Math.round((spec.width ?? 0) * 65536)).u32(Math.round((spec.height ?? 0) * 65536));
    }),
  );
  // segment_duration 0 with a fragmented track: the edit lasts as long as the media (ISO/IEC 14496-12 §8.6.6).
  const edts =
    spec.offset === 0 && (spec.editDuration ?? 0) === 0
      ? new Uint8Array(0)
      : box(
          'edts',
          fullBox(
            'elst',
            1,
            0,
            fields((w) => {
              w.u32(1)
                .u64(spec.editDuration ?? 0)
                .u64(spec.offset)
                .u16(1)
                .u16(0);
            }),
          ),
        );
  const mdhd = fullBox(
    'mdhd',
    0,
    0,
    fields((w) => {
      w.u32(0).u32(0).u32(spec.timescale).u32(0).u16(packLanguage(spec.language)).u16(0);
    }),
  );
  const handlerName = video ? 'VideoHandler' : 'SoundHandler';
  const hdlr = fullBox(
    'hdlr',
    0,
    0,
    fields((w) => {
      w.u32(0)
        .fourcc(video ? 'vide' : 'soun')
        .zeros(12);
      for (let i = 0; i < handlerName.length; i++) w.u8(handlerName.charCodeAt(i));
      w.u8(0);
    }),
  );
  const header = video ? fullBox('vmhd', 0, 1, new Uint8Array(8)) : fullBox('smhd', 0, 0, new Uint8Array(4));
  const dinf = box(
    'dinf',
    fullBox(
      'dref',
      0,
      0,
      fields((w) => w.u32(1)),
      fullBox('url ', 0, 1),
    ),
  );
  const empty = (type: string, n: number) => fullBox(type, 0, 0, new Uint8Array(n));
  const stbl = box('stbl', spec.stsd, empty('stts', 4), empty('stsc', 4), empty('stsz', 8), empty('stco', 4));
  const trak = box('trak', tkhd, edts, box('mdia', mdhd, hdlr, box('minf', header, dinf, stbl)));
  const trex = fullBox(
    'trex',
    0,
    0,
    fields((w) => {
      w.u32(TRACK_ID).u32(1).u32(0).u32(0).u32(0);
    }),
  );
  return concatBytes([ftyp(), box('moov', mvhd, trak, box('mvex', trex))]);
}
