/** Small statistics and formatting helpers for the benchmarks. */

/** Sorted copy of numbers. */
function sorted(xs) {
  return Float64Array.from(xs).sort();
}

/** Nearest-rank percentile (p in [0, 100]). */
export function percentile(xs, p) {
  if (xs.length === 0) return Number.NaN;
  const s = sorted(xs);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

export function median(xs) {
  if (xs.length === 0) return Number.NaN;
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summary(xs) {
  return { median: median(xs), p99: percentile(xs, 99), min: percentile(xs, 0), max: percentile(xs, 100), n: xs.length };
}

export const now = () => process.hrtime.bigint();
export const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

export function fmtBytes(n) {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1 << 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (abs >= 1 << 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (abs >= 1 << 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function fmtInt(n) {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtNum(n, digits = 2) {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

/** Prints rows [label, value, note] as an aligned table. */
export function table(title, rows) {
  const w0 = Math.max(...rows.map((r) => String(r[0]).length));
  const w1 = Math.max(...rows.map((r) => String(r[1]).length));
  const lines = [`\n== ${title} ==`];
  for (const [a, b, c] of rows) lines.push(`  ${String(a).padEnd(w0)}  ${String(b).padStart(w1)}${c ? `  ${c}` : ''}`);
  console.log(lines.join('\n'));
}
