/**
 * The browser platform of the inspector, checked in Node against the Node
 * implementations and the §13 vectors (Node 20 has WebCrypto and Blob):
 *
 * - the portable entry (dist/index.js) and the web entry (dist/web.js) reach
 *   no Node built-in and no native addon through any static import, and the
 *   portable defaults (noble) give node:crypto's bytes;
 * - web sha256, keys and transcript MAC give the vectors' bytes;
 * - WebCipher (WebCrypto HKDF + AES-GCM) decrypts every vector block, a
 *   whole Node-encrypted container read with `decompress: false`, honours
 *   grants (E_KEY outside), refuses a wrong key (E_KEY) and a moved or
 *   edited block (E_AUTH);
 * - the capped codecs: zstd frame sizes are checked before any work, a
 *   frame without a declared size is refused, deflate output is cut at the cap;
 * - BlobSource reads like MemorySource and opens containers.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { decompressPayload, getCodec } from '../src/compress/codec.js';
import { contextDigest as nodeContextDigest } from '../src/crypto/keys.js';
import { fromHex, toHex } from '../src/format/bytes.js';
import { COMPRESSIONS, FRAME_KINDS } from '../src/format/constants.js';
import type { CryptoParams } from '../src/format/crypto-params.js';
import { H4mkError } from '../src/format/errors.js';
import { ticksToUs } from '../src/format/time.js';
import { H4mkReader, MemorySource, type Block } from '../src/node.js';
import { BlobSource } from '../src/io/blob-source.js';
import { initWebCodecs, inflateCapped, webCodecs, zstdDecompressCapped } from '../src/web-platform/codecs.js';
import * as webPrimitives from '../src/crypto/noble-primitives.js';
import { registerCodec } from '../src/compress/codec.js';
import { blockKeyInfo, LABEL_KEY_CHECK } from '../src/crypto/keys.js';
import { parseKeyText, type StoredBlock, WebCipher } from '../src/web-platform/web-cipher.js';
import { zstdFrames } from '../src/web-platform/zstd-frames.js';
import { makeSample, writeSample } from './helpers.js';

type VectorBlock = {
  name: string;
  timescale: number;
  core_index: number;
  track_number: number;
  flags: number;
  compression: number;
  duration: number;
  pts: number;
  dts: number;
  original_length: number;
  epoch: number;
  block_key: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
};
type VectorContainer = {
  name: string;
  secret: string;
  container_id: string;
  epoch_us: number;
  engine_id: string;
  engine_fp: string;
  trak: string;
  meta: string;
  safe: string;
  context_digest: string;
  key_check: string;
  transcript_key: string;
  blocks: VectorBlock[];
  transcript: { chain_head: string; block_count: number; tracks: { block_count: number; last_core_index: number | null }[]; mac: string };
};
const VECTORS = JSON.parse(readFileSync(fileURLToPath(new URL('./vectors/crypto-v1.json', import.meta.url)), 'utf8')) as {
  containers: VectorContainer[];
  passphrase: { passphrase: string; scrypt: { log2n: number; r: number; p: number; salt: string }; secret: string; container_id: string; key_check: string };
};

function paramsOf(c: VectorContainer): CryptoParams {
  return {
    aead: 1,
    kdf: { kind: 'raw' },
    containerId: fromHex(c.container_id),
    epochUs: c.epoch_us,
    keyCheck: fromHex(c.key_check),
    transcriptMac: new Uint8Array(32),
    engineId: c.engine_id,
    engineFp: c.engine_fp,
  } as CryptoParams;
}

/** The raw TRAK, META and SAFE payloads a vector container's blocks are bound to (§13.4). */
function indexOf(c: VectorContainer): { trak: Uint8Array; meta: Uint8Array; safe: Uint8Array } {
  return { trak: fromHex(c.trak), meta: fromHex(c.meta), safe: fromHex(c.safe) };
}

