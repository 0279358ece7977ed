/**
 * A MediaSource on a <video> element with one SourceBuffer per played track
 * ('segments' mode: every fMP4 fragment carries its own decode time), and a
 * promise-based queue per buffer: append, remove, end of stream.
 *
 * The page's Content-Security-Policy must let media load from `blob:`
 * (`media-src blob:`): a MediaSource is attached through a blob: URL. When it
 * does not, the element refuses it and {@link MseSink.open} says so.
 */

/** A SourceBuffer ran out of room (QuotaExceededError): evict and retry. */
export class QuotaError extends Error {}

/** A time range of a buffer, seconds on the media timeline. */
export type Range = [number, number];

const OPEN_TIMEOUT_MS = 10_000;

export class MseSink {
  readonly mediaSource = new MediaSource();
  readonly buffers: SourceBuffer[] = [];
  #url = '';
  #queues: Promise<unknown>[] = [];
  #closed = false;

  constructor(private readonly video: HTMLVideoElement) {}

  /** Attaches the MediaSource to the element and adds a SourceBuffer per MIME type. */
  async open(mimes: readonly string[]): Promise<void> {
    const ms = this.mediaSource;
    const opened = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the MediaSource did not open within 10 s')), OPEN_TIMEOUT_MS);
      const done = (error?: Error): void => {
        clearTimeout(timer);
        ms.removeEventListener('sourceopen', onOpen);
        this.video.removeEventListener('error', onError);
        document.removeEventListener('securitypolicyviolation', onPolicy);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onOpen = (): void => done();
      const onError = (): void =>
        done(new Error(`the media element refused the MediaSource: ${this.video.error?.message || `error ${this.video.error?.code ?? '?'}`}`));
      const onPolicy = (event: SecurityPolicyViolationEvent): void => {
        if (event.effectiveDirective === 'media-src' || event.blockedURI.startsWith('blob')) {
          done(
            new Error(
              "this page's Content-Security-Policy does not allow media from blob: URLs (media-src blob:), which MSE playback needs; frames and stepping still work",
            ),
          );
        }
      };
      ms.addEventListener('sourceopen', onOpen);
      this.video.addEventListener('error', onError);
      document.addEventListener('securitypolicyviolation', onPolicy);
    });
    this.#url = URL.createObjectURL(ms);
    this.video.src = this.#url;
    await opened;
    for (const mime of mimes) {
      const sb = ms.addSourceBuffer(mime);
      sb.mode = 'segments';
      this.buffers.push(sb);
      this.#queues.push(Promise.resolve());
    }
  }

  /** Runs `op` on buffer `i` once every earlier operation on it has finished, and waits for its updateend. */
  #run(i: number, op: (sb: SourceBuffer) => void): Promise<void> {
    const sb = this.buffers[i];
    if (sb === undefined) return Promise.reject(new RangeError(`no SourceBuffer ${i}`));
    const run = (this.#queues[i] as Promise<unknown>).then(
      () =>
        new Promise<void>((resolve, reject) => {
          if (this.#closed) {
            reject(new Error('the player was closed'));
            return;
          }
          const cleanup = (): void => {
            sb.removeEventListener('updateend', onEnd);
            sb.removeEventListener('error', onError);
          };
          const onEnd = (): void => {
            cleanup();
            resolve();
          };
          const onError = (): void => {
            cleanup();
            reject(new Error(`SourceBuffer ${i} failed (${this.video.error?.message || 'the media could not be decoded'})`));
          };
          sb.addEventListener('updateend', onEnd);
          sb.addEventListener('error', onError);
          try {
            op(sb);
          } catch (error) {
            cleanup();
            reject(error instanceof DOMException && error.name === 'QuotaExceededError' ? new QuotaError(error.message) : error);
          }
        }),
    );
    this.#queues[i] = run.catch(() => undefined);
    return run;
  }

  /** Appends `bytes` to buffer `i`. */
  append(i: number, bytes: Uint8Array): Promise<void> {
    return this.#run(i, (sb) => sb.appendBuffer(bytes as Uint8Array<ArrayBuffer>));
  }

  /** Removes [start, end) (media seconds) from buffer `i`. */
  remove(i: number, start: number, end: number): Promise<void> {
    if (!(end > start)) return Promise.resolve();
    return this.#run(i, (sb) => sb.remove(Math.max(0, start), end));
  }

  /** Sets buffer `i`'s timestampOffset (seconds), once its queue is idle. */
  async setTimestampOffset(i: number, seconds: number): Promise<void> {
    await this.#queues[i];
    const sb = this.buffers[i];
    if (sb !== undefined) sb.timestampOffset = seconds;
  }

  /** Buffered ranges of buffer `i` (media seconds). */
  buffered(i: number): Range[] {
    const sb = this.buffers[i];
    if (sb === undefined || this.#closed) return [];
    const out: Range[] = [];
    try {
      for (let r = 0; r < sb.buffered.length; r++) out.push([sb.buffered.start(r), sb.buffered.end(r)]);
    } catch {
      // The buffer was removed from its MediaSource.
    }
    return out;
  }

  get idle(): boolean {
    return this.buffers.every((sb) => !sb.updating);
  }

  /** Sets the duration (seconds) when no buffer is updating; false when it could not. */
  setDuration(seconds: number): boolean {
    if (this.mediaSource.readyState !== 'open' || !this.idle || !Number.isFinite(seconds)) return false;
    try {
      this.mediaSource.duration = seconds;
      return true;
    } catch {
      return false;
    }
  }

  /** Signals that every segment up to the end is appended (no-op unless open and idle). */
  endOfStream(): boolean {
    if (this.mediaSource.readyState !== 'open' || !this.idle) return false;
    try {
      this.mediaSource.endOfStream();
      return true;
    } catch {
      return false;
    }
  }

  get ended(): boolean {
    return this.mediaSource.readyState === 'ended';
  }

  /** Detaches from the element and releases the blob: URL. */
  close(): void {
    this.#closed = true;
    if (this.#url !== '') {
      this.video.removeAttribute('src');
      this.video.load();
      URL.revokeObjectURL(this.#url);
      this.#url = '';
    }
  }
}
