/** Small DOM and formatting helpers for the inspector (no framework). */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/**
 * Creates an element. `attrs` keys starting with "on" add listeners; `true`
 * sets a boolean attribute; null, undefined and false are skipped. Text is
 * always set as text (never parsed as HTML): container data is untrusted.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, ...children);
  return el;
}

/** Appends children (strings become text nodes). */
export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces the children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** The element with `id`, or an Error naming it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`missing element #${id}`);
  return el as T;
}

/** 1234567 → "1.18 MiB"; below 1 KiB in bytes. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** 1234567 → "1 234 567" (thin grouping, for exact byte counts). */
export function formatInteger(n: number): string {
  return Math.round(n).toLocaleString('en-US').replace(/,/g, '\u202f');
}

/** µs → "1.240 s" (or "1:02.500" from a minute on). */
export function formatTime(us: number | null | undefined): string {
  if (us === null || us === undefined || !Number.isFinite(us)) return '–';
  const sign = us < 0 ? '−' : '';
  const s = Math.abs(us) / 1e6;
  if (s < 60) return `${sign}${s.toFixed(3)} s`;
  const m = Math.floor(s / 60);
  return `${sign}${m}:${(s - m * 60).toFixed(3).padStart(6, '0')}`;
}

/** bits per second → "1.20 Mb/s". */
export function formatBitrate(bitsPerSecond: number): string {
  if (!Number.isFinite(bitsPerSecond) || bitsPerSecond <= 0) return '–';
  if (bitsPerSecond < 1e3) return `${bitsPerSecond.toFixed(0)} b/s`;
  if (bitsPerSecond < 1e6) return `${(bitsPerSecond / 1e3).toFixed(1)} kb/s`;
  return `${(bitsPerSecond / 1e6).toFixed(2)} Mb/s`;
}

/**
 * Parses a time typed by a user: seconds ("1.24", "1.24s"), "m:ss.fff" or
 * "h:mm:ss.fff", or microseconds with a "us"/"µs" suffix. Null when it is none.
 */
export function parseTime(text: string): number | null {
  const t = text.trim().replace(/\s+/g, '');
  let m = /^(-?\d+(?:\.\d+)?)(?:us|µs)$/.exec(t);
  if (m !== null) return Math.round(Number(m[1]));
  m = /^(-?\d+(?:\.\d+)?)s?$/.exec(t);
  if (m !== null) return Math.round(Number(m[1]) * 1e6);
  m = /^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(t);
  if (m !== null) return Math.round(((Number(m[1] ?? 0) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1e6);
  return null;
}

/** A short message of an error (H4mkError codes kept), never a stack. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && code.startsWith('E_') ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
