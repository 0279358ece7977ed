/**
 * docs/FORMAT.md, point by point: the behaviours an outside reader found
 * unstated or contradicted by the bytes, each pinned as the text now states
 * it. One `describe` per point; the section named is where the text says it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c, H4mkError, H4mkReader, H4mkWriter, MemorySink, MemorySource, optimizeContainer, parseGrant, type Grant } from '../src/node.js';
import { contextDigest, deriveBlockKey, secretFromPassphrase } from '../src/crypto/keys.js';
import { SecretKeys, sealBlock } from '../src/crypto/living-cipher.js';
import { unlock } from '../src/crypto/unlock.js';
import { decodeBlockHeader } from '../src/format/block.js';
import { ByteWriter } from '../src/format/bytes.js';
import { MAX_SEGMENT_LENGTH } from '../src/format/constants.js';
import { decodeCryptoParams, encodeCryptoParams, type CryptoParams } from '../src/format/crypto-params.js';
import { decodeFooter, decodeHeader } from '../src/format/header.js';
import { decodeIntegrity } from '../src/format/integrity.js';
import { decodeSeal, encodeSeal } from '../src/format/seal.js';
import { createTrackSeekTable, decodeSeekTables, encodeSeekTables } from '../src/format/seek-table.js';
import { decodeSegmentDirectory } from '../src/format/segment-directory.js';
import { createSegmentTable, decodeSegmentTable, encodeSegmentTable } from '../src/format/segment-table.js';
import { parseJsonObject } from '../src/format/strings.js';
import { decodeTrackTable } from '../src/format/track-table.js';
import { readVarint } from '../src/format/varint.js';
import { caught } from './helpers.js';
import { type ChunkPosition, layoutOf, reseal } from './fuzz-engine.mjs';

const vectors = join(import.meta.dirname, 'vectors');

function load(name: string): Uint8Array {
  return Uint8Array.from(Buffer.from(readFileSync(join(vectors, `${name}.hex`), 'utf8').replace(/\s+/g, ''), 'hex'));
}

/** The error code of a failing call (an H4mkError is required). */
async function codeOf(fn: () => unknown): Promise<string> {
  const error = await caught(fn);
  expect(error, String(error)).toBeInstanceOf(H4mkError);
  return (error as H4mkError).code;
}

const open = (bytes: Uint8Array, options = {}) => H4mkReader.open(new MemorySource(bytes), options);

/** `bytes` with the chunk CRCs, digests and chain head recomputed (lengths unchanged). */
function resealed(bytes: Uint8Array): Uint8Array {
  return reseal(bytes, layoutOf(bytes), crc32c);
}

function chunk(bytes: Uint8Array, type: string, where: 'index' | 'data' = 'index'): ChunkPosition {
  const layout = layoutOf(bytes);
  const c = (where === 'index' ? layout.indexChunks : layout.dataChunks).find((x) => x.type === type);
  if (c === undefined) throw new Error(`no ${type}`);
  return c;
}

/** Sets the FOOT state of a file and fixes the footer's CRC. */
function withFootState(bytes: Uint8Array, state: number): Uint8Array {
  const out = bytes.slice();
  const foot = out.length - 36;
  new DataView(out.buffer).setUint32(foot + 28, state, true);
  new DataView(out.buffer).setUint32(foot + 32, crc32c(out.subarray(foot, foot + 32)), true);
  return out;
}

/** The §14.3 example: a live writer, a checkpoint after each of three one-block segments. */
async function liveExample(): Promise<Uint8Array> {
  const sink = new MemorySink();
  const writer = await H4mkWriter.create(sink, { formatVersion: 1, live: { checkpointMs: 0 } });
  writer.addTrack({ id: 'v', kind: 'video', codec: 'opaque' });
  for (let i = 0; i < 3; i++)
    await writer.writeBlock({ track: 'v', ptsUs: i * 40_000, durationUs: 40_000, keyframe: true, kind: 'I', payload: new TextEncoder().encode('H4MK') });
  await writer.finish();
  return sink.bytes();
}

// These tests quote v1 bytes (CORE, BIDX, the §14.3 example): their writers write version 1.
async function plainExample(options = {}): Promise<Uint8Array> {
  const sink = new MemorySink();
  const writer = await H4mkWriter.create(sink, { formatVersion: 1, ...options });
  writer.addTrack({ id: 'v', kind: 'video', codec: 'opaque' });
  for (let i = 0; i < 3; i++)
    await writer.writeBlock({ track: 'v', ptsUs: i * 40_000, durationUs: 40_000, keyframe: true, kind: 'I', payload: new TextEncoder().encode('H4MK') });
  await writer.finish();
  return sink.bytes();
}

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

async function encrypted(options: { epochUs?: number; blocks?: number } = {}): Promise<Uint8Array> {
  const sink = new MemorySink();
  const writer = await H4mkWriter.create(sink, { formatVersion: 1, encryption: { secret: SECRET, epochUs: options.epochUs ?? 0 } });
  writer.addTrack({ id: 'v', kind: 'video', codec: 'opaque' });
  for (let i = 0; i < (options.blocks ?? 1); i++)
    await writer.writeBlock({ track: 'v', ptsUs: i * 1_000_000, keyframe: true, payload: new TextEncoder().encode(`block ${i}`) });
  await writer.finish();
  return sink.bytes();
}

