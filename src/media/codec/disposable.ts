/**
 * Frames no other frame references ("disposable"), from the first slice's
 * NAL header: H.264 nal_ref_idc = 0 (ITU-T H.264 §7.4.1), HEVC sub-layer
 * non-reference pictures (TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N and the
 * reserved even types below 16, ITU-T H.265 §7.4.2.2). A decoder asked for
 * one frame of a GOP can skip every disposable frame but that one: for
 * streams with B-frames that is about half the decoding of a seek.
 * Other codecs: never disposable (false).
 */

/** Bytes of each NAL unit's length prefix, from an avcC (byte 4) or hvcC (byte 21); null when the record is not one. */
export function nalLengthSize(codec: string, config: Uint8Array): number | null {
  if (/^avc[13]\./.test(codec) && config.length >= 7 && config[0] === 1) return ((config[4] as number) & 3) + 1;
  if (/^(hvc1|hev1)\./.test(codec) && config.length >= 23 && config[0] === 1) return ((config[21] as number) & 3) + 1;
  return null;
}

/** True when the access unit `payload` (length-prefixed NAL units) is a frame no other frame references. */
export function isDisposable(codec: string, lengthSize: number | null, payload: Uint8Array): boolean {
  if (lengthSize === null) return false;
  const hevc = /^(hvc1|hev1)\./.test(codec);
  let at = 0;
  while (at + lengthSize < payload.length) {
    let length = 0;
    for (let i = 0; i < lengthSize; i++) length = length * 256 + (payload[at + i] as number);
    const nal = at + lengthSize;
    if (length === 0 || nal + length > payload.length) return false;
    const header = payload[nal] as number;
    if (hevc) {
      const type = (header >> 1) & 0x3f;
      if (type < 32) return type < 16 && type % 2 === 0; // the first VCL NAL unit decides
    } else {
      const type = header & 0x1f;
      if (type === 1 || type === 5) return (header & 0x60) === 0; // the first slice decides
    }
    at = nal + length;
  }
  return false;
}
