/**
 * The writer's pipeline for large v2 records (src/writer/segments.ts): a
 * record of 256 KiB or more is hashed on a worker thread (its buffer moved
 * there and back) and written once its digest returns, while the next record
 * gathers. Checked: the worker really holds the bytes (the buffer is detached
 * meanwhile) and gives the right digest; containers of large records, both
 * layouts, plain and encrypted, read back and verify; the record order and
 * the chain survive records finishing out of step; a write that fails
 * mid-pipeline surfaces and leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashWorkerReady, recordsSealedOnWorker, sha256OnWorker } from '../src/crypto/node-hash-worker.js';
import { FileSink, FileSource, H4mkReader, H4mkWriter, MemorySink, MemorySource } from '../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'h4mk-pipeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = new Uint8Array(32).fill(9);

/** 48 video blocks of 200–500 KiB (a keyframe every 3: records of ~1 MiB), and audio between them. */
function largeBlocks() {
  const blocks: { track: number; pts: number; dts: number; duration: number; keyframe: boolean; payload: Uint8Array }[] = [];
  for (let i = 0; i < 48; i++) {
    blocks.push({
      track: 0,
      pts: i * 3000,
      dts: i * 3000,
      duration: 3000,
      keyframe: i % 3 === 0,
      payload: new Uint8Array(randomBytes(200 * 1024 + ((i * 7919) % (300 * 1024)))),
    });
    blocks.push({ track: 1, pts: i * 1600, dts: i * 1600, duration: 1600, keyframe: true, payload: new Uint8Array(randomBytes(300 + i)) });
  }
  return blocks;
}

async function write(sink: MemorySink | FileSink, blocks: ReturnType<typeof largeBlocks>, options = {}) {
  const writer = await H4mkWriter.create(sink, options);
  writer.addTrack({ id: 'v', kind: 'video', codec: 'opaque', timescale: 90000 });
  writer.addTrack({ id: 'a', kind: 'audio', codec: 'opaque', timescale: 48000 });
  for (const b of blocks) await writer.writeBlock(b);
  return writer.finish();
}

