/**
 * The form for a private server: a read token (kept in this tab, sent only
 * as a header to this server) and a signed URL from `h4mk share` (opened
 * as it is). Shown when the server answers 401/403, and folded under the
 * container list otherwise.
 */
import { parseContainerAddress, readToken, setReadToken } from './access.js';
import { errorText, h, replaceChildren } from './dom.js';

/** The form; `open` is given the fragment to go to for a signed URL, `retry` runs once a token is set. */
export function accessForm(retry: () => void, open: boolean): HTMLElement {
  const status = h('p', { class: 'small', 'data-testid': 'access-status' });
  const token = h('input', {
    type: 'password',
    class: 'key-input',
    'data-testid': 'read-token',
    autocomplete: 'off',
    'aria-label': 'read token',
    placeholder: 'read token',
  });
  const url = h('input', {
    type: 'url',
    class: 'key-input',
    'data-testid': 'signed-url',
    autocomplete: 'off',
    'aria-label': 'signed URL',
    placeholder: 'https://…/v1/containers/NAME?expires=…&sig=…',
  });
  const useToken = (): void => {
    setReadToken(token.value);
    token.value = '';
    replaceChildren(status, readToken() === null ? 'Token forgotten.' : 'Token kept for this tab; it is sent to this server only, as a header.');
    retry();
  };
  const useUrl = (): void => {
    try {
      const a = parseContainerAddress(url.value);
      const signed = a.query === '' ? '' : `&${a.query.slice(1)}`;
      location.hash = `#container=${encodeURIComponent(a.name)}${signed}`;
    } catch (error) {
      replaceChildren(status, h('span', { class: 'error' }, errorText(error)));
    }
  };
  token.addEventListener('keydown', (e) => e.key === 'Enter' && useToken());
  url.addEventListener('keydown', (e) => e.key === 'Enter' && useUrl());
  return h(
    'details',
    { class: 'access', 'data-testid': 'access', ...(open ? { open: '' } : {}) },
    h('summary', {}, 'Private server: a read token or a signed URL'),
    h(
      'p',
      { class: 'muted small' },
      'A read token (h4mk serve --read-token-file) is kept in this tab only and sent to this server as Authorization: Bearer, never in a URL. A signed URL (h4mk share) opens its one container until it expires.',
    ),
    h('div', { class: 'key-buttons' }, token, h('button', { type: 'button', 'data-testid': 'use-token', onclick: useToken }, 'Use the token')),
    h('div', { class: 'key-buttons' }, url, h('button', { type: 'button', 'data-testid': 'open-url', onclick: useUrl }, 'Open')),
    status,
  );
}
