/**
 * Access to a private server: a read token (typed once, kept in this tab's
 * sessionStorage, sent as `Authorization: Bearer` to this server only, never
 * put in a URL) or a signed URL from `h4mk share`
 * (`…/v1/containers/NAME?expires=…&sig=…`), which the page opens as it is.
 */

const TOKEN_KEY = 'h4mk-read-token';

/** The read token of this tab, or null. */
export function readToken(): string | null {
  try {
    const t = sessionStorage.getItem(TOKEN_KEY);
    return t === null || t === '' ? null : t;
  } catch {
    return null;
  }
}

/** Keeps (or, with an empty string, forgets) the read token for this tab. */
export function setReadToken(token: string): void {
  try {
    if (token.trim() === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token.trim());
  } catch {
    // Storage refused (private mode): the token lasts until the page is reloaded.
    memoryToken = token.trim();
  }
}

let memoryToken = '';

/** Headers for a request to this server: the read token when there is one. */
export function authHeaders(): Record<string, string> {
  const token = readToken() ?? (memoryToken === '' ? null : memoryToken);
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** A container named by a URL of this server: its name and the query (`?expires=…&sig=…`, or ''). */
export type ContainerAddress = { name: string; query: string };

/**
 * Parses what the user pasted: a signed URL of this server (absolute or a
 * path), or a container name. Throws a TypeError saying why it cannot be
 * opened here (another origin: the page's Content-Security-Policy lets it
 * read its own server only).
 */
export function parseContainerAddress(text: string, base: string = document.baseURI): ContainerAddress {
  const trimmed = text.trim();
  if (trimmed === '') throw new TypeError('paste a signed URL (…/v1/containers/NAME?expires=…&sig=…) or a container name');
  if (!trimmed.includes('/') && !trimmed.includes('?')) return { name: trimmed, query: '' };
  let url: URL;
  try {
    url = new URL(trimmed, base);
  } catch {
    throw new TypeError('not a URL');
  }
  if (url.origin !== new URL(base).origin)
    throw new TypeError(`this page reads from its own server only (${new URL(base).origin}); open the inspector of ${url.origin} instead`);
  const m = /\/v1\/containers\/([^/?#]+)$/.exec(url.pathname);
  if (m === null) throw new TypeError('not a container URL: expected …/v1/containers/NAME');
  const query = new URLSearchParams();
  for (const key of ['expires', 'sig']) {
    const v = url.searchParams.get(key);
    if (v !== null) query.set(key, v);
  }
  const q = query.toString();
  return { name: decodeURIComponent(m[1] as string), query: q === '' ? '' : `?${q}` };
}