/** A vector block as the reader would describe it, with its stored bytes. */
function storedOf(b: VectorBlock): StoredBlock {
  return {
    coreIndex: b.core_index,
    trackNumber: b.track_number,
    trackId: `t${b.track_number}`,
    pts: b.pts,
    dts: b.dts,
    duration: b.duration,
    ptsUs: ticksToUs(b.pts, b.timescale),
    dtsUs: ticksToUs(b.dts, b.timescale),
    durationUs: ticksToUs(b.duration, b.timescale),
    keyframe: (b.flags & 1) !== 0,
    frameKind: FRAME_KINDS[(b.flags >> 1) & 3] ?? null,
    encrypted: (b.flags & 8) !== 0,
    endOfTrack: (b.flags & 16) !== 0,
    compression: COMPRESSIONS[b.compression] ?? 'none',
    storedLength: (b.ciphertext.length + b.tag.length) / 2,
    originalLength: b.original_length,
    offset: 0,
    chunkLength: 0,
    digest: new Uint8Array(32),
    payload: fromHex(b.ciphertext + b.tag),
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(H4mkError);
  expect((error as H4mkError).code).toBe(code);
}

/** Every file reached from `entry` by static imports (relative ones followed, packages named), in dist/. */
function importGraph(entry: string): { files: string[]; packages: Set<string> } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    // Static imports and re-exports; `import type` is erased by tsc.
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)';|^import\s+'([^']+)';/gms)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith('.')) queue.push(fileURLToPath(new URL(spec, `file://${file}`)));
      else packages.add(spec);
    }
  }
  return { files: [...seen], packages };
}

describe('the portable and web entries run without Node', () => {
  for (const entry of ['index.js', 'web.js']) {
    it(`dist/${entry} reaches no Node built-in and no native addon`, () => {
      const { files, packages } = importGraph(fileURLToPath(new URL(`../dist/${entry}`, import.meta.url)));
      expect(files.length).toBeGreaterThan(50);
      const node = [...packages].filter((p) => p.startsWith('node:') || builtinModules.includes(p) || /^(@node-rs\/|zstd-napi)/.test(p));
      expect(node).toEqual([]);
    });
  }

  it('the Node entry reaches them (the test above would see them)', () => {
    const { packages } = importGraph(fileURLToPath(new URL('../dist/node.js', import.meta.url)));
    expect([...packages].filter((p) => p.startsWith('node:'))).toContain('node:crypto');
    expect(packages.has('@node-rs/crc32')).toBe(true);
  });
});

describe('web primitives give the bytes of node:crypto and the vectors', () => {
  it('sha256, sha256Parts and HMAC-SHA256 on random inputs', () => {
    const bytes = new Uint8Array(randomBytes(1000));
    const key = new Uint8Array(randomBytes(32));
    expect(toHex(webPrimitives.sha256(bytes))).toBe(toHex(new Uint8Array(createHash('sha256').update(bytes).digest())));
    expect(toHex(webPrimitives.sha256Parts(bytes.subarray(0, 10), bytes.subarray(10)))).toBe(toHex(webPrimitives.sha256(bytes)));
    expect(toHex(webPrimitives.hmacSha256(key, bytes.subarray(0, 7), bytes.subarray(7)))).toBe(
      toHex(new Uint8Array(createHmac('sha256', key).update(bytes).digest())),
    );
    expect(webPrimitives.randomBytes(16)).toHaveLength(16);
  });

  for (const c of VECTORS.containers) {
    it(`container ${c.name}: HKDF key check, transcript key and block keys`, () => {
      const secret = fromHex(c.secret);
      const id = fromHex(c.container_id);
      const label = (text: string) => new TextEncoder().encode(text);
      expect(toHex(webPrimitives.hkdfSha256(secret, id, label(LABEL_KEY_CHECK), 32).subarray(0, 16))).toBe(c.key_check);
      expect(toHex(webPrimitives.hkdfSha256(secret, id, label('h4mk/v1/transcript'), 32))).toBe(c.transcript_key);
      for (const b of c.blocks) expect(toHex(webPrimitives.hkdfSha256(secret, id, blockKeyInfo(b.track_number, b.epoch), 32))).toBe(b.block_key);
      expect(toHex(nodeContextDigest(c.engine_id, c.engine_fp, indexOf(c)))).toBe(c.context_digest);
    });
  }

  it('passphrase → secret with scrypt', () => {
    const p = VECTORS.passphrase;
    const password = new TextEncoder().encode(p.passphrase.normalize('NFC'));
    expect(toHex(webPrimitives.scryptKey(password, fromHex(p.scrypt.salt), p.scrypt.log2n, p.scrypt.r, p.scrypt.p, 32))).toBe(p.secret);
  });
});

