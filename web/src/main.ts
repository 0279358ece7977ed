/**
 * The h4mk inspector: the container list, the view of one container, and
 * local files. State lives in the URL fragment (`#container=NAME&t=SECONDS`)
 * so a view can be shared; keys and grants never go there.
 */
import './style.css';
import { installWebPlatform } from 'h4mk/web';
import { accessForm } from './access-form.js';
import { ContainerView } from './container-view.js';
import { byId, errorText, h, replaceChildren } from './dom.js';
import { renderList } from './list-view.js';
import { Session } from './session.js';

type Route = { container?: string; local?: string; t?: number; query: string };

const app = byId('app');
const fileInput = byId<HTMLInputElement>('file-input');
const dropHint = byId('drop-hint');

/** What is on screen. */
let current: { key: string; abort: AbortController; session?: Session; view?: ContainerView } | null = null;
/** The last local file opened (a File cannot be put in a URL). */
let localFile: File | null = null;

function parseRoute(): Route {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const route: Route = { query: '' };
  const container = params.get('container');
  const local = params.get('local');
  const t = params.get('t');
  if (container !== null && container !== '') route.container = container;
  if (local !== null && local !== '') route.local = local;
  if (t !== null && /^-?\d+(\.\d+)?$/.test(t)) route.t = Math.round(Number(t) * 1e6);
  // A signed URL's parameters (h4mk share): shareable like the URL itself.
  const expires = params.get('expires');
  const sig = params.get('sig');
  if (expires !== null && sig !== null) route.query = `?${new URLSearchParams({ expires, sig }).toString()}`;
  return route;
}

function fragment(kind: 'container' | 'local', name: string, us: number, query = ''): string {
  const signed = query === '' ? '' : `&${query.slice(1)}`;
  return `#${kind}=${encodeURIComponent(name)}${signed}&t=${(us / 1e6).toFixed(6)}`;
}

function close(): void {
  if (current === null) return;
  current.abort.abort();
  current.view?.destroy();
  void current.session?.close().catch(() => undefined);
  current = null;
}

async function show(key: string, title: string, open: () => Promise<Session>, kind: 'container' | 'local', t: number | undefined, query = ''): Promise<void> {
  close();
  const abort = new AbortController();
  current = { key, abort };
  const mine = current;
  replaceChildren(app, h('h1', {}, title), h('p', { class: 'muted', 'data-testid': 'opening' }, 'Opening: reading the index…'));
  let session: Session;
  try {
    session = await open();
  } catch (error) {
    if (current !== mine) return;
    // Nothing is open: the same address tried again (after a token is given) opens anew.
    mine.key = '';
    const denied = /answered HTTP 40[13]\b/.test(errorText(error));
    replaceChildren(app, h('h1', {}, title), h('p', { class: 'error', 'data-testid': 'open-error' }, `Cannot open it: ${errorText(error)}`));
    if (denied) app.append(accessForm(() => void route(), true));
    return;
  }
  if (current !== mine) {
    void session.close();
    return;
  }
  mine.session = session;
  const view = new ContainerView(app, session, {
    onTime: (us) => {
      if (current === mine) history.replaceState(null, '', fragment(kind, session.name, us, query));
    },
  });
  mine.view = view;
  app.dataset.view = 'container';
  const video = session.reader.tracks().find((x) => x.kind === 'video' && x.blockCount > 0);
  view.seek(t ?? video?.firstPtsUs ?? 0);
}

async function route(): Promise<void> {
  const r = parseRoute();
  if (r.container !== undefined) {
    const key = `container:${r.container}${r.query}`;
    if (current?.key === key) {
      if (r.t !== undefined && r.t !== current.view?.targetUs) current.view?.seek(r.t);
      return;
    }
    const name = r.container;
    const query = r.query;
    await show(key, name, () => Session.openServed(name, { query }), 'container', r.t, query);
    return;
  }
  if (r.local !== undefined) {
    if (current?.key === `local:${r.local}`) {
      if (r.t !== undefined && r.t !== current.view?.targetUs) current.view?.seek(r.t);
      return;
    }
    if (localFile !== null && localFile.name === r.local) {
      const file = localFile;
      await show(`local:${file.name}`, file.name, () => Session.openFile(file), 'local', r.t);
      return;
    }
    close();
    replaceChildren(
      app,
      h('h1', {}, r.local),
      h('p', { class: 'muted' }, 'This local file is not open in this page any more: choose it again with “Open a local file…” (files are never uploaded).'),
    );
    return;
  }
  close();
  app.dataset.view = 'list';
  const abort = new AbortController();
  current = { key: 'list', abort };
  await renderList(app, abort.signal);
}

async function openLocal(file: File): Promise<void> {
  localFile = file;
  history.replaceState(null, '', fragment('local', file.name, 0).replace(/&t=.*$/, ''));
  await show(`local:${file.name}`, file.name, () => Session.openFile(file), 'local', undefined);
}

fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  if (file !== undefined) void openLocal(file);
  fileInput.value = '';
});
window.addEventListener('dragover', (event) => {
  if (!event.dataTransfer?.types.includes('Files')) return;
  event.preventDefault();
  dropHint.hidden = false;
});
window.addEventListener('dragleave', (event) => {
  if (event.relatedTarget === null) dropHint.hidden = true;
});
window.addEventListener('drop', (event) => {
  event.preventDefault();
  dropHint.hidden = true;
  const file = event.dataTransfer?.files[0];
  if (file !== undefined) void openLocal(file);
});
window.addEventListener('hashchange', () => void route());

const platformStatus = byId('platform-status');
// The codecs register at once; zstd's wasm loads while the index is fetched (a session waits for it
// before it reads blocks), so the first picture does not wait for it.
installWebPlatform().then(
  () => replaceChildren(platformStatus, typeof VideoDecoder === 'undefined' ? 'no WebCodecs in this browser: index views only' : ''),
  (error: unknown) => replaceChildren(platformStatus, h('span', { class: 'error' }, `zstd decoder failed to load: ${errorText(error)}`)),
);
document.body.dataset.ready = 'true';
void route();
