/**
 * Colour descriptions of video tracks: what the source container said
 * (MP4 `colr` nclx, Matroska `Colour`, as mediabunny reads them, kept in the
 * track's TRAK extra as `video.color`), what the bitstream says (H.264 SPS
 * VUI, AV1 sequence header), and the assumption for a stream that says
 * nothing: ffmpeg's, BT.601 limited range for every codec and size
 * (swscale's default matrix), so pictures match what ffmpeg renders.
 *
 * Names are WebCodecs' VideoColorSpaceInit names (bt709, smpte170m, …); the
 * code points are those of ITU-T H.273, which MP4, Matroska, H.264 and AV1
 * all use.
 */
import { BitReader, removeEmulationPrevention } from './rbsp.js';
import type { MediaTrackExtraInit } from '../track-extra.js';

/** A colour description as stored in TRAK extra `video.color` (../track-extra.ts): any field may be absent. */
export type ColourDescription = NonNullable<NonNullable<MediaTrackExtraInit['video']>['color']>;

/** The WebCodecs colour space a decoder or sample entry is given. */
export type ColourSpace = { primaries?: string; transfer?: string; matrix?: string; fullRange?: boolean };

const PRIMARIES: Record<number, string> = { 1: 'bt709', 5: 'bt470bg', 6: 'smpte170m', 9: 'bt2020', 12: 'smpte432' };
const TRANSFER: Record<number, string> = { 1: 'bt709', 6: 'smpte170m', 8: 'linear', 13: 'iec61966-2-1', 16: 'pq', 18: 'hlg' };
const MATRIX: Record<number, string> = { 0: 'rgb', 1: 'bt709', 5: 'bt470bg', 6: 'smpte170m', 9: 'bt2020-ncl' };
const NAMES = { primaries: new Set(Object.values(PRIMARIES)), transfer: new Set(Object.values(TRANSFER)), matrix: new Set(Object.values(MATRIX)) };

/** ffmpeg's assumption for a stream that describes no colour: BT.601 (SMPTE 170M), limited range. */
export const UNTAGGED_DEFAULT: ColourSpace = { primaries: 'smpte170m', transfer: 'smpte170m', matrix: 'smpte170m', fullRange: false };

/** The stored form of what mediabunny reports (null when it reports nothing). */
export function colourFromInit(
  init: { primaries?: string | null; transfer?: string | null; matrix?: string | null; fullRange?: boolean | null } | null | undefined,
): ColourDescription | null {
  if (init === null || init === undefined) return null;
  const out: ColourDescription = {};
  if (typeof init.primaries === 'string' && NAMES.primaries.has(init.primaries)) out.primaries = init.primaries;
  if (typeof init.transfer === 'string' && NAMES.transfer.has(init.transfer)) out.transfer = init.transfer;
  if (typeof init.matrix === 'string' && NAMES.matrix.has(init.matrix)) out.matrix = init.matrix;
  if (typeof init.fullRange === 'boolean') out.full_range = init.fullRange;
  return Object.keys(out).length === 0 ? null : out;
}

/** The colour space a track's TRAK extra stores (`video.color`), or null; unknown names are ignored (extra is untrusted JSON). */
export function colourOfExtra(extra: Record<string, unknown>): ColourSpace | null {
  const video = extra.video;
  if (typeof video !== 'object' || video === null) return null;
  const c = (video as { color?: unknown }).color;
  if (typeof c !== 'object' || c === null) return null;
  const d = colourFromInit({ ...(c as Record<string, never>), fullRange: (c as { full_range?: boolean | null }).full_range ?? null });
  if (d === null || (d.matrix === undefined && d.primaries === undefined)) return null;
  return {
    ...(d.primaries === undefined ? {} : { primaries: d.primaries }),
    ...(d.transfer === undefined ? {} : { transfer: d.transfer }),
    ...(d.matrix === undefined ? {} : { matrix: d.matrix }),
    ...(d.full_range === undefined ? {} : { fullRange: d.full_range }),
  };
}

/** From H.273 code points (2 = unspecified: left out). */
function fromCodes(primaries: number, transfer: number, matrix: number, fullRange: boolean): ColourSpace {
  const out: ColourSpace = { fullRange };
  if (PRIMARIES[primaries] !== undefined) out.primaries = PRIMARIES[primaries];
  if (TRANSFER[transfer] !== undefined) out.transfer = TRANSFER[transfer];
  if (MATRIX[matrix] !== undefined) out.matrix = MATRIX[matrix];
  return out;
}

/** What a bitstream's own header says: `described` false when it has no colour description (then only `fullRange` may be known). */
export type BitstreamColour = { described: boolean; colour: ColourSpace; height: number | null };

/**
 * AV1: the sequence header OBU in an AV1CodecConfigurationRecord's
 * configOBUs (AV1-ISOBMFF §2.3; AV1 §5.5), up to color_config. Null when the
 * record holds no sequence header (then the stream is not known to describe
 * colour).
 */
