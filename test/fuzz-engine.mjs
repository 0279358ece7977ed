/**
 * Mutation fuzzing of the H4MK reader, shared by test/fuzz.test.ts (bounded,
 * against src/) and scripts/fuzz.mjs (long runs, against dist/). The library
 * is passed in, so the same engine runs against either build.
 *
 * This file has its own small walker of the container layout (docs/FORMAT.md
 * §3–§7), independent of the library's parser, used to aim mutations at
 * chunk lengths and payloads and to re-seal a mutated file (recompute every
 * CRC-32C, block digest, segment digest, chain head and index digest) so that
 * mutations reach the semantic checks behind the integrity layer.
 */
import { createHash } from 'node:crypto';

/** @typedef {typeof import('../src/node.js')} Lib */

const HEADER_LENGTH = 32;
const FOOTER_LENGTH = 36;

// ---------------------------------------------------------------- PRNG

/** xorshift128+ seeded through splitmix32; returns an object of helpers. */
export function makeRng(seed) {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split() | 1;
  let b = split();
  const next = () => {
    // xorshift32 pair mixed: plenty for fuzzing.
    a ^= a << 13;
    a ^= a >>> 17;
    a ^= a << 5;
    b = (b + 0x6d2b79f5) | 0;
    return ((a >>> 0) ^ (b >>> 0)) >>> 0;
  };
  const rng = {
    u32: next,
    float: () => next() / 4294967296,
    int: (lo, hi) => lo + Math.floor((next() / 4294967296) * (hi - lo + 1)),
    pick: (items) => items[Math.floor((next() / 4294967296) * items.length)],
    bool: (p = 0.5) => next() / 4294967296 < p,
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = next() & 0xff;
      return out;
    },
  };
  return rng;
}

// ---------------------------------------------------------------- layout walker

const u32 = (b, o) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const u64 = (b, o) => u32(b, o) + u32(b, o + 4) * 2 ** 32;
const setU32 = (b, o, v) => {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
};
const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

function walkChunks(bytes, start, end) {
  const chunks = [];
  let p = start;
  while (p < end) {
    if (p + 12 > end) throw new Error(`chunk header past region end at ${p}`);
    const type = String.fromCharCode(bytes[p], bytes[p + 1], bytes[p + 2], bytes[p + 3]);
    const length = u32(bytes, p + 4);
    const next = p + 12 + length;
    if (next > end) throw new Error(`chunk ${type} at ${p} overruns its region`);
    chunks.push({ type, start: p, payloadStart: p + 8, length, end: next });
    p = next;
  }
  return chunks;
}

function readVarint(b, p) {
  let v = 0;
  let scale = 1;
  for (;;) {
    const byte = b[p++];
    v += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [v, p];
    scale *= 128;
  }
}

/**
 * The layout of a well-formed container: header, index and data regions,
 * every chunk, the segments and where SEGX keeps each segment's digest.
 * Throws (a plain Error) when the bytes are not well-formed enough to walk.
 */
export function layoutOf(bytes) {
  const size = bytes.length;
  const flags = bytes[10] | (bytes[11] << 8);
  const faststart = (flags & 1) !== 0;
  const foot = size - FOOTER_LENGTH;
  const indexOffset = u64(bytes, foot + 8);
  const indexLength = u64(bytes, foot + 16);
  const dataOffset = faststart ? HEADER_LENGTH + indexLength : HEADER_LENGTH;
  const dataEnd = faststart ? foot : indexOffset;
  const indexChunks = walkChunks(bytes, indexOffset, indexOffset + indexLength);
  const dataChunks = walkChunks(bytes, dataOffset, dataEnd);
  const version = bytes[8] | (bytes[9] << 8);
  const segments = [];
  let cores = [];
  let segt = null;
  for (const c of dataChunks) {
    if (c.type === 'CORE') cores.push(c);
    else if (c.type === 'BIDX') {
      segments.push({ cores, bidx: c });
      cores = [];
    } else if (c.type === 'SEGT') segt = c;
    else if (c.type === 'SEGD' && segt !== null) {
      // v2 (FORMAT.md §6.5): the table, then the data.
      segments.push({ segt, segd: c });
      segt = null;
    }
  }
  const segx = indexChunks.find((c) => c.type === 'SEGX');
  const segxDigestAt = [];
  // v2 (§5.5): records per SEGX entry (extra_records + 1); 1 in v1.
  const recordsPerSegment = segx && version === 2 ? u32(bytes, segx.payloadStart + 4) + 1 : 1;
  if (segx) {
    const count = u32(bytes, segx.payloadStart);
    let p = segx.payloadStart + 8;
    for (let s = 0; s < count; s++) {
      // gap, length, block_count (and v2's table_length)
      for (let k = 0; k < (version === 2 ? 4 : 3); k++) [, p] = readVarint(bytes, p);
      segxDigestAt.push(p);
      p += 32;
    }
  }
  const footer = { type: 'FOOT', start: foot, payloadStart: foot + 8, length: 24, end: size };
  // v2 (§5.10, §6.6): a KEYS chunk before the last record, named by KEYP in the index.
  const keys = dataChunks.find((c) => c.type === 'KEYS') ?? null;
  const keyp = indexChunks.find((c) => c.type === 'KEYP') ?? null;
  return {
    size,
    version,
    faststart,
    indexOffset,
    indexLength,
    dataOffset,
    dataEnd,
    indexChunks,
    dataChunks,
    segments,
    segxDigestAt,
    recordsPerSegment,
    footer,
    keys,
    keyp,
  };
}

