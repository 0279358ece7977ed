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

type Pending = { resolve: (r: { digest: Uint8Array; bytes: Uint8Array }) => void; reject: (error: Error) => void; offset: number; length: number };
type Reply = { id: number; buffer: ArrayBuffer; digest: Uint8Array; error?: string };

/**
 * none → starting (the worker runs, has not answered its ping) → ready; any
 * failure → broken (digests computed here from then on). Bytes go to the
 * worker only once it has answered: a worker that cannot start (a sandbox,
 * a runtime without workers) costs nothing but the attempt.
 */
let state: 'none' | 'starting' | 'ready' | 'broken' = 'none';
let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, Pending>();

function here(bytes: Uint8Array): { digest: Uint8Array; bytes: Uint8Array } {
  return { digest: new Uint8Array(createHash('sha256').update(bytes).digest()), bytes };
}

/** The worker stopped: the digests it held can no longer come back (their buffers went with it). */
function fail(): void {
  state = 'broken';
  worker = null;
  for (const p of pending.values()) p.reject(new Error('the SHA-256 worker thread stopped while it held a record'));
  pending.clear();
}

function start(): void {
  if (state !== 'none') return;
  state = 'starting';
  try {
    // execArgv []: the worker's code is a CommonJS script whatever flags started this process (--input-type=module …).
    const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    w.on('message', (message: Reply | 'pong') => {
      if (message === 'pong') {
        if (state === 'starting') state = 'ready';
        return;
      }
      const p = pending.get(message.id);
      if (p === undefined) return;
      pending.delete(message.id);
      if (pending.size === 0) w.unref();
      if (message.error !== undefined) p.reject(new Error(`sealing a record on the worker thread failed: ${message.error}`));
      else p.resolve({ digest: message.digest, bytes: new Uint8Array(message.buffer, p.offset, p.length) });
    });
    w.on('error', fail);
    w.on('exit', fail);
    w.postMessage('ping');
    // After the listeners (adding a 'message' listener holds the port): an idle worker never keeps the process alive.
    w.unref();
    worker = w;
  } catch {
    state = 'broken';
  }
}

/**
 * SHA-256 of `bytes`, computed on the worker once it runs: `bytes.buffer` is
 * then transferred (unusable here until the result gives it back as
 * `bytes`). Until the worker has answered (and if it never does), the digest
 * is computed here and `bytes` returned as it was.
 */
export function sha256OnWorker(bytes: Uint8Array): Promise<{ digest: Uint8Array; bytes: Uint8Array }> {
  start();
  const w = worker;
  const buffer = bytes.buffer;
  // A buffer that cannot be moved (shared memory) is hashed here.
  if (state !== 'ready' || w === null || !(buffer instanceof ArrayBuffer)) return Promise.resolve(here(bytes));
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, offset: bytes.byteOffset, length: bytes.length });
    if (pending.size === 1) w.ref();
    w.postMessage({ id, buffer, offset: bytes.byteOffset, length: bytes.length }, [buffer]);
  });
}

/**
 * Seals `batch`'s blocks in place in `bytes` (seal-batch.ts) and hashes them
 * on the worker, `bytes.buffer` transferred as for {@link sha256OnWorker};
 * null until the worker has answered (and if it never does): the caller then
 * does both here.
 */
export function sealOnWorker(bytes: Uint8Array, batch: SealBatch): Promise<{ digest: Uint8Array; bytes: Uint8Array }> | null {
  start();
  const w = worker;
  const buffer = bytes.buffer;
  if (state !== 'ready' || w === null || !(buffer instanceof ArrayBuffer)) return null;
  const id = nextId++;
  sealedOnWorker++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, offset: bytes.byteOffset, length: bytes.length });
    if (pending.size === 1) w.ref();
    w.postMessage({ id, buffer, offset: bytes.byteOffset, length: bytes.length, seal: batch }, [buffer]);
  });
}

let sealedOnWorker = 0;

/** Records sealed on the worker so far (for tests). */
export function recordsSealedOnWorker(): number {
  return sealedOnWorker;
}

/** Whether digests now go to the worker (for tests): false until it has answered its first message. */
export function hashWorkerReady(): boolean {
  return state === 'ready';
}
