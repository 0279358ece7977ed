/**
 * Vorbis packet durations (Vorbis I §4.3.8: a packet completes
 * `previous/4 + current/4` samples, the two block sizes picked by the
 * packet's mode), computed as ffmpeg's Vorbis parser (libavcodec/
 * vorbis_parser.c) does, so that frames a Matroska block laces without a
 * DefaultDuration get the timestamps ffmpeg gives them. The modes' block
 * flags are found by reading the setup header backwards from its framing
 * bit, ffmpeg's (and liboggz's) shortcut past the codebooks.
 */

/** Splits a Matroska/WebM Vorbis CodecPrivate (Xiph-laced, or 16-bit size-prefixed) into its three headers. */
export function splitXiphHeaders(data: Uint8Array, firstHeaderSize = 30): Uint8Array[] | null {
  if (data.length >= 6 && (((data[0] as number) << 8) | (data[1] as number)) === firstHeaderSize) {
    const out: Uint8Array[] = [];
    let at = 0;
    for (let i = 0; i < 3; i++) {
      if (at + 2 > data.length) return null;
      const n = ((data[at] as number) << 8) | (data[at + 1] as number);
      at += 2;
      if (at + n > data.length) return null;
      out.push(data.subarray(at, at + n));
      at += n;
    }
    return out;
  }
  if (data.length < 3 || data[0] !== 2) return null;
  const lengths: number[] = [];
  let at = 1;
  for (let i = 0; i < 2; i++) {
    let n = 0;
    for (;;) {
      const b = data[at++];
      if (b === undefined) return null;
      n += b;
      if (b !== 255) break;
    }
    lengths.push(n);
  }
  const a = lengths[0] as number;
  const b = lengths[1] as number;
  if (at + a + b > data.length) return null;
  return [data.subarray(at, at + a), data.subarray(at + a, at + a + b), data.subarray(at + a + b)];
}

/** Reads bits most-significant first from the reversed bytes of a header (that is, the header's bits backwards). */
class BackwardBits {
  private readonly bytes: Uint8Array;
  position = 0;
  constructor(header: Uint8Array) {
    this.bytes = header.slice().reverse();
  }
  get left(): number {
    return this.bytes.length * 8 - this.position;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.position >> 3] ?? 0;
      v = v * 2 + ((byte >> (7 - (this.position & 7))) & 1);
      this.position++;
    }
    return v;
  }
}

/** The per-stream state of the duration computation. */
export class VorbisDurations {
  private previous: number;

  private constructor(
    /** Sample rate of the identification header. */
    readonly sampleRate: number,
    private readonly blocksize: [number, number],
    private readonly modeBlockflag: number[],
    private readonly modeMask: number,
    private readonly prevMask: number,
  ) {
    this.previous = blocksize[(modeBlockflag[0] ?? 0) as 0 | 1];
  }

  /** From a Matroska CodecPrivate; null when the headers cannot be read. */
  static fromCodecPrivate(codecPrivate: Uint8Array): VorbisDurations | null {
    const headers = splitXiphHeaders(codecPrivate);
    if (headers === null) return null;
    const [id, , setup] = headers as [Uint8Array, Uint8Array, Uint8Array];
    if (id.length < 30 || id[0] !== 1 || String.fromCharCode(...id.subarray(1, 7)) !== 'vorbis') return null;
    const sampleRate = new DataView(id.buffer, id.byteOffset, id.byteLength).getUint32(12, true);
    const sizes = id[28] as number;
    const blocksize: [number, number] = [1 << (sizes & 15), 1 << (sizes >> 4)];
    if (setup.length < 7 || setup[0] !== 5 || String.fromCharCode(...setup.subarray(1, 7)) !== 'vorbis') return null;
    const gb = new BackwardBits(setup);
    let framing = 0;
    while (gb.left > 97) {
      if (gb.bits(1) === 1) {
        framing = gb.position;
        break;
      }
    }
    if (framing === 0) return null;
    // Walk back over mode entries (8-bit mapping ≤ 63, two 16-bit zeros, the block flag) while a 6-bit mode count fits.
    let modes = 0;
    let found = 0;
    while (gb.left >= 97) {
      if (gb.bits(8) > 63 || gb.bits(16) !== 0 || gb.bits(16) !== 0) break;
      gb.bits(1);
      modes++;
      if (modes > 64) break;
      const saved = gb.position;
      if (gb.bits(6) + 1 === modes) found = modes;
      gb.position = saved;
    }
    if (found === 0 || found > 63) return null;
    const log2 = found - 1 === 0 ? 0 : Math.floor(Math.log2(found - 1));
    const modeMask = ((1 << (log2 + 1)) - 1) << 1;
    const prevMask = (modeMask | 1) + 1;
    gb.position = framing;
    const modeBlockflag = new Array<number>(found).fill(0);
    for (let i = found - 1; i >= 0; i--) {
      gb.bits(40);
      modeBlockflag[i] = gb.bits(1);
    }
    return new VorbisDurations(sampleRate, blocksize, modeBlockflag, modeMask, prevMask);
  }

  /** Samples the audio packet completes (0 for a header packet); null for a malformed one. Call once per packet, in order. */
  samples(packet: Uint8Array): number | null {
    const first = packet[0];
    if (first === undefined) return null;
    if ((first & 1) !== 0) return first === 1 || first === 3 || first === 5 ? 0 : null;
    const mode = this.modeBlockflag.length === 1 ? 0 : (first & this.modeMask) >> 1;
    const flag = this.modeBlockflag[mode];
    if (flag === undefined) return null;
    let previous = this.previous;
    if (flag === 1) previous = this.blocksize[(first & this.prevMask) !== 0 ? 1 : 0];
    const current = this.blocksize[flag as 0 | 1];
    this.previous = current;
    return (previous + current) >> 2;
  }
}
