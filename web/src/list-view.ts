/**
 * The container list: GET /v1/containers (every page), then each
 * container's manifest for its tracks, duration, encryption and seal.
 */
import { authHeaders } from './access.js';
import { accessForm } from './access-form.js';
import { errorText, formatBytes, formatTime, h, replaceChildren } from './dom.js';

type ListPage = { items: { name: string; size: number; modified: string }[]; next_cursor: string | null };
type ManifestTrack = { id: string; kind: string; codec: string; duration_us: number | null; block_count: number };
type Manifest = {
  file_size: number;
  block_count: number;
  encrypted: boolean;
  seal: { signer: string; signed_at: number; valid: boolean } | null;
  tracks: ManifestTrack[];
};

/** Pages of the list fetched at most (100 names each). */
const MAX_PAGES = 50;

async function getJson<T>(path: string, signal: AbortSignal): Promise<T> {
  const response = await fetch(new URL(path, document.baseURI), { signal, headers: { accept: 'application/json', ...authHeaders() } });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      if (body.error?.message !== undefined) message = `${body.error.code ?? response.status}: ${body.error.message}`;
    } catch {
      // Not JSON: keep the status line.
    }
    throw Object.assign(new Error(message), { status: response.status });
  }
  return (await response.json()) as T;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

/** Renders the list into `root`. */
export async function renderList(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const status = h('p', { class: 'muted', 'data-testid': 'list-status' }, 'Loading the containers…');
  replaceChildren(root, h('h1', {}, 'Containers'), status);
  let items: ListPage['items'] = [];
  try {
    let cursor: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const r: ListPage = await getJson<ListPage>(`v1/containers?limit=100${query}`, signal);
      items = items.concat(r.items);
      cursor = r.next_cursor;
      if (cursor === null) break;
    }
  } catch (error) {
    if (signal.aborted) return;
    const denied = [401, 403].includes((error as { status?: number }).status ?? 0);
    replaceChildren(
      status,
      `No container list here (${errorText(error)}). `,
      denied
        ? 'This server is private: give a read token or open a signed URL below.'
        : 'This page lists containers when `h4mk serve DIR` serves it; a local file opens without any server (button above, or drop it here).',
    );
    root.append(accessForm(() => void renderList(root, signal), denied));
    return;
  }
  if (signal.aborted) return;
  if (items.length === 0) {
    replaceChildren(status, 'The served directory holds no container. Open a local file with the button above, or drop one here.');
    return;
  }
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'grid', 'data-testid': 'container-list' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'name'),
        h('th', { class: 'num' }, 'size'),
        h('th', {}, 'tracks'),
        h('th', { class: 'num' }, 'duration'),
        h('th', {}, 'encrypted'),
        h('th', {}, 'sealed'),
      ),
    ),
    body,
  );
  const rows = items.map((item) => {
    const cells = {
      tracks: h('td', {}, '…'),
      duration: h('td', { class: 'num' }, '…'),
      encrypted: h('td', {}, '…'),
      sealed: h('td', {}, '…'),
    };
    const row = h(
      'tr',
      { 'data-name': item.name },
      h('td', {}, h('a', { href: `#container=${encodeURIComponent(item.name)}` }, item.name)),
      h('td', { class: 'num', title: `${item.size} bytes` }, formatBytes(item.size)),
      cells.tracks,
      cells.duration,
      cells.encrypted,
      cells.sealed,
    );
    body.append(row);
    return { item, cells };
  });
  replaceChildren(status, `${items.length} container${items.length === 1 ? '' : 's'}`);
  root.append(
    table,
    accessForm(() => void renderList(root, signal), false),
  );
  await mapLimited(rows, 4, async ({ item, cells }) => {
    try {
      const m = await getJson<Manifest>(`v1/containers/${encodeURIComponent(item.name)}/manifest`, signal);
      replaceChildren(
        cells.tracks,
        ...m.tracks.flatMap((t, i) => [
          i > 0 ? ', ' : '',
          h('span', { class: `kind kind-${t.kind}`, title: `${t.block_count} blocks` }, `${t.kind} ${t.codec}`),
        ]),
      );
      const duration = Math.max(0, ...m.tracks.map((t) => t.duration_us ?? 0));
      replaceChildren(cells.duration, formatTime(duration));
      replaceChildren(cells.encrypted, m.encrypted ? h('span', { class: 'badge lock' }, 'encrypted') : 'no');
      replaceChildren(
        cells.sealed,
        m.seal === null
          ? 'no'
          : h(
              'span',
              { class: m.seal.valid ? 'badge ok' : 'badge bad', title: `signed ${new Date(m.seal.signed_at * 1000).toISOString()}` },
              `${m.seal.valid ? 'valid' : 'INVALID'} · ${m.seal.signer || 'anonymous'}`,
            ),
      );
    } catch (error) {
      if (signal.aborted) return;
      replaceChildren(cells.tracks, h('span', { class: 'error' }, errorText(error)));
      replaceChildren(cells.duration, '–');
      replaceChildren(cells.encrypted, '–');
      replaceChildren(cells.sealed, '–');
    }
  });
  if (!signal.aborted) table.dataset.complete = 'true';
}