export function av1Colour(av1C: Uint8Array): BitstreamColour | null {
  try {
    if (av1C.length < 5 || ((av1C[0] as number) & 0x7f) !== 1) return null; // marker 1, version 1
    let at = 4;
    while (at < av1C.length) {
      const header = av1C[at] as number;
      const type = (header >> 3) & 0xf;
      const extension = (header & 0x04) !== 0;
      const hasSize = (header & 0x02) !== 0;
      at += extension ? 2 : 1;
      let size = av1C.length - at;
      if (hasSize) {
        size = 0;
        for (let i = 0; i < 8; i++) {
          const b = av1C[at++] as number;
          size |= (b & 0x7f) << (7 * i);
          if ((b & 0x80) === 0) break;
        }
      }
      if (type === 1) return av1SequenceColour(new BitReader(av1C.subarray(at, at + size)));
      at += size;
    }
    return null;
  } catch {
    return null;
  }
}

function uvlc(r: BitReader): number {
  let zeros = 0;
  while (r.u(1) === 0 && zeros < 32) zeros++;
  return zeros >= 32 ? 2 ** 32 - 1 : r.u(zeros) + 2 ** zeros - 1;
}

function av1SequenceColour(r: BitReader): BitstreamColour {
  const profile = r.u(3); //                                      seq_profile
  r.u(1); //                                                      still_picture
  const reduced = r.u(1) === 1; //                                reduced_still_picture_header
  let decoderModel = false;
  let bufferDelayLength = 0;
  if (reduced)
    r.u(5); //                                         seq_level_idx[0]
  else {
    if (r.u(1) === 1) {
      //                                                          timing_info_present_flag
      r.u(32); //                                                 num_units_in_display_tick
      r.u(32); //                                                 time_scale
      if (r.u(1) === 1) uvlc(r); //                               equal_picture_interval, num_ticks_per_picture_minus_1
      decoderModel = r.u(1) === 1; //                             decoder_model_info_present_flag
      if (decoderModel) {
        bufferDelayLength = r.u(5) + 1; //                        buffer_delay_length_minus_1
        r.u(32); //                                               num_units_in_decoding_tick
        r.u(5); //                                                buffer_removal_time_length_minus_1
        r.u(5); //                                                frame_presentation_time_length_minus_1
      }
    }
    const initialDisplayDelay = r.u(1) === 1; //                  initial_display_delay_present_flag
    const points = r.u(5) + 1; //                                 operating_points_cnt_minus_1
    for (let i = 0; i < points; i++) {
      r.u(12); //                                                 operating_point_idc
      if (r.u(5) > 7) r.u(1); //                                  seq_level_idx, seq_tier
      if (decoderModel && r.u(1) === 1) {
        //                                                        decoder_model_present_for_this_op
        r.u(bufferDelayLength); //                                decoder_buffer_delay
        r.u(bufferDelayLength); //                                encoder_buffer_delay
        r.u(1); //                                                low_delay_mode_flag
      }
      if (initialDisplayDelay && r.u(1) === 1) r.u(4); //         initial_display_delay_present_for_this_op
    }
  }
  const widthBits = r.u(4) + 1;
  const heightBits = r.u(4) + 1;
  r.u(widthBits); //                                              max_frame_width_minus_1
  const height = r.u(heightBits) + 1; //                          max_frame_height_minus_1
  if (!reduced && r.u(1) === 1) r.u(7); //                        frame_id_numbers_present_flag, delta/additional lengths
  r.u(3); //                                                      use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!reduced) {
    r.u(4); //                                                    interintra, masked compound, warped motion, dual filter
    const orderHint = r.u(1) === 1; //                            enable_order_hint
    if (orderHint) r.u(2); //                                     enable_jnt_comp, enable_ref_frame_mvs
    const screenTools = r.u(1) === 1 ? 2 : r.u(1); //             seq_choose_screen_content_tools / seq_force_screen_content_tools
    if (screenTools > 0 && r.u(1) === 0) r.u(1); //               seq_choose_integer_mv / seq_force_integer_mv
    if (orderHint) r.u(3); //                                     order_hint_bits_minus_1
  }
  r.u(3); //                                                      enable_superres, enable_cdef, enable_restoration
  const high = r.u(1) === 1; //                                   high_bitdepth
  if (profile === 2 && high) r.u(1); //                           twelve_bit
  const mono = profile === 1 ? false : r.u(1) === 1; //           mono_chrome
  if (r.u(1) === 0) {
    //                                                            color_description_present_flag
    return { described: false, colour: { fullRange: r.u(1) === 1 }, height };
  }
  const primaries = r.u(8);
  const transfer = r.u(8);
  const matrix = r.u(8);
  const srgb = !mono && primaries === 1 && transfer === 13 && matrix === 0;
  const fullRange = srgb ? true : r.u(1) === 1; //                color_range
  return { described: true, colour: fromCodes(primaries, transfer, matrix, fullRange), height };
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** H.264: the first SPS of an AVCDecoderConfigurationRecord (ISO 14496-15 §5.3.3) up to the VUI's colour fields (H.264 §7.3.2.1.1, E.1.1). */
export function avcColour(avcC: Uint8Array): BitstreamColour | null {
  try {
    if (avcC.length < 8 || avcC[0] !== 1) return null;
    const count = (avcC[5] as number) & 0x1f; //                  numOfSequenceParameterSets
    if (count === 0) return null;
    const length = ((avcC[6] as number) << 8) | (avcC[7] as number);
    const nal = avcC.subarray(8, 8 + length);
    if (nal.length !== length || ((nal[0] as number) & 0x1f) !== 7) return null;
    const r = new BitReader(removeEmulationPrevention(nal.subarray(1)));
    const profile = r.u(8); //                                    profile_idc
    r.u(16); //                                                   constraint flags, level_idc
    r.ue(); //                                                    seq_parameter_set_id
    let chroma = 1;
    if (HIGH_PROFILES.has(profile)) {
      chroma = r.ue(); //                                         chroma_format_idc
      if (chroma === 3) r.u(1); //                                separate_colour_plane_flag
      r.ue(); //                                                  bit_depth_luma_minus8
      r.ue(); //                                                  bit_depth_chroma_minus8
      r.u(1); //                                                  qpprime_y_zero_transform_bypass_flag
      if (r.u(1) === 1) {
        //                                                        seq_scaling_matrix_present_flag
        for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) {
          if (r.u(1) === 0) continue; //                          seq_scaling_list_present_flag[i]
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
            if (next !== 0) next = (last + r.se() + 256) % 256; // delta_scale
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue(); //                                                    log2_max_frame_num_minus4
    const pocType = r.ue(); //                                    pic_order_cnt_type
    if (pocType === 0)
      r.ue(); //                                 log2_max_pic_order_cnt_lsb_minus4
    else if (pocType === 1) {
      r.u(1); //                                                  delta_pic_order_always_zero_flag
      r.se(); //                                                  offset_for_non_ref_pic
      r.se(); //                                                  offset_for_top_to_bottom_field
      const n = r.ue(); //                                        num_ref_frames_in_pic_order_cnt_cycle
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue(); //                                                    max_num_ref_frames
    r.u(1); //                                                    gaps_in_frame_num_value_allowed_flag
    r.ue(); //                                                    pic_width_in_mbs_minus1
    const heightUnits = r.ue() + 1; //                            pic_height_in_map_units_minus1
    const frameMbsOnly = r.u(1); //                               frame_mbs_only_flag
    if (frameMbsOnly === 0) r.u(1); //                            mb_adaptive_frame_field_flag
    r.u(1); //                                                    direct_8x8_inference_flag
    let cropUnits = 0;
    if (r.u(1) === 1) {
      //                                                          frame_cropping_flag
      r.ue();
      r.ue();
      cropUnits = r.ue() + r.ue(); //                             top + bottom offsets
    }
    const cropUnitY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const height = heightUnits * 16 * (2 - frameMbsOnly) - cropUnits * cropUnitY;
    const none: BitstreamColour = { described: false, colour: {}, height };
    if (r.u(1) === 0) return none; //                             vui_parameters_present_flag
    if (r.u(1) === 1 && r.u(8) === 255) r.u(32); //               aspect_ratio_info_present_flag, aspect_ratio_idc, sar
    if (r.u(1) === 1) r.u(1); //                                  overscan_info_present_flag, overscan_appropriate_flag
    if (r.u(1) === 0) return none; //                             video_signal_type_present_flag
    r.u(3); //                                                    video_format
    const fullRange = r.u(1) === 1; //                            video_full_range_flag
    if (r.u(1) === 0) return { described: false, colour: { fullRange }, height }; // colour_description_present_flag
    return { described: true, colour: fromCodes(r.u(8), r.u(8), r.u(8), fullRange), height };
  } catch {
    return null;
  }
}

/**
 * The colour space to give a decoder (or a sample entry) for a track: the
 * container's description, else the bitstream's (left to the decoder), else
 * ffmpeg's untagged default. Undefined means "the bitstream says; leave it".
 */
export function trackColourSpace(codec: string, config: Uint8Array, extra: Record<string, unknown>): ColourSpace | undefined {
  const stored = colourOfExtra(extra);
  if (stored !== null) return stored;
  const own = /^avc[13]\./.test(codec) ? avcColour(config) : /^av01\./.test(codec) ? av1Colour(config) : null;
  if (own?.described === true) return undefined;
  return { ...UNTAGGED_DEFAULT, ...(own?.colour.fullRange === undefined ? {} : { fullRange: own.colour.fullRange }) };
}
