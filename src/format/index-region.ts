/**
 * §5 The index region: TRAK, META, SAFE, SEEK, SEGX, KEYP (v2, when KEYS is
 * written), CRYP and, last, VERI, as consecutive chunks. Unknown chunk types
 * inside it are skipped (and covered by the index digest).
 */
import { bytesEqual, concatBytes, toHex } from './bytes.js';
import { decodeChunk, encodeChunk } from './chunk.js';
import { type CryptoParams, decodeCryptoParams, encodeCryptoParams } from './crypto-params.js';
import { decodeSeal, type Seal } from './seal.js';
import { CHUNK_OVERHEAD, type FormatVersion, type Limits } from './constants.js';
import { H4mkError } from './errors.js';
import { decodeIntegrity, encodeIntegrity, type Integrity } from './integrity.js';
import { decodeKeyframeMapRef, encodeKeyframeMapRef, type KeyframeMapRef, needsKeyframeMap } from './keyframe-map.js';
import { decodeSegmentDirectory, encodeSegmentDirectory, type SegmentDirectory } from './segment-directory.js';
import { decodeSeekTables, encodeSeekTables, type TrackSeekTable } from './seek-table.js';
import { parseJsonObject, utf8 } from './strings.js';
import { decodeTrackTable, encodeTrackTable, type TrackRecord } from './track-table.js';

/** SHA-256, supplied by the caller so this module stays free of platform code. */
export type DigestFunction = (bytes: Uint8Array) => Uint8Array;

const KNOWN_INDEX_CHUNKS = new Set(['TRAK', 'META', 'SAFE', 'SEEK', 'SEGX', 'KEYP', 'CRYP', 'VERI', 'SEAL']);

/** §5.3 The SAFE policy written when none is given. */
export const DEFAULT_SAFE = Object.freeze({ policy: 'transport_only' });

/** Everything the index region holds, decoded. */
export type ContainerIndex = {
  tracks: TrackRecord[];
  meta: Record<string, unknown>;
  safe: Record<string, unknown>;
  seek: TrackSeekTable[];
  segments: SegmentDirectory;
  /** §5.10 Where the KEYS chunk before the last record is, when there is one (v2). */
  keys: KeyframeMapRef | null;
  integrity: Integrity;
  /** §13.3 Present when blocks are encrypted. */
  crypto: CryptoParams | null;
  /** §13.7 Present when the container is sealed. */
  seal: Seal | null;
  /** Length of the region up to the end of VERI (a SEAL may follow). */
  unsealedLength: number;
  /** The raw TRAK, META and SAFE payloads (empty when absent), which encrypted blocks are bound to (§13.4). */
  raw: { trak: Uint8Array; meta: Uint8Array; safe: Uint8Array };
};

/** What the writer supplies to build an index region. */
export type IndexContent = Omit<ContainerIndex, 'integrity' | 'crypto' | 'seal' | 'unsealedLength' | 'raw' | 'keys'> & {
  chainHead: Uint8Array;
  crypto?: CryptoParams | null;
  keys?: KeyframeMapRef | null;
};

/** §5 Encodes the index region. */
export function encodeIndexRegion(content: IndexContent, sha256: DigestFunction): Uint8Array {
  const parts = [
    encodeChunk('TRAK', encodeTrackTable(content.tracks)),
    encodeChunk('META', utf8(JSON.stringify(content.meta))),
    encodeChunk('SAFE', utf8(JSON.stringify(content.safe))),
    encodeChunk('SEEK', encodeSeekTables(content.seek)),
    encodeChunk('SEGX', encodeSegmentDirectory(content.segments)),
    ...(content.keys ? [encodeChunk('KEYP', encodeKeyframeMapRef(content.keys))] : []),
    ...(content.crypto ? [encodeChunk('CRYP', encodeCryptoParams(content.crypto))] : []),
  ];
  const before = concatBytes(parts);
  const veri = encodeChunk(
    'VERI',
    encodeIntegrity({
      blockCount: content.segments.totalBlocks,
      segmentCount: content.segments.count,
      chainHead: content.chainHead,
      indexDigest: sha256(before),
    }),
  );
  return concatBytes([before, veri]);
}

