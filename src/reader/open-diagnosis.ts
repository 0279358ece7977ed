/**
 * When a container does not open, say why in the user's terms: a file that is
 * not an H4MK container at all (an MP4 opened by mistake fails at its tail
 * with "invalid chunk type" long before anyone reads its first bytes), or an
 * H4MK file whose end is missing or damaged (cut short, still being written,
 * or its index broken), which `h4mk recover` rebuilds from its chunks.
 *
 * Costs one small read of the file's start, only when opening has failed.
 */
import { FOOTER_LENGTH, HEADER_LENGTH, MAGIC } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import { notH4mkMessage, SNIFF_BYTES, sniffFormat } from '../format/sniff.js';
import type { RandomAccessSource } from '../io/source.js';

/** Codes that mean "the bytes are not a readable container" (not I/O, limits or keys). */
const DIAGNOSED = new Set(['E_MAGIC', 'E_FORMAT', 'E_TRUNCATED', 'E_CHECKSUM', 'E_DIGEST', 'E_VERSION']);

/** The recover hint appended to failures of a file that starts as an H4MK container. */
export const RECOVER_HINT = '`h4mk recover` rebuilds the index from the intact chunks';

/**
 * `error` from opening `source`, explained: E_MAGIC naming the format when
 * the file is not an H4MK container; the recover hint when it is one whose
 * tail or index failed. Any other error is returned as it is.
 */
export async function explainOpenFailure(source: RandomAccessSource, error: unknown): Promise<unknown> {
  if (!(error instanceof H4mkError) || !DIAGNOSED.has(error.code)) return error;
  let head: Uint8Array;
  try {
    const size = await source.size();
    // §4.2: a file too short for a header and a footer is E_TRUNCATED whatever it holds.
    if (size < HEADER_LENGTH + FOOTER_LENGTH) return error;
    head = await source.read(0, Math.min(size, SNIFF_BYTES));
  } catch {
    return error;
  }
  const isH4mk = MAGIC.every((b, i) => head[i] === b);
  if (!isH4mk) return new H4mkError('E_MAGIC', notH4mkMessage(sniffFormat(head)), { offset: 0, cause: error });
  if (error.code === 'E_VERSION' || error.message.includes('h4mk recover')) return error;
  const bare = error.message.replace(/ \([^)]*\)$/, '');
  return new H4mkError(error.code, `${bare}; ${RECOVER_HINT}`, { offset: error.offset, chunk: error.chunk, coreIndex: error.coreIndex, cause: error });
}
