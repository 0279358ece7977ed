/** Opening a container from a path for the read-side verbs. */
import { FileSource, H4mkReader } from '../index.js';
import { inputError, isSystemError } from './errors.js';

/**
 * Opens `path` read-only. FileSource reports a path that is not a regular
 * file with a plain Error; that is an input error here.
 */
export async function openSource(path: string): Promise<FileSource> {
  try {
    return await FileSource.open(path);
  } catch (error) {
    if (error instanceof Error && error.constructor === Error && !isSystemError(error)) throw inputError(error.message);
    throw error;
  }
}

/** Opens `path` as a bare random-access source, runs `fn`, and closes the file whatever happens. */
export async function withSource<T>(path: string, fn: (source: FileSource) => Promise<T>): Promise<T> {
  const source = await openSource(path);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}

/**
 * Opens the container at `path`, runs `fn` with its reader and closes the
 * file whatever happens. Errors from opening propagate unchanged (system
 * errors for the path, H4mkError for the bytes).
 */
export function withContainer<T>(path: string, fn: (reader: H4mkReader) => Promise<T>): Promise<T> {
  return withSource(path, async (source) => fn(await H4mkReader.open(source)));
}