describe('WebCipher: WebCrypto HKDF and AES-GCM', () => {
  for (const c of VECTORS.containers) {
    it(`decrypts every block of vector container ${c.name}, in parallel`, async () => {
      const cipher = await WebCipher.unlock(paramsOf(c), { secret: fromHex(c.secret) }, indexOf(c));
      expect(cipher.kind).toBe('secret');
      const blocks = c.blocks.map(storedOf);
      const plain = await Promise.all(blocks.map((b) => cipher.open(b)));
      expect(plain.map(toHex)).toEqual(c.blocks.map((b) => b.plaintext));
      // A block moved to another position (core_index) or with an edited field fails alike.
      const first = blocks[0] as StoredBlock;
      await rejectsWith(cipher.open({ ...first, coreIndex: first.coreIndex + 1 }), 'E_AUTH');
      await rejectsWith(cipher.open({ ...first, keyframe: !first.keyframe }), 'E_AUTH');
      await rejectsWith(cipher.open({ ...first, payload: first.payload.subarray(0, 3) }), 'E_AUTH');
      // So does a block read with another track table (§13.4 context digest).
      const edited = await WebCipher.unlock(paramsOf(c), { secret: fromHex(c.secret) }, { ...indexOf(c), safe: new TextEncoder().encode('{}') });
      await rejectsWith(edited.open(first), 'E_AUTH');
    });
  }

  it('refuses a wrong key with E_KEY (key check) and a grant for another container', async () => {
    const c = VECTORS.containers[0] as VectorContainer;
    await rejectsWith(WebCipher.unlock(paramsOf(c), { secret: new Uint8Array(32) }, indexOf(c)), 'E_KEY');
    await rejectsWith(
      WebCipher.unlock(
        paramsOf(c),
        { grant: { h4mk_grant: 1, container_id: '00'.repeat(16), track: 'v', track_number: 0, epoch_us: c.epoch_us, from_us: 0, to_us: 1, keys: [] } },
        indexOf(c),
      ),
      'E_KEY',
    );
    await rejectsWith(WebCipher.unlock(paramsOf(c), { grant: { nonsense: true } }, indexOf(c)), 'E_KEY');
  });

  it('passphrase containers: scrypt (async) then WebCrypto HKDF', async () => {
    const p = VECTORS.passphrase;
    const params = {
      ...paramsOf(VECTORS.containers[0] as VectorContainer),
      kdf: { kind: 'scrypt', log2N: p.scrypt.log2n, r: p.scrypt.r, p: p.scrypt.p, salt: fromHex(p.scrypt.salt) },
      containerId: fromHex(p.container_id),
      keyCheck: fromHex(p.key_check),
    } as CryptoParams;
    const index = indexOf(VECTORS.containers[0] as VectorContainer);
    expect((await WebCipher.unlock(params, parseKeyText(p.passphrase, params), index)).kind).toBe('secret');
    await rejectsWith(WebCipher.unlock(params, { passphrase: 'wrong' }, index), 'E_KEY');
  });

  it('parses pasted keys without echoing them', () => {
    const secret = new Uint8Array(randomBytes(32));
    const b64 = Buffer.from(secret).toString('base64');
    const raw = { kdf: { kind: 'raw' } } as Pick<CryptoParams, 'kdf'>;
    expect(parseKeyText(`h4mk-secret-v1 ${b64}\n`, raw)).toEqual({ secret });
    expect(parseKeyText(`  ${b64} `, raw)).toEqual({ secret });
    expect(parseKeyText(Buffer.from(secret).toString('hex'), raw)).toEqual({ secret });
    expect(parseKeyText('{"h4mk_grant":1}', raw)).toEqual({ grant: { h4mk_grant: 1 } });
    let message = '';
    try {
      parseKeyText('not-a-key-but-secret-words', raw);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/not a key/);
    expect(message).not.toContain('secret-words');
  });

  it('reads a Node-encrypted container: stored bytes + WebCipher = the Node reader with the key; grants open their window only', async () => {
    const secret = new Uint8Array(randomBytes(32));
    const sample = makeSample({ seed: 11, gops: 6, scale: 4 });
    const bytes = await writeSample(sample, { compression: 'deflate', encryption: { secret, epochUs: 500_000 } });
    const withKey = await H4mkReader.open(new MemorySource(bytes), { key: { secret } });
    const noKey = await H4mkReader.open(new MemorySource(bytes));
    const params = noKey.cryptoParams as CryptoParams;
    const cipher = await WebCipher.unlock(params, { secret }, noKey.index.raw);
    const video = noKey.tracks().find((t) => t.kind === 'video');
    if (video === undefined || video.lastPtsUs === null) throw new Error('sample has no video');
    for (const at of [0, Math.floor(video.lastPtsUs / 2), video.lastPtsUs]) {
      const stored = await noKey.readSpan(video.number, at, { decompress: false });
      const expected = await withKey.readSpan(video.number, at);
      const opened = await cipher.openBlocks((stored?.blocks ?? []) as Block[]);
      expect(opened.map((b) => toHex(b.payload))).toEqual((expected?.blocks ?? []).map((b) => toHex(b.payload)));
      expect(cipher.lastTiming.blocks).toBe(opened.length);
    }
    // A grant for the video track's [0.5 s, 1 s): blocks of that epoch only.
    const grant = JSON.parse(JSON.stringify(withKey.grant(video.number, 500_000, 1_000_000))) as unknown;
    const granted = await WebCipher.unlock(params, { grant }, noKey.index.raw);
    expect(granted.kind).toBe('grant');
    expect(granted.grantWindow).toMatchObject({ trackNumber: video.number, fromUs: 500_000, toUs: 1_000_000, epochs: [1] });
    let inside = 0;
    for await (const b of noKey.blocks({ tracks: [video.number] }, { decompress: false })) {
      const block = b as Block;
      if (granted.covers(block)) {
        inside++;
        const [opened] = await granted.openBlocks([block]);
        expect(toHex((opened as Block).payload)).toBe(toHex((await withKey.readBlock(block.coreIndex)).payload));
      } else await rejectsWith(granted.open(block), 'E_KEY');
    }
    expect(inside).toBeGreaterThan(0);
    const audio = noKey.tracks().find((t) => t.kind === 'audio');
    if (audio !== undefined) expect(granted.covers({ trackNumber: audio.number, ptsUs: 600_000 })).toBe(false);
  });
});

