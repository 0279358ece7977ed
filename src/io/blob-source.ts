/**
 * A random-access source over a `Blob` (a browser `File` the user chose or
 * dropped, or any Blob in Node 20+): every read is `blob.slice(a, b)`, so a
 * container of any size opens without being loaded into memory and without
 * a network. Browser-safe: no Node-only imports.
 */
import { checkReadArguments, type RandomAccessSource, type SourceStats } from './source.js';

/** The part of `Blob` this source uses (a `File` is one). */
export type BlobLike = Pick<Blob, 'size' | 'slice'>;

/** A source over a Blob or File. */
export class BlobSource implements RandomAccessSource {
  /** Logical reads and bytes returned (a Blob read is no request). */
  readonly stats: SourceStats = { reads: 0, bytesRead: 0 };
  #closed = false;

  /**
   * @param blob the bytes; a `File` keeps its `name` for display.
   * @throws TypeError when `blob` is not Blob-like.
   */
  constructor(readonly blob: BlobLike) {
    if (blob === null || typeof blob !== 'object' || typeof blob.slice !== 'function' || !Number.isSafeInteger(blob.size)) {
      throw new TypeError('BlobSource needs a Blob or File');
    }
  }

  async size(): Promise<number> {
    this.#checkOpen();
    return this.blob.size;
  }

  /** `length` bytes at `offset`; fewer when the blob ends first (callers check). */
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadArguments(offset, length);
    this.#checkOpen();
    const start = Math.min(offset, this.blob.size);
    const end = Math.min(offset + length, this.blob.size);
    this.stats.reads++;
    if (end <= start) return new Uint8Array(0);
    const bytes = new Uint8Array(await this.blob.slice(start, end).arrayBuffer());
    this.stats.bytesRead += bytes.length;
    return bytes;
  }

  /** The last `length` bytes (all of a shorter blob) and the size, in one read. */
  async readTail(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    checkReadArguments(0, length);
    const size = this.blob.size;
    return { bytes: await this.read(Math.max(0, size - length), Math.min(length, size)), size };
  }

  /** The first `length` bytes (all of a shorter blob) and the size, in one read. */
  async readHead(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    checkReadArguments(0, length);
    return { bytes: await this.read(0, length), size: this.blob.size };
  }

  /** Later reads throw a TypeError (the Blob itself needs no release). */
  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TypeError('the BlobSource is closed');
  }
}