/**
 * §5 Decodes and checks an index region read from absolute offset `base`.
 * The index digest is checked before any table is parsed.
 */
export function decodeIndexRegion(region: Uint8Array, base: number, limits: Limits, sha256: DigestFunction, version: FormatVersion): ContainerIndex {
  const found = new Map<string, { payload: Uint8Array; offset: number }>();
  let p = 0;
  let veriStart = -1;
  let veriEnd = -1;
  while (p < region.length) {
    const chunk = decodeChunk(region, p, { base, maxPayload: limits.maxIndexLength });
    if (found.has(chunk.type)) throw new H4mkError('E_FORMAT', `repeated ${chunk.type} chunk in the index`, { offset: base + p, chunk: chunk.type });
    if (veriEnd >= 0 && chunk.type !== 'SEAL')
      throw new H4mkError('E_FORMAT', 'only SEAL may follow VERI in the index', { offset: base + p, chunk: chunk.type });
    if (chunk.type === 'SEAL' && veriEnd < 0) throw new H4mkError('E_FORMAT', 'SEAL must follow VERI', { offset: base + p, chunk: 'SEAL' });
    if (KNOWN_INDEX_CHUNKS.has(chunk.type)) found.set(chunk.type, { payload: chunk.payload, offset: base + p + 8 });
    if (chunk.type === 'VERI') {
      veriStart = p;
      veriEnd = chunk.end;
    }
    p = chunk.end;
  }
  const get = (type: string) => {
    const c = found.get(type);
    if (c === undefined) throw new H4mkError('E_FORMAT', `index has no ${type} chunk`, { offset: base, chunk: type });
    return c;
  };
  const veri = get('VERI');
  const integrity = decodeIntegrity(veri.payload, veri.offset);
  const digest = sha256(region.subarray(0, veriStart));
  if (!bytesEqual(digest, integrity.indexDigest)) {
    throw new H4mkError('E_DIGEST', `index digest mismatch (stored ${toHex(integrity.indexDigest).slice(0, 16)}…)`, {
      offset: veri.offset + 48,
      chunk: 'VERI',
    });
  }
  const trak = get('TRAK');
  const tracks = decodeTrackTable(trak.payload, trak.offset, limits);
  const metaChunk = found.get('META');
  const safeChunk = found.get('SAFE');
  if (metaChunk && metaChunk.payload.length > limits.maxJsonLength)
    throw new H4mkError('E_LIMIT', 'META exceeds the limit', { offset: metaChunk.offset, chunk: 'META' });
  if (safeChunk && safeChunk.payload.length > limits.maxJsonLength)
    throw new H4mkError('E_LIMIT', 'SAFE exceeds the limit', { offset: safeChunk.offset, chunk: 'SAFE' });
  const meta = metaChunk ? parseJsonObject(metaChunk.payload, metaChunk.offset, 'META') : {};
  const safe = safeChunk ? parseJsonObject(safeChunk.payload, safeChunk.offset, 'SAFE') : { ...DEFAULT_SAFE };
  const seekChunk = get('SEEK');
  const seek = decodeSeekTables(seekChunk.payload, seekChunk.offset, tracks.length);
  const segx = get('SEGX');
  const segments = decodeSegmentDirectory(segx.payload, segx.offset, limits, version);
  crossCheck(seek, segments, integrity, seekChunk.offset, veri.offset);
  const keyp = found.get('KEYP');
  const keys = keyp ? decodeKeys(keyp.payload, keyp.offset, limits, version, seek, segments) : null;
  const cryp = found.get('CRYP');
  const crypto = cryp ? decodeCryptoParams(cryp.payload, cryp.offset) : null;
  const sealChunk = found.get('SEAL');
  const seal = sealChunk ? decodeSeal(sealChunk.payload, sealChunk.offset) : null;
  const raw = { trak: trak.payload, meta: metaChunk?.payload ?? new Uint8Array(0), safe: safeChunk?.payload ?? new Uint8Array(0) };
  return { tracks, meta, safe, seek, segments, keys, integrity, crypto, seal, unsealedLength: veriEnd, raw };
}