describe('large records hashed on a worker thread', () => {
  it('the worker holds the bytes while it hashes (the buffer is moved, not copied) and gives them back with the right digest', async () => {
    // Until the worker has answered its first message, digests are computed here (and the bytes stay).
    const first = new Uint8Array(randomBytes(1024));
    expect(Buffer.from((await sha256OnWorker(first)).digest).toString('hex')).toBe(createHash('sha256').update(first).digest('hex'));
    for (let i = 0; i < 200 && !hashWorkerReady(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(hashWorkerReady()).toBe(true);
    const bytes = new Uint8Array(randomBytes(3 * 1024 * 1024));
    const view = bytes.subarray(1000, 2_000_000);
    const expected = createHash('sha256').update(view).digest('hex');
    const copy = view.slice();
    const pending = sha256OnWorker(view);
    expect(bytes.buffer.byteLength).toBe(0); // detached: it is on the worker
    const { digest, bytes: back } = await pending;
    expect(Buffer.from(digest).toString('hex')).toBe(expected);
    expect(back.byteOffset).toBe(1000);
    expect(Buffer.from(back).equals(Buffer.from(copy))).toBe(true);
  });

  it('works in a process started with --input-type=module -e (the worker does not inherit those flags)', () => {
    const entry = new URL('../dist/node.js', import.meta.url).href;
    const code = `
      import { FileSink, H4mkReader, FileSource, H4mkWriter } from ${JSON.stringify(entry)};
      const path = ${JSON.stringify(join(dir, 'eval.h4mk'))};
      const w = await H4mkWriter.create(await FileSink.create(path), {});
      w.addTrack({ id: 'v', kind: 'video', codec: 'opaque', timescale: 90000 });
      for (let i = 0; i < 24; i++) await w.writeBlock({ track: 0, pts: i * 3000, dts: i * 3000, duration: 3000, keyframe: i % 4 === 0, payload: new Uint8Array(300 * 1024).fill(i) });
      await w.finish();
      const r = await H4mkReader.open(await FileSource.open(path));
      const report = await r.verify();
      console.log(JSON.stringify({ ok: report.ok, blocks: r.blockCount }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ ok: true, blocks: 24 });
  });

  it('containers of large records (both layouts, plain and encrypted, memory and file) read back and verify', async () => {
    for (const options of [{}, { layout: 'faststart' as const }, { encryption: { secret: SECRET } }]) {
      const blocks = largeBlocks();
      const memory = new MemorySink();
      await write(memory, blocks, options);
      const path = join(dir, `large-${Object.keys(options).join('-') || 'plain'}.h4mk`);
      await write(await FileSink.create(path), blocks, options);
      for (const source of [new MemorySource(memory.bytes()), await FileSource.open(path)]) {
        const reader = await H4mkReader.open(source, 'encryption' in options ? { key: { secret: SECRET } } : {});
        expect(reader.blockCount).toBe(blocks.length);
        const report = await reader.verify();
        expect(report.failures).toEqual([]);
        if ('encryption' in options) expect(report.decryptedBlocks).toBe(blocks.length);
        let i = 0;
        for await (const b of reader.blocks()) {
          expect(Buffer.from(b.payload).equals(Buffer.from((blocks[i] as { payload: Uint8Array }).payload)), `block ${i}`).toBe(true);
          i++;
        }
        await reader.close();
      }
    }
  });

  it('a write that fails with records in flight surfaces from the writer, and abort leaves nothing', async () => {
    // A sink whose 5th write fails: records are still being hashed behind it.
    const sink = new MemorySink();
    let writes = 0;
    const failing = Object.assign(Object.create(Object.getPrototypeOf(sink)), sink, {
      write(bytes: Uint8Array) {
        if (++writes === 5) return Promise.reject(new Error('disk gone'));
        return sink.write(bytes);
      },
    });
    const writer = await H4mkWriter.create(failing, {});
    writer.addTrack({ id: 'v', kind: 'video', codec: 'opaque', timescale: 90000 });
    let failed: unknown = null;
    try {
      for (const b of largeBlocks().filter((x) => x.track === 0)) await writer.writeBlock(b);
      await writer.finish();
    } catch (error) {
      failed = error;
      await writer.abort();
    }
    expect((failed as Error).message).toBe('disk gone');
    // And through a FileSink, a failure at the file system (the EFBIG case is in test/file-sink.test.ts)
    // or an abort mid-pipeline leaves no temporary file beside the destination.
    const target = join(dir, 'aborted.h4mk');
    const w2 = await H4mkWriter.create(await FileSink.create(target), {});
    w2.addTrack({ id: 'v', kind: 'video', codec: 'opaque', timescale: 90000 });
    for (const b of largeBlocks()
      .slice(0, 30)
      .filter((x) => x.track === 0))
      await w2.writeBlock(b);
    await w2.abort();
    expect(readdirSync(dir).filter((f) => f.includes('aborted'))).toEqual([]);
  });
});

describe('encrypted records sealed on the worker thread', () => {
  it('small packets (the case where one AES-GCM call per block bound the main thread): sealed there, every block authenticates and reads back', async () => {
    for (let i = 0; i < 200 && !hashWorkerReady(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(hashWorkerReady()).toBe(true);
    const before = recordsSealedOnWorker();
    // 3,000 blocks of 40–700 bytes on three tracks, one of them zstd-compressed before it is sealed, with key epochs of 1 s.
    const blocks = Array.from({ length: 3000 }, (_, i) => {
      const track = i % 3;
      const n = Math.floor(i / 3);
      const payload = track === 2 ? new Uint8Array(400).fill(n % 7) : new Uint8Array(randomBytes(40 + ((i * 131) % 660)));
      return { track, pts: n * 1800, dts: n * 1800, duration: 1800, keyframe: track !== 0 || n % 50 === 0, payload };
    });
    const memory = new MemorySink();
    const writer = await H4mkWriter.create(memory, { encryption: { secret: SECRET, epochUs: 1_000_000 } });
    writer.addTrack({ id: 'v', kind: 'video', codec: 'opaque', timescale: 90000 });
    writer.addTrack({ id: 'a', kind: 'audio', codec: 'opaque', timescale: 90000 });
    writer.addTrack({ id: 'd', kind: 'data', codec: 'json', timescale: 90000, compression: 'zstd' });
    for (const b of blocks) await writer.writeBlock(b);
    const summary = await writer.finish();
    expect(recordsSealedOnWorker() - before).toBeGreaterThanOrEqual(summary.segmentCount - 1);
    const reader = await H4mkReader.open(new MemorySource(memory.bytes()), { key: { secret: SECRET } });
    const report = await reader.verify();
    expect(report.failures).toEqual([]);
    expect(report.decryptedBlocks).toBe(blocks.length);
    let i = 0;
    for await (const b of reader.blocks()) {
      const want = blocks[i] as (typeof blocks)[number];
      expect(b.pts, `block ${i}`).toBe(want.pts);
      expect(Buffer.from(b.payload).equals(Buffer.from(want.payload)), `block ${i}`).toBe(true);
      i++;
    }
    expect(i).toBe(blocks.length);
    // Without the key, the same container reads as ciphertext only: a wrong secret fails authentication.
    const wrong = await H4mkReader.open(new MemorySource(memory.bytes()), { key: { secret: new Uint8Array(32).fill(1) } }).catch((e: { code?: string }) => e);
    expect((wrong as { code?: string }).code).toBe('E_KEY');
  });
});