describe('1. §6.3/§13.1 compression none: stored_length = original_length, + 16 when encrypted; checked after decryption (E_DECOMPRESS)', () => {
  it('a plain block stores original_length bytes, an encrypted one original_length + 16', async () => {
    const plain = await open(load('v1-minimal-tail'));
    const p = await plain.blockInfo(0);
    expect([p.compression, p.storedLength, p.originalLength]).toEqual(['none', 4, 4]);
    const enc = await open(await encrypted(), { key: { secret: SECRET } });
    const e = await enc.blockInfo(0);
    expect([e.compression, e.encrypted, e.storedLength, e.originalLength]).toEqual(['none', true, 7 + 16, 7]);
    expect(new TextDecoder().decode((await enc.readBlock(0)).payload)).toBe('block 0');
  });

  it('an encrypted block that authenticates but whose plaintext is not original_length long is E_DECOMPRESS', async () => {
    const bytes = await encrypted();
    const reader = await open(bytes);
    const params = reader.cryptoParams as CryptoParams;
    const core = chunk(bytes, 'CORE', 'data');
    const bidx = chunk(bytes, 'BIDX', 'data');
    const seek = chunk(bytes, 'SEEK');
    const fields = decodeBlockHeader(bytes.subarray(core.payloadStart, core.end - 4), core.payloadStart, 1 << 26);
    const timescale = reader.tracks()[0]?.timescale as number;
    // Declare one byte more than the 7-byte plaintext, everywhere, and seal the same plaintext under that context.
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint32(core.payloadStart + 32, 8, true);
    view.setUint32(bidx.payloadStart + 16 + 32, 8, true);
    view.setUint32(seek.payloadStart + 4 + 32, 8, true); // SEEK original_bytes (low half)
    const context = {
      containerId: params.containerId,
      epochUs: params.epochUs,
      engineDigest: contextDigest(params.engineId, params.engineFp, reader.index.raw),
      keys: new SecretKeys(SECRET, params.containerId),
    };
    const sealed = sealBlock(context, { ...fields, originalLength: 8 }, timescale, new TextEncoder().encode('block 0'));
    expect(sealed.length).toBe(fields.storedLength);
    bytes.set(sealed, core.payloadStart + 36);
    resealed(bytes);
    const damaged = await open(bytes, { key: { secret: SECRET } });
    expect(await codeOf(() => damaged.readBlock(0))).toBe('E_DECOMPRESS');
  });

  it('a plain block whose stored length differs from original_length is E_DECOMPRESS at read', async () => {
    const bytes = load('v1-minimal-tail');
    const view = new DataView(bytes.buffer);
    view.setUint32(32 + 8 + 32, 5, true); // CORE original_length
    view.setUint32(84 + 8 + 16 + 32, 5, true); // BIDX entry original_length
    view.setUint32(292 + 4 + 32, 5, true); // SEEK original_bytes
    const reader = await open(resealed(bytes));
    expect(await codeOf(() => reader.readBlock(0))).toBe('E_DECOMPRESS');
    expect((await reader.verify()).failures.map((f) => f.code)).toEqual(['E_DECOMPRESS']);
  });
});

describe("2. §5.5 gaps: zero without checkpoints, a checkpoint's size with them; gap chunks checked by verify", () => {
  it("a non-live writer writes gap 0; a live writer records each checkpoint as the next segment's gap", async () => {
    const plain = await open(await plainExample());
    expect([...plain.index.segments.offset]).toEqual([0, 152, 304]);
    const live = await open(await liveExample());
    expect([...live.index.segments.offset]).toEqual([0, 505, 1058]);
    expect((await live.verify()).failures).toEqual([]);
  });

  it('a chunk in a gap that runs past the next segment is E_TRUNCATED in verify; the open does not read gaps', async () => {
    const bytes = await liveExample();
    new DataView(bytes.buffer).setUint32(184 + 4, 100_000, true); // the first checkpoint's TRAK length
    const reader = await open(bytes);
    expect(reader.blockCount).toBe(3);
    const report = await reader.verify();
    expect(report.failures).toEqual([expect.objectContaining({ code: 'E_TRUNCATED', chunk: 'TRAK', offset: 184 })]);
    expect(report.failedBlocks).toEqual([]);
  });
});

describe('3. §5.1 TRAK compression: informative, but an unknown id is E_UNSUPPORTED at open', () => {
  // v1-minimal-tail: TRAK payload at 192, its one record at 196: number 196–197, kind 198, compression 199.
  it('an id outside 0–3 fails the open with E_UNSUPPORTED at that byte', async () => {
    const bytes = load('v1-minimal-tail');
    bytes[199] = 4;
    const error = (await caught(() => open(resealed(bytes)))) as H4mkError;
    expect([error.code, error.offset, error.chunk]).toEqual(['E_UNSUPPORTED', 199, 'TRAK']);
  });

  it('a known id is only a default: blocks are decoded by their own compression', async () => {
    const bytes = load('v1-minimal-tail');
    bytes[199] = 3; // zstd, while the block is stored uncompressed
    const reader = await open(resealed(bytes));
    expect(reader.tracks()[0]?.compression).toBe('zstd');
    expect(new TextDecoder().decode((await reader.readBlock(0)).payload)).toBe('H4MK');
    expect((await reader.verify()).ok).toBe(true);
  });

  it('a kind outside 0–4 is E_UNSUPPORTED too', async () => {
    const bytes = load('v1-minimal-tail');
    bytes[198] = 5;
    expect(await codeOf(() => open(resealed(bytes)))).toBe('E_UNSUPPORTED');
  });
});

