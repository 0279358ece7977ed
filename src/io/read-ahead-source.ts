/**
 * A read-ahead buffer for sequential walks (chunk scans, recovery) over a
 * source where each read is expensive (HTTP): a read outside the buffer
 * fetches at least `readAhead` bytes from its offset, so walking a file chunk
 * by chunk costs one request per `readAhead` bytes instead of two per chunk.
 */
import { checkReadArguments, type RandomAccessSource, type SourceStats } from './source.js';

/** Default read-ahead: 4 MiB. */
export const DEFAULT_READ_AHEAD = 4 * 1024 * 1024;

export class ReadAheadSource implements RandomAccessSource {
  private buffer: Uint8Array = new Uint8Array(0);
  private bufferOffset = 0;
  private fileSize: number | undefined;

  constructor(
    private readonly inner: RandomAccessSource,
    private readonly readAhead: number = DEFAULT_READ_AHEAD,
  ) {
    if (!Number.isSafeInteger(readAhead) || readAhead < 1) throw new RangeError(`readAhead must be a positive integer, got ${readAhead}`);
  }

  get stats(): SourceStats | undefined {
    return this.inner.stats;
  }

  get remote(): boolean {
    return this.inner.remote === true;
  }

  async size(): Promise<number> {
    this.fileSize ??= await this.inner.size();
    return this.fileSize;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadArguments(offset, length);
    const end = offset + length;
    if (offset >= this.bufferOffset && end <= this.bufferOffset + this.buffer.length) {
      return this.buffer.subarray(offset - this.bufferOffset, end - this.bufferOffset);
    }
    if (length >= this.readAhead) return this.inner.read(offset, length);
    const size = await this.size();
    this.buffer = await this.inner.read(offset, Math.max(0, Math.min(this.readAhead, size - offset)));
    this.bufferOffset = offset;
    return this.buffer.subarray(0, Math.min(length, this.buffer.length));
  }

  async close(): Promise<void> {
    this.buffer = new Uint8Array(0);
    await this.inner.close?.();
  }
}
