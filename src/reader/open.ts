/**
 * §8.1 Opening: find and read the index region with as few reads as the
 * source allows. Sources that can read a prefix or a suffix together with the
 * file size (HTTP) open in one request when the index fits `openBytes`:
 * a suffix read for the tail layout, a prefix read for faststart.
 */
import { FOOTER_LENGTH, HEADER_LENGTH, HeaderFlag, type Limits } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import { decodeFooter, decodeHeader, type FileHeader, type Footer } from '../format/header.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';

/** Where the index was found, and its bytes. */
export type LocatedIndex = {
  size: number;
  /** Null when a one-request open did not see the header (tail layout): verify() checks it. */
  header: FileHeader | null;
  /** Null when a one-request open did not see the footer (faststart layout): verify() checks it. */
  footer: Footer | null;
  flags: number;
  indexOffset: number;
  indexLength: number;
  region: Uint8Array;
};

export type OpenOptions = {
  /** Bytes of the first read on prefix/suffix-capable sources. Default 512 KiB. */
  openBytes?: number;
  /** Which end to read first: "auto" (the tail), "tail" or "faststart". */
  layout?: 'auto' | 'tail' | 'faststart';
};

export const DEFAULT_OPEN_BYTES = 512 * 1024;

/** Bytes already fetched, answering reads they cover before asking the source. */
export class Prefetched {
  private readonly parts: { offset: number; bytes: Uint8Array }[] = [];
  constructor(private readonly source: RandomAccessSource) {}

  add(offset: number, bytes: Uint8Array): void {
    this.parts.push({ offset, bytes });
  }

  covered(offset: number, length: number): Uint8Array | null {
    for (const p of this.parts) {
      if (offset >= p.offset && offset + length <= p.offset + p.bytes.length) return p.bytes.subarray(offset - p.offset, offset - p.offset + length);
    }
    return null;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.covered(offset, length) ?? readExactly(this.source, offset, length);
  }
}

/** §8.1 Locates and reads the index region; checks header and footer where seen. */
export async function locateIndex(source: RandomAccessSource, limits: Limits, options: OpenOptions = {}): Promise<LocatedIndex> {
  const openBytes = options.openBytes ?? DEFAULT_OPEN_BYTES;
  const layout = options.layout ?? 'auto';
  const fetched = new Prefetched(source);
  let size: number;
  let oneRequest = false;
  if (layout === 'faststart' && source.readHead) {
    const r = await source.readHead(openBytes);
    size = r.size;
    fetched.add(0, r.bytes);
    oneRequest = true;
  } else if (source.readTail) {
    const r = await source.readTail(openBytes);
    size = r.size;
    fetched.add(size - r.bytes.length, r.bytes);
    oneRequest = true;
  } else {
    size = await source.size();
  }
  if (size < HEADER_LENGTH + FOOTER_LENGTH) throw new H4mkError('E_TRUNCATED', `file of ${size} bytes is too short for a container`, { offset: 0 });

  // Header and footer: read both when that costs nothing extra (local files, small files).
  const headerBytes = fetched.covered(0, HEADER_LENGTH) ?? (oneRequest ? null : await readExactly(source, 0, HEADER_LENGTH));
  const header = headerBytes === null ? null : decodeHeader(headerBytes);
  const footerBytes =
    fetched.covered(size - FOOTER_LENGTH, FOOTER_LENGTH) ??
    (header !== null && isFaststart(header.flags) && oneRequest ? null : await fetched.read(size - FOOTER_LENGTH, FOOTER_LENGTH));
  const footer = footerBytes === null ? null : decodeFooter(footerBytes, size);
  if (header !== null && footer !== null && footer.flags !== header.flags) {
    throw new H4mkError('E_FORMAT', 'footer flags differ from header flags', { offset: size - FOOTER_LENGTH, chunk: 'FOOT' });
  }
  const flags = header?.flags ?? (footer as Footer).flags;
  let indexOffset: number;
  let indexLength: number;
  if (isFaststart(flags)) {
    indexOffset = HEADER_LENGTH;
    indexLength = header?.indexLength ?? (footer as Footer).indexLength;
    if (footer !== null && (footer.indexOffset !== HEADER_LENGTH || footer.indexLength !== indexLength)) {
      throw new H4mkError('E_FORMAT', 'faststart footer does not point at the index after the header', { offset: size - FOOTER_LENGTH, chunk: 'FOOT' });
    }
    if (HEADER_LENGTH + indexLength > size - FOOTER_LENGTH)
      throw new H4mkError('E_TRUNCATED', 'index region runs past the end of the file', { offset: HEADER_LENGTH });
  } else {
    if (footer === null) throw new H4mkError('E_FORMAT', 'tail layout without a footer', { offset: size - FOOTER_LENGTH });
    indexOffset = footer.indexOffset;
    indexLength = footer.indexLength;
    if (indexOffset + indexLength !== size - FOOTER_LENGTH) {
      throw new H4mkError('E_FORMAT', 'the tail index must end where the footer starts', { offset: size - FOOTER_LENGTH, chunk: 'FOOT' });
    }
  }
  if (indexLength > limits.maxIndexLength) throw new H4mkError('E_LIMIT', `index of ${indexLength} bytes exceeds the limit`, { offset: indexOffset });
  const region = await fetched.read(indexOffset, indexLength);
  return { size, header, footer, flags, indexOffset, indexLength, region };
}

function isFaststart(flags: number): boolean {
  return (flags & HeaderFlag.FASTSTART) !== 0;
}
