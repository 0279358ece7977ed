#!/usr/bin/env node
// Regenerates test/vectors/crypto-v1.json: LivingCipher test vectors (docs/FORMAT.md §13.8)
// from fixed inputs, computed by the library in dist/ (run `npm run build` first).
//
//   node scripts/make-crypto-vectors.mjs              writes the JSON
//   node scripts/make-crypto-vectors.mjs --markdown   also prints the §13.8 tables
//
// Review the diff of any change: the vectors are the format. test/crypto-vectors.test.ts
// recomputes every value with node:crypto and with WebCrypto, independently of the library.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockNonce } from '../dist/crypto/aead.js';
import { contextDigest, deriveBlockKey, deriveKeyCheck, deriveTranscriptKey, NO_INDEX_CONTEXT, secretFromPassphrase } from '../dist/crypto/keys.js';
import { encodeTrackTable } from '../dist/format/track-table.js';
import { blockEpoch, SecretKeys, sealBlock, transcriptMac } from '../dist/crypto/living-cipher.js';
import { encodeAssociatedData } from '../dist/format/associated-data.js';
import { decryptCoreBlock, encryptCoreBlock, initFromSharedSecret } from '../dist/node.js';

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const seq = (length, start, step = 1) => Uint8Array.from({ length }, (_, i) => (start + i * step) & 0xff);
const ascii = (text) => new TextEncoder().encode(text);

/** Block flags (§6.1). */
const KEYFRAME = 0x01;
const KIND_I = 1 << 1;
const KIND_B = 3 << 1;
const ENCRYPTED = 0x08;
const END_OF_TRACK = 0x10;

/**
 * Two containers: A without an engine identity, B with the seed's engine_id /
 * engine_fp. Blocks cover: the first block, a 48 kHz track in epoch 1, a
 * 1/90000 B-frame with negative dts in a late epoch marked compressed
 * (zstd: AAD carries codec and original length; the plaintext is taken as the
 * stored bytes), an END_OF_TRACK block, an empty payload, a negative pts.
 */