/**
 * Recomputes every integrity field of `bytes` in place from the seed's
 * `layout` (lengths unchanged): chunk CRCs, block digests in BIDX, segment
 * digests in SEGX, the chain head and index digest in VERI, header CRC.
 */
export function reseal(bytes, layout, crc32c) {
  const crcChunk = (c) => setU32(bytes, c.end - 4, crc32c(bytes.subarray(c.start, c.end - 4)));
  let chain = new Uint8Array(32);
  const runDigests = [];
  layout.segments.forEach((seg, s) => {
    if (seg.segt !== undefined) {
      // v2 (§6.5): SEGD's CRC; its digest into SEGT after the two leading varints; SEGT's CRC; SEGT's digest into SEGX and the chain.
      crcChunk(seg.segd);
      let p = seg.segt.payloadStart;
      for (let k = 0; k < 2; k++) [, p] = readVarint(bytes, p);
      bytes.set(sha256(bytes.subarray(seg.segd.payloadStart, seg.segd.end - 4)), p);
      crcChunk(seg.segt);
      const tableDigest = sha256(bytes.subarray(seg.segt.payloadStart, seg.segt.end - 4));
      const g = layout.recordsPerSegment;
      if (g === 1) {
        const at = layout.segxDigestAt[s];
        if (at !== undefined) bytes.set(tableDigest, at);
        chain = sha256(chain, tableDigest);
        return;
      }
      // §5.5 runs: a SEGX entry's digest is the SHA-256 of its records' SEGT digests; the chain steps per run.
      runDigests.push(tableDigest);
      if (runDigests.length === g || s === layout.segments.length - 1) {
        const runDigest = sha256(...runDigests);
        const at = layout.segxDigestAt[Math.floor(s / g)];
        if (at !== undefined) bytes.set(runDigest, at);
        chain = sha256(chain, runDigest);
        runDigests.length = 0;
      }
      return;
    }
    seg.cores.forEach((c, i) => {
      crcChunk(c);
      const digest = sha256(bytes.subarray(c.payloadStart, c.end - 4));
      bytes.set(digest, seg.bidx.payloadStart + 16 + i * 72 + 40);
      chain = sha256(chain, digest);
    });
    crcChunk(seg.bidx);
    const at = layout.segxDigestAt[s];
    if (at !== undefined) bytes.set(sha256(bytes.subarray(seg.bidx.payloadStart, seg.bidx.end - 4)), at);
  });
  if (layout.keys !== null) {
    crcChunk(layout.keys);
    if (layout.keyp !== null) bytes.set(sha256(bytes.subarray(layout.keys.payloadStart, layout.keys.end - 4)), layout.keyp.payloadStart + 16);
  }
  const veri = layout.indexChunks.find((c) => c.type === 'VERI');
  for (const c of layout.indexChunks) if (c !== veri) crcChunk(c);
  if (veri) {
    bytes.set(chain, veri.payloadStart + 16);
    bytes.set(sha256(bytes.subarray(layout.indexOffset, veri.start)), veri.payloadStart + 48);
    crcChunk(veri);
  }
  setU32(bytes, 28, crc32c(bytes.subarray(0, 28)));
  crcChunk(layout.footer);
  return bytes;
}

