/**
 * The reorder depth a video decoder announces: H.264 `max_num_reorder_frames`
 * (ITU-T H.264 §E.1.1, VUI bitstream_restriction) and HEVC
 * `sps_max_num_reorder_pics` (ITU-T H.265 §7.3.2.2). ffmpeg derives Matroska
 * decode times with this depth, so the importer uses it too when the stream
 * reorders less than it announces. Returns null when not stated.
 */
import { BitReader, removeEmulationPrevention } from './rbsp.js';

/** Reads the first SPS of an avcC / hvcC record and returns its reorder depth. */
export function announcedReorderDepth(mediaCodec: string, config: Uint8Array): number | null {
  try {
    if (mediaCodec === 'avc') return avcReorder(config);
    if (mediaCodec === 'hevc') return hevcReorder(config);
  } catch {
    // A configuration we cannot parse states nothing.
  }
  return null;
}

function avcReorder(avcC: Uint8Array): number | null {
  if (avcC.length < 8 || avcC[0] !== 1 || ((avcC[5] as number) & 0x1f) === 0) return null;
  const length = ((avcC[6] as number) << 8) | (avcC[7] as number);
  const b = new BitReader(removeEmulationPrevention(avcC.subarray(9, 8 + length)));
  const profile = b.u(8);
  b.u(16); // constraint flags, level
  b.ue(); // seq_parameter_set_id
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    const chroma = b.ue();
    if (chroma === 3) b.u(1);
    b.ue();
    b.ue();
    b.u(1);
    if (b.u(1) === 1) {
      for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) {
        if (b.u(1) === 0) continue;
        let last = 8;
        let next = 8;
        for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
          if (next !== 0) next = (last + b.se() + 256) % 256;
          last = next === 0 ? last : next;
        }
      }
    }
  }
  b.ue(); // log2_max_frame_num_minus4
  const pocType = b.ue();
  if (pocType === 0) b.ue();
  else if (pocType === 1) {
    b.u(1);
    b.se();
    b.se();
    const n = b.ue();
    for (let i = 0; i < n; i++) b.se();
  }
  b.ue(); // max_num_ref_frames
  b.u(1);
  b.ue();
  b.ue();
  if (b.u(1) === 0) b.u(1); // frame_mbs_only_flag, mb_adaptive_frame_field_flag
  b.u(1);
  if (b.u(1) === 1) for (let i = 0; i < 4; i++) b.ue();
  if (b.u(1) === 0) return profile === 66 ? 0 : null; // no VUI
  if (b.u(1) === 1 && b.u(8) === 255) b.u(32);
  if (b.u(1) === 1) b.u(1);
  if (b.u(1) === 1) {
    b.u(4);
    if (b.u(1) === 1) b.u(24);
  }
  if (b.u(1) === 1) {
    b.ue();
    b.ue();
  }
  if (b.u(1) === 1) {
    b.u(32);
    b.u(32);
    b.u(1);
  }
  const nal = b.u(1) === 1;
  if (nal) hrd(b);
  const vcl = b.u(1) === 1;
  if (vcl) hrd(b);
  if (nal || vcl) b.u(1);
  b.u(1); // pic_struct_present_flag
  if (b.u(1) === 0) return profile === 66 ? 0 : null;
  b.u(1);
  for (let i = 0; i < 4; i++) b.ue();
  return b.ue();
}

function hrd(b: BitReader): void {
  const count = b.ue() + 1;
  b.u(8);
  for (let i = 0; i < count; i++) {
    b.ue();
    b.ue();
    b.u(1);
  }
  b.u(20);
}

function hevcReorder(hvcC: Uint8Array): number | null {
  if (hvcC.length < 23) return null;
  let at = 23;
  for (let a = 0; a < (hvcC[22] as number); a++) {
    const type = (hvcC[at] as number) & 0x3f;
    const count = ((hvcC[at + 1] as number) << 8) | (hvcC[at + 2] as number);
    at += 3;
    for (let n = 0; n < count; n++) {
      const length = ((hvcC[at] as number) << 8) | (hvcC[at + 1] as number);
      if (type === 33) return hevcSpsReorder(removeEmulationPrevention(hvcC.subarray(at + 4, at + 2 + length)));
      at += 2 + length;
    }
  }
  return null;
}

function hevcSpsReorder(sps: Uint8Array): number {
  const b = new BitReader(sps);
  b.u(4);
  const maxSub = b.u(3);
  b.u(1);
  b.u(32);
  b.u(32);
  b.u(32); // general profile_tier_level: 96 bits
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSub; i++) {
    profilePresent.push(b.u(1) === 1);
    levelPresent.push(b.u(1) === 1);
  }
  if (maxSub > 0) for (let i = maxSub; i < 8; i++) b.u(2);
  for (let i = 0; i < maxSub; i++) {
    if (profilePresent[i]) {
      b.u(32);
      b.u(32);
      b.u(24);
    }
    if (levelPresent[i]) b.u(8);
  }
  b.ue();
  if (b.ue() === 3) b.u(1);
  b.ue();
  b.ue();
  if (b.u(1) === 1) for (let i = 0; i < 4; i++) b.ue();
  b.ue();
  b.ue();
  b.ue();
  const all = b.u(1) === 1;
  let reorder = 0;
  for (let i = all ? 0 : maxSub; i <= maxSub; i++) {
    b.ue();
    reorder = b.ue();
    b.ue();
  }
  return reorder;
}