const CONTAINERS = [
  {
    name: 'A',
    secret: seq(32, 0x00),
    containerId: seq(16, 0xa0),
    epochUs: 2_000_000,
    engineId: '',
    engineFp: '',
    // The TRAK, META and SAFE payloads the blocks are bound to (§13.4).
    index: {
      trak: encodeTrackTable([
        {
          number: 0,
          id: 'video_main',
          kind: 'video',
          codec: 'avc1.64001f',
          config: new Uint8Array(0),
          timescale: 90_000,
          compression: 'none',
          name: '',
          language: '',
          extra: {},
        },
        {
          number: 1,
          id: 'audio_main',
          kind: 'audio',
          codec: 'opus',
          config: new Uint8Array(0),
          timescale: 48_000,
          compression: 'none',
          name: '',
          language: '',
          extra: {},
        },
        {
          number: 2,
          id: 'control',
          kind: 'control',
          codec: 'json',
          config: new Uint8Array(0),
          timescale: 1_000_000,
          compression: 'none',
          name: '',
          language: '',
          extra: {},
        },
        {
          number: 3,
          id: 'data',
          kind: 'data',
          codec: 'opaque',
          config: new Uint8Array(0),
          timescale: 1_000_000,
          compression: 'none',
          name: '',
          language: '',
          extra: {},
        },
      ]),
      meta: ascii('{}'),
      safe: ascii('{"policy":"transport_only"}'),
    },
    blocks: [
      {
        name: 'A0 first video keyframe',
        timescale: 1_000_000,
        fields: { coreIndex: 0, trackNumber: 0, flags: KEYFRAME | KIND_I | ENCRYPTED, compression: 0, duration: 40_000, pts: 0, dts: 0 },
        plaintext: ascii('H4MK'),
      },
      {
        name: 'A1 audio 48 kHz, epoch 1',
        timescale: 48_000,
        fields: { coreIndex: 5, trackNumber: 1, flags: KEYFRAME | ENCRYPTED, compression: 0, duration: 1024, pts: 120_000, dts: 120_000 },
        plaintext: seq(20, 0x41),
      },
      {
        name: 'A2 B-frame 1/90000, zstd, negative dts',
        timescale: 90_000,
        fields: { coreIndex: 1234567, trackNumber: 0, flags: KIND_B | ENCRYPTED, compression: 3, duration: 3003, pts: 900_900, dts: -6006 },
        originalLength: 4096,
        plaintext: seq(37, 0x28, 7),
      },
      {
        name: 'A3 END_OF_TRACK control block',
        timescale: 1_000_000,
        fields: { coreIndex: 9, trackNumber: 2, flags: KEYFRAME | ENCRYPTED | END_OF_TRACK, compression: 0, duration: 0, pts: 5_999_999, dts: 5_999_999 },
        plaintext: ascii('{"cmd":"cut"}'),
      },
      {
        name: 'A4 empty payload',
        timescale: 1_000_000,
        fields: { coreIndex: 10, trackNumber: 2, flags: ENCRYPTED, compression: 0, duration: 0, pts: 6_000_000, dts: 6_000_000 },
        plaintext: new Uint8Array(0),
      },
      {
        name: 'A5 negative pts, epoch -1',
        timescale: 1_000_000,
        fields: { coreIndex: 11, trackNumber: 3, flags: KEYFRAME | ENCRYPTED, compression: 0, duration: 10, pts: -1, dts: -1 },
        plaintext: seq(16, 0xf0),
      },
    ],
    transcript: {
      chainHead: seq(32, 0x10, 3),
      blockCount: 12,
      // One entry per TRAK track (§13.5: u16 track_count is TRAK's), 5 + 4 + 2 + 1 = block_count.
      tracks: [
        { blockCount: 5, lastCoreIndex: 1234567 },
        { blockCount: 4, lastCoreIndex: 5 },
        { blockCount: 2, lastCoreIndex: 10 },
        { blockCount: 1, lastCoreIndex: 11 },
      ],
    },
  },
  {
    name: 'B',
    secret: seq(32, 0xff, -1),
    containerId: seq(16, 0x01, 17),
    epochUs: 0,
    engineId: 'harmony4-engine/1.0',
    engineFp: 'sha256:0011223344556677',
    // No container around the blocks: what the seed-shaped API binds to.
    index: NO_INDEX_CONTEXT,
    blocks: [
      {
        name: 'B0 engine-bound keyframe, no epochs',
        timescale: 1_000_000,
        fields: { coreIndex: 0, trackNumber: 0, flags: KEYFRAME | ENCRYPTED, compression: 0, duration: 33_333, pts: 7_200_000_000, dts: 7_200_000_000 },
        plaintext: seq(64, 0x00, 5),
      },
      {
        name: 'B1 delta block',
        timescale: 1_000_000,
        fields: { coreIndex: 1, trackNumber: 0, flags: ENCRYPTED, compression: 0, duration: 33_333, pts: 7_200_033_333, dts: 7_200_033_333 },
        plaintext: seq(48, 0x30, 3),
      },
      {
        name: 'B2 second track, empty payload',
        timescale: 1_000_000,
        fields: { coreIndex: 2, trackNumber: 1, flags: KEYFRAME | ENCRYPTED, compression: 0, duration: 0, pts: 0, dts: 0 },
        plaintext: new Uint8Array(0),
      },
    ],
    // No TRAK (seed API): three tracks, the third empty (its last core_index is coded 2^64 − 1).
    transcript: {
      chainHead: new Uint8Array(32),
      blockCount: 3,
      tracks: [
        { blockCount: 2, lastCoreIndex: 1 },
        { blockCount: 1, lastCoreIndex: 2 },
        { blockCount: 0, lastCoreIndex: -1 },
      ],
    },
  },
];

// A container's transcript lists exactly its TRAK's tracks (u16 track_count at TRAK offset 0), and its block counts add up.
for (const c of CONTAINERS) {
  const t = c.transcript;
  if (c.index.trak.length > 0) {
    const trackCount = c.index.trak[0] | (c.index.trak[1] << 8);
    if (t.tracks.length !== trackCount) throw new Error(`container ${c.name}: transcript lists ${t.tracks.length} tracks, TRAK has ${trackCount}`);
  }
  if (t.tracks.reduce((n, x) => n + x.blockCount, 0) !== t.blockCount)
    throw new Error(`container ${c.name}: transcript block counts do not add up to ${t.blockCount}`);
}

