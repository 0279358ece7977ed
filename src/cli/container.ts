/**
 * Opening a container from a path, or an http(s) URL (range requests through
 * HttpSource), for the read-side verbs. Every source opened here counts in the
 * run's input session (`--stats`, ./input.ts).
 */
import { FileSource, H4mkReader, HttpSource, type RandomAccessSource, type ReaderOptions } from '../node.js';
import { openAppendOnlyHttpSource } from '../io/growing-http.js';
import { inputError, isSystemError } from './errors.js';
import { currentInput, isUrl, readerHints } from './input.js';

/**
 * Opens `path` read-only: an http(s) URL as an HttpSource (`live`: one that
 * tolerates the file growing, for live containers), anything else as a file.
 * FileSource reports a path that is not a regular file with a plain Error;
 * that is an input error here.
 */
export async function openSource(path: string, options: { live?: boolean } = {}): Promise<RandomAccessSource> {
  if (path === '') throw inputError('the input path is empty', 'give the container file or an http(s) URL');
  if (isUrl(path)) return options.live === true ? openAppendOnlyHttpSource(path) : HttpSource.open(path);
  try {
    return await FileSource.open(path);
  } catch (error) {
    if (error instanceof Error && error.constructor === Error && !isSystemError(error)) throw inputError(error.message);
    throw error;
  }
}

/** Opens `path` as a bare random-access source, runs `fn`, and closes the file whatever happens. */
export async function withSource<T>(path: string, fn: (source: RandomAccessSource) => Promise<T>, options: { live?: boolean } = {}): Promise<T> {
  const source = await openSource(path, { live: options.live ?? currentInput().options.live === true });
  try {
    return await fn(source);
  } finally {
    currentInput().add(source, isUrl(path));
    await source.close?.();
  }
}

/**
 * Opens the container at `path`, runs `fn` with its reader and closes the
 * file whatever happens. Errors from opening propagate unchanged (system
 * errors for the path, H4mkError for the bytes; E_KEY when `options.key`
 * does not open it).
 */
export function withContainer<T>(path: string, fn: (reader: H4mkReader) => Promise<T>, options: ReaderOptions = {}): Promise<T> {
  const hints = readerHints();
  const readerOptions = { ...hints, ...options };
  return withSource(path, async (source) => fn(await H4mkReader.open(source, readerOptions)), { live: readerOptions.live === true });
}
