/** A random-access source over a local file (Node). */
import { open, type FileHandle } from 'node:fs/promises';
import { carve } from '../format/slab.js';
import { checkReadArguments, type RandomAccessSource, type SourceStats } from './source.js';

export class FileSource implements RandomAccessSource {
  readonly stats: SourceStats = { reads: 0, bytesRead: 0 };
  private constructor(
    private readonly handle: FileHandle,
    private readonly fileSize: number,
    readonly path: string,
  ) {}

  /** Opens `path` read-only. The file is never modified. */
  static async open(path: string): Promise<FileSource> {
    const handle = await open(path, 'r');
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new Error(`${path} is not a regular file`);
      return new FileSource(handle, st.size, path);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async size(): Promise<number> {
    return this.fileSize;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadArguments(offset, length);
    const n = Math.max(0, Math.min(length, this.fileSize - offset));
    // Small reads (a segment table, a small segment) come from a shared slab (see carve).
    const { buffer, offset: start } = carve(n);
    const out = new Uint8Array(buffer, start, n);
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.handle.read(out, done, n - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    this.stats.reads++;
    this.stats.bytesRead += done;
    return done === n ? out : out.subarray(0, done);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
