/**
 * writeSealed is atomic and its failures typed: a seal the format cannot
 * hold (§13.7: algorithm 1, message version 0 or 1, 32-byte public key,
 * 64-byte signature, signed_at ≥ 0, signer ≤ 255 UTF-8 bytes) is a
 * TypeError or RangeError before any byte is written, and the sink is
 * aborted: no file, no temporary file. (The encoding used to happen before
 * the try block, leaving the temporary file, and wrong key or signature
 * lengths were written as they were, making a container that cannot open.)
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSink, generateSigningKeys, H4mkReader, MemorySink, MemorySource, type Seal, signContainer, verifySeal, writeSealed } from '../src/node.js';
import { makeSample, writeSample } from './helpers.js';

let dir: string;
let reader: H4mkReader;
let seal: Seal;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h4mk-seal-write-'));
  reader = await H4mkReader.open(new MemorySource(await writeSample(makeSample({ gops: 2 }))));
  seal = signContainer(reader, generateSigningKeys().privateKeyPem, 'tests@h4mk');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeSealed', () => {
  const bad: [string, Partial<Seal>, ErrorConstructor][] = [
    ['a 31-byte public key', { publicKey: new Uint8Array(31) }, RangeError],
    ['a 65-byte signature', { signature: new Uint8Array(65) }, RangeError],
    ['a signer of 256 UTF-8 bytes', { signer: 'é'.repeat(128) }, RangeError],
    ['algorithm 2', { algorithm: 2 }, RangeError],
    ['message version 2', { messageVersion: 2 }, RangeError],
    ['a negative signedAt', { signedAt: -1 }, RangeError],
    ['a fractional signedAt', { signedAt: 1.5 }, RangeError],
    ['a public key that is not bytes', { publicKey: 'ab'.repeat(16) as unknown as Uint8Array }, TypeError],
  ];

  it.each(bad)('%s: a typed error and nothing at the destination, no temporary file', async (_, change, type) => {
    const out = join(dir, 'sealed.h4mk');
    const sink = await FileSink.create(out);
    await expect(writeSealed(reader, sink, { ...seal, ...change })).rejects.toThrow(type);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('aborts a memory sink too, and a good seal still writes a container that verifies', async () => {
    const aborted = new MemorySink();
    await expect(writeSealed(reader, aborted, { ...seal, signer: 'x'.repeat(256) })).rejects.toThrow(RangeError);
    expect(() => aborted.bytes()).toThrow();
    const sink = new MemorySink();
    await writeSealed(reader, sink, seal);
    const sealed = await H4mkReader.open(new MemorySource(sink.bytes()));
    expect(verifySeal(sealed)).toMatchObject({ signer: 'tests@h4mk', signerSigned: true });
  });
});
