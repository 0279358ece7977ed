/**
 * §7 Full verification: every byte of the file is checked. Header and footer
 * CRCs, the index (already checked at open), every segment table against
 * SEGX, every block's CRC, header and SHA-256 against its table entry, and
 * the hash chain against VERI. Problems are collected, not thrown.
 */
import { chainStart, chainStep } from '../crypto/sha256.js';
import { bytesEqual, toHex } from '../format/bytes.js';
import { decodeChunk, peekChunkHeader } from '../format/chunk.js';
import { CHUNK_OVERHEAD, DIGEST_LENGTH, HEADER_LENGTH } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import { decodeHeader } from '../format/header.js';
import { segmentBlocksLength } from '../format/segment-table.js';
import { readExactly } from '../io/source.js';
import type { H4mkReader } from './reader.js';
import type { VerifyFailure, VerifyReport } from './types.js';

/** Bytes read per request while scanning a segment's blocks. */
const SCAN_WINDOW = 8 * 1024 * 1024;

export type VerifyOptions = {
  /** Called after each segment with blocks checked so far. */
  onProgress?: (blocksChecked: number, blockCount: number) => void;
  /** Also decompress every payload (default true). */
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
    decodeHeader(await readExactly(source, 0, HEADER_LENGTH));
  } catch (error) {
    failures.push(failureOf(error, { chunk: 'header' }));
  }
  let chain = chainStart();
  let chainBroken = false;
  let checked = 0;
  let previousEnd = 0;
  for (let s = 0; s < dir.count; s++) {
    const segStart = dir.offset[s] as number;
    const first = dir.firstCoreIndex[s] as number;
    const n = dir.blockCount[s] as number;
    // Bytes between segments must be well-formed chunks (§5.5 gaps).
    await checkGap(reader, previousEnd, segStart, failures);
    previousEnd = segStart + (dir.length[s] as number);
    let table;
    try {
      table = await reader.loadSegmentTable(s);
    } catch (error) {
      failures.push(failureOf(error, { chunk: 'BIDX' }));
      for (let i = 0; i < n; i++) failed.add(first + i);
      chainBroken = true;
      continue;
    }
    const absStart = reader.dataOffset + segStart;
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
        const info = reader.info(s, table, k);
        try {
          reader.decodeBlock(info, bytes, absStart + windowStart, { verify: true, decompress: options.decompress !== false && !info.encrypted });
        } catch (error) {
          failures.push(failureOf(error, { coreIndex: info.coreIndex }));
          failed.add(info.coreIndex);
        }
        chain = chainStep(chain, table.digests.subarray(k * DIGEST_LENGTH, (k + 1) * DIGEST_LENGTH));
        checked++;
      }
      i = j;
    }
    options.onProgress?.(checked, reader.blockCount);
  }
  if (!chainBroken && !bytesEqual(chain, reader.index.integrity.chainHead)) {
    failures.push({ code: 'E_DIGEST', message: 'hash chain head does not match VERI', chunk: 'VERI', offset: reader.indexOffset + reader.indexLength - 4 - 64 });
  }
  return {
    ok: failures.length === 0,
    blocksChecked: checked,
    blockCount: reader.blockCount,
    failedBlocks: [...failed].sort((a, b) => a - b),
    failures,
    chainHead: toHex(chainBroken ? reader.index.integrity.chainHead : chain),
  };
}

async function checkGap(reader: H4mkReader, from: number, to: number, failures: VerifyFailure[]): Promise<void> {
  let p = from;
  while (p < to) {
    const at = reader.dataOffset + p;
    try {
      const head = await readExactly(reader.source, at, Math.min(8, to - p));
      const { length } = peekChunkHeader(head, 0, at);
      if (p + CHUNK_OVERHEAD + length > to) throw new H4mkError('E_FORMAT', 'chunk between segments overruns the next segment', { offset: at });
      decodeChunk(await readExactly(reader.source, at, CHUNK_OVERHEAD + length), 0, { base: at });
      p += CHUNK_OVERHEAD + length;
    } catch (error) {
      failures.push(failureOf(error, {}));
      return;
    }
  }
}

