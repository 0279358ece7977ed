// `h4mk recover`: exit 0 complete, 3 partial, 1 nothing; the report; the output published only when it verifies.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSource, H4mkReader, H4mkWriter, MemorySink } from '../src/node.js';
import { makeSample, writeSample } from './helpers.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'h4mk-recover-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function h4mk(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sample = makeSample({ gops: 10, seed: 41 });

describe('h4mk recover', () => {
  it('a complete container: exit 0, everything back, digest-verified', async () => {
    writeFileSync(join(dir, 'whole.h4mk'), await writeSample(sample));
    const r = h4mk(['recover', 'whole.h4mk', '-o', 'whole.out.h4mk', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ complete: true, published: true, verified: true, lost_blocks: 0, damage: null, tracks_from: 'final-index' });
    expect(doc.recovered_blocks).toBe(sample.inputs.length);
    expect(doc.digest_verified).toBe(sample.inputs.length);
  });

  it('a truncated container: exit 3, a valid container of the blocks before the damage, and where the damage starts', async () => {
    const bytes = await writeSample(sample);
    const cut = Math.floor(bytes.length * 0.6);
    writeFileSync(join(dir, 'cut.h4mk'), bytes.subarray(0, cut));
    writeFileSync(join(dir, 'ref.h4mk'), bytes);
    const r = h4mk(['recover', 'cut.h4mk', '-o', 'cut.out.h4mk']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /^recovered \d+ block\(s\) from cut\.h4mk: \d+ verified by their segment table digest, \d+ by CRC-32C and core_index sequence \(unfinished segment\); at least [1-9]\d* lost\n/,
    );
    expect(r.stdout).toMatch(new RegExp(`damage starts at byte \\d+ of ${cut}: E_TRUNCATED`));
    expect(r.stdout).toMatch(/tracks from nowhere: the track table was lost/);
    expect(r.stderr).toMatch(
      /^h4mk: error: partial recovery: \d+ blocks recovered, at least [1-9]\d* lost; damage starts at byte \d+\nh4mk: hint: cut\.out\.h4mk is a valid container of the recovered blocks\n$/,
    );
    const reader = await H4mkReader.open(await FileSource.open(join(dir, 'cut.out.h4mk')));
    expect((await reader.verify()).ok).toBe(true);
    expect(reader.tracks()[0]?.id).toBe('track_0');
    await reader.close();
    // With a reference container, the real tracks.
    const withRef = h4mk(['recover', 'cut.h4mk', '-o', 'cut2.out.h4mk', '--tracks-from', 'ref.h4mk', '--json']);
    expect(withRef.code).toBe(3);
    expect(JSON.parse(withRef.stdout)).toMatchObject({ tracks_from: 'reference', published: true, complete: false });
    const real = await H4mkReader.open(await FileSource.open(join(dir, 'cut2.out.h4mk')));
    expect(real.tracks().map((t) => t.id)).toEqual(['video_main', 'audio_main', 'control']);
    await real.close();
  });

  it('nothing recoverable: exit 1 and no output', () => {
    writeFileSync(join(dir, 'junk.bin'), Buffer.alloc(5000, 7));
    const r = h4mk(['recover', 'junk.bin', '-o', 'junk.out.h4mk']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^h4mk: error: nothing recovered from junk\.bin: no block could be recovered; junk\.out\.h4mk was not written/);
    expect(existsSync(join(dir, 'junk.out.h4mk'))).toBe(false);
  });

  it('an encrypted live recording cut short: exit 3, blocks copied verbatim, the report says why the transcript will not match', async () => {
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { encryption: { secret: new Uint8Array(32).fill(1) }, live: { checkpointBlocks: 30, checkpointMs: 60_000 } });
    for (const t of sample.tracks) writer.addTrack(t);
    for (const b of sample.inputs) await writer.writeBlock(b);
    await writer.finish();
    const bytes = sink.bytes();
    writeFileSync(join(dir, 'enc.h4mk'), bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    writeFileSync(join(dir, 'key.bin'), new Uint8Array(32).fill(1));
    const r = h4mk(['recover', 'enc.h4mk', '-o', 'enc.out.h4mk']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/tracks from its last readable index/);
    expect(r.stdout).toMatch(/encrypted blocks were copied verbatim with the surviving CRYP: with the key, verify reports the truncation/);
    // Without the key it verifies; with it, the transcript shows the cut.
    expect(h4mk(['verify', 'enc.out.h4mk']).code).toBe(0);
  });
});
