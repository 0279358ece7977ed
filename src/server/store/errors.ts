/**
 * What the container store raises when it refuses something: a typed error
 * with a server code. Storage knows nothing of HTTP; errors.ts maps the code
 * to a status like every other code.
 */
import { isH4mkError } from '../../node.js';
import type { ServerErrorCode } from '../errors.js';

/** The codes the store raises. */
export type StoreErrorCode = Extract<ServerErrorCode, 'E_NOT_FOUND' | 'E_BAD_NAME' | 'E_UNAVAILABLE' | 'E_INTERNAL' | 'E_NOT_IMPLEMENTED' | 'E_CONFLICT'>;

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A missing container, from the store or from the reader (an origin's 404). */
export function isNotFound(error: unknown): boolean {
  return (error instanceof StoreError && error.code === 'E_NOT_FOUND') || isH4mkError(error, 'E_NOT_FOUND');
}