describe('4. §5.4 SEEK describes BIDX exactly; one keyframe means both last-key deltas are 0', () => {
  // v1-minimal-tail: the one SEEK entry is bytes 340–348: segment, count, key_count, min_pts, span, first key pts and position, last key deltas.
  const entry = 340;

  it('an entry that disagrees with its segment table opens, and verify reports E_FORMAT on SEEK', async () => {
    const bytes = load('v1-minimal-tail');
    expect([...bytes.subarray(entry, entry + 9)]).toEqual([0, 1, 1, 0, 0, 0, 0, 0, 0]);
    bytes[entry + 3] = 2; // min_pts zigzag 2 = 1: the block's pts is 0
    const reader = await open(resealed(bytes));
    const report = await reader.verify();
    expect(report.failures).toEqual([expect.objectContaining({ code: 'E_FORMAT', chunk: 'SEEK' })]);
  });

  it('key_count 1 with a non-zero last-key delta is E_FORMAT at open', async () => {
    for (const [at, value] of [
      [entry + 7, 1], // last_key_pts − first_key_pts
      [entry + 8, 1], // last_key_position − first_key_position
    ] as const) {
      const bytes = load('v1-minimal-tail');
      bytes[entry + 4] = 5; // span 5, so that last_key_pts ≤ max_pts still holds
      bytes[at] = value;
      const error = (await caught(() => open(resealed(bytes)))) as H4mkError;
      expect([error.code, error.chunk]).toEqual(['E_FORMAT', 'SEEK']);
      expect(error.message).toMatch(/last-keyframe deltas/);
    }
  });

  it('key_count ≥ 2 with a last-key position delta of 0 is E_FORMAT (decoded SEEK)', () => {
    const t = createTrackSeekTable(0, 1);
    Object.assign(t, { blockCount: 2, keyframeCount: 2, entryCount: 1 });
    t.segment[0] = 0;
    t.count[0] = 2;
    t.keyCount[0] = 2;
    t.maxPts[0] = 10;
    t.lastKeyPts[0] = 10;
    t.firstKeyPosition[0] = 0;
    t.lastKeyPosition[0] = 1;
    expect(decodeSeekTables(encodeSeekTables([t]), 0, 1)[0]?.lastKeyPosition[0]).toBe(1);
    t.lastKeyPosition[0] = 0;
    let error: unknown;
    try {
      decodeSeekTables(encodeSeekTables([t]), 0, 1);
    } catch (e) {
      error = e;
    }
    expect((error as H4mkError).code).toBe('E_FORMAT');
  });
});

describe('5. §14.1/§10 a live open without a durable checkpoint is E_TRUNCATED', () => {
  it('a live file cut before its first checkpoint FOOT, and a file shorter than 68 bytes', async () => {
    const bytes = await liveExample();
    for (const n of [400, 500, 536]) expect(await codeOf(() => open(bytes.subarray(0, n), { live: true }))).toBe('E_TRUNCATED');
    expect(await codeOf(() => open(bytes.subarray(0, 67), { live: true }))).toBe('E_TRUNCATED');
    expect((await open(bytes.subarray(0, 537), { live: true })).blockCount).toBe(1);
  });

  it('a checkpoint farther back than the scan limit counts as absent: E_TRUNCATED', async () => {
    const bytes = await liveExample();
    expect(await codeOf(() => open(bytes.subarray(0, 1000), { live: true, liveScanLimit: 100 }))).toBe('E_TRUNCATED');
  });
});

