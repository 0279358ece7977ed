/**
 * §7 Full verification: every byte of the file is checked. Header and footer
 * CRCs, the index (already checked at open), every segment table against
 * SEGX, every block's CRC, header and SHA-256 against its table entry, and
 * the hash chain against VERI. Problems are collected, not thrown.
 */
import { chainStart, chainStep } from '../crypto/sha256.js';
import { bytesEqual, toHex } from '../format/bytes.js';
import { decodeChunk, peekChunkHeader } from '../format/chunk.js';
import { CHUNK_OVERHEAD, DIGEST_LENGTH, FOOTER_LENGTH, HEADER_LENGTH } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import type { KeyframeMap } from '../format/keyframe-map.js';
import { readKeyframeMap } from './keyframe-map-read.js';
import { decodeFooter, decodeHeader } from '../format/header.js';
import { segmentBlocksLength, type SegmentTable } from '../format/segment-table.js';
import { readExactly } from '../io/source.js';
import type { H4mkReader } from './reader.js';
import { SeekCheck } from './seek-check.js';
import type { BlockInfo, VerifyFailure, VerifyReport } from './types.js';
import { blockEpoch, SecretKeys, transcriptMac } from '../crypto/living-cipher.js';

/** Bytes read per request while scanning a segment's blocks. */
const SCAN_WINDOW = 8 * 1024 * 1024;

export type VerifyOptions = {
  /** Called after each segment with blocks checked so far. */
  onProgress?: (blocksChecked: number, blockCount: number) => void;
  /** Also decompress every payload (default true). Blocks the key at hand opens are decrypted (and so decompressed) regardless. */
  decompress?: boolean;
};

function failureOf(error: unknown, fallback: { coreIndex?: number; chunk?: string }): VerifyFailure {
  if (error instanceof H4mkError) {
    const f: VerifyFailure = { code: error.code, message: error.message };
    const coreIndex = error.coreIndex ?? fallback.coreIndex;
    const chunk = error.chunk ?? fallback.chunk;
    if (coreIndex !== undefined) f.coreIndex = coreIndex;
    if (chunk !== undefined) f.chunk = chunk;
    if (error.offset !== undefined) f.offset = error.offset;
    return f;
  }
  throw error;
}

/** Verifies the whole container behind `reader`. */
export async function verifyContainer(reader: H4mkReader, options: VerifyOptions = {}): Promise<VerifyReport> {
  const failures: VerifyFailure[] = [];
  const failed = new Set<number>();
  const source = reader.source;
  const dir = reader.index.segments;
  try {
    // A one-request open may have seen only one end of the file: check both here.
    const header = decodeHeader(await readExactly(source, 0, HEADER_LENGTH));
    const footer = decodeFooter(await readExactly(source, reader.fileSize - FOOTER_LENGTH, FOOTER_LENGTH), reader.fileSize);
    if (
      header.flags !== footer.flags ||
      footer.indexOffset !== reader.indexOffset ||
      footer.indexLength !== reader.indexLength ||
      (header.indexLength !== 0 && header.indexLength !== reader.indexLength)
    ) {
      throw new H4mkError('E_FORMAT', 'header, footer and index location disagree', { offset: reader.fileSize - FOOTER_LENGTH, chunk: 'FOOT' });
    }
  } catch (error) {
    failures.push(failureOf(error, { chunk: 'header' }));
  }
  let keys: KeyframeMap | null = null;
  try {
    keys = await readKeyframeMap(reader.source, reader.index, reader.dataOffset, true);
  } catch (error) {
    failures.push(failureOf(error, { chunk: 'KEYS' }));
  }
  const seekCheck = new SeekCheck(
    reader.index.seek,
    reader.index.tracks.map((t) => t.id),
    keys,
  );
  const transcript = new TranscriptCheck(reader);
  let chain = chainStart();
  let chainBroken = false;
  let checked = 0;
  let decrypted = 0;
  let previousEnd = 0;
  for (let s = 0; s < dir.count; s++) {
    const segStart = dir.offset[s] as number;
    const first = dir.firstCoreIndex[s] as number;
    const n = dir.blockCount[s] as number;
    // Bytes between segments must be well-formed chunks (§5.5 gaps).
    await checkGap(reader, previousEnd, segStart, failures);
    previousEnd = segStart + (dir.length[s] as number);
    let table: SegmentTable;
    try {
      table = await reader.loadSegmentTable(s);
    } catch (error) {
      failures.push(failureOf(error, { chunk: dir.version === 2 ? 'SEGT' : 'BIDX' }));
      for (let i = 0; i < n; i++) failed.add(first + i);
      chainBroken = true;
      seekCheck.segment(s, null, failures);
      continue;
    }
    seekCheck.segment(s, table, failures);
    const absStart = reader.dataOffset + segStart;
    if (table.data !== null) {
      // v2 (§6.5): the segment is read whole, its data checked against the table's digest, and the chain steps over the table digest.
      const done = await verifyRecord(reader, s, table, absStart, options, transcript, failures, failed);
      checked += n;
      decrypted += done.decrypted;
      chain = chainStep(chain, dir.digests.subarray(s * DIGEST_LENGTH, (s + 1) * DIGEST_LENGTH));
      options.onProgress?.(checked, reader.blockCount);
      continue;
    }
    const blocksEnd = segmentBlocksLength(table);
    let i = 0;
    while (i < n) {
      // Read a window of whole chunks.
      const windowStart = table.chunkOffset[i] as number;
      let j = i;
      let windowEnd = windowStart;
      do {
        windowEnd = j + 1 < n ? (table.chunkOffset[j + 1] as number) : blocksEnd;
        j++;
      } while (j < n && (table.chunkOffset[j + 1] ?? blocksEnd) - windowStart <= SCAN_WINDOW);
      let bytes: Uint8Array;
      try {
        bytes = await readExactly(source, absStart + windowStart, windowEnd - windowStart);
      } catch (error) {
        failures.push(failureOf(error, { coreIndex: first + i }));
        for (let k = i; k < n; k++) failed.add(first + k);
        chainBroken = true;
        break;
      }
      for (let k = i; k < j; k++) {
        if (checkBlock(reader, reader.info(s, table, k), bytes, absStart + windowStart, options, transcript, failures, failed)) decrypted++;
        chain = chainStep(chain, table.digests.subarray(k * DIGEST_LENGTH, (k + 1) * DIGEST_LENGTH));
        checked++;
      }
      i = j;
    }
    options.onProgress?.(checked, reader.blockCount);
  }
  seekCheck.finish(failures);
  transcript.finish(chainBroken ? null : chain, failures);
  if (!chainBroken && !bytesEqual(chain, reader.index.integrity.chainHead)) {
    failures.push({
      code: 'E_DIGEST',
      message: 'hash chain head does not match VERI',
      chunk: 'VERI',
      offset: reader.indexOffset + reader.indexLength - 4 - 64,
    });
  }
  return {
    ok: failures.length === 0,
    blocksChecked: checked,
    blockCount: reader.blockCount,
    decryptedBlocks: decrypted,
    failedBlocks: [...failed].sort((a, b) => a - b),
    failures,
    chainHead: toHex(chainBroken ? reader.index.integrity.chainHead : chain),
  };
}

