/** Small helpers shared by the media modules. */

/** Greatest common divisor of two non-negative integers. */
export function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** `value · num / den` rounded to the nearest integer, halves away from zero (ffmpeg's AV_ROUND_NEAR_INF). */
export function rescale(value: number, num: number, den: number): number {
  const big = BigInt(Math.round(value)) * BigInt(num);
  const d = BigInt(den);
  const neg = big < 0n;
  const abs = neg ? -big : big;
  const q = (abs + d / 2n) / d;
  return Number(neg ? -q : q);
}

/** A growable Float64 array (per-track timestamps of a large file). */
export class GrowableF64 {
  private data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  at(i: number): number {
    return this.data[i] as number;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}
