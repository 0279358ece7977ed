/**
 * A byte queue over a stream of chunks (standard input): a parser asks for
 * the next bytes and consumes them; only what is not consumed yet is held,
 * so memory is one element at a time whatever the stream's length. While
 * recording, consumed bytes are also kept (a stream's first bytes, for a
 * codec probe over them, ./matroska/live.ts).
 */
import { type RandomAccessSource, checkReadArguments } from '../io/source.js';
import { ByteReader } from './byte-reader.js';

export class StreamBytes {
  private chunks: Uint8Array[] = [];
  /** Bytes of `chunks[0]` already consumed. */
  private head = 0;
  private buffered = 0;
  private done = false;
  private recording: Uint8Array[] | null = null;
  private recordedBytes = 0;
  /** What the input stream failed with (a read error, an interruption), once it has. */
  failure: unknown = undefined;
  /** Absolute offset of the next byte to consume. */
  position = 0;

  constructor(
    private readonly iterator: AsyncIterator<Uint8Array>,
    /** Name used in error messages ("<stdin>"). */
    readonly name: string,
    /** Ends the stream early: a pending wait returns as if the input ended. */
    private readonly signal?: AbortSignal,
  ) {}

  static from(stream: AsyncIterable<Uint8Array>, name: string, signal?: AbortSignal): StreamBytes {
    return new StreamBytes(stream[Symbol.asyncIterator](), name, signal);
  }

  /** Bytes buffered and not consumed. */
  get available(): number {
    return this.buffered;
  }

  /** True once the input has ended (or was stopped) and nothing more will arrive. */
  get ended(): boolean {
    return this.done;
  }

  /** Waits until `n` bytes are buffered; false if the input ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const chunk = await this.next();
      if (chunk === null) this.done = true;
      else if (chunk.length > 0) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
    }
    return this.buffered >= n;
  }

  /** Up to `n` buffered bytes, not consumed (a copy when they span chunks). */
  peek(n: number): Uint8Array {
    return this.gather(Math.min(n, this.buffered), false);
  }

  /** Consumes exactly `n` buffered bytes (call {@link fill} first). */
  take(n: number): Uint8Array {
    if (n > this.buffered) throw new RangeError(`take(${n}) with ${this.buffered} bytes buffered`);
    return this.gather(n, true);
  }

  /** Consumes `n` bytes without keeping them (unless recording); false if the input ends first. */
  async skip(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill(1))) return false;
      const step = Math.min(left, this.buffered, (this.chunks[0] as Uint8Array).length - this.head);
      this.gather(step, true);
      left -= step;
    }
    return true;
  }

  /** Starts keeping every consumed byte. */
  startRecording(): void {
    this.recording = [];
    this.recordedBytes = 0;
  }

  /** Bytes consumed since {@link startRecording}. */
  get recorded(): number {
    return this.recordedBytes;
  }

  /** Stops recording and returns the bytes consumed since it started. */
  stopRecording(): Uint8Array {
    const parts = this.recording ?? [];
    this.recording = null;
    const out = new Uint8Array(this.recordedBytes);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** The rest of the input, starting with the bytes not consumed yet (consumes everything). */
  async *rest(): AsyncGenerator<Uint8Array> {
    while (this.buffered > 0 || !this.done) {
      if (this.buffered === 0 && !(await this.fill(1))) return;
      const first = this.chunks[0] as Uint8Array;
      yield this.gather(first.length - this.head, true);
    }
  }

  private gather(n: number, consume: boolean): Uint8Array {
    const first = this.chunks[0];
    let out: Uint8Array;
    if (n === 0) out = new Uint8Array(0);
    else if (first !== undefined && first.length - this.head >= n) out = first.subarray(this.head, this.head + n);
    else {
      out = new Uint8Array(n);
      let at = 0;
      let i = 0;
      let from = this.head;
      while (at < n) {
        const c = this.chunks[i++] as Uint8Array;
        const part = c.subarray(from, Math.min(c.length, from + n - at));
        out.set(part, at);
        at += part.length;
        from = 0;
      }
    }
    if (consume) this.consume(n, out);
    return out;
  }

  private consume(n: number, bytes: Uint8Array): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0] as Uint8Array;
      const step = Math.min(left, c.length - this.head);
      this.head += step;
      left -= step;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.buffered -= n;
    this.position += n;
    if (this.recording !== null) {
      this.recording.push(bytes.slice());
      this.recordedBytes += n;
    }
  }

  private async next(): Promise<Uint8Array | null> {
    const signal = this.signal;
    if (signal?.aborted === true) return null;
    const read = this.iterator.next().then(
      (r) => (r.done === true ? null : toBytes(r.value)),
      (error: unknown) => {
        this.failure = error;
        throw error;
      },
    );
    if (signal === undefined) return read;
    let onAbort = () => {};
    const stopped = new Promise<null>((resolve) => {
      onAbort = () => resolve(null);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([read, stopped]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return new TextEncoder().encode(value);
  throw new TypeError('the input stream must yield bytes');
}

/** A ByteReader over `bytes` that sit at absolute offset `base` of a stream (offsets in errors stay absolute). */
export function readerAt(base: number, bytes: Uint8Array, name: string): ByteReader {
  const source: RandomAccessSource = {
    size: async () => base + bytes.length,
    read: async (offset, length) => {
      checkReadArguments(offset, length);
      if (offset < base) throw new RangeError(`offset ${offset} is before the buffered element at ${base}`);
      return bytes.subarray(offset - base, Math.min(bytes.length, offset - base + length));
    },
  };
  return new ByteReader(source, base + bytes.length, name);
}
