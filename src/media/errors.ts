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
