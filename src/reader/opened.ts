/**
 * What {@link H4mkReader.open} learns before the reader exists: the index
 * region found (§8.1, or a §14 checkpoint with `live`), decoded and checked
 * against the data region it describes, and the header it implies.
 */
import { sha256 } from '../crypto/sha256.js';
import type { KeyInput } from '../crypto/unlock.js';
import { FOOTER_LENGTH, FORMAT_VERSION, HEADER_LENGTH, HeaderFlag, type Limits, resolveLimits } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import type { FileHeader } from '../format/header.js';
import { type ContainerIndex, decodeIndexRegion } from '../format/index-region.js';
import type { RandomAccessSource } from '../io/source.js';
import { locateLiveIndex } from './live-open.js';
import { locateIndex, type OpenOptions } from './open.js';

export type ReaderOptions = OpenOptions & {
  limits?: Partial<Limits>;
  /** Key, passphrase or grant for encrypted blocks (see {@link H4mkReader.unlock}). */
  key?: KeyInput;
  /** Segment tables kept in memory. Default 256. */
  cacheSegments?: number;
  /**
   * §14 Open the latest durable checkpoint of a container that may still be
   * growing (a live writer's file): the reader then behaves as if the file
   * ended after that checkpoint's FOOT. A finished file opens as usual.
   * Over HTTP, open the source with `openAppendOnlyHttpSource` (an ordinary
   * HttpSource takes the growth for a changed file, E_CHANGED), and open a
   * new reader to see later checkpoints.
   */
  live?: boolean;
  /** Live opens: how far back from the end to look for the last checkpoint. Default 64 MiB. */
  liveScanLimit?: number;
};

/** An opened container: its index and where its regions lie. */
export type OpenedContainer = {
  index: ContainerIndex;
  header: FileHeader;
  /** The file's size as the reader sees it (a live open: up to its checkpoint's FOOT). */
  size: number;
  indexOffset: number;
  indexLength: number;
  dataOffset: number;
  limits: Limits;
  /** Bytes the source had when opened. */
  sourceSize: number;
  /** §5.9 The FOOT opened at is a final one and ends the file. */
  finished: boolean;
};

/** Finds, reads and checks the index region of `source` (see the module comment). */
export async function openContainer(source: RandomAccessSource, options: ReaderOptions): Promise<OpenedContainer> {
  const limits: Limits = resolveLimits(options.limits);
  const live = options.live === true ? await locateLiveIndex(source, limits, options) : null;
  const located = live ?? (await locateIndex(source, limits, options));
  const { size, indexOffset, indexLength, flags } = located;
  const index =
    live?.index ?? decodeIndexRegion(located.region, indexOffset, limits, sha256, located.header?.version ?? located.footer?.version ?? FORMAT_VERSION);
  const faststart = (flags & HeaderFlag.FASTSTART) !== 0;
  const dataOffset = faststart ? HEADER_LENGTH + indexLength : HEADER_LENGTH;
  const dataEnd = faststart ? size - FOOTER_LENGTH : indexOffset;
  if (index.segments.end !== dataEnd - dataOffset) {
    throw new H4mkError(index.segments.end > dataEnd - dataOffset ? 'E_TRUNCATED' : 'E_FORMAT', 'segments do not exactly fill the data region', {
      offset: dataOffset + Math.min(index.segments.end, dataEnd - dataOffset),
      chunk: 'SEGX',
    });
  }
  const header: FileHeader = located.header ?? { version: located.footer?.version ?? FORMAT_VERSION, flags, indexLength: faststart ? indexLength : 0 };
  const finished = located.footer?.checkpoint !== true && (live?.sourceSize ?? size) === size;
  return { index, header, size, indexOffset, indexLength, dataOffset, limits, sourceSize: live?.sourceSize ?? size, finished };
}
