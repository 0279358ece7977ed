/**
 * FileSink under a real write failure: a child process whose file size limit
 * (`ulimit -f`, so write(2) fails with EFBIG) is far below the container it
 * writes. Writes are queued behind the caller (several buffers in flight), so
 * the failure surfaces on a later call; it must surface as the system error,
 * nothing may be written after it, and abort must leave no file behind.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const NODE_ENTRY = fileURLToPath(new URL('../dist/node.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'h4mk-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = `
import { FileSink, H4mkWriter } from ${JSON.stringify(NODE_ENTRY)};
const out = process.argv[2];
const blockBytes = Number(process.argv[3] ?? 256 * 1024);
const blocks = Number(process.argv[4] ?? 64);
const writer = await H4mkWriter.create(await FileSink.create(out), { layout: 'tail' });
writer.addTrack({ id: 'v', kind: 'video', codec: 'x', timescale: 90000 });
const payload = new Uint8Array(blockBytes).fill(1);
let written = 0;
try {
  for (let i = 0; i < blocks; i++) {
    await writer.writeBlock({ track: 0, pts: i * 3000, dts: i * 3000, duration: 3000, keyframe: i % 4 === 0, payload });
    written++;
  }
  await writer.finish();
  console.log(JSON.stringify({ finished: true }));
} catch (error) {
  await writer.abort();
  console.log(JSON.stringify({ code: error.code, written }));
}
`;

/**
 * Runs the child under a file size limit of `limitBlocks` 512-byte blocks,
 * writing into an empty folder `name`; returns its result and the folder's entries.
 */
function writeUnderLimit(name: string, limitBlocks: number, args: string[] = []): { result: { code?: string; written?: number }; left: string[] } {
  const script = join(dir, 'child.mjs');
  writeFileSync(script, CHILD);
  const target = join(dir, name);
  rmSync(target, { recursive: true, force: true });
  spawnSync('mkdir', [target]);
  const r = spawnSync('bash', ['-c', `ulimit -f ${limitBlocks}; exec "${process.execPath}" "${script}" "${join(target, 'c.h4mk')}" ${args.join(' ')}`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return { result: JSON.parse(r.stdout.trim()), left: readdirSync(target) };
}

describe('FileSink when the file system refuses a write', () => {
  it('reports EFBIG, stops writing and leaves nothing at the destination or beside it', () => {
    // 2048 blocks of 512 bytes: 1 MiB, against a 16 MiB container.
    const { result, left } = writeUnderLimit('out', 2048);
    expect(result.code).toBe('EFBIG');
    expect(result.written).toBeLessThan(64);
    expect(left).toEqual([]);
  });

  it('the same after background syncs have run (the file had passed 8 MiB twice): EFBIG, nothing left', () => {
    // 40960 blocks of 512 bytes: 20 MiB, against a 40 MiB container of 1 MiB blocks.
    const { result, left } = writeUnderLimit('out-synced', 40960, [String(1 << 20), '40']);
    expect(result.code).toBe('EFBIG');
    // The failure may surface at finish: records and buffers are still on their way when the last block is accepted.
    expect(result.written).toBeGreaterThanOrEqual(16);
    expect(left).toEqual([]);
  });
});

describe('FileSink syncs a growing temporary file in the background', () => {
  it('a 40 MiB container (several background syncs) commits whole and verifies', async () => {
    const script = join(dir, 'child.mjs');
    writeFileSync(script, CHILD);
    const out = join(dir, 'big.h4mk');
    const r = spawnSync(process.execPath, [script, out, String(1 << 20), '40'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ finished: true });
    const { FileSource, H4mkReader } = await import('../src/node.js');
    const source = await FileSource.open(out);
    try {
      const reader = await H4mkReader.open(source);
      expect(reader.blockCount).toBe(40);
      const report = await reader.verify();
      expect(report.ok).toBe(true);
      expect(report.blocksChecked).toBe(40);
    } finally {
      await source.close();
    }
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});

describe('FileSink with overlapping calls', () => {
  it('writes and flushes issued without waiting (a writer’s background records beside its caller’s syncs) land in call order', async () => {
    const { FileSink } = await import('../src/node.js');
    const out = join(dir, 'overlap.bin');
    const sink = await FileSink.create(out);
    // Sizes that fill the 1 MiB buffers part-way, exactly and several times over, so that waits for a free buffer
    // (all six in flight) happen while later small writes and flushes arrive.
    const sizes = [700_000, 400_000, 3 << 20, 10, 1 << 20, 5, 2_500_000, 1, 900_000, 64, 4 << 20, 300, 1_048_575, 2];
    const parts = sizes.map((n, k) => new Uint8Array(n).fill(k + 1));
    const calls: Promise<void>[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [k, part] of parts.entries()) {
        const pending = sink.write(part);
        if (pending !== undefined) calls.push(pending);
        if (k % 3 === round) calls.push(round === 1 ? sink.sync() : sink.flush());
      }
    }
    await Promise.all(calls);
    await sink.commit();
    const bytes = readFileSync(out);
    const expected = Buffer.concat([...parts, ...parts, ...parts]);
    expect(bytes.length).toBe(expected.length);
    // The first differing offset, if any, says which call's bytes went astray.
    const first = bytes.findIndex((b, i) => b !== expected[i]);
    expect(first).toBe(-1);
  });
});
