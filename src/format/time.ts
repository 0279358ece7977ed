/**
 * §2.4 Timestamps are integer ticks of the track's timescale; microsecond
 * views are derived exactly (floor division, BigInt when a product is large).
 */

const MICROS = 1_000_000;

function floorDiv(a: number, b: number, c: number): number {
  // floor(a · b / c) for safe integers, exactly.
  const product = a * b;
  if (Number.isSafeInteger(product)) {
    let q = Math.floor(product / c);
    if (q * c > product) q--;
    else if ((q + 1) * c <= product) q++;
    return q;
  }
  const big = BigInt(a) * BigInt(b);
  const bc = BigInt(c);
  let q = big / bc;
  if (big % bc !== 0n && big < 0n) q -= 1n;
  return Number(q);
}

/** Ticks → microseconds, rounded down (exact for µs timescales). */
export function ticksToUs(ticks: number, timescale: number): number {
  return timescale === MICROS ? ticks : floorDiv(ticks, MICROS, timescale);
}

/** The largest tick count t with ticksToUs(t) ≤ `us`, i.e. floor(us · timescale / 10^6). */
export function usToTicksFloor(us: number, timescale: number): number {
  return timescale === MICROS ? us : floorDiv(us, timescale, MICROS);
}

/** Microseconds → ticks, only when exact; otherwise a RangeError. */
export function usToTicksExact(us: number, timescale: number, what: string): number {
  if (timescale === MICROS) return us;
  const product = BigInt(us) * BigInt(timescale);
  if (product % 1_000_000n !== 0n) throw new RangeError(`${what} ${us} µs is not a whole number of 1/${timescale} s ticks; give ticks instead`);
  return Number(product / 1_000_000n);
}
