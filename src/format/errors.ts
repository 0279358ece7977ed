/**
 * Typed errors for container data. Every failure caused by the bytes of a
 * container (rather than by API misuse) is an {@link H4mkError} with a stable
 * `code` and, when known, the absolute byte `offset` in the file.
 */

/** Stable error codes (docs/FORMAT.md §10 "Errors"). */
export type H4mkErrorCode =
  | 'E_TRUNCATED'
  | 'E_MAGIC'
  | 'E_VERSION'
  | 'E_CHECKSUM'
  | 'E_DIGEST'
  | 'E_FORMAT'
  | 'E_LIMIT'
  | 'E_UNSUPPORTED'
  | 'E_DECOMPRESS'
  | 'E_NOT_FOUND'
  | 'E_ORDER'
  | 'E_IO'
  | 'E_CHANGED'
  | 'E_AUTH'
  | 'E_KEY'
  | 'E_SIGNATURE'
  | 'E_TRANSCRIPT';

/** Where in a container an error was found. */
export type H4mkErrorContext = {
  /** Absolute byte offset in the file, when the error concerns file data. */
  offset?: number | undefined;
  /** Global block index (`core_index`) the error is attributed to. */
  coreIndex?: number | undefined;
  /** Four-character chunk type the error is attributed to. */
  chunk?: string | undefined;
  cause?: unknown;
};

/** The one error class for malformed, damaged or unsupported container data. */
export class H4mkError extends Error {
  override readonly name = 'H4mkError';
  readonly code: H4mkErrorCode;
  readonly offset: number | undefined;
  readonly coreIndex: number | undefined;
  readonly chunk: string | undefined;

  constructor(code: H4mkErrorCode, message: string, context: H4mkErrorContext = {}) {
    super(H4mkError.describe(message, context), context.cause === undefined ? undefined : { cause: context.cause });
    this.code = code;
    this.offset = context.offset;
    this.coreIndex = context.coreIndex;
    this.chunk = context.chunk;
  }

  private static describe(message: string, context: H4mkErrorContext): string {
    const where: string[] = [];
    if (context.chunk !== undefined) where.push(`chunk ${context.chunk}`);
    if (context.coreIndex !== undefined) where.push(`block ${context.coreIndex}`);
    if (context.offset !== undefined) where.push(`offset ${context.offset}`);
    return where.length === 0 ? message : `${message} (${where.join(', ')})`;
  }

  /** A copy of this error re-based by `base` bytes and attributed to more context. */
  relocate(base: number, context: Omit<H4mkErrorContext, 'offset' | 'cause'> = {}): H4mkError {
    const bare = this.message.replace(/ \([^)]*\)$/, '');
    return new H4mkError(this.code, bare, {
      offset: this.offset === undefined ? undefined : this.offset + base,
      coreIndex: context.coreIndex ?? this.coreIndex,
      chunk: context.chunk ?? this.chunk,
      cause: this.cause,
    });
  }
}

/** Type guard for {@link H4mkError}; with `code`, for an H4mkError with that code. */
export function isH4mkError(value: unknown, code?: H4mkErrorCode): value is H4mkError {
  return value instanceof H4mkError && (code === undefined || value.code === code);
}
