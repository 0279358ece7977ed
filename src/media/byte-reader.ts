/**
 * A windowed, checked reader over a random-access source for the media
 * parsers (EBML, ISO BMFF boxes). Sequential scans read through a window of
 * `windowLength` bytes; a read past the end of the source throws
 * E_MEDIA_TRUNCATED naming the offset, the bytes needed and those available.
 */
import type { RandomAccessSource } from '../io/source.js';
import { MediaError } from './errors.js';

const DEFAULT_WINDOW = 1 << 20;

export class ByteReader {
  private window: Uint8Array = new Uint8Array(0);
  private windowOffset = 0;

  constructor(
    readonly source: RandomAccessSource,
    /** Total size of the source. */
    readonly size: number,
    /** Name used in error messages. */
    readonly name: string,
    private readonly windowLength = DEFAULT_WINDOW,
  ) {}

  static async open(source: RandomAccessSource, name: string, windowLength = DEFAULT_WINDOW): Promise<ByteReader> {
    return new ByteReader(source, await source.size(), name, windowLength);
  }

  /**
   * Exactly `length` bytes at `offset`. Small reads are served from the
   * window (valid until the next call); reads larger than the window are read
   * directly into a fresh array.
   */
  async bytes(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new MediaError(
        'E_MEDIA_TRUNCATED',
        `the file ends early: ${length} bytes needed at offset ${offset}, ${Math.max(0, this.size - offset)} available`,
        this.name,
      );
    }
    if (offset >= this.windowOffset && offset + length <= this.windowOffset + this.window.length) {
      return this.window.subarray(offset - this.windowOffset, offset - this.windowOffset + length);
    }
    if (length > this.windowLength / 2) return this.readDirect(offset, length);
    const want = Math.min(this.windowLength, this.size - offset);
    this.window = await this.readDirect(offset, want);
    this.windowOffset = offset;
    return this.window.subarray(0, length);
  }

  /** Up to `length` bytes at `offset` (fewer at the end of the source). */
  async peek(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes(offset, Math.max(0, Math.min(length, this.size - offset)));
  }

  /** A copy of `length` bytes at `offset` that stays valid. */
  async copy(offset: number, length: number): Promise<Uint8Array> {
    return (await this.bytes(offset, length)).slice();
  }

  private async readDirect(offset: number, length: number): Promise<Uint8Array> {
    const out = await this.source.read(offset, length);
    if (out.length !== length) {
      throw new MediaError('E_MEDIA_TRUNCATED', `the file ends early: ${length} bytes needed at offset ${offset}, ${out.length} available`, this.name);
    }
    return out;
  }
}