describe('6. §2.2 varint errors: E_TRUNCATED, E_LIMIT (over 8 bytes, over 2^53 − 1), E_FORMAT (overlong)', () => {
  const read = (bytes: number[]) => {
    try {
      return readVarint(Uint8Array.from(bytes), 0, bytes.length)[0];
    } catch (e) {
      return (e as H4mkError).code;
    }
  };

  it('each condition of the table', () => {
    expect(read([0x80])).toBe('E_TRUNCATED');
    expect(read([0xff, 0xff])).toBe('E_TRUNCATED');
    expect(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80])).toBe('E_LIMIT'); // the 8th byte continues: nothing more is read
    expect(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).toBe('E_LIMIT');
    expect(read([0x80, 0x00])).toBe('E_FORMAT');
    expect(read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00])).toBe('E_FORMAT');
    expect(read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])).toBe(2 ** 53 - 1);
    expect(read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10])).toBe('E_LIMIT');
    expect(read([0x00])).toBe(0);
  });

  it('an overlong varint inside a container fails the open with E_FORMAT', async () => {
    const bytes = load('v1-minimal-tail');
    bytes.set([0x80, 0x00, 1, 1, 0, 0, 0, 0, 0], 340); // segment coded as 80 00
    expect(await codeOf(() => open(resealed(bytes)))).toBe('E_FORMAT');
  });
  it('a varint error in SEEK or SEGX names the chunk and its file offset (the payload base added)', () => {
    const t = createTrackSeekTable(0, 1);
    Object.assign(t, { entryCount: 1, blockCount: 1, keyframeCount: 1 });
    t.count[0] = 1;
    t.keyCount[0] = 1;
    const seek = encodeSeekTables([t]);
    // The first entry starts after the 4-byte header and the 44-byte track header: code its segment as 80 00.
    const overlong = Uint8Array.from([...seek.subarray(0, 48), 0x80, 0x00, ...seek.subarray(49)]);
    new DataView(overlong.buffer).setUint32(44, seek.length - 48 + 1, true); // entries_length
    const thrown = (fn: () => unknown): H4mkError => {
      try {
        fn();
      } catch (error) {
        return error as H4mkError;
      }
      throw new Error('expected an error');
    };
    const e = thrown(() => decodeSeekTables(overlong, 1000, 1));
    expect([e.code, e.chunk, e.offset]).toEqual(['E_FORMAT', 'SEEK', 1048]);
    // One v1 segment whose gap is coded 80 00, then room for the rest of an entry.
    const segx = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x00, ...new Array(33).fill(0)]);
    const f = thrown(() => decodeSegmentDirectory(segx, 2000, { maxSegmentBlocks: 65536, maxBlocks: 2 ** 40 }));
    expect([f.code, f.chunk, f.offset]).toEqual(['E_FORMAT', 'SEGX', 2008]);
  });
});

describe('7. §4.2 every chunk payload ends exactly: bytes left over are E_FORMAT, missing bytes E_TRUNCATED', () => {
  const tail = load('v1-minimal-tail');
  const payload = (start: number, length: number) => tail.slice(start + 8, start + 8 + length);
  const grow = (p: Uint8Array) => Uint8Array.from([...p, 0]);
  const shrink = (p: Uint8Array) => p.slice(0, p.length - 1);
  const limits = { maxTracks: 1024, maxJsonLength: 1 << 20, maxSegmentBlocks: 65536, maxBlocks: 2 ** 40, maxBlockLength: 1 << 26 };
  const decoders: [string, Uint8Array, (p: Uint8Array) => unknown][] = [
    ['TRAK', payload(184, 35), (p) => decodeTrackTable(p, 0, limits)],
    ['SEEK', payload(284, 57), (p) => decodeSeekTables(p, 0, 1)],
    ['SEGX', payload(353, 44), (p) => decodeSegmentDirectory(p, 0, limits)],
    ['VERI', payload(409, 80), (p) => decodeIntegrity(p, 0)],
    ['BIDX', payload(84, 88), (p) => decodeSegmentTable(p, 0, limits)],
    [
      'CRYP',
      encodeCryptoParams({
        aead: 1,
        kdf: { kind: 'raw' },
        containerId: new Uint8Array(16),
        epochUs: 0,
        keyCheck: new Uint8Array(16),
        transcriptMac: new Uint8Array(32),
        engineId: 'e',
        engineFp: 'f',
      }),
      (p) => decodeCryptoParams(p, 0),
    ],
    [
      'SEAL',
      encodeSeal({ algorithm: 1, messageVersion: 1, publicKey: new Uint8Array(32), signature: new Uint8Array(64), signer: 'me', signedAt: 1 }),
      (p) => decodeSeal(p, 0),
    ],
  ];

  for (const [type, good, decode] of decoders) {
    it(`${type}: exact decodes, one byte more is E_FORMAT, one byte less E_TRUNCATED`, async () => {
      expect(() => decode(good)).not.toThrow();
      expect(await codeOf(() => decode(grow(good)))).toBe('E_FORMAT');
      expect(await codeOf(() => decode(shrink(good)))).toBe('E_TRUNCATED');
    });
  }

  it('META and SAFE: anything after the JSON object but JSON whitespace is E_FORMAT', async () => {
    const utf8 = (text: string) => new TextEncoder().encode(text);
    expect(parseJsonObject(utf8('{"a":1} \n'), 0, 'META')).toEqual({ a: 1 });
    for (const text of ['{"a":1}x', '{"a":1}{}', '{"a":1}\u0000']) expect(await codeOf(() => parseJsonObject(utf8(text), 0, 'SAFE')), text).toBe('E_FORMAT');
  });
});