/** §6.5 Verifies the blocks of v2 segment `s` (its table already checked): one read, the data digest, then each block. */
async function verifyRecord(
  reader: H4mkReader,
  s: number,
  table: SegmentTable,
  absStart: number,
  options: VerifyOptions,
  transcript: TranscriptCheck,
  failures: VerifyFailure[],
  failed: Set<number>,
): Promise<{ decrypted: number }> {
  const n = table.count;
  let decrypted = 0;
  let bytes: Uint8Array;
  try {
    bytes = await readExactly(reader.source, absStart, reader.index.segments.length[s] as number);
    reader.checkSegmentData(s, table, bytes, absStart);
    const keys = reader.index.keys;
    if (reader.index.segments.recordsPerSegment > 1) checkBetweenRecords(bytes, absStart, keys && { at: reader.dataOffset + keys.offset, length: keys.length });
  } catch (error) {
    failures.push(failureOf(error, { chunk: 'SEGD' }));
    for (let k = 0; k < n; k++) {
      failed.add(table.firstCoreIndex + k);
      transcript.block(reader.info(s, table, k), false);
    }
    return { decrypted };
  }
  for (let k = 0; k < n; k++) if (checkBlock(reader, reader.info(s, table, k), bytes, absStart, options, transcript, failures, failed)) decrypted++;
  return { decrypted };
}

/**
 * §5.5 A segment of several records: the chunks between its records (a live
 * writer's checkpoints) are whole chunks with good CRCs, as gaps are. (Each
 * SEGT was checked when the table was decoded, each SEGD by its digest and CRC.)
 */
function checkBetweenRecords(bytes: Uint8Array, base: number, keys: { at: number; length: number } | null): void {
  for (let p = 0; p < bytes.length; ) {
    // §6.6 The KEYS chunk is checked on its own (readKeyframeMap): step over the length KEYP gives.
    if (keys !== null && base + p === keys.at) {
      p += CHUNK_OVERHEAD + keys.length;
      continue;
    }
    const { type, length } = peekChunkHeader(bytes, p, base);
    if (type !== 'SEGT' && type !== 'SEGD') decodeChunk(bytes, p, { base });
    p += CHUNK_OVERHEAD + length;
  }
}

/**
 * Checks one block found in `bytes` (read from absolute `base`): decodes it,
 * decrypting it when the key at hand can. Returns true when it decrypted.
 */
function checkBlock(
  reader: H4mkReader,
  info: BlockInfo,
  bytes: Uint8Array,
  base: number,
  options: VerifyOptions,
  transcript: TranscriptCheck,
  failures: VerifyFailure[],
  failed: Set<number>,
): boolean {
  const decrypt = info.encrypted && transcript.canDecrypt(info);
  let authentic = false;
  try {
    // A block that can be decrypted always is, even without `decompress`:
    // decodeBlock checks the tag only on its decompressing path.
    reader.decodeBlock(info, bytes, base, { verify: true, decompress: decrypt || (options.decompress !== false && !info.encrypted) });
    if (decrypt) {
      authentic = true;
      transcript.authenticated(info, failures);
    }
  } catch (error) {
    failures.push(failureOf(error, { coreIndex: info.coreIndex }));
    failed.add(info.coreIndex);
  }
  // Only a block that authenticated vouches for its flags (END_OF_TRACK).
  transcript.block(info, authentic);
  return authentic;
}