describe('BlobSource', () => {
  it('reads like MemorySource and opens a container', async () => {
    const bytes = await writeSample(makeSample({ seed: 3, gops: 3, scale: 2 }), { compression: 'zstd' });
    const source = new BlobSource(new Blob([bytes]));
    expect(await source.size()).toBe(bytes.length);
    expect(await source.read(10, 20)).toEqual(bytes.subarray(10, 30));
    expect((await source.read(bytes.length - 5, 100)).length).toBe(5);
    expect((await source.read(bytes.length + 5, 10)).length).toBe(0);
    expect((await source.readTail(64)).bytes).toEqual(bytes.subarray(bytes.length - 64));
    await expect(source.read(-1, 2)).rejects.toThrow(RangeError);
    expect(() => new BlobSource({} as Blob)).toThrow(TypeError);
    const viaBlob = await H4mkReader.open(source);
    const viaMemory = await H4mkReader.open(new MemorySource(bytes));
    expect(viaBlob.chainHead).toBe(viaMemory.chainHead);
    const a: string[] = [];
    const b: string[] = [];
    for await (const x of viaBlob.blocks({})) a.push(toHex(x.payload));
    for await (const x of viaMemory.blocks({})) b.push(toHex(x.payload));
    expect(a).toEqual(b);
    expect((await viaBlob.verify()).ok).toBe(true);
    await source.close();
    await expect(source.read(0, 1)).rejects.toThrow(/closed/);
  });
});