// ---------------------------------------------------------------- seeds

function pattern(rng, n) {
  if (rng.bool()) return rng.bytes(n);
  const out = new Uint8Array(n);
  const period = rng.int(1, 5);
  for (let i = 0; i < n; i++) out[i] = (i % period) * 17;
  return out;
}

/** Small containers covering the features: layouts, codecs, B-frames, segments, META/SAFE. */
export async function makeSeeds(lib, formatVersion = 1, { indexBudget } = {}) {
  const configs = [
    { layout: 'tail', compression: 'zstd', segment: { maxBlocks: 6 } },
    { layout: 'faststart', compression: 'deflate', segment: { maxBlocks: 9 } },
    { layout: 'tail', compression: 'brotli', segment: { maxBlocks: 64 } },
    { layout: 'faststart', compression: 'none', segment: { maxBlocks: 5, splitAtKeyframes: false } },
  ];
  const seeds = [];
  for (const [n, options] of configs.entries()) {
    const rng = makeRng(0x5eed + n);
    const sink = new lib.MemorySink();
    const writer = await lib.H4mkWriter.create(sink, {
      ...options,
      formatVersion,
      ...(indexBudget === undefined ? {} : { indexBudget }),
      meta: { seed: n, title: 'fuzz' },
      safe: { policy: 'transport_only' },
    });
    writer.addTrack({ id: 'v', kind: 'video', codec: 'avc1', timescale: 90000, config: Uint8Array.of(1, 2, 3) });
    writer.addTrack({ id: 'a', kind: 'audio', codec: 'opus', timescale: 48000, language: 'en' });
    writer.addTrack({ id: 'c', kind: 'control', extra: { x: 1 } });
    const order = [0, 3, 1, 2]; // I P B B
    let vk = 0;
    let ak = 0;
    let ck = 0;
    for (let step = 0; step < 16; step++) {
      const d = order[vk % 4] + Math.floor(vk / 4) * 4;
      await writer.writeBlock({
        track: 'v',
        pts: d * 3003,
        dts: (vk - 1) * 3003,
        duration: 3003,
        keyframe: d % 4 === 0,
        kind: d % 4 === 0 ? 'I' : d % 4 === 3 ? 'P' : 'B',
        payload: pattern(rng, rng.int(4, 90)),
      });
      vk++;
      if (step % 2 === 0) await writer.writeBlock({ track: 'a', pts: ak++ * 1024, duration: 1024, keyframe: true, payload: pattern(rng, rng.int(0, 40)) });
      if (step % 5 === 0) {
        await writer.writeBlock({ track: 'c', ptsUs: ck * 50_000, keyframe: ck % 2 === 0, payload: new TextEncoder().encode(JSON.stringify({ i: ck })) });
        ck++;
      }
    }
    await writer.finish();
    const bytes = sink.bytes();
    const reader = await lib.H4mkReader.open(new lib.MemorySource(bytes));
    const payloads = [];
    for (let i = 0; i < reader.blockCount; i++) payloads.push((await reader.readBlock(i)).payload.slice());
    const prefix = formatVersion === 1 ? '' : indexBudget === undefined ? 'v2 ' : 'v2 runs ';
    seeds.push({ name: `${prefix}${options.layout}/${options.compression}`, bytes, layout: layoutOf(bytes), payloads });
  }
  return seeds;
}

// ---------------------------------------------------------------- mutations

const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

/**
 * One mutated copy of `seed`. Returns { bytes, kind, resealed }.
 * Kinds: bit flips, byte sets, insertions, deletions, truncation, appended
 * junk, chunk-length rewrites (huge and off-by-one, with the CRC fixed or
 * not), footer/header u64 rewrites, chunk duplication/swap, and re-sealed
 * payload mutations that get past every checksum.
 */
