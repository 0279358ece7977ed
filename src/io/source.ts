import { H4mkError } from '../format/errors.js';

/**
 * Random-access sources: the one interface readers use for bytes.
 */

/** Bytes a reader can read at any offset. Implementations validate arguments. */
export interface RandomAccessSource {
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Exactly `length` bytes at `offset` (fewer only if the source is shorter; callers check). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases resources. */
  close?(): Promise<void>;
  /** Counters for diagnostics. */
  readonly stats?: SourceStats;
  /**
   * The last `length` bytes (all of a shorter file) and the file size, in one
   * request: lets a reader open a tail-layout container in one round trip
   * before it knows the size (HTTP: `Range: bytes=-length`).
   */
  readTail?(length: number): Promise<{ bytes: Uint8Array; size: number }>;
  /** The first `length` bytes (all of a shorter file) and the file size, in one request. */
  readHead?(length: number): Promise<{ bytes: Uint8Array; size: number }>;
  /**
   * True when every read is a network round trip (HTTP). Readers then skip
   * reads an answer can do without (a seek does not load the KEYS map, §6.6,
   * since the span it returns is fetched next anyway).
   */
  readonly remote?: boolean;
}

/** Read counters kept by a source (network sources add their own, e.g. `requests`). */
export type SourceStats = { reads: number; bytesRead: number; requests?: number };

/** Throws a RangeError unless `offset`/`length` are non-negative safe integers. */
export function checkReadArguments(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`read offset must be a non-negative integer, got ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`read length must be a non-negative integer, got ${length}`);
}

/** A source over bytes in memory. */
export class MemorySource implements RandomAccessSource {
  readonly stats: SourceStats = { reads: 0, bytesRead: 0 };
  constructor(private readonly bytes: Uint8Array) {}

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadArguments(offset, length);
    const out = this.bytes.subarray(Math.min(offset, this.bytes.length), Math.min(offset + length, this.bytes.length));
    this.stats.reads++;
    this.stats.bytesRead += out.length;
    return out;
  }

  async readTail(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    const size = this.bytes.length;
    return { bytes: await this.read(Math.max(0, size - length), Math.min(length, size)), size };
  }

  async readHead(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    return { bytes: await this.read(0, length), size: this.bytes.length };
  }
}

/** Reads exactly `length` bytes or throws E_TRUNCATED at the first missing byte. */
export async function readExactly(source: RandomAccessSource, offset: number, length: number): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) throw new H4mkError('E_TRUNCATED', `needed ${length} bytes, the source has ${bytes.length}`, { offset: offset + bytes.length });
  return bytes;
}
