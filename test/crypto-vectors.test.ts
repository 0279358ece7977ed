/**
 * LivingCipher test vectors (test/vectors/crypto-v1.json, docs/FORMAT.md
 * §13.8), recomputed three ways from the spec text, not from the library:
 * with node:crypto, with WebCrypto (globalThis.crypto.subtle: HKDF, AES-GCM,
 * HMAC, SHA-256), and through the library (internal primitives, the reader
 * path sealBlock/openBlock and the seed API). node:crypto output must decrypt
 * under WebCrypto and the other way round, so an in-page reader decrypts the
 * bytes a Node writer stored.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contextDigest, deriveBlockKey, deriveKeyCheck, deriveTranscriptKey, secretFromPassphrase } from '../src/crypto/keys.js';
import { blockEpoch, openBlock, SecretKeys, sealBlock, transcriptMac } from '../src/crypto/living-cipher.js';
import { blockNonce } from '../src/crypto/block-nonce.js';
import { encodeAssociatedData } from '../src/format/associated-data.js';
import { decryptCoreBlock, encryptCoreBlock, H4mkError, initFromSharedSecret } from '../src/node.js';

type BlockVector = {
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
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
  seed_api?: boolean;
};
type ContainerVector = {
  name: string;
  secret: string;
  container_id: string;
  epoch_us: number;
  engine_id: string;
  engine_fp: string;
  /** The raw TRAK, META and SAFE payloads the blocks are bound to (§13.4), hex; empty for the seed API. */
  trak: string;
  meta: string;
  safe: string;
  context_digest: string;
  key_check: string;
  transcript_key: string;
  blocks: BlockVector[];
  transcript: { chain_head: string; block_count: number; tracks: { block_count: number; last_core_index: number | null }[]; mac: string };
};
type Vectors = {
  h4mk_crypto_vectors: 1;
  containers: ContainerVector[];
  passphrase: { passphrase: string; scrypt: { log2n: number; r: number; p: number; salt: string }; secret: string; container_id: string; key_check: string };
};

const VECTORS = JSON.parse(readFileSync(new URL('./vectors/crypto-v1.json', import.meta.url), 'utf8')) as Vectors;
const subtle = globalThis.crypto.subtle;
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const hex = (b: Uint8Array | ArrayBuffer) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');
const utf8 = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/* --------------------------------------------- the spec, written out again */

/** §13.2 HKDF info strings. */
function blockInfo(track: number, epoch: number): Uint8Array {
  const tail = new Uint8Array(10);
  const v = new DataView(tail.buffer);
  v.setUint16(0, track, true);
  v.setBigInt64(2, BigInt(epoch), true);
  return concat(utf8('h4mk/v1/block'), tail);
}

/** §13.4 The context digest: SHA-256("h4mk/v1/context" ‖ u8 len ‖ id ‖ u8 len ‖ fp ‖ SHA-256(TRAK) ‖ SHA-256(META) ‖ SHA-256(SAFE)). */
async function contextDigestOf(c: ContainerVector, sha256: (b: Uint8Array) => Uint8Array | Promise<Uint8Array>): Promise<Uint8Array> {
  const id = utf8(c.engine_id);
  const fp = utf8(c.engine_fp);
  const parts = [await sha256(bytes(c.trak)), await sha256(bytes(c.meta)), await sha256(bytes(c.safe))];
  return sha256(concat(utf8('h4mk/v1/context'), Uint8Array.of(id.length), id, Uint8Array.of(fp.length), fp, ...parts));
}

/** §13.4 The 104-byte associated data, field by field. */
function aadOf(containerId: Uint8Array, b: BlockVector, epoch: number, engine: Uint8Array): Uint8Array {
  const out = new Uint8Array(104);
  const v = new DataView(out.buffer);
  out.set(utf8('H4MK-AD1'), 0);
  v.setUint16(8, 1, true);
  out.set(containerId, 10);
  v.setUint16(26, b.track_number, true);
  v.setBigUint64(28, BigInt(b.core_index), true);
  v.setBigInt64(36, BigInt(b.pts), true);
  v.setBigInt64(44, BigInt(b.dts), true);
  v.setUint32(52, b.duration, true);
  v.setUint8(56, b.flags | 0x08);
  v.setUint8(57, b.compression);
  v.setUint32(58, b.original_length, true);
  v.setBigInt64(62, BigInt(epoch), true);
  out.set(engine, 72);
  return out;
}

/** §13.1 nonce = u64le core_index ‖ u32 0. */
function nonceOf(coreIndex: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(0, BigInt(coreIndex), true);
  return n;
}

