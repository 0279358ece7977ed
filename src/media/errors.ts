/**
 * Errors of the media layer (import, export, controls): one class with a
 * stable `code`, so the CLI can print one line and choose the exit code.
 */

/** Codes of {@link MediaError}. */
export type MediaErrorCode =
  /** The input is not a media file this importer reads (unknown or garbage bytes). */
  | 'E_MEDIA_FORMAT'
  /** The media file ends before a structure it declares (truncated download, cut copy). */
  | 'E_MEDIA_TRUNCATED'
  /** A codec, track or layout that the target container or this implementation cannot hold. */
  | 'E_MEDIA_UNSUPPORTED'
  /** A control record breaks the schema or carries identity-bearing fields. */
  | 'E_CONTROLS';

/** A media-layer failure; `path` names the file concerned when there is one. */
export class MediaError extends Error {
  override readonly name = 'MediaError';
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(path === undefined ? message : `${path}: ${message}`, options);
  }
}

/** True for {@link MediaError}. */
export function isMediaError(error: unknown): error is MediaError {
  return error instanceof MediaError;
}

/**
 * Source tracks that cannot be imported (codec or track type not supported):
 * the import fails unless the caller asks to skip them (`skipUnsupported`,
 * `h4mk import --skip-unsupported`).
 */
export class UnsupportedTracksError extends MediaError {
  constructor(
    readonly tracks: readonly { sourceIndex: number; reason: string }[],
    path?: string,
  ) {
    super('E_MEDIA_UNSUPPORTED', `cannot import ${tracks.map((t) => `source track ${t.sourceIndex}: ${t.reason}`).join('; ')}`, path);
  }
}

/** Throws {@link UnsupportedTracksError} for the `skipped` tracks that are not merely empty, unless `skip`. */
export function refuseUnsupported(skipped: readonly { sourceIndex: number; reason: string; empty?: boolean }[], skip: boolean, path?: string): void {
  const unsupported = skipped.filter((s) => s.empty !== true);
  if (unsupported.length > 0 && !skip) throw new UnsupportedTracksError(unsupported, path);
}
