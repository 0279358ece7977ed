/**
 * SHA-256 on a worker thread (node:worker_threads), for the writer's large
 * v2 records (§6.5), and the sealing of encrypted records (§13.1,
 * seal-batch.ts) with their hashing: the bytes' buffer is transferred to the
 * worker and back, never copied, and the main thread gathers the next record
 * meanwhile.
 *
 * Why a worker of our own: node:crypto hashes and encrypts on the calling
 * thread, and WebCrypto's `subtle.digest` (which does run off it) measured
 * slower here than hashing in place (3.9 ms per 4 MiB against 2.4, and 11 ms
 * each when several run at once); its `subtle.encrypt` cost 24–40 µs per
 * small block, against ~9 µs for a node:crypto AES-GCM call. One worker,
 * started on first use, holds the process open only while a record is
 * pending. Until it answers a first message, and forever if it cannot start,
 * the work is done here; if it dies later, the records it held fail (their
 * bytes went with it: the write fails with an error, nothing is written
 * wrong) and later ones are done here. The AES keys of the records it seals
 * are copied to it with them (the same process).
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { SealBatch } from './seal-batch.js';

/**
 * The worker: answers a ping, then one SHA-256 per message, the buffer sent
 * back with the digest. A message with `seal` (a SealBatch, seal-batch.ts)
 * first seals its blocks in place with AES-256-GCM, each at its offset, the
 * tag right after it, as node-aead.ts does on the main thread; a failure
 * there comes back as `error`, with the buffer.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createHash } = require('node:crypto');
function seal(bytes, b) {
  for (let i = 0; i < b.count; i++) {
    const at = b.at[i];
    const length = b.length[i];
    const k = b.keyOf[i];
    const cipher = createCipheriv('aes-256-gcm', b.keys.subarray(k * 32, k * 32 + 32), b.nonces.subarray(i * 12, i * 12 + 12), { authTagLength: 16 });
    cipher.setAAD(b.aads.subarray(i * 104, i * 104 + 104));
    const head = cipher.update(bytes.subarray(at, at + length));
    const tail = cipher.final();
    if (head.length + tail.length !== length) throw new Error('AES-GCM gave a ciphertext of an unexpected length');
    bytes.set(head, at);
    bytes.set(tail, at + head.length);
    bytes.set(cipher.getAuthTag(), at + length);
  }
}
parentPort.on('message', (message) => {
  if (message === 'ping') return parentPort.postMessage('pong');
  const { id, buffer, offset, length } = message;
  const bytes = new Uint8Array(buffer, offset, length);
  try {
    if (message.seal !== undefined) seal(bytes, message.seal);
  } catch (error) {
    return parentPort.postMessage({ id, buffer, error: String(error && error.message || error) }, [buffer]);
  }
  const digest = createHash('sha256').update(bytes).digest();
  parentPort.postMessage({ id, buffer, digest: new Uint8Array(digest) }, [buffer]);
});
`;

type Result = { digest: Uint8Array; bytes: Uint8Array };
type Pending = { resolve: (r: Result) => void; reject: (error: Error) => void; offset: number; length: number };
type Reply = { id: number; buffer: ArrayBuffer; digest: Uint8Array; error?: string };

/**
 * Workers in the pool: one. Two measured slower on a 2-core machine (sealing
 * the demo clip's packets: 24–25 MB/s against 29–31 with one, alternating
 * runs): the main thread gathers as fast as one worker seals, and a second
 * worker only takes cores from both.
 */
const POOL_SIZE = 1;

/**
 * One worker thread. starting (it runs, has not answered its ping) → ready;
 * any failure → broken (its work is done here from then on). Bytes go to a
 * worker only once it has answered: a worker that cannot start (a sandbox, a
 * runtime without workers) costs nothing but the attempt.
 */
class HashWorker {
  state: 'starting' | 'ready' | 'broken' = 'starting';
  private readonly pending = new Map<number, Pending>();
  private worker: Worker | null = null;