describe('capped browser codecs', () => {
  beforeAll(async () => {
    await initWebCodecs();
  });

  /** A zstd frame by hand: one raw block of `content`, with or without a declared content size. */
  function rawFrame(content: Uint8Array, declared: number | null): Uint8Array {
    const header =
      declared === null
        ? [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00] // FHD: no size, not single segment; window descriptor
        : [0x28, 0xb5, 0x2f, 0xfd, 0x20, declared]; // FHD: single segment, 1-byte Frame_Content_Size
    const block = (content.length << 3) | 1; // last block, raw
    return Uint8Array.from([...header, block & 0xff, (block >> 8) & 0xff, (block >> 16) & 0xff, ...content]);
  }

  it('zstd: frames from the Node codec, multiple and skippable frames', () => {
    const data = new Uint8Array(50_000).map((_, i) => (i * 7) % 251);
    const frame = getCodec('zstd').compress(data);
    expect(zstdFrames(frame)).toHaveLength(1);
    expect(toHex(zstdDecompressCapped(frame, data.length))).toBe(toHex(data));
    const skippable = Uint8Array.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    const two = Uint8Array.from([...frame, ...skippable, ...rawFrame(Uint8Array.of(1, 2, 3), 3)]);
    expect(zstdDecompressCapped(two, data.length + 3).subarray(data.length)).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('zstd: sizes are checked before decompressing; no declared size is refused', () => {
    const five = Uint8Array.of(1, 2, 3, 4, 5);
    expect(zstdDecompressCapped(rawFrame(five, 5), 5)).toEqual(five);
    expect(() => zstdDecompressCapped(rawFrame(five, 5), 4)).toThrow(/more than original_length/);
    expect(() => zstdDecompressCapped(rawFrame(five, 5), 6)).toThrow(/declare 5 bytes/);
    expect(() => zstdDecompressCapped(rawFrame(five, null), 5)).toThrow(/does not declare its content size/);
    // A frame that lies about its size fails in the decoder, within the declared buffer.
    expect(() => zstdDecompressCapped(rawFrame(five, 3), 3)).toThrow();
    expect(() => zstdDecompressCapped(Uint8Array.of(1, 2, 3, 4, 5), 5)).toThrow(/not a Zstandard frame/);
    expect(() => zstdDecompressCapped(rawFrame(five, 5).subarray(0, 9), 5)).toThrow(/truncated/);
  });

  it('registered: decompressPayload reports E_DECOMPRESS for the block (the rest of this file reads with these codecs)', () => {
    for (const codec of webCodecs) registerCodec(codec);
    const five = Uint8Array.of(1, 2, 3, 4, 5);
    let error: unknown = null;
    try {
      decompressPayload(rawFrame(five, 5), COMPRESSIONS.indexOf('zstd'), 4, 42);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(H4mkError);
    expect((error as H4mkError).code).toBe('E_DECOMPRESS');
    expect(toHex(decompressPayload(rawFrame(five, 5), COMPRESSIONS.indexOf('zstd'), 5, 1))).toBe(toHex(five));
    expect(() => decompressPayload(new Uint8Array(deflateRawSync(new Uint8Array(5000))), COMPRESSIONS.indexOf('deflate'), 100, 2)).toThrow(
      /decompressed to 101 bytes/,
    );
    expect(() => decompressPayload(Uint8Array.of(1), COMPRESSIONS.indexOf('brotli'), 1, 3)).toThrow(/brotli blocks cannot be read in the browser/);
  });

  it('deflate: output past original_length is cut at the cap and then refused', () => {
    const data = new Uint8Array(100_000).fill(7);
    const stored = new Uint8Array(deflateRawSync(data));
    expect(inflateCapped(stored, data.length)).toEqual(data);
    const capped = inflateCapped(stored, 1000);
    expect(capped.length).toBe(1001);
  });
});