describe('8. §3/§5.9 check order: CRC before version, version before flags, header before footer', () => {
  const fixCrc = (b: Uint8Array) => {
    new DataView(b.buffer).setUint32(28, crc32c(b.subarray(0, 28)), true);
    return b;
  };

  it('header: a version 3 whose CRC fails is E_CHECKSUM; with the CRC fixed E_VERSION, even with reserved flags set', async () => {
    const a = load('v1-minimal-tail');
    a[8] = 3;
    expect(await codeOf(() => decodeHeader(a))).toBe('E_CHECKSUM');
    expect(await codeOf(() => decodeHeader(fixCrc(a)))).toBe('E_VERSION');
    a[11] = 0x80;
    expect(await codeOf(() => decodeHeader(fixCrc(a)))).toBe('E_VERSION');
    a[8] = 1;
    expect(await codeOf(() => decodeHeader(fixCrc(a)))).toBe('E_FORMAT');
  });

  it('footer: a version 3 whose CRC fails is E_CHECKSUM; with the CRC fixed E_VERSION', async () => {
    const bytes = load('v1-minimal-tail');
    const foot = bytes.subarray(501);
    foot[24] = 3;
    expect(await codeOf(() => decodeFooter(foot, 537))).toBe('E_CHECKSUM');
    new DataView(bytes.buffer).setUint32(533, crc32c(bytes.subarray(501, 533)), true);
    expect(await codeOf(() => decodeFooter(foot, 537))).toBe('E_VERSION');
  });

  it("a damaged header and a damaged footer: the header's code", async () => {
    const bytes = load('v1-minimal-tail');
    bytes[28] = (bytes[28] as number) ^ 1;
    bytes[536] = (bytes[536] as number) ^ 1;
    expect(await codeOf(() => open(bytes))).toBe('E_CHECKSUM');
    const error = (await caught(() => open(bytes))) as H4mkError;
    expect(error.offset).toBe(28);
  });
});

