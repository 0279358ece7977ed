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

/**
 * floor(us · timescale / 10^6): the tick at or before the instant `us`.
 * Note: this is not the largest t with ticksToUs(t) ≤ `us` (ticks of a
 * 1/90000 track that round down to `us` may lie after it); see
 * {@link lastTickAtOrBeforeUs}.
 */
export function usToTicksFloor(us: number, timescale: number): number {
  return timescale === MICROS ? us : floorDiv(us, timescale, MICROS);
}

/**
 * The largest tick count t with ticksToUs(t) ≤ `us` (integer `us`): the bound
 * for "blocks whose µs view is at or before `us`", as seek uses it.
 * t·10^6 < (us + 1)·timescale  ⇔  t ≤ floor(((us + 1)·timescale − 1) / 10^6).
 */
export function lastTickAtOrBeforeUs(us: number, timescale: number): number {
  if (timescale === MICROS) return us;
  // floor(((us + 1)·timescale − 1) / 10^6) = floor((us + 1)·timescale / 10^6), minus 1 when exact.
  const q = floorDiv(us + 1, timescale, MICROS);
  const exact = Number.isSafeInteger((us + 1) * timescale)
    ? q * MICROS === (us + 1) * timescale
    : BigInt(q) * BigInt(MICROS) === BigInt(us + 1) * BigInt(timescale);
  return exact ? q - 1 : q;
}

/** Microseconds → ticks, only when exact; otherwise a RangeError. */
export function usToTicksExact(us: number, timescale: number, what: string): number {
  if (timescale === MICROS) return us;
  const product = BigInt(us) * BigInt(timescale);
  if (product % 1_000_000n !== 0n) throw new RangeError(`${what} ${us} µs is not a whole number of 1/${timescale} s ticks; give ticks instead`);
  return Number(product / 1_000_000n);
}