export function mutate(rng, seed, crc32c) {
  const src = seed.bytes;
  const L = seed.layout;
  const allChunks = [...L.indexChunks, ...L.dataChunks, L.footer];
  const kind = rng.pick([
    'bitflip',
    'bitflip',
    'byteset',
    'insert',
    'delete',
    'truncate',
    'append',
    'chunk-length',
    'chunk-length',
    'u64-field',
    'splice',
    'reseal',
    'reseal',
    'reseal',
    'reseal',
  ]);
  let bytes = src.slice();
  let resealed = false;
  switch (kind) {
    case 'bitflip': {
      const n = rng.pick([1, 1, 1, 2, 3, 8]);
      for (let i = 0; i < n; i++) bytes[rng.int(0, bytes.length - 1)] ^= 1 << rng.int(0, 7);
      break;
    }
    case 'byteset': {
      const n = rng.int(1, 4);
      for (let i = 0; i < n; i++) bytes[rng.int(0, bytes.length - 1)] = rng.bool() ? rng.pick(INTERESTING_U8) : rng.int(0, 255);
      break;
    }
    case 'insert': {
      const at = rng.int(0, bytes.length);
      const junk = rng.bool() ? rng.bytes(rng.int(1, 16)) : src.subarray(rng.int(0, src.length - 12), undefined).slice(0, rng.int(1, 48));
      bytes = concat(bytes.subarray(0, at), junk, bytes.subarray(at));
      break;
    }
    case 'delete': {
      const at = rng.int(0, bytes.length - 1);
      const n = rng.int(1, Math.min(64, bytes.length - at));
      bytes = concat(bytes.subarray(0, at), bytes.subarray(at + n));
      break;
    }
    case 'truncate':
      bytes = bytes.slice(0, rng.int(0, bytes.length - 1));
      break;
    case 'append':
      bytes = concat(bytes, rng.bool() ? rng.bytes(rng.int(1, 64)) : src.subarray(src.length - FOOTER_LENGTH));
      break;
    case 'chunk-length': {
      const c = rng.pick(allChunks);
      const v = rng.bool(0.6) ? rng.pick(INTERESTING_U32) : (c.length + rng.int(-3, 3)) >>> 0;
      setU32(bytes, c.start + 4, v);
      if (rng.bool()) {
        // Fix the CRC for the new length where the bytes exist, so length checks are reached.
        const end = c.start + 8 + v;
        if (end + 4 <= bytes.length) setU32(bytes, end, crc32c(bytes.subarray(c.start, end)));
      }
      break;
    }
    case 'u64-field': {
      // Footer index_offset/index_length or header index_length, CRC fixed.
      const fields = [L.footer.payloadStart, L.footer.payloadStart + 8, 16];
      const at = rng.pick(fields);
      const v = rng.pick([0, 1, 31, 32, 33, L.indexLength - 1, L.indexLength + 1, src.length, 2 ** 32, 2 ** 53 - 1, 2 ** 53, Number.MAX_SAFE_INTEGER]);
      setU32(bytes, at, v % 2 ** 32);
      setU32(bytes, at + 4, Math.floor(v / 2 ** 32) >>> 0);
      if (rng.bool(0.2)) bytes[at + 7] = 0xff;
      setU32(bytes, 28, crc32c(bytes.subarray(0, 28)));
      setU32(bytes, L.footer.end - 4, crc32c(bytes.subarray(L.footer.start, L.footer.end - 4)));
      break;
    }
    case 'splice': {
      const a = rng.pick(allChunks);
      const b = rng.pick(allChunks);
      const aBytes = src.subarray(a.start, a.end);
      if (rng.bool())
        bytes = concat(src.subarray(0, b.start), aBytes, src.subarray(b.start)); // duplicate a before b
      else if (a.start < b.start && a.end <= b.start) {
        bytes = concat(src.subarray(0, a.start), src.subarray(b.start, b.end), src.subarray(a.end, b.start), aBytes, src.subarray(b.end)); // swap
      } else bytes = concat(src.subarray(0, a.start), src.subarray(a.end)); // drop a
      break;
    }
    case 'reseal': {
      // Mutate inside a payload (or header fields), then recompute every checksum and digest.
      const regions = ['index', 'index', 'index', 'bidx', 'bidx', 'core', 'header', 'footer'];
      if (L.keys !== null) regions.push('keys', 'keys');
      const region = rng.pick(regions);
      let lo;
      let hi;
      if (region === 'header') [lo, hi] = [8, 28];
      else if (region === 'footer') [lo, hi] = [L.footer.payloadStart, L.footer.end - 4];
      else {
        const table = L.version === 2 ? 'SEGT' : 'BIDX';
        const data = L.version === 2 ? 'SEGD' : 'CORE';
        const pool =
          region === 'index'
            ? L.indexChunks
            : region === 'keys'
              ? [L.keys]
              : L.dataChunks.filter((c) => (region === 'bidx' ? c.type === table : c.type === data));
        const c = rng.pick(pool);
        [lo, hi] = [c.payloadStart, c.end - 4];
        if (region === 'core' && rng.bool(0.7)) hi = Math.min(hi, lo + 36); // mostly the block header
      }
      if (hi <= lo) break;
      const n = rng.pick([1, 1, 1, 2, 4]);
      for (let i = 0; i < n; i++) {
        const at = rng.int(lo, hi - 1);
        const r = rng.float();
        if (r < 0.4) bytes[at] ^= 1 << rng.int(0, 7);
        else if (r < 0.7) bytes[at] = rng.pick(INTERESTING_U8);
        else if (r < 0.85) bytes[at] = (bytes[at] + rng.pick([1, -1, 2, -2])) & 0xff;
        else if (at + 4 <= hi) setU32(bytes, at, rng.pick(INTERESTING_U32));
      }
      reseal(bytes, L, crc32c);
      resealed = true;
      break;
    }
  }
  return { bytes, kind, resealed };
}

