/**
 * A file sink: writes to a temporary file beside the destination, fsyncs,
 * then renames it into place, so the destination only ever holds a complete
 * container (or what it held before).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Sink, Spool } from './sink.js';

const BUFFER_LENGTH = 1 << 20;

/** Buffered sequential writes to a file handle. */
class BufferedFile {
  private buffer = new Uint8Array(BUFFER_LENGTH);
  private used = 0;
  position = 0;
  constructor(readonly handle: FileHandle) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.length > this.buffer.length) await this.flush();
    if (bytes.length >= this.buffer.length) {
      await this.writeFully(bytes);
      return;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.writeFully(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  private async writeFully(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }
}

function temporaryPath(path: string, tag: string): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${randomBytes(6).toString('hex')}.tmp`);
}

/** A spool in a temporary file, deleted on dispose. */
class FileSpool implements Spool {
  private constructor(
    private readonly file: BufferedFile,
    private readonly path: string,
  ) {}

  static async create(near: string): Promise<FileSpool> {
    const path = temporaryPath(near, 'spool');
    return new FileSpool(new BufferedFile(await open(path, 'wx+', 0o600)), path);
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.file.write(bytes);
  }

  async *replay(): AsyncIterable<Uint8Array> {
    await this.file.flush();
    const chunk = new Uint8Array(BUFFER_LENGTH);
    for (let offset = 0; offset < this.file.position; ) {
      const { bytesRead } = await this.file.handle.read(chunk, 0, Math.min(chunk.length, this.file.position - offset), offset);
      if (bytesRead === 0) throw new Error('spool file shrank while replaying');
      offset += bytesRead;
      yield chunk.subarray(0, bytesRead);
    }
  }

  async dispose(): Promise<void> {
    await this.file.handle.close().catch(() => {});
    await unlink(this.path).catch(() => {});
  }
}

export class FileSink implements Sink {
  private done = false;
  private constructor(
    private readonly file: BufferedFile,
    readonly path: string,
    readonly temporary: string,
  ) {}

  /** Starts writing a container that will appear at `path` on commit. */
  static async create(path: string): Promise<FileSink> {
    const temporary = temporaryPath(path, 'partial');
    const handle = await open(temporary, 'wx', 0o644);
    return new FileSink(new BufferedFile(handle), path, temporary);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.done) return Promise.reject(new Error('sink is closed'));
    return this.file.write(bytes);
  }

  /** Bytes accepted so far. */
  get position(): number {
    return this.file.position;
  }

  async commit(): Promise<void> {
    if (this.done) throw new Error('sink is closed');
    this.done = true;
    try {
      await this.file.flush();
      await this.file.handle.datasync();
      await this.file.handle.close();
      await rename(this.temporary, this.path);
    } catch (error) {
      await this.file.handle.close().catch(() => {});
      await unlink(this.temporary).catch(() => {});
      throw error;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.file.handle.close().catch(() => {});
    await unlink(this.temporary).catch(() => {});
  }

  createSpool(): Promise<Spool> {
    return FileSpool.create(this.path);
  }
}