const PASSPHRASE = {
  passphrase: 'correct horse battery staple ✓',
  kdf: { kind: 'scrypt', log2N: 10, r: 8, p: 1, salt: seq(16, 0x5a) },
  containerId: seq(16, 0xc0),
};

function vectorOf(container, keys, block) {
  const originalLength = block.originalLength ?? block.plaintext.length;
  const fields = { ...block.fields, originalLength };
  const context = {
    containerId: container.containerId,
    epochUs: container.epochUs,
    engineDigest: contextDigest(container.engineId, container.engineFp, container.index),
    keys,
  };
  const epoch = blockEpoch(context, fields.pts, block.timescale);
  const aad = encodeAssociatedData(container.containerId, fields, epoch, context.engineDigest);
  const sealed = sealBlock(context, fields, block.timescale, block.plaintext);
  return {
    name: block.name,
    timescale: block.timescale,
    core_index: fields.coreIndex,
    track_number: fields.trackNumber,
    flags: fields.flags,
    compression: fields.compression,
    duration: fields.duration,
    pts: fields.pts,
    dts: fields.dts,
    original_length: originalLength,
    epoch,
    block_key: hex(deriveBlockKey(container.secret, container.containerId, fields.trackNumber, epoch)),
    nonce: hex(blockNonce(fields.coreIndex)),
    aad: hex(aad),
    plaintext: hex(block.plaintext),
    ciphertext: hex(sealed.subarray(0, sealed.length - 16)),
    tag: hex(sealed.subarray(sealed.length - 16)),
  };
}

const out = {
  h4mk_crypto_vectors: 1,
  description:
    'LivingCipher v1 (docs/FORMAT.md §13): HKDF-SHA256 key schedule, 104-byte associated data (context digest over engine identity, TRAK, META, SAFE), AES-256-GCM with nonce = u64le core_index || u32 0, HMAC-SHA256 transcript. All byte strings are hex; integers are JSON numbers.',
  containers: CONTAINERS.map((c) => {
    const keys = new SecretKeys(c.secret, c.containerId);
    const blocks = c.blocks.map((b) => vectorOf(c, keys, b));
    // The seed API must give the same bytes for the blocks it can express (µs timestamps, no frame kind or END_OF_TRACK).
    const state = initFromSharedSecret(c.secret, { containerId: c.containerId, epochUs: c.epochUs });
    c.blocks.forEach((b, i) => {
      const f = b.fields;
      if (c.index !== NO_INDEX_CONTEXT) return;
      if (b.timescale !== 1_000_000 || (f.flags & ~(KEYFRAME | ENCRYPTED)) !== 0) return;
      const ctx = {
        trackId: f.trackNumber,
        ptsUs: f.pts,
        dtsUs: f.dts,
        durationUs: f.duration,
        chunkIndex: f.coreIndex,
        keyframe: (f.flags & KEYFRAME) !== 0,
        engineId: c.engineId,
        engineFp: c.engineFp,
        compression: f.compression,
        originalLength: b.originalLength ?? b.plaintext.length,
      };
      const { header, ciphertext } = encryptCoreBlock(state, b.plaintext, ctx);
      const v = blocks[i];
      if (hex(header) !== v.aad || hex(ciphertext) !== v.ciphertext + v.tag) throw new Error(`seed API disagrees on ${b.name}`);
      if (hex(decryptCoreBlock(state, ciphertext, ctx)) !== v.plaintext) throw new Error(`seed API cannot decrypt ${b.name}`);
      v.seed_api = true;
    });
    const t = c.transcript;
    return {
      name: c.name,
      secret: hex(c.secret),
      container_id: hex(c.containerId),
      epoch_us: c.epochUs,
      engine_id: c.engineId,
      engine_fp: c.engineFp,
      trak: hex(c.index.trak),
      meta: hex(c.index.meta),
      safe: hex(c.index.safe),
      context_digest: hex(contextDigest(c.engineId, c.engineFp, c.index)),
      key_check: hex(deriveKeyCheck(c.secret, c.containerId)),
      transcript_key: hex(deriveTranscriptKey(c.secret, c.containerId)),
      blocks,
      transcript: {
        chain_head: hex(t.chainHead),
        block_count: t.blockCount,
        tracks: t.tracks.map((x) => ({ block_count: x.blockCount, last_core_index: x.blockCount === 0 ? null : x.lastCoreIndex })),
        mac: hex(transcriptMac(deriveTranscriptKey(c.secret, c.containerId), c.containerId, t.chainHead, t.blockCount, t.tracks)),
      },
    };
  }),
  passphrase: (() => {
    const secret = secretFromPassphrase(PASSPHRASE.passphrase, PASSPHRASE.kdf);
    return {
      passphrase: PASSPHRASE.passphrase,
      normalization: 'NFC',
      scrypt: { log2n: PASSPHRASE.kdf.log2N, r: PASSPHRASE.kdf.r, p: PASSPHRASE.kdf.p, salt: hex(PASSPHRASE.kdf.salt) },
      secret: hex(secret),
      container_id: hex(PASSPHRASE.containerId),
      key_check: hex(deriveKeyCheck(secret, PASSPHRASE.containerId)),
    };
  })(),
};

