// Layout conversion (src/tools/optimize.ts, `h4mk optimize`): same blocks, same digests, same chain head; live checkpoints dropped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKeys, H4mkReader, MemorySink, MemorySource, signContainer, verifySeal, writeSealed } from '../src/node.js';
import { optimizeContainer } from '../src/tools/optimize.js';
import { allInfos, makeSample, writeSample } from './helpers.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'h4mk-optimize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (b: Uint8Array | null) => (b === null ? 'null' : Buffer.from(b).toString('hex'));
const sample = makeSample({ gops: 20, seed: 31 });

async function convert(bytes: Uint8Array, layout: 'tail' | 'faststart') {
  const sink = new MemorySink();
  const summary = await optimizeContainer(await H4mkReader.open(new MemorySource(bytes)), sink, { layout });
  return { summary, out: sink.bytes() };
}

async function sameBlocks(a: Uint8Array, b: Uint8Array, key?: Uint8Array): Promise<void> {
  const options = key === undefined ? {} : { key: { secret: key } };
  const ra = await H4mkReader.open(new MemorySource(a), options);
  const rb = await H4mkReader.open(new MemorySource(b), options);
  expect(rb.chainHead).toBe(ra.chainHead);
  expect(rb.blockCount).toBe(ra.blockCount);
  const ia = await allInfos(ra);
  const ib = await allInfos(rb);
  expect(ib.map((x) => hex(x.digest))).toEqual(ia.map((x) => hex(x.digest)));
  for (let i = 0; i < ra.blockCount; i += 13) expect(hex((await rb.readBlock(i)).payload)).toBe(hex((await ra.readBlock(i)).payload));
  const report = await rb.verify();
  expect(report.failures).toEqual([]);
}

describe('optimize', () => {
  it('tail → faststart → tail: index and segments copied byte for byte, back to the identical file', async () => {
    const tail = await writeSample(sample, { compression: 'zstd' });
    const fast = await convert(tail, 'faststart');
    expect(fast.summary.indexCopied).toBe(true);
    expect((await H4mkReader.open(new MemorySource(fast.out))).layout).toBe('faststart');
    await sameBlocks(tail, fast.out);
    // The writer's own faststart output is the same bytes.
    expect(hex(fast.out)).toBe(hex(await writeSample(sample, { compression: 'zstd', layout: 'faststart' })));
    const back = await convert(fast.out, 'tail');
    expect(hex(back.out)).toBe(hex(tail));
  });

  it('a finished live file: checkpoints dropped, the result is exactly what a non-live writer makes', async () => {
    const sink = new MemorySink();
    const { H4mkWriter } = await import('../src/node.js');
    const writer = await H4mkWriter.create(sink, { live: { checkpointBlocks: 16, checkpointMs: 3_600_000 } });
    for (const t of sample.tracks) writer.addTrack(t);
    for (const b of sample.inputs) await writer.writeBlock(b);
    const summary = await writer.finish();
    const live = sink.bytes();
    expect(summary.live?.checkpoints).toBeGreaterThan(2);
    const { summary: s, out } = await convert(live, 'tail');
    expect(s.indexCopied).toBe(false);
    expect(s.droppedGapBytes).toBe(summary.live?.checkpointBytes);
    await sameBlocks(live, out);
    expect(hex(out)).toBe(hex(await writeSample(sample)));
  });

  it('an encrypted container keeps its CRYP: the transcript MAC still verifies with the key', async () => {
    const secret = new Uint8Array(32).fill(9);
    const enc = await writeSample(sample, { encryption: { secret } });
    const { out } = await convert(enc, 'faststart');
    await sameBlocks(enc, out, secret);
  });

  it('a sealed container keeps its SEAL when the index is copied', async () => {
    const plain = await writeSample(sample);
    const keys = generateSigningKeys();
    const reader = await H4mkReader.open(new MemorySource(plain));
    const sealedSink = new MemorySink();
    await writeSealed(reader, sealedSink, signContainer(reader, keys.privateKeyPem, 'test'));
    const { summary, out } = await convert(sealedSink.bytes(), 'faststart');
    expect(summary.droppedSeal).toBe(false);
    expect(verifySeal(await H4mkReader.open(new MemorySource(out)), keys.publicKeyPem).signer).toBe('test');
  });

  it('CLI: converts, reports, and never publishes a file that fails verify', () => {
    const input = join(dir, 'in.h4mk');
    const output = join(dir, 'out.h4mk');
    return writeSample(sample, { compression: 'deflate' }).then((bytes) => {
      writeFileSync(input, bytes);
      const ok = spawnSync(process.execPath, [MAIN, 'optimize', input, '-o', output, '--json'], { encoding: 'utf8' });
      expect(ok.status, ok.stderr).toBe(0);
      const doc = JSON.parse(ok.stdout) as { layout: string; index_copied: boolean; verified: boolean; chain_head: string };
      expect(doc).toMatchObject({ layout: 'faststart', index_copied: true, verified: true });
      const text = spawnSync(process.execPath, [MAIN, 'optimize', output, '-o', join(dir, 'back.h4mk'), '--tail'], { encoding: 'utf8' });
      expect(text.status, text.stderr).toBe(0);
      expect(text.stdout).toMatch(
        /^wrote .*back\.h4mk: tail layout, \d+ bytes, \d+ blocks in \d+ segments; index \d+ bytes copied verbatim; chain head [0-9a-f]{64}; verified OK\n$/,
      );
      // A damaged block: the copy would carry the damage, so it is not published.
      const damaged = bytes.slice();
      damaged[200] = (damaged[200] as number) ^ 1;
      writeFileSync(input, damaged);
      const bad = spawnSync(process.execPath, [MAIN, 'optimize', input, '-o', join(dir, 'bad.h4mk')], { encoding: 'utf8' });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/^h4mk: error: the converted container failed verification/);
      expect(existsSync(join(dir, 'bad.h4mk'))).toBe(false);
      const both = spawnSync(process.execPath, [MAIN, 'optimize', input, '-o', output, '--tail', '--faststart'], { encoding: 'utf8' });
      expect(both.status).toBe(2);
    });
  });
});