/** §13.2 epoch = floor(floor(pts · 10^6 / timescale) / epoch_us), 0 without epochs. */
function epochOfVector(b: BlockVector, epochUs: number): number {
  if (epochUs === 0) return 0;
  const us = (BigInt(b.pts) * 1_000_000n - (b.pts < 0 ? BigInt(b.timescale) - 1n : 0n)) / BigInt(b.timescale);
  const e = us >= 0n ? us / BigInt(epochUs) : -((-us + BigInt(epochUs) - 1n) / BigInt(epochUs));
  return Number(e);
}

/** §13.5 transcript message. */
function transcriptMessage(c: ContainerVector): Uint8Array {
  const t = c.transcript;
  const head = new Uint8Array(10);
  new DataView(head.buffer).setBigUint64(0, BigInt(t.block_count), true);
  new DataView(head.buffer).setUint16(8, t.tracks.length, true);
  const perTrack = t.tracks.map((x) => {
    const e = new Uint8Array(16);
    const v = new DataView(e.buffer);
    v.setBigUint64(0, BigInt(x.block_count), true);
    v.setBigUint64(8, x.last_core_index === null ? 0xffff_ffff_ffff_ffffn : BigInt(x.last_core_index), true);
    return e;
  });
  return concat(utf8('h4mk/v1/transcript'), bytes(c.container_id), bytes(t.chain_head), head, ...perTrack);
}

/* ------------------------------------------------------- two implementations */

const node = {
  hkdf: async (secret: Uint8Array, salt: Uint8Array, info: Uint8Array, length = 32) => new Uint8Array(hkdfSync('sha256', secret, salt, info, length)),
  sha256: (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest()),
  hmac: async (key: Uint8Array, message: Uint8Array) => new Uint8Array(createHmac('sha256', key).update(message).digest()),
  seal: async (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array) => {
    const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    return concat(c.update(plaintext), c.final(), c.getAuthTag());
  },
  open: async (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array) => {
    const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    return concat(d.update(sealed.subarray(0, sealed.length - 16)), d.final());
  },
};

const web = {
  hkdf: async (secret: Uint8Array, salt: Uint8Array, info: Uint8Array, length = 32) => {
    const key = await subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
    return new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, key, length * 8));
  },
  sha256: async (b: Uint8Array) => new Uint8Array(await subtle.digest('SHA-256', b)),
  hmac: async (key: Uint8Array, message: Uint8Array) => {
    const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await subtle.sign('HMAC', k, message));
  },
  seal: async (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array) => {
    const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
    return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, k, plaintext));
  },
  open: async (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array) => {
    const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
    return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, k, sealed));
  },
};

type Impl = typeof node;
const IMPLS: [string, Impl][] = [
  ['node:crypto', node],
  ['WebCrypto', web as unknown as Impl],
];

/* -------------------------------------------------------------------- tests */

it('the vector file covers the cases §13.8 promises', () => {
  expect(VECTORS.h4mk_crypto_vectors).toBe(1);
  const blocks = VECTORS.containers.flatMap((c) => c.blocks);
  expect(blocks.length).toBeGreaterThanOrEqual(7);
  expect(blocks.some((b) => (b.flags & 0x10) !== 0)).toBe(true); // END_OF_TRACK
  expect(blocks.some((b) => b.plaintext === '')).toBe(true);
  expect(blocks.some((b) => b.epoch < 0)).toBe(true);
  expect(blocks.some((b) => b.compression !== 0 && b.original_length > b.plaintext.length / 2)).toBe(true);
  expect(VECTORS.containers.some((c) => c.engine_id !== '')).toBe(true);
  expect(blocks.filter((b) => b.seed_api === true).length).toBeGreaterThanOrEqual(3);
});

for (const [name, impl] of IMPLS) {
  describe(`recomputed with ${name}`, () => {
    for (const c of VECTORS.containers) {
      const secret = bytes(c.secret);
      const id = bytes(c.container_id);

      it(`container ${c.name}: key check, transcript key, engine digest, transcript MAC`, async () => {
        expect(hex((await impl.hkdf(secret, id, utf8('h4mk/v1/key-check'))).subarray(0, 16))).toBe(c.key_check);
        const transcriptKey = await impl.hkdf(secret, id, utf8('h4mk/v1/transcript'));
        expect(hex(transcriptKey)).toBe(c.transcript_key);
        expect(hex(await contextDigestOf(c, impl.sha256))).toBe(c.context_digest);
        expect(hex(await impl.hmac(transcriptKey, transcriptMessage(c)))).toBe(c.transcript.mac);
      });

      for (const b of c.blocks) {
        it(`container ${c.name}, ${b.name}: epoch, block key, nonce, AAD, ciphertext and tag; decrypts`, async () => {
          const epoch = epochOfVector(b, c.epoch_us);
          expect(epoch).toBe(b.epoch);
          const key = await impl.hkdf(secret, id, blockInfo(b.track_number, epoch));
          expect(hex(key)).toBe(b.block_key);
          expect(hex(nonceOf(b.core_index))).toBe(b.nonce);
          const aad = aadOf(id, b, epoch, bytes(c.context_digest));
          expect(hex(aad)).toBe(b.aad);
          const sealed = await impl.seal(key, nonceOf(b.core_index), aad, bytes(b.plaintext));
          expect(hex(sealed)).toBe(b.ciphertext + b.tag);
          expect(hex(await impl.open(key, nonceOf(b.core_index), aad, bytes(b.ciphertext + b.tag)))).toBe(b.plaintext);
          // Any change to the associated data (here: the flags byte) or the tag is refused.
          const edited = aad.slice();
          edited[56] = (edited[56] as number) ^ 0x10;
          await expect(impl.open(key, nonceOf(b.core_index), edited, bytes(b.ciphertext + b.tag))).rejects.toThrow();
          const badTag = bytes(b.ciphertext + b.tag);
          badTag[badTag.length - 1] = (badTag[badTag.length - 1] as number) ^ 1;
          await expect(impl.open(key, nonceOf(b.core_index), aad, badTag)).rejects.toThrow();
        });
      }
    }
  });
}