  constructor() {
    try {
      // execArgv []: the worker's code is a CommonJS script whatever flags started this process (--input-type=module …).
      const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      w.on('message', (message: Reply | 'pong') => this.answer(w, message));
      w.on('error', () => this.fail());
      w.on('exit', () => this.fail());
      w.postMessage('ping');
      // After the listeners (adding a 'message' listener holds the port): an idle worker never keeps the process alive.
      w.unref();
      this.worker = w;
    } catch {
      this.state = 'broken';
    }
  }

  /** Records it holds. */
  get load(): number {
    return this.pending.size;
  }

  /** Moves `buffer` (the one under `bytes`) to the worker with its work; the result gives it back. */
  send(bytes: Uint8Array, buffer: ArrayBuffer, seal?: SealBatch): Promise<Result> {
    const w = this.worker as Worker;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, offset: bytes.byteOffset, length: bytes.length });
      if (this.pending.size === 1) w.ref();
      try {
        w.postMessage({ id, buffer, offset: bytes.byteOffset, length: bytes.length, ...(seal === undefined ? {} : { seal }) }, [buffer]);
      } catch (error) {
        // Not handed over: forget it, and let the process exit if nothing else is pending.
        this.pending.delete(id);
        if (this.pending.size === 0) w.unref();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private answer(w: Worker, message: Reply | 'pong'): void {
    if (message === 'pong') {
      if (this.state === 'starting') this.state = 'ready';
      return;
    }
    const p = this.pending.get(message.id);
    if (p === undefined) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) w.unref();
    if (message.error !== undefined) p.reject(new Error(`sealing a record on the worker thread failed: ${message.error}`));
    else p.resolve({ digest: message.digest, bytes: new Uint8Array(message.buffer, p.offset, p.length) });
  }

  /** The worker stopped: the records it held can no longer come back (their buffers went with it). */
  private fail(): void {
    this.state = 'broken';
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error('the SHA-256 worker thread stopped while it held a record'));
    this.pending.clear();
  }
}

let pool: HashWorker[] | null = null;
let nextId = 0;
let sealedOnWorker = 0;

/** The ready worker holding the fewest records, for the bytes under `buffer` (null: do the work here). */
function pick(buffer: ArrayBufferLike): HashWorker | null {
  pool ??= Array.from({ length: POOL_SIZE }, () => new HashWorker());
  // A buffer that cannot be moved (shared memory) is worked on here.
  if (!(buffer instanceof ArrayBuffer)) return null;
  let best: HashWorker | null = null;
  for (const w of pool) if (w.state === 'ready' && (best === null || w.load < best.load)) best = w;
  return best;
}

/**
 * SHA-256 of `bytes`, computed on a worker once one runs: `bytes.buffer` is
 * then transferred (unusable here until the result gives it back as
 * `bytes`). Until a worker has answered (and if none ever does), the digest
 * is computed here and `bytes` returned as it was.
 */
export function sha256OnWorker(bytes: Uint8Array): Promise<Result> {
  const buffer = bytes.buffer;
  const w = pick(buffer);
  if (w === null) return Promise.resolve({ digest: new Uint8Array(createHash('sha256').update(bytes).digest()), bytes });
  return w.send(bytes, buffer as ArrayBuffer);
}

/**
 * Seals `batch`'s blocks in place in `bytes` (seal-batch.ts) and hashes them
 * on a worker, `bytes.buffer` transferred as for {@link sha256OnWorker};
 * null until a worker has answered (and if none ever does): the caller then
 * does both here.
 */
export function sealOnWorker(bytes: Uint8Array, batch: SealBatch): Promise<Result> | null {
  const buffer = bytes.buffer;
  const w = pick(buffer);
  if (w === null) return null;
  sealedOnWorker++;
  return w.send(bytes, buffer as ArrayBuffer, batch);
}

/** Records sealed on a worker so far (for tests). */
export function recordsSealedOnWorker(): number {
  return sealedOnWorker;
}

/** Whether work now goes to a worker (for tests): false until one has answered its first message. */
export function hashWorkerReady(): boolean {
  return pool?.some((w) => w.state === 'ready') ?? false;
}
