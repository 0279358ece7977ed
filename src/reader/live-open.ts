/**
 * §14 Live append, reader side: opening the latest durable checkpoint of a
 * container that may still be growing.
 *
 * Read the tail (one suffix request on HTTP). If the last 36 bytes are a valid
 * FOOT whose index region decodes and verifies, use it: the file is finished,
 * or its writer has just written a checkpoint. Otherwise scan backwards, in
 * windows of {@link LIVE_SCAN_WINDOW} bytes and at most `liveScanLimit` bytes
 * from the end, for the last FOOT chunk ("FOOT", u32 24, payload, valid
 * CRC-32C) whose index region ends right where it starts, decodes, verifies
 * (index digest, cross-checks) and whose segments exactly fill the data region
 * before it. The reader then behaves as if the file ended after that FOOT: it
 * never returns a block beyond the last durable checkpoint.
 *
 * A FOOT-like byte pattern inside a block payload is not mistaken for a
 * checkpoint unless a whole valid index region precedes it whose segment
 * directory describes the file exactly; `verify()` then still checks every
 * chunk between and inside the segments.
 */
import { sha256 } from '../crypto/sha256.js';
import { FOOT_PAYLOAD_LENGTH, FOOTER_LENGTH, HEADER_LENGTH, HeaderFlag, type Limits } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import { decodeFooter, decodeHeader, type FileHeader } from '../format/header.js';
import { type ContainerIndex, decodeIndexRegion } from '../format/index-region.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';
import { DEFAULT_OPEN_BYTES, locateIndex, type LocatedIndex, type OpenOptions, Prefetched } from './open.js';

/** Bytes read per step of the backward scan. */
export const LIVE_SCAN_WINDOW = 1024 * 1024;

/** Default of {@link LiveOpenOptions.liveScanLimit}. */
export const DEFAULT_LIVE_SCAN_LIMIT = 64 * 1024 * 1024;

/** Options of a live open (part of `ReaderOptions`). */
export type LiveOpenOptions = OpenOptions & {
  /** How far back from the end a live open looks for the last checkpoint. Default 64 MiB. */
  liveScanLimit?: number;
};

/** "FOOT" then u32 24 (little-endian): the first 8 bytes of every FOOT chunk. */
const FOOT_MAGIC = Uint8Array.of(0x46, 0x4f, 0x4f, 0x54, FOOT_PAYLOAD_LENGTH, 0, 0, 0);

/** A located checkpoint: the index found, already decoded and verified. */
export type LiveLocated = LocatedIndex & { index: ContainerIndex | null; sourceSize: number };

/**
 * §14 Finds the latest durable checkpoint of a possibly growing container.
 * `size` in the result is where the checkpoint's FOOT ends; `sourceSize` is
 * the size of the file when it was read.
 */
export async function locateLiveIndex(source: RandomAccessSource, limits: Limits, options: LiveOpenOptions = {}): Promise<LiveLocated> {
  const openBytes = options.openBytes ?? DEFAULT_OPEN_BYTES;
  const scanLimit = options.liveScanLimit ?? DEFAULT_LIVE_SCAN_LIMIT;
  if (!Number.isSafeInteger(scanLimit) || scanLimit < FOOTER_LENGTH)
    throw new RangeError(`liveScanLimit must be an integer ≥ ${FOOTER_LENGTH}, got ${scanLimit}`);
  const fetched = new Prefetched(source);
  let size: number;
  let tailStart: number;
  let header: FileHeader | null = null;
  if (source.readTail) {
    const r = await source.readTail(openBytes);
    size = r.size;
    tailStart = size - r.bytes.length;
    fetched.add(tailStart, r.bytes);
  } else {
    size = await source.size();
    tailStart = Math.max(0, size - openBytes);
    fetched.add(tailStart, await readExactly(source, tailStart, size - tailStart));
  }
  if (size < HEADER_LENGTH + FOOTER_LENGTH) throw noCheckpoint(size, 'the file is too short');
  if (!source.readTail || tailStart === 0) {
    // Local sources read the header for free (a remote one-request open leaves it to verify()).
    header = decodeHeader(await fetched.read(0, HEADER_LENGTH));
    if ((header.flags & HeaderFlag.FASTSTART) !== 0) return finished(source, limits, options, size);
  }
  const lowest = Math.max(HEADER_LENGTH, size - scanLimit);
  let lastError: H4mkError | null = null;
  // Windows from the end backwards, each reaching 7 bytes into the one after it so that a FOOT
  // header across the boundary is seen; every candidate position is tried once, latest first.
  let windowStart = Math.max(lowest, tailStart);
  let windowEnd = size;
  let scannedFrom = size;
  for (;;) {
    const bytes = await fetched.read(windowStart, windowEnd - windowStart);
    for (let i = bytes.length - FOOT_MAGIC.length; i >= 0; i--) {
      const at = windowStart + i;
      if (at >= scannedFrom || at + FOOTER_LENGTH > size || !startsWithFootMagic(bytes, i)) continue;
      try {
        const located = await tryCheckpoint(fetched, limits, at, header, size);
        if (located === 'faststart') return finished(source, limits, options, size);
        return located;
      } catch (error) {
        if (!(error instanceof H4mkError)) throw error;
        lastError ??= error;
      }
    }
    if (windowStart <= lowest) break;
    scannedFrom = windowStart;
    windowEnd = windowStart + FOOT_MAGIC.length - 1;
    windowStart = Math.max(lowest, windowStart - LIVE_SCAN_WINDOW);
  }
  throw noCheckpoint(size, `none in the last ${size - lowest} bytes`, lastError);
}