describe('recomputed with the library', () => {
  for (const c of VECTORS.containers) {
    const secret = bytes(c.secret);
    const id = bytes(c.container_id);
    it(`container ${c.name}: key schedule, AAD encoder, sealBlock/openBlock, seed API, transcript`, () => {
      expect(hex(deriveKeyCheck(secret, id))).toBe(c.key_check);
      expect(hex(deriveTranscriptKey(secret, id))).toBe(c.transcript_key);
      expect(hex(contextDigest(c.engine_id, c.engine_fp, { trak: bytes(c.trak), meta: bytes(c.meta), safe: bytes(c.safe) }))).toBe(c.context_digest);
      const t = c.transcript;
      expect(
        hex(
          transcriptMac(
            bytes(c.transcript_key),
            id,
            bytes(t.chain_head),
            t.block_count,
            t.tracks.map((x) => ({ blockCount: x.block_count, lastCoreIndex: x.last_core_index ?? -1 })),
          ),
        ),
      ).toBe(t.mac);
      const context = { containerId: id, epochUs: c.epoch_us, engineDigest: bytes(c.context_digest), keys: new SecretKeys(secret, id) };
      const state = initFromSharedSecret(secret, { containerId: id, epochUs: c.epoch_us });
      for (const b of c.blocks) {
        const fields = {
          coreIndex: b.core_index,
          trackNumber: b.track_number,
          flags: b.flags,
          compression: b.compression,
          duration: b.duration,
          pts: b.pts,
          dts: b.dts,
          originalLength: b.original_length,
        };
        expect(blockEpoch(context, b.pts, b.timescale), b.name).toBe(b.epoch);
        expect(hex(deriveBlockKey(secret, id, b.track_number, b.epoch))).toBe(b.block_key);
        expect(hex(encodeAssociatedData(id, fields, b.epoch, bytes(c.context_digest)))).toBe(b.aad);
        expect(hex(sealBlock(context, fields, b.timescale, bytes(b.plaintext)))).toBe(b.ciphertext + b.tag);
        expect(hex(openBlock(context, fields, b.timescale, bytes(b.ciphertext + b.tag)))).toBe(b.plaintext);
        const moved = { ...fields, coreIndex: fields.coreIndex + 1 };
        expect(() => openBlock(context, moved, b.timescale, bytes(b.ciphertext + b.tag))).toThrow(H4mkError);
        if (b.seed_api !== true) continue;
        const ctx = {
          trackId: b.track_number,
          ptsUs: b.pts,
          dtsUs: b.dts,
          durationUs: b.duration,
          chunkIndex: b.core_index,
          keyframe: (b.flags & 1) !== 0,
          engineId: c.engine_id,
          engineFp: c.engine_fp,
          compression: b.compression,
          originalLength: b.original_length,
        };
        const { header, ciphertext } = encryptCoreBlock(state, bytes(b.plaintext), ctx);
        expect(hex(header)).toBe(b.aad);
        expect(hex(ciphertext)).toBe(b.ciphertext + b.tag);
        expect(hex(decryptCoreBlock(state, ciphertext, ctx))).toBe(b.plaintext);
        expect(() => decryptCoreBlock(state, ciphertext, { ...ctx, trackId: ctx.trackId + 1 })).toThrow(/authentication failed/);
      }
    });
  }

  it('passphrase: scrypt (NFC) → secret → key check', () => {
    const p = VECTORS.passphrase;
    const salt = bytes(p.scrypt.salt);
    const direct = new Uint8Array(scryptSync(p.passphrase.normalize('NFC'), salt, 32, { N: 2 ** p.scrypt.log2n, r: p.scrypt.r, p: p.scrypt.p }));
    expect(hex(direct)).toBe(p.secret);
    expect(hex(secretFromPassphrase(p.passphrase, { kind: 'scrypt', log2N: p.scrypt.log2n, r: p.scrypt.r, p: p.scrypt.p, salt }))).toBe(p.secret);
    // The NFD spelling of the same text gives the same secret.
    expect(hex(secretFromPassphrase(p.passphrase.normalize('NFD'), { kind: 'scrypt', log2N: p.scrypt.log2n, r: p.scrypt.r, p: p.scrypt.p, salt }))).toBe(
      p.secret,
    );
    expect(hex(deriveKeyCheck(direct, bytes(p.container_id)))).toBe(p.key_check);
  });
});