describe('9. §13.6 grant grammar: lower-case hex container id, canonical padded base64 keys', () => {
  async function grantOf(): Promise<{ grant: Grant; bytes: Uint8Array }> {
    const bytes = await encrypted({ epochUs: 1_000_000, blocks: 3 });
    const reader = await open(bytes, { key: { secret: SECRET } });
    return { grant: reader.grant('v', 1_000_000, 2_500_000), bytes };
  }

  it('what a writer makes: the keys are K(t, e) in padded standard base64, and the grant opens its epochs only', async () => {
    const { grant, bytes } = await grantOf();
    const reader = await open(bytes);
    const params = reader.cryptoParams as CryptoParams;
    expect(grant.container_id).toBe(Buffer.from(params.containerId).toString('hex'));
    expect(grant.keys.map((k) => k.epoch)).toEqual([1, 2]);
    for (const k of grant.keys) {
      expect(k.key).toMatch(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/);
      expect(k.key).toBe(Buffer.from(deriveBlockKey(SECRET, params.containerId, 0, k.epoch)).toString('base64'));
    }
    expect(parseGrant(JSON.parse(JSON.stringify(grant)))).toEqual(grant);
    reader.unlock({ grant });
    expect(new TextDecoder().decode((await reader.readBlock(1)).payload)).toBe('block 1');
    expect(await codeOf(() => reader.readBlock(0))).toBe('E_KEY');
  });

  it('every departure from the grammar is E_KEY', async () => {
    const { grant } = await grantOf();
    const key = grant.keys[0]?.key as string;
    const bad: [string, (g: Grant & Record<string, unknown>) => void][] = [
      ['upper-case container id', (g) => (g.container_id = g.container_id.toUpperCase())],
      ['short container id', (g) => (g.container_id = g.container_id.slice(2))],
      ['h4mk_grant as a string', (g) => ((g as Record<string, unknown>).h4mk_grant = '1')],
      ['track_number above 65535', (g) => (g.track_number = 65536)],
      ['negative track_number', (g) => (g.track_number = -1)],
      ['fractional epoch_us', (g) => (g.epoch_us = 0.5)],
      ['from_us not before to_us', (g) => (g.to_us = g.from_us)],
      ['key without padding', (g) => ((g.keys[0] as { key: string }).key = key.slice(0, 43))],
      ['URL-safe key', (g) => ((g.keys[0] as { key: string }).key = key.replace(/\+/g, '-').replace(/\//g, '_').replace(/^./, '-'))],
      ['non-zero trailing bits', (g) => ((g.keys[0] as { key: string }).key = `${key.slice(0, 42)}B=`)],
      ['whitespace in a key', (g) => ((g.keys[0] as { key: string }).key = ` ${key}`)],
      ['a 33-byte key', (g) => ((g.keys[0] as { key: string }).key = Buffer.alloc(33).toString('base64'))],
      ['an epoch twice', (g) => g.keys.push({ ...(g.keys[0] as { epoch: number; key: string }) })],
      ['fractional epoch', (g) => ((g.keys[0] as { epoch: number }).epoch = 1.5)],
    ];
    for (const [name, edit] of bad) {
      const g = JSON.parse(JSON.stringify(grant)) as Grant & Record<string, unknown>;
      edit(g);
      expect(await codeOf(() => parseGrant(g)), name).toBe('E_KEY');
    }
    // Unknown members are ignored.
    expect(() => parseGrant({ ...grant, comment: 'for the editor' })).not.toThrow();
  });

  it('a grant for another container or other epochs is E_KEY at unlock', async () => {
    const { grant, bytes } = await grantOf();
    const reader = await open(bytes);
    const params = reader.cryptoParams as CryptoParams;
    expect(await codeOf(() => unlock(params, { grant: { ...grant, container_id: '00'.repeat(16) } }, reader.index.raw))).toBe('E_KEY');
    expect(await codeOf(() => unlock(params, { grant: { ...grant, epoch_us: 2_000_000 } }, reader.index.raw))).toBe('E_KEY');
  });
});

describe('10. §13.2 scrypt bounds: 1 ≤ log2N ≤ 20, 1 ≤ r ≤ 16, 1 ≤ p ≤ 4', () => {
  const salt = new Uint8Array(16);

  it('beyond a bound is E_LIMIT before any work, and caps cannot raise the bounds', async () => {
    for (const kdf of [
      { log2N: 21, r: 8, p: 1 },
      { log2N: 10, r: 17, p: 1 },
      { log2N: 10, r: 8, p: 5 },
    ]) {
      const started = performance.now();
      expect(await codeOf(() => secretFromPassphrase('pw', { kind: 'scrypt', salt, ...kdf }))).toBe('E_LIMIT');
      expect(await codeOf(() => secretFromPassphrase('pw', { kind: 'scrypt', salt, ...kdf }, { maxLog2N: 30, maxR: 64, maxP: 64 }))).toBe('E_LIMIT');
      expect(performance.now() - started).toBeLessThan(500);
    }
    // Lowered caps refuse less.
    expect(await codeOf(() => secretFromPassphrase('pw', { kind: 'scrypt', salt, log2N: 11, r: 1, p: 1 }, { maxLog2N: 10, maxR: 16, maxP: 4 }))).toBe(
      'E_LIMIT',
    );
    // Within the bounds: derived.
    expect(secretFromPassphrase('pw', { kind: 'scrypt', salt, log2N: 4, r: 16, p: 4 }).length).toBe(32);
  });

  it('a container whose CRYP exceeds a bound: opens, and a passphrase is E_LIMIT on CRYP', async () => {
    const good = encodeCryptoParams({
      aead: 1,
      kdf: { kind: 'scrypt', log2N: 20, r: 16, p: 4, salt },
      containerId: new Uint8Array(16),
      epochUs: 0,
      keyCheck: new Uint8Array(16),
      transcriptMac: new Uint8Array(32),
      engineId: '',
      engineFp: '',
    });
    const forged = good.slice();
    forged[3] = 21;
    const params = decodeCryptoParams(forged, 0);
    const error = (await caught(() =>
      unlock(params, { passphrase: 'pw' }, { trak: new Uint8Array(0), meta: new Uint8Array(0), safe: new Uint8Array(0) }),
    )) as H4mkError;
    expect([error.code, error.chunk]).toEqual(['E_LIMIT', 'CRYP']);
    // Zero with kdf 1 is E_FORMAT when CRYP is decoded.
    const zero = good.slice();
    zero[3] = 0;
    expect(await codeOf(() => decodeCryptoParams(zero, 0))).toBe('E_FORMAT');
  });

  it('writers refuse parameters outside the bounds', async () => {
    expect(() =>
      encodeCryptoParams({
        aead: 1,
        kdf: { kind: 'scrypt', log2N: 21, r: 8, p: 1, salt },
        containerId: new Uint8Array(16),
        epochUs: 0,
        keyCheck: new Uint8Array(16),
        transcriptMac: new Uint8Array(32),
        engineId: '',
        engineFp: '',
      }),
    ).toThrow(RangeError);
    // The writer checks the parameters before running scrypt, as a reader would.
    expect(await codeOf(() => H4mkWriter.create(new MemorySink(), { encryption: { passphrase: 'pw', scrypt: { log2N: 21 } } }))).toBe('E_LIMIT');
    expect(await codeOf(() => H4mkWriter.create(new MemorySink(), { encryption: { passphrase: 'pw', scrypt: { log2N: 12, r: 17 } } }))).toBe('E_LIMIT');
  });
});

describe('11. §6.1 ordering rules: E_ORDER on every path', () => {
  /** Two one-block segments of an audio track, pts 10 and 20 ticks. */
  async function twoSegments(): Promise<Uint8Array> {
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { formatVersion: 1, segment: { maxBlocks: 1 } });
    writer.addTrack({ id: 'a', kind: 'audio', timescale: 1000 });
    for (const pts of [10, 20]) await writer.writeBlock({ track: 'a', pts, keyframe: true, payload: Uint8Array.of(pts) });
    await writer.finish();
    return sink.bytes();
  }

  it('at open: SEEK shows a keyframe pts decreasing across segments', async () => {
    const bytes = await twoSegments();
    const entries = chunk(bytes, 'SEEK').payloadStart + 4 + 44;
    expect([...bytes.subarray(entries, entries + 18)]).toEqual([0, 1, 1, 20, 0, 0, 0, 0, 0, 1, 1, 1, 20, 0, 0, 0, 0, 0]);
    bytes[entries + 9 + 3] = 9; // second entry's min_pts delta: zigzag(−5), so its keyframe is at 5 < 10
    const error = (await caught(() => open(resealed(bytes)))) as H4mkError;
    expect([error.code, error.chunk]).toEqual(['E_ORDER', 'SEEK']);
  });

  it('at open: SEEK shows a track whose first block is not a keyframe', () => {
    const t = createTrackSeekTable(0, 1);
    Object.assign(t, { blockCount: 1, keyframeCount: 0, entryCount: 1 });
    t.count[0] = 1;
    let error: unknown;
    try {
      decodeSeekTables(encodeSeekTables([t]), 0, 1);
    } catch (e) {
      error = e;
    }
    expect((error as H4mkError).code).toBe('E_ORDER');
  });

  it('in verify: dts decreasing within a track, which SEEK does not show', async () => {
    const bytes = await twoSegments();
    const layout = layoutOf(bytes);
    const second = layout.segments[1];
    if (second === undefined) throw new Error('one segment');
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setBigInt64((second.cores[0]?.payloadStart as number) + 24, 5n, true); // CORE dts
    view.setBigInt64(second.bidx.payloadStart + 16 + 24, 5n, true); // BIDX dts
    reseal(bytes, layout, crc32c);
    const report = await (await open(bytes)).verify();
    expect(report.failures).toEqual([expect.objectContaining({ code: 'E_ORDER', coreIndex: 1 })]);
  });
});

describe('12. §4.2 short is E_TRUNCATED, long is E_FORMAT, on every path', () => {
  for (const name of ['v1-minimal-tail', 'v1-minimal-faststart', 'v1-two-tracks-two-segments', 'v1-empty']) {
    it(`${name}: every cut is E_TRUNCATED at open, whatever the layout option`, async () => {
      const bytes = load(name);
      for (let n = 0; n < bytes.length; n++) {
        for (const layout of ['auto', 'faststart'] as const) {
          expect(await codeOf(() => open(bytes.subarray(0, n), { layout })), `${n} bytes, ${layout}`).toBe('E_TRUNCATED');
        }
      }
    });
  }

  it('a file shorter than 68 bytes is E_TRUNCATED whatever it holds', async () => {
    expect(await codeOf(() => open(new Uint8Array(60).fill(0x41)))).toBe('E_TRUNCATED');
  });

  it('bytes appended after the footer: E_TRUNCATED unless they end with a FOOT chunk, then E_FORMAT', async () => {
    const bytes = load('v1-minimal-tail');
    expect(await codeOf(() => open(Uint8Array.from([...bytes, 0])))).toBe('E_TRUNCATED');
    expect(await codeOf(() => open(Uint8Array.from([...bytes, ...bytes.subarray(501)])))).toBe('E_FORMAT');
  });

  it('a footer whose index runs past it is E_TRUNCATED; one that leaves bytes before it E_FORMAT', async () => {
    for (const [length, code] of [
      [318, 'E_TRUNCATED'],
      [316, 'E_FORMAT'],
    ] as const) {
      const bytes = load('v1-minimal-tail');
      new DataView(bytes.buffer).setUint32(501 + 16, length, true);
      new DataView(bytes.buffer).setUint32(533, crc32c(bytes.subarray(501, 533)), true);
      expect(await codeOf(() => open(bytes))).toBe(code);
    }
  });

  it('an index chunk that runs past the index region is E_TRUNCATED', async () => {
    const bytes = load('v1-minimal-tail');
    new DataView(bytes.buffer).setUint32(409 + 4, 81, true); // VERI declares 81 bytes: one past the region
    expect(await codeOf(() => open(bytes))).toBe('E_TRUNCATED');
  });

  it('counts that do not fit their payload are E_TRUNCATED (SEGX, SEEK), as is a short BIDX', async () => {
    const limits = { maxSegmentBlocks: 65536, maxBlocks: 2 ** 40, maxBlockLength: 1 << 26 };
    const tail = load('v1-minimal-tail');
    const segx = tail.slice(361, 361 + 44);
    segx[0] = 2; // two segments, one entry
    expect(await codeOf(() => decodeSegmentDirectory(segx, 0, limits))).toBe('E_TRUNCATED');
    const seek = tail.slice(292, 292 + 57);
    seek[8] = 2; // entry_count 2: at least 10 bytes of entries, entries_length is 9
    expect(await codeOf(() => decodeSeekTables(seek, 0, 1))).toBe('E_TRUNCATED');
    const bidx = tail.slice(92, 92 + 88);
    bidx[8] = 2; // block_count 2, one entry present
    expect(await codeOf(() => decodeSegmentTable(bidx, 0, limits))).toBe('E_TRUNCATED');
  });

  it('segments reaching past the data region are E_TRUNCATED, bytes after the last segment E_FORMAT', async () => {
    for (const [length, code] of [
      [0x99, 'E_TRUNCATED'],
      [0x97, 'E_FORMAT'],
    ] as const) {
      const bytes = load('v1-minimal-tail');
      expect([bytes[370], bytes[371]]).toEqual([0x98, 0x01]); // SEGX length 152
      bytes[370] = length;
      expect(await codeOf(() => open(resealed(bytes)))).toBe(code);
    }
  });
});

describe('13. §14.3 optimize equals a non-live writer only with the same segment cuts', () => {
  it('the §14.3 example, optimized to the tail layout, is the non-live file byte for byte', async () => {
    const sink = new MemorySink();
    await optimizeContainer(await open(await liveExample()), sink, { layout: 'tail', formatVersion: 1 });
    expect(Buffer.from(sink.bytes()).equals(Buffer.from(await plainExample()))).toBe(true);
  });

  it('other cuts of the same blocks: same chain head, other bytes', async () => {
    const sink = new MemorySink();
    await optimizeContainer(await open(await liveExample()), sink, { layout: 'tail', formatVersion: 1 });
    const other = await plainExample({ segment: { maxBlocks: 3, splitAtKeyframes: false } });
    expect(Buffer.from(sink.bytes()).equals(Buffer.from(other))).toBe(false);
    expect((await open(other)).chainHead).toBe((await open(sink.bytes())).chainHead);
    expect((await open(other)).segmentCount).toBe(1);
  });
});

describe("14. §13.8 each container's transcript lists its TRAK's tracks", () => {
  type V = { name: string; trak: string; transcript: { block_count: number; tracks: { block_count: number; last_core_index: number | null }[] } };
  const json = JSON.parse(readFileSync(join(vectors, 'crypto-v1.json'), 'utf8')) as { containers: V[] };

  it('track counts agree with TRAK, block counts add up, and an empty track is shown', () => {
    for (const c of json.containers) {
      const t = c.transcript;
      if (c.trak !== '') expect(t.tracks.length, c.name).toBe(Buffer.from(c.trak, 'hex').readUInt16LE(0));
      expect(
        t.tracks.reduce((n, x) => n + x.block_count, 0),
        c.name,
      ).toBe(t.block_count);
      for (const x of t.tracks) expect(x.last_core_index === null, c.name).toBe(x.block_count === 0);
    }
    expect(json.containers.some((c) => c.transcript.tracks.some((x) => x.last_core_index === null))).toBe(true);
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'FORMAT.md'), 'utf8');
    expect(doc).toContain('block_count 12, tracks (5, 1234567) (4, 5) (2, 10) (1, 11) → MAC');
  });
});

