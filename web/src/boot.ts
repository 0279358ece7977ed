/**
 * The page's first script, a few hundred bytes loaded `async` ahead of the
 * main bundle (web/vite.config.ts emits it as assets/boot-HASH.js and puts
 * it first in <head>): when the address names a served container
 * (`#container=NAME`), it sends the open request (the suffix read of the
 * index, the same request the reader's HttpSource sends first) at once, so
 * the index travels while the main script loads and evaluates. The session
 * takes that response for the reader's first request when the request is
 * the same (see takeEarlyOpen in session.ts); otherwise it is dropped.
 *
 * Standalone on purpose: it imports nothing, so it stays tiny.
 */

/** Must equal OPEN_BYTES in session.ts (the reader's first, suffix read). */
const OPEN_BYTES = 512 * 1024;

export {};

(() => {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const name = params.get('container');
  if (name === null || name === '') return;
  const expires = params.get('expires');
  const sig = params.get('sig');
  const query = expires !== null && sig !== null ? `?${new URLSearchParams({ expires, sig }).toString()}` : '';
  const url = new URL(`v1/containers/${encodeURIComponent(name)}${query}`, document.baseURI).href;
  let token: string | null = null;
  try {
    token = sessionStorage.getItem('h4mk-read-token');
  } catch {
    token = null;
  }
  const range = `bytes=-${OPEN_BYTES}`;
  const authorization = token === null || token === '' ? null : `Bearer ${token}`;
  const headers: Record<string, string> = { range };
  if (authorization !== null) headers.authorization = authorization;
  const response = fetch(url, { method: 'GET', headers, redirect: 'follow' });
  // Unhandled until the session takes it (or never, when it does not match).
  response.catch(() => undefined);
  (globalThis as { h4mkEarlyOpen?: unknown }).h4mkEarlyOpen = { url, range, authorization, response };
})();