describe('node:crypto and WebCrypto decrypt each other', () => {
  const sizes = [0, 1, 15, 16, 17, 300, 4096, 65_537, (1 << 20) + 3];
  for (const size of sizes) {
    it(`${size} bytes, random key, nonce and AAD`, async () => {
      const key = new Uint8Array(randomBytes(32));
      const nonce = nonceOf(Math.floor(Math.random() * 2 ** 40));
      const aad = new Uint8Array(randomBytes(104));
      const plaintext = new Uint8Array(randomBytes(size));
      const fromNode = await node.seal(key, nonce, aad, plaintext);
      const fromWeb = await web.seal(key, nonce, aad, plaintext);
      expect(Buffer.from(fromNode).equals(Buffer.from(fromWeb))).toBe(true);
      expect(Buffer.from(await web.open(key, nonce, aad, fromNode)).equals(Buffer.from(plaintext))).toBe(true);
      expect(Buffer.from(await node.open(key, nonce, aad, fromWeb)).equals(Buffer.from(plaintext))).toBe(true);
    });
  }

  it('a container block sealed by the library opens with WebCrypto from the spec alone', async () => {
    const c = VECTORS.containers[0] as ContainerVector;
    const id = bytes(c.container_id);
    const state = initFromSharedSecret(bytes(c.secret), { containerId: id, epochUs: c.epoch_us });
    const payload = new Uint8Array(randomBytes(5000));
    const ctx = { trackId: 4, ptsUs: 12_345_678, chunkIndex: 77, keyframe: true };
    const { header, ciphertext } = encryptCoreBlock(state, payload, ctx);
    const key = await web.hkdf(bytes(c.secret), id, blockInfo(4, Math.floor(12_345_678 / c.epoch_us)));
    expect(Buffer.from(await web.open(key, nonceOf(77), header, ciphertext)).equals(Buffer.from(payload))).toBe(true);
  });
});

describe('docs/FORMAT.md §13.8', () => {
  it('holds the vector values', () => {
    const doc = readFileSync(new URL('../docs/FORMAT.md', import.meta.url), 'utf8');
    const at = doc.indexOf('### 13.8 Test vectors');
    expect(at, '§13.8 is missing from docs/FORMAT.md').toBeGreaterThan(0);
    const section = doc.slice(at).replace(/\n {11}/g, '');
    for (const c of VECTORS.containers) {
      for (const v of [c.secret, c.container_id, c.key_check, c.transcript_key, c.transcript.mac]) expect(section).toContain(v);
      for (const b of c.blocks) for (const v of [b.block_key, b.nonce, b.aad, b.ciphertext, b.tag]) expect(section).toContain(v);
    }
    expect(section).toContain(VECTORS.passphrase.secret);
  });
});

describe('§13.4 / §13.1 64-bit fields at the edges of the safe range', () => {
  it('the associated data and the nonce write every safe integer as two’s complement, byte for byte what a BigInt encoder writes', () => {
    const edges = [0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 2 ** 51 - 1, -(2 ** 51 - 1), 2 ** 53 - 1, -(2 ** 53 - 1)];
    const id = new Uint8Array(16).fill(9);
    const digest = new Uint8Array(32).fill(5);
    for (const v of edges) {
      const fields = { coreIndex: Math.abs(v), trackNumber: 3, flags: 1, compression: 0, duration: 7, pts: v, dts: -v, originalLength: 11 };
      const aad = encodeAssociatedData(id, fields, v, digest);
      const view = new DataView(aad.buffer);
      expect(view.getBigUint64(28, true), `core_index ${v}`).toBe(BigInt(Math.abs(v)));
      expect(view.getBigInt64(36, true), `pts ${v}`).toBe(BigInt(v));
      expect(view.getBigInt64(44, true), `dts ${-v}`).toBe(BigInt(-v));
      expect(view.getBigInt64(62, true), `epoch ${v}`).toBe(BigInt(v));
      const nonce = new DataView(blockNonce(Math.abs(v)).buffer);
      expect(nonce.getBigUint64(0, true), `nonce ${v}`).toBe(BigInt(Math.abs(v)));
      expect(nonce.getUint32(8, true)).toBe(0);
    }
  });
});