async function checkGap(reader: H4mkReader, from: number, to: number, failures: VerifyFailure[]): Promise<void> {
  const keys = reader.index.keys;
  let p = from;
  while (p < to) {
    const at = reader.dataOffset + p;
    // §6.6 The KEYS chunk is checked on its own (readKeyframeMap): step over the length KEYP gives.
    if (keys !== null && p === keys.offset) {
      p += CHUNK_OVERHEAD + keys.length;
      continue;
    }
    // Attribution: the chunk's own type once its header is readable, else the gap itself.
    let type = 'gap';
    try {
      const head = await readExactly(reader.source, at, Math.min(8, to - p));
      const header = peekChunkHeader(head, 0, at);
      type = header.type;
      const { length } = header;
      // §4.2: a declared length running past its enclosing span (here the gap) is E_TRUNCATED.
      if (p + CHUNK_OVERHEAD + length > to)
        throw new H4mkError('E_TRUNCATED', 'chunk between segments runs past the start of the next segment', { offset: at, chunk: type });
      decodeChunk(await readExactly(reader.source, at, CHUNK_OVERHEAD + length), 0, { base: at });
      p += CHUNK_OVERHEAD + length;
    } catch (error) {
      failures.push(failureOf(error, { chunk: type }));
      return;
    }
  }
}

/**
 * §13.5 Transcript checks of an encrypted container, as far as the keys at
 * hand allow: END_OF_TRACK exactly on each track's last block (judged only on
 * blocks that decrypted, whose flags are authentic), and with the container
 * key, the transcript MAC.
 */
class TranscriptCheck {
  private readonly count: number[];
  private readonly last: number[];
  private readonly lastDecrypted: boolean[];
  /** Per track: the authenticated END_OF_TRACK block, or −1. */
  private readonly endSeen: number[];

  constructor(private readonly reader: H4mkReader) {
    const n = reader.index.tracks.length;
    this.count = new Array<number>(n).fill(0);
    this.last = new Array<number>(n).fill(-1);
    this.lastDecrypted = new Array<boolean>(n).fill(false);
    this.endSeen = new Array<number>(n).fill(-1);
  }

  canDecrypt(info: BlockInfo): boolean {
    const ctx = this.reader.cipherContext;
    if (ctx === null) return false;
    const timescale = this.reader.index.tracks[info.trackNumber]?.timescale ?? 1_000_000;
    return ctx.keys.keyFor(info.trackNumber, blockEpoch(ctx, info.pts, timescale)) !== null;
  }

  /** A block that decrypted: its flags are authentic. */
  authenticated(info: BlockInfo, failures: VerifyFailure[]): void {
    const t = info.trackNumber;
    if ((this.endSeen[t] as number) >= 0) {
      failures.push({ code: 'E_TRANSCRIPT', message: `block after the END_OF_TRACK block of track ${this.trackId(t)}`, coreIndex: info.coreIndex });
    }
    if (info.endOfTrack) this.endSeen[t] = info.coreIndex;
  }

  /** Every block, in order, after {@link authenticated}. */
  block(info: BlockInfo, decrypted: boolean): void {
    const t = info.trackNumber;
    this.count[t] = (this.count[t] as number) + 1;
    this.last[t] = info.coreIndex;
    this.lastDecrypted[t] = decrypted;
  }

  private trackId(t: number): string {
    return this.reader.index.tracks[t]?.id ?? String(t);
  }

  finish(chain: Uint8Array | null, failures: VerifyFailure[]): void {
    const crypto = this.reader.index.crypto;
    const ctx = this.reader.cipherContext;
    if (crypto === null || ctx === null) return;
    for (let t = 0; t < this.count.length; t++) {
      if (this.count[t] === 0 || !this.lastDecrypted[t] || (this.endSeen[t] as number) >= 0) continue;
      failures.push({
        code: 'E_TRANSCRIPT',
        message: `track ${this.trackId(t)} ends without its END_OF_TRACK block: the container was truncated`,
        coreIndex: this.last[t] as number,
      });
    }
    if (!(ctx.keys instanceof SecretKeys) || chain === null) return;
    const mac = transcriptMac(
      ctx.keys.transcriptKey(),
      crypto.containerId,
      chain,
      this.reader.blockCount,
      this.count.map((c, t) => ({ blockCount: c, lastCoreIndex: this.last[t] as number })),
    );
    if (!bytesEqual(mac, crypto.transcriptMac)) {
      failures.push({ code: 'E_TRANSCRIPT', message: 'transcript MAC mismatch: blocks were removed, added or reordered', chunk: 'CRYP' });
    }
  }
}
