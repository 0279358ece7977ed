/**
 * The colour space to assume when an H.264 stream does not say: browsers
 * take BT.709 for every unspecified stream, while encoders (ffmpeg, x264
 * fed by it) and players (ffmpeg, mpv, VLC) use BT.601 for standard
 * definition. Reading the SPS's VUI from the track's avcC tells whether the
 * stream says; only when it does not, and the picture is below 720 lines,
 * the decoder is told BT.601 (SMPTE 170M), keeping the stream's range flag.
 */
import { BitReader, removeEmulationPrevention } from '../../src/media/rbsp.js';

/** What the first SPS of an avcC says about colour. */
export type SpsColour = { height: number; fullRange: boolean | null; described: boolean };

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Parses the first SPS of an AVCDecoderConfigurationRecord (ISO 14496-15 §5.3.3) up to the VUI's colour fields (H.264 §7.3.2.1.1, E.1.1). */
export function avcColour(avcC: Uint8Array): SpsColour | null {
  try {
    if (avcC.length < 8 || avcC[0] !== 1) return null;
    const count = (avcC[5] as number) & 0x1f; //              numOfSequenceParameterSets
    if (count === 0) return null;
    const length = ((avcC[6] as number) << 8) | (avcC[7] as number); // sequenceParameterSetLength
    const nal = avcC.subarray(8, 8 + length);
    if (nal.length !== length || ((nal[0] as number) & 0x1f) !== 7) return null;
    const r = new BitReader(removeEmulationPrevention(nal.subarray(1)));
    const profile = r.u(8); //                                  profile_idc
    r.u(16); //                                                 constraint flags, level_idc
    r.ue(); //                                                  seq_parameter_set_id
    let chroma = 1;
    if (HIGH_PROFILES.has(profile)) {
      chroma = r.ue(); //                                       chroma_format_idc
      if (chroma === 3) r.u(1); //                              separate_colour_plane_flag
      r.ue(); //                                                bit_depth_luma_minus8
      r.ue(); //                                                bit_depth_chroma_minus8
      r.u(1); //                                                qpprime_y_zero_transform_bypass_flag
      if (r.u(1) === 1) {
        //                                                      seq_scaling_matrix_present_flag
        for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) {
          if (r.u(1) === 0) continue; //                        seq_scaling_list_present_flag[i]
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
            if (next !== 0) next = (last + r.se() + 256) % 256; // delta_scale
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue(); //                                                  log2_max_frame_num_minus4
    const pocType = r.ue(); //                                  pic_order_cnt_type
    if (pocType === 0) r.ue(); //                               log2_max_pic_order_cnt_lsb_minus4
    else if (pocType === 1) {
      r.u(1); //                                                delta_pic_order_always_zero_flag
      r.se(); //                                                offset_for_non_ref_pic
      r.se(); //                                                offset_for_top_to_bottom_field
      const n = r.ue(); //                                      num_ref_frames_in_pic_order_cnt_cycle
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue(); //                                                  max_num_ref_frames
    r.u(1); //                                                  gaps_in_frame_num_value_allowed_flag
    r.ue(); //                                                  pic_width_in_mbs_minus1
    const heightUnits = r.ue() + 1; //                          pic_height_in_map_units_minus1
    const frameMbsOnly = r.u(1); //                             frame_mbs_only_flag
    if (frameMbsOnly === 0) r.u(1); //                          mb_adaptive_frame_field_flag
    r.u(1); //                                                  direct_8x8_inference_flag
    let cropUnits = 0;
    if (r.u(1) === 1) {
      //                                                        frame_cropping_flag
      r.ue();
      r.ue();
      cropUnits = r.ue() + r.ue(); //                           top + bottom offsets
    }
    const cropUnitY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const height = heightUnits * 16 * (2 - frameMbsOnly) - cropUnits * cropUnitY;
    if (r.u(1) === 0) return { height, fullRange: null, described: false }; // vui_parameters_present_flag
    if (r.u(1) === 1 && r.u(8) === 255) r.u(32); //              aspect_ratio_info_present_flag, aspect_ratio_idc, sar
    if (r.u(1) === 1) r.u(1); //                                overscan_info_present_flag, overscan_appropriate_flag
    if (r.u(1) === 0) return { height, fullRange: null, described: false }; // video_signal_type_present_flag
    r.u(3); //                                                  video_format
    const fullRange = r.u(1) === 1; //                          video_full_range_flag
    const described = r.u(1) === 1; //                          colour_description_present_flag
    return { height, fullRange, described };
  } catch {
    return null;
  }
}

/**
 * The colour space a VideoDecoder should assume for `codec` with decoder
 * configuration `config`, or undefined to leave it to the stream and browser.
 */
export function assumedColourSpace(codec: string, config: Uint8Array): VideoColorSpaceInit | undefined {
  if (!/^avc[13]\./.test(codec) || config.length === 0) return undefined;
  const sps = avcColour(config);
  if (sps === null || sps.described || sps.height >= 720) return undefined;
  return { matrix: 'smpte170m', primaries: 'smpte170m', transfer: 'smpte170m', fullRange: sps.fullRange ?? false };
}
