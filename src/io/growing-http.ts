/**
 * An {@link HttpSource} over a file that may grow while it is read: a live
 * container (docs/FORMAT.md §14) on a static server.
 *
 * An ordinary HttpSource treats any change of size or validator as a
 * different file (`E_CHANGED`), and a growing file changes both with every
 * append (nginx's ETag is mtime-size). A live writer only ever appends, so
 * bytes below the size first seen never change: this source fixes the size
 * at its first answer and serves that prefix, ignoring growth. It cannot tell
 * a file replaced by a longer one from a grown one; a file that shrank is
 * still `E_CHANGED`. Open a new source to see what was appended since.
 */
import { HttpSource, type HttpSourceOptions } from './http-source.js';
import { parseContentRange } from './http-range.js';

/**
 * Opens `url` as an append-only file: the size and bytes are those of the
 * first answer, later growth is ignored (see the module comment).
 */
export async function openAppendOnlyHttpSource(url: string | URL, options: Omit<HttpSourceOptions, 'conditional'> = {}): Promise<HttpSource> {
  const inner = options.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
  let total: number | undefined;
  const fetchPrefix = async (input: string, init: RequestInit): Promise<Response> => {
    const response = await inner(input, init);
    if (response.status !== 206) return response;
    const range = parseContentRange(response.headers.get('content-range'));
    if (range === null || range.complete === null) return response;
    total ??= range.complete;
    // Shrunk, or an answer past the first size (not asked by HttpSource): leave it for HttpSource to reject.
    if (range.complete < total || range.last >= total) return response;
    const headers = new Headers(response.headers);
    // Growth changes ETag and Last-Modified: drop them so they are not taken for another file.
    headers.delete('etag');
    headers.delete('last-modified');
    headers.set('content-range', `bytes ${range.first}-${range.last}/${total}`);
    return new Response(response.body, { status: 206, statusText: response.statusText, headers });
  };
  return HttpSource.open(url, { ...options, conditional: 'none', fetch: fetchPrefix });
}
