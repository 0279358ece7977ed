/**
 * Frame kind (I/P/B) of a video packet, where the bitstream says it cheaply:
 * H.264 from the first slice header (ITU-T H.264 §7.3.3, slice_type); VP8,
 * VP9 and AV1 have no B-frames (key → I, else P); HEVC and others by
 * presentation order (a frame shown before one decoded earlier is a B-frame).
 */
import type { FrameKind } from '../../format/constants.js';

/** Stateful per track: the reorder rule needs the largest pts seen so far. */
export class FrameKindDetector {
  private maxPts = -Infinity;
  private readonly nalLengthSize: number;

  constructor(
    private readonly mediaCodec: string,
    config: Uint8Array,
  ) {
    // avcC byte 4: lengthSizeMinusOne in the two low bits.
    this.nalLengthSize = mediaCodec === 'avc' && config.length > 4 ? ((config[4] as number) & 3) + 1 : 4;
  }

  /** The kind of a video packet; null when not derivable. */
  detect(data: Uint8Array, pts: number, keyframe: boolean): FrameKind | null {
    const reordered = pts < this.maxPts;
    this.maxPts = Math.max(this.maxPts, pts);
    switch (this.mediaCodec) {
      case 'avc':
        return h264SliceKind(data, this.nalLengthSize) ?? (keyframe ? 'I' : null);
      case 'vp8':
      case 'vp9':
      case 'av1':
        return keyframe ? 'I' : 'P';
      default:
        if (keyframe) return 'I';
        return reordered ? 'B' : 'P';
    }
  }
}

/** slice_type of the first coded slice (NAL type 1 or 5) of a length-prefixed access unit. */
export function h264SliceKind(data: Uint8Array, lengthSize: number): FrameKind | null {
  let at = 0;
  while (at + lengthSize < data.length) {
    let length = 0;
    for (let i = 0; i < lengthSize; i++) length = length * 256 + (data[at + i] as number);
    const start = at + lengthSize;
    if (length === 0 || start + length > data.length) return null;
    const type = (data[start] as number) & 0x1f;
    if (type === 1 || type === 5) {
      const bits = new BitReader(removeEmulationPrevention(data.subarray(start + 1, Math.min(start + length, start + 17))));
      bits.ue(); // first_mb_in_slice
      const sliceType = bits.ue();
      if (sliceType === null) return null;
      return (['P', 'B', 'I', 'P', 'I'] as const)[sliceType % 5] ?? null;
    }
    at = start + length;
  }
  return null;
}

/** Removes emulation-prevention bytes (00 00 03 → 00 00). */
function removeEmulationPrevention(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const b of bytes) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

class BitReader {
  private bit = 0;
  constructor(private readonly bytes: Uint8Array) {}
  private read(): number | null {
    const byte = this.bytes[this.bit >> 3];
    if (byte === undefined) return null;
    const v = (byte >> (7 - (this.bit & 7))) & 1;
    this.bit++;
    return v;
  }
  /** Unsigned Exp-Golomb; null past the end. */
  ue(): number | null {
    let zeros = 0;
    for (;;) {
      const b = this.read();
      if (b === null || zeros > 31) return null;
      if (b === 1) break;
      zeros++;
    }
    let v = 0;
    for (let i = 0; i < zeros; i++) {
      const b = this.read();
      if (b === null) return null;
      v = v * 2 + b;
    }
    return 2 ** zeros - 1 + v;
  }
}
