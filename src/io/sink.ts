/**
 * Sequential sinks the writer streams into, and spools for faststart output.
 */

/**
 * Where a container is written. Nothing is visible at the destination until
 * `commit`. `write` copies or finishes with `bytes` before it returns (when it
 * returns undefined) or before its promise resolves: callers may reuse them.
 */
export interface Sink {
  write(bytes: Uint8Array): Promise<void> | undefined;
  /** Makes the output durable and visible (e.g. rename into place). */
  commit(): Promise<void>;
  /** Discards everything written; the destination is left as it was. */
  abort(): Promise<void>;
  /** A scratch area for the data region of a faststart container. */
  createSpool?(): Promise<Spool>;
  /**
   * Hands everything accepted so far to the operating system (no fsync), so
   * that another process reading the destination, or a crash of this one,
   * sees it. Sinks without a file behind them need not implement it.
   */
  flush?(): Promise<void>;
  /**
   * Makes everything accepted so far durable where it is written (flush, then
   * fdatasync), without committing: live checkpoints (docs/FORMAT.md §14) and
   * crash-safety logs call it. Sinks without a file behind them need not
   * implement it.
   */
  sync?(): Promise<void>;
}

/** Temporary storage written once, then replayed in order. */
export interface Spool {
  write(bytes: Uint8Array): Promise<void> | undefined;
  /** Yields everything written, in order. */
  replay(): AsyncIterable<Uint8Array>;
  dispose(): Promise<void>;
}

/** A spool in memory. */
export class MemorySpool implements Spool {
  private parts: Uint8Array[] = [];
  write(bytes: Uint8Array): undefined {
    this.parts.push(bytes.slice());
  }
  async *replay(): AsyncIterable<Uint8Array> {
    yield* this.parts;
  }
  async dispose(): Promise<void> {
    this.parts = [];
  }
}

/** A sink that collects the container in memory; `bytes()` after commit. */
export class MemorySink implements Sink {
  private parts: Uint8Array[] = [];
  private result: Uint8Array | undefined;

  write(bytes: Uint8Array): undefined {
    if (this.result) throw new TypeError('sink already committed');
    this.parts.push(bytes.slice());
  }

  async commit(): Promise<void> {
    let length = 0;
    for (const p of this.parts) length += p.length;
    const out = new Uint8Array(length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    this.result = out;
    this.parts = [];
  }

  async abort(): Promise<void> {
    this.parts = [];
  }

  async createSpool(): Promise<Spool> {
    return new MemorySpool();
  }

  /** The committed container. */
  bytes(): Uint8Array {
    if (!this.result) throw new Error('sink not committed');
    return this.result;
  }
}
