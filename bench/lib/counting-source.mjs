/**
 * A RandomAccessSource that delegates to another one (a FileSource) and
 * records every read, so the benchmark can show exactly what open/seek read.
 */
export class CountingSource {
  constructor(inner) {
    this.inner = inner;
    this.reads = [];
    this.bytes = 0;
  }

  size() {
    return this.inner.size();
  }

  async read(offset, length) {
    const out = await this.inner.read(offset, length);
    this.reads.push({ offset, length: out.length });
    this.bytes += out.length;
    return out;
  }

  close() {
    return this.inner.close?.();
  }

  reset() {
    this.reads = [];
    this.bytes = 0;
  }
}