function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------- one case

/**
 * Opens `bytes`, verifies, seeks and reads a few blocks. Returns
 * { outcome, problem } where problem (a string) is set when the reader
 * misbehaved: threw something other than an H4mkError, threw an H4mkError
 * without a code, let verify() throw, or (when verify said ok) returned
 * blocks or seek answers inconsistent with each other or, for unsealed
 * mutations, different from the seed's payloads.
 */
export async function runCase(lib, bytes, rng, context = {}) {
  const isTyped = (e) => e instanceof lib.H4mkError && typeof e.code === 'string' && (e.offset === undefined || Number.isSafeInteger(e.offset));
  const fail = (stage, e) => ({ outcome: 'problem', problem: `${stage}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}` });
  let reader;
  try {
    reader = await lib.H4mkReader.open(new lib.MemorySource(bytes));
  } catch (e) {
    return isTyped(e) ? { outcome: `open:${e.code}` } : fail('open', e);
  }
  let report;
  try {
    report = await reader.verify();
  } catch (e) {
    return fail(isTyped(e) ? 'verify threw a typed error instead of reporting it' : 'verify', e);
  }
  if (report.ok !== (report.failures.length === 0)) return fail('verify', new Error('ok disagrees with failures'));
  for (const f of report.failures) {
    if (typeof f.code !== 'string' || (f.coreIndex === undefined && f.chunk === undefined))
      return fail('verify', new Error(`failure names neither a block nor a chunk: ${JSON.stringify(f)}`));
  }
  const tracks = reader.tracks();
  const n = reader.blockCount;
  // When verify passed, every block's metadata is readable and is the oracle for seek and range.
  let infos = null;
  if (report.ok) {
    infos = [];
    for (let i = 0; i < n; i++) {
      try {
        infos.push(await reader.blockInfo(i));
      } catch (e) {
        return fail(`blockInfo(${i}) after verify ok`, e);
      }
    }
  }
  // Seek on every track at a few targets.
  for (const t of tracks) {
    const lo = t.firstPtsUs ?? 0;
    const hi = t.lastPtsUs ?? 0;
    for (const target of [rng.int(Math.max(-1e15, lo - 1000), Math.min(1e15, hi + 1000)), hi, lo - 1]) {
      let r;
      try {
        r = await reader.seek(t.number, target);
      } catch (e) {
        if (!isTyped(e)) return fail(`seek(${t.number}, ${target})`, e);
        if (report.ok) return fail(`seek(${t.number}, ${target}) after verify ok`, e);
        continue;
      }
      if (infos === null) continue;
      // Brute force: the keyframe with the largest pts and ptsUs ≤ target, ties → last in file order.
      let want = null;
      for (const b of infos) if (b.trackNumber === t.number && b.keyframe && b.ptsUs <= target && (want === null || b.pts >= want.pts)) want = b;
      // Before the first keyframe: the first keyframe, as a seek to its own time gives it (smallest pts, ties → last).
      if (want === null) {
        for (const b of infos) if (b.trackNumber === t.number && b.keyframe && (want === null || b.pts < want.pts)) want = b;
        if (want !== null) {
          const first = want;
          for (const b of infos) if (b.trackNumber === t.number && b.keyframe && b.pts === first.pts) want = b;
        }
      }
      const got = r === null ? null : r.coreIndex;
      if (got !== (want === null ? null : want.coreIndex) || (r !== null && r.pts !== want.pts)) {
        return fail('seek', new Error(`verify ok, but seek(${t.id}, ${target}) → ${got}, brute force → ${want === null ? null : want.coreIndex}`));
      }
      if (r !== null && (r.span.fromCoreIndex !== r.coreIndex || r.span.toCoreIndex >= n || r.span.offset + r.span.length > bytes.length)) {
        return fail('seek', new Error(`bad span ${JSON.stringify(r.span)}`));
      }
    }
  }
  if (infos !== null) {
    // range({}) yields every block, in file order.
    const seen = [];
    try {
      for await (const b of reader.infos()) seen.push(b.coreIndex);
    } catch (e) {
      return fail('range() after verify ok', e);
    }
    if (seen.length !== n || seen.some((c, i) => c !== i)) return fail('range', new Error(`verify ok, but range() gave ${seen.length} of ${n} blocks`));
  }
  // A few blocks (all of them when verify passed).
  const picks = report.ok ? [...Array(n).keys()] : n === 0 ? [] : [0, n - 1, rng.int(0, n - 1), rng.int(0, n - 1)];
  for (const i of picks) {
    let b;
    try {
      b = await reader.readBlock(i);
    } catch (e) {
      if (!isTyped(e)) return fail(`readBlock(${i})`, e);
      if (report.ok && !(e.code === 'E_UNSUPPORTED' && e.message.includes('encrypted'))) return fail(`readBlock(${i}) after verify ok`, e);
      continue;
    }
    if (report.ok && !context.resealed && context.payloads) {
      const want = context.payloads[i];
      if (want === undefined || !equalBytes(want, b.payload))
        return fail(`readBlock(${i})`, new Error('verify ok on an unsealed mutation, but the payload differs from the seed'));
    }
  }
  // A range over part of the file, with payloads.
  try {
    let last = -1;
    let count = 0;
    for await (const b of (rng.bool() ? reader.blocks : reader.infos).call(reader, { fromUs: rng.int(-100_000, 1_000_000) })) {
      if (b.coreIndex <= last) return fail('range', new Error('range not in file order'));
      last = b.coreIndex;
      if (++count > 64) break;
    }
  } catch (e) {
    if (!isTyped(e)) return fail('range', e);
    if (report.ok && !(e.code === 'E_UNSUPPORTED')) return fail('range after verify ok', e);
  }
  await reader.close();
  return { outcome: report.ok ? 'verify:ok' : `verify:${report.failures[0]?.code}` };
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Runs `cases` mutation cases from `seed` (a number). Calls `onProblem` with
 * { caseSeed, seedName, kind, problem } for each misbehaviour and `onProgress`
 * every `progressEvery` cases. Each case is reproducible from its caseSeed.
 */
export async function fuzz(lib, { cases, seed, seeds, onProblem, onProgress, progressEvery = 1000 }) {
  const stats = { cases: 0, problems: 0, outcomes: {}, kinds: {}, slowestMs: 0 };
  const master = makeRng(seed);
  for (let i = 0; i < cases; i++) {
    const caseSeed = master.u32();
    const r = await runOne(lib, seeds, caseSeed);
    stats.cases++;
    stats.kinds[r.kind] = (stats.kinds[r.kind] ?? 0) + 1;
    stats.outcomes[r.outcome] = (stats.outcomes[r.outcome] ?? 0) + 1;
    stats.slowestMs = Math.max(stats.slowestMs, r.ms);
    if (r.problem) {
      stats.problems++;
      await onProblem?.({ caseSeed, seedName: r.seedName, kind: r.kind, problem: r.problem, bytes: r.bytes });
    }
    if (onProgress && (i + 1) % progressEvery === 0) onProgress(stats);
  }
  return stats;
}

/** One case, fully determined by `caseSeed`. */
export async function runOne(lib, seeds, caseSeed) {
  const rng = makeRng(caseSeed);
  const seedContainer = seeds[rng.int(0, seeds.length - 1)];
  const m = mutate(rng, seedContainer, lib.crc32c);
  const started = performance.now();
  const r = await runCase(lib, m.bytes, rng, { resealed: m.resealed, payloads: seedContainer.payloads });
  const ms = performance.now() - started;
  if (!r.problem && ms > 5000) r.problem = `slow case: ${ms.toFixed(0)} ms`;
  return { ...r, kind: m.kind, seedName: seedContainer.name, ms, bytes: m.bytes };
}