function startsWithFootMagic(bytes: Uint8Array, i: number): boolean {
  for (let k = 0; k < FOOT_MAGIC.length; k++) if (bytes[i + k] !== FOOT_MAGIC[k]) return false;
  return true;
}

/** §14.1/§10: a live open without a durable checkpoint (within the scan limit) is E_TRUNCATED. */
function noCheckpoint(size: number, why: string, cause: H4mkError | null = null): H4mkError {
  const detail = cause === null ? '' : ` (the last candidate failed with ${cause.code}: ${cause.message})`;
  return new H4mkError('E_TRUNCATED', `no durable checkpoint in this ${size}-byte file: ${why}${detail}`, { offset: size, cause: cause ?? undefined });
}

/** A finished faststart file: the ordinary open. */
async function finished(source: RandomAccessSource, limits: Limits, options: OpenOptions, size: number): Promise<LiveLocated> {
  const located = await locateIndex(source, limits, options);
  return { ...located, index: null, sourceSize: size };
}

/**
 * Checks the FOOT chunk at absolute `at` as a checkpoint (or final) footer:
 * CRC and fields, an index region ending where it starts, that decodes and
 * verifies, and segments filling the data region before it. Throws when not.
 */
async function tryCheckpoint(
  fetched: Prefetched,
  limits: Limits,
  at: number,
  header: FileHeader | null,
  sourceSize: number,
): Promise<LiveLocated | 'faststart'> {
  const end = at + FOOTER_LENGTH;
  const footer = decodeFooter(await fetched.read(at, FOOTER_LENGTH), end);
  if ((footer.flags & HeaderFlag.FASTSTART) !== 0) {
    if (end === sourceSize) return 'faststart';
    throw new H4mkError('E_FORMAT', 'a faststart footer before the end of the file', { offset: at, chunk: 'FOOT' });
  }
  if (header !== null && header.flags !== footer.flags) throw new H4mkError('E_FORMAT', 'footer flags differ from header flags', { offset: at, chunk: 'FOOT' });
  if (footer.indexOffset + footer.indexLength !== at)
    throw new H4mkError('E_FORMAT', 'the index does not end where the footer starts', { offset: at, chunk: 'FOOT' });
  if (footer.indexLength > limits.maxIndexLength)
    throw new H4mkError('E_LIMIT', `index of ${footer.indexLength} bytes exceeds the limit`, { offset: footer.indexOffset });
  const region = await fetched.read(footer.indexOffset, footer.indexLength);
  const index = decodeIndexRegion(region, footer.indexOffset, limits, sha256, footer.version);
  if (index.segments.end !== footer.indexOffset - HEADER_LENGTH) {
    throw new H4mkError('E_FORMAT', 'segments do not exactly fill the data region before the checkpoint', { offset: footer.indexOffset, chunk: 'SEGX' });
  }
  return {
    size: end,
    header,
    footer,
    flags: footer.flags,
    indexOffset: footer.indexOffset,
    indexLength: footer.indexLength,
    region,
    index,
    sourceSize,
  };
}