const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors', 'crypto-v1.json');
writeFileSync(path, `${JSON.stringify(out, null, 2)}\n`);
console.log(
  `wrote ${path}: ${out.containers.reduce((n, c) => n + c.blocks.length, 0)} block vectors in ${out.containers.length} containers, 1 passphrase vector`,
);

if (process.argv.includes('--markdown')) {
  const lines = [];
  for (const c of out.containers) {
    lines.push(
      `**Container ${c.name}**: secret \`${c.secret}\`, container_id \`${c.container_id}\`, epoch_us ${c.epoch_us}` +
        (c.engine_id === '' ? ', no engine identity' : `, engine_id \`${c.engine_id}\`, engine_fp \`${c.engine_fp}\``) +
        '.',
    );
    lines.push('');
    lines.push('| value | hex |', '|---|---|');
    lines.push(
      `| TRAK payload | \`${c.trak || '(empty)'}\` |`,
      `| META payload | \`${c.meta || '(empty)'}\` |`,
      `| SAFE payload | \`${c.safe || '(empty)'}\` |`,
      `| context digest | \`${c.context_digest}\` |`,
      `| key check | \`${c.key_check}\` |`,
      `| transcript key | \`${c.transcript_key}\` |`,
    );
    lines.push('');
    for (const b of c.blocks) {
      lines.push(
        `*${b.name}*: timescale ${b.timescale}, core_index ${b.core_index}, track ${b.track_number}, flags 0x${b.flags.toString(16).padStart(2, '0')}, compression ${b.compression}, duration ${b.duration}, pts ${b.pts}, dts ${b.dts}, original_length ${b.original_length} → epoch ${b.epoch}`,
      );
      lines.push('```');
      for (const k of ['block_key', 'nonce', 'aad', 'plaintext', 'ciphertext', 'tag'])
        lines.push(`${k.padEnd(10)} ${b[k] === '' ? '(empty)' : b[k].replace(/(.{64})(?=.)/g, `$1\n${' '.repeat(11)}`)}`);
      lines.push('```');
    }
    const t = c.transcript;
    lines.push(
      `Transcript: chain_head \`${t.chain_head}\`, block_count ${t.block_count}, tracks ${t.tracks.map((x) => `(${x.block_count}, ${x.last_core_index ?? '2^64−1'})`).join(' ')} → MAC \`${t.mac}\``,
    );
    lines.push('');
  }
  const p = out.passphrase;
  lines.push(
    `**Passphrase**: \`${p.passphrase}\` (NFC), scrypt N = 2^${p.scrypt.log2n}, r = ${p.scrypt.r}, p = ${p.scrypt.p}, salt \`${p.scrypt.salt}\` → secret \`${p.secret}\`; with container_id \`${p.container_id}\` the key check is \`${p.key_check}\`.`,
  );
  console.log(`\n${lines.join('\n')}`);
}
