/**
 * H.264/HEVC bitstream helpers shared by the importer (reorder depth) and the
 * inspector (colour description): NAL payload → RBSP and an MSB-first bit
 * reader with Exp-Golomb codes. No platform dependencies.
 */

/** NAL payload → RBSP: drops the 0x03 of every 0x000003 (H.264 §7.4.1). */
export function removeEmulationPrevention(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const x of bytes) {
    if (zeros >= 2 && x === 3) {
      zeros = 0;
      continue;
    }
    out.push(x);
    zeros = x === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** Reads bits MSB first from an RBSP; past the end is a RangeError (callers catch it). */
export class BitReader {
  private bit = 0;
  constructor(private readonly bytes: Uint8Array) {}

  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.bit >> 3];
      if (byte === undefined) throw new RangeError('SPS ended early');
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }

  /** ue(v): Exp-Golomb (H.264 §9.1). */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** se(v). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}
