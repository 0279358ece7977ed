/**
 * The writer's scrypt parameters against the format's bounds (§13.2,
 * SCRYPT_BOUNDS, the one source: the writer used to pass its own caps of
 * 24/64/16, which the bounds then overrode): not an integer ≥ 1 is a
 * RangeError before scrypt runs (it reached node:crypto as a raw Error);
 * above a bound is E_LIMIT, as a reader answers; within them the container
 * opens with the passphrase.
 */
import { describe, expect, it } from 'vitest';
import { SCRYPT_BOUNDS } from '../src/format/crypto-params.js';
import { type H4mkError, H4mkWriter, MemorySink } from '../src/node.js';
import { caught, openBytes } from './helpers.js';

const create = (scrypt: { log2N?: number; r?: number; p?: number }) => H4mkWriter.create(new MemorySink(), { encryption: { passphrase: 'pw', scrypt } });

describe('writer scrypt parameters', () => {
  it('not integers ≥ 1: RangeError, before any work', async () => {
    for (const scrypt of [{ log2N: 0 }, { log2N: 12.5 }, { r: 0 }, { p: 0 }, { p: 1.5 }, { r: Number.NaN }]) {
      const started = performance.now();
      const error = await caught(() => create(scrypt));
      expect(error, JSON.stringify(scrypt)).toBeInstanceOf(RangeError);
      expect(performance.now() - started).toBeLessThan(500);
    }
  });

  it('above the format bounds: E_LIMIT on CRYP, before any work', async () => {
    for (const scrypt of [
      { log2N: SCRYPT_BOUNDS.maxLog2N + 1 },
      { log2N: 4, r: SCRYPT_BOUNDS.maxR + 1 },
      { log2N: 4, p: SCRYPT_BOUNDS.maxP + 1 },
      { log2N: 24, r: 64, p: 16 },
    ]) {
      const started = performance.now();
      const error = (await caught(() => create(scrypt))) as H4mkError;
      expect([error.code, error.chunk], JSON.stringify(scrypt)).toEqual(['E_LIMIT', 'CRYP']);
      expect(performance.now() - started).toBeLessThan(500);
    }
  });

  it('at the bounds of r and p: written, and the reader opens it with the passphrase', async () => {
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { encryption: { passphrase: 'pw', scrypt: { log2N: 4, r: SCRYPT_BOUNDS.maxR, p: SCRYPT_BOUNDS.maxP } } });
    writer.addTrack({ id: 'd', kind: 'data' });
    await writer.writeBlock({ track: 'd', pts: 0, keyframe: true, payload: Uint8Array.of(1, 2, 3) });
    await writer.finish();
    const reader = await openBytes(sink.bytes(), { key: { passphrase: 'pw' } });
    expect(reader.cryptoParams?.kdf).toMatchObject({ kind: 'scrypt', log2N: 4, r: 16, p: 4 });
    expect(Array.from((await reader.readBlock(0)).payload)).toEqual([1, 2, 3]);
  });
});