/** §5.6 Rules tying SEEK, SEGX and VERI together. */
function crossCheck(seek: TrackSeekTable[], segments: SegmentDirectory, integrity: Integrity, seekOffset: number, veriOffset: number): void {
  if (integrity.blockCount !== segments.totalBlocks || integrity.segmentCount !== segments.count) {
    throw new H4mkError('E_FORMAT', 'VERI counts disagree with the segment directory', { offset: veriOffset, chunk: 'VERI' });
  }
  const perSegment = new Float64Array(segments.count);
  for (const t of seek) {
    for (let k = 0; k < t.entryCount; k++) {
      const s = t.segment[k] as number;
      const n = segments.blockCount[s];
      if (n === undefined) throw new H4mkError('E_FORMAT', `SEEK names segment ${s}, SEGX has ${segments.count}`, { offset: seekOffset, chunk: 'SEEK' });
      perSegment[s] = (perSegment[s] as number) + (t.count[k] as number);
      if ((t.keyCount[k] as number) > 0 && (t.lastKeyPosition[k] as number) >= n) {
        throw new H4mkError('E_FORMAT', 'SEEK keyframe position outside its segment', { offset: seekOffset, chunk: 'SEEK' });
      }
    }
  }
  for (let s = 0; s < segments.count; s++) {
    if (perSegment[s] !== segments.blockCount[s])
      throw new H4mkError('E_FORMAT', `SEEK and SEGX disagree on segment ${s}`, { offset: seekOffset, chunk: 'SEEK' });
  }
}

/** §5.10 KEYP: version 2 only, only when some entry has three keyframes or more, and placing KEYS where it may lie. */
function decodeKeys(
  payload: Uint8Array,
  offset: number,
  limits: Limits,
  version: FormatVersion,
  seek: TrackSeekTable[],
  segments: SegmentDirectory,
): KeyframeMapRef {
  const fail = (message: string) => new H4mkError('E_FORMAT', message, { offset, chunk: 'KEYP' });
  if (version !== 2) throw fail('KEYP in a version 1 index');
  const keys = decodeKeyframeMapRef(payload, offset, limits);
  if (!needsKeyframeMap(seek)) throw fail('KEYP where no seek entry has three keyframes or more');
  if (!keysPlaced(keys, segments)) throw fail('KEYP places KEYS outside the gap before the last segment and between its records');
  return keys;
}

/**
 * §5.10 Where KEYS may lie: among the chunks before the last segment's first
 * record (its gap), or between two records of the last segment when it is a
 * run (§5.5): from the end of the segment before it to the end of the last
 * segment, never across the last segment's start.
 */
function keysPlaced(keys: KeyframeMapRef, segments: SegmentDirectory): boolean {
  const last = segments.count - 1;
  if (last < 0) return false;
  const start = keys.offset;
  const end = start + CHUNK_OVERHEAD + keys.length;
  const previousEnd = last === 0 ? 0 : (segments.offset[last - 1] as number) + (segments.length[last - 1] as number);
  const lastStart = segments.offset[last] as number;
  if (start < previousEnd) return false;
  if (end <= lastStart) return true;
  return segments.recordsPerSegment > 1 && start > lastStart && end < lastStart + (segments.length[last] as number);
}

/** Length of a chunk with a payload of `n` bytes. */
export function chunkLength(n: number): number {
  return CHUNK_OVERHEAD + n;
}