describe('15. §5.9 FOOT state and §9 max_segment_length', () => {
  it('state 0 is finished, 1 a checkpoint, anything else E_FORMAT', async () => {
    const tail = load('v1-minimal-tail');
    expect((await open(tail)).finished).toBe(true);
    expect((await open(withFootState(tail, 1))).finished).toBe(false);
    expect(await codeOf(() => open(withFootState(tail, 2)))).toBe('E_FORMAT');
  });

  it('SEGX: a segment longer than 2^32 − 1 bytes is E_LIMIT', async () => {
    const directory = (length: number) => new ByteWriter().u32(1).u32(0).varint(0).varint(length).varint(1).bytes(new Uint8Array(32)).finish();
    const limits = { maxSegmentBlocks: 65536, maxBlocks: 2 ** 40 };
    expect(decodeSegmentDirectory(directory(MAX_SEGMENT_LENGTH), 0, limits).length[0]).toBe(MAX_SEGMENT_LENGTH);
    const error = (await caught(() => decodeSegmentDirectory(directory(MAX_SEGMENT_LENGTH + 1), 0, limits))) as H4mkError;
    expect([error.code, error.chunk]).toEqual(['E_LIMIT', 'SEGX']);
  });

  it('BIDX: blocks adding up past max_segment_length are E_LIMIT; the writer refuses to encode such a table', async () => {
    const BLOCK = 64 * 1024 * 1024;
    const n = 64;
    const table = createSegmentTable(0, n + 1);
    for (let i = 0; i <= n; i++) {
      table.chunkOffset[i] = i * (48 + BLOCK); // a Uint32Array: the last wraps past 2^32
      table.storedLength[i] = BLOCK;
      table.originalLength[i] = BLOCK;
      table.flags[i] = 1;
      table.pts[i] = i;
      table.dts[i] = i;
    }
    table.count = n + 1;
    expect(() => encodeSegmentTable(table)).toThrow(/max_segment_length/);
    table.count = n;
    expect(() => encodeSegmentTable(table)).toThrow(/max_segment_length/); // 64 blocks of 64 MiB and their headers: 2^32 + 3072 bytes
    table.count = n - 1;
    const payload = encodeSegmentTable(table);
    expect(decodeSegmentTable(payload, 0, { maxBlockLength: BLOCK, maxSegmentBlocks: 65536 }).count).toBe(n - 1);
    // The same 64 entries written by hand: the reader stops at the block that crosses the limit.
    const w = new ByteWriter().u64(0).u32(n).u32(0);
    for (let i = 0; i < n; i++)
      w.u32(i * (48 + BLOCK))
        .u32(BLOCK)
        .u16(0)
        .u8(1)
        .u8(0)
        .u32(0)
        .i64(i)
        .i64(i)
        .u32(BLOCK)
        .u32(0)
        .bytes(new Uint8Array(32));
    const error = (await caught(() => decodeSegmentTable(w.finish(), 0, { maxBlockLength: BLOCK, maxSegmentBlocks: 65536 }))) as H4mkError;
    expect([error.code, error.coreIndex]).toEqual(['E_LIMIT', undefined]);
  });
});
