/**
 * Recovery pass 2: writes the output container, copying every accepted block
 * verbatim with `writeRawBlock` after checking it is unchanged since the scan.
 * The header fields written back are those the chunk scanner decoded.
 */
import { decodeChunk } from '../format/chunk.js';
import { BLOCK_HEADER_LENGTH, BlockFlag, CHUNK_OVERHEAD, COMPRESSIONS, type FormatVersion, type Limits } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import type { Sink } from '../io/sink.js';
import { crc32c } from '../format/crc32c.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';
import { trackOptionsOf } from '../writer/options.js';
import { H4mkWriter, type WriteSummary } from '../writer/writer.js';
import type { Found, FoundList, RecoverDamage } from './found.js';
import type { Salvage } from './salvage.js';
import { damageOf } from './segment-check.js';

export type RebuildOptions = {
  layout: 'tail' | 'faststart';
  /** The format version to write: the input's, so a recovered file reads wherever the damaged one did. */
  formatVersion: FormatVersion;
  limits: Limits;
  onProgress?: ((blocksWritten: number, blocksToWrite: number) => void) | undefined;
};

/**
 * Writes `found` (cut at the first block that cannot be copied) with the
 * tracks and metadata of `salvage` into `sink`, and commits it. Returns the
 * writer's summary and the damage that cut the copy short, if any.
 */
export async function rebuild(
  input: RandomAccessSource,
  sink: Sink,
  found: FoundList,
  salvage: Salvage,
  options: RebuildOptions,
): Promise<{ summary: WriteSummary; damage: RecoverDamage | null }> {
  const { meta, safe, crypto } = salvage;
  const writer = await H4mkWriter.create(sink, {
    layout: options.layout,
    formatVersion: options.formatVersion,
    limits: options.limits,
    ...(meta === undefined ? {} : { meta }),
    ...(safe === undefined ? {} : { safe }),
    ...(crypto === null ? {} : { preserveCrypto: crypto }),
  });
  try {
    for (const t of salvage.tracks) {
      writer.addTrack(trackOptionsOf(t));
    }
    let damage: RecoverDamage | null = null;
    let written = 0;
    for (; written < found.count; written++) {
      damage = await copyBlock(input, writer, found.get(written), written);
      if (damage !== null) break;
      if (written % 1024 === 1023) options.onProgress?.(written + 1, found.count);
    }
    found.truncate(written);
    return { summary: await writer.finish(), damage };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Re-reads one accepted block, checks it is unchanged, and copies it verbatim. */
async function copyBlock(source: RandomAccessSource, writer: H4mkWriter, f: Found, coreIndex: number): Promise<RecoverDamage | null> {
  let stored: Uint8Array;
  try {
    if (!f.framed) {
      // v2 (§6.5): the stored bytes inside their SEGD chunk, with the CRC-32C the scan took of them.
      stored = await readExactly(source, f.offset, f.payloadLength);
      if (crc32c(stored) !== f.crc) throw new H4mkError('E_CHECKSUM', 'the block changed while being recovered', { offset: f.offset, coreIndex });
      return await copyStored(writer, f, stored, coreIndex);
    }
    const bytes = await readExactly(source, f.offset, CHUNK_OVERHEAD + f.payloadLength);
    const payload = decodeChunk(bytes, 0, { base: f.offset, expect: 'CORE' }).payload;
    const crc = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
    if (crc !== f.crc) throw new H4mkError('E_CHECKSUM', 'the block changed while being recovered', { offset: f.offset, coreIndex });
    stored = payload.subarray(BLOCK_HEADER_LENGTH);
  } catch (error) {
    if (error instanceof H4mkError) return damageOf(error, f.offset);
    throw error;
  }
  return copyStored(writer, f, stored, coreIndex);
}

/** Writes one accepted block's stored bytes back, verbatim. */
async function copyStored(writer: H4mkWriter, f: Found, stored: Uint8Array, coreIndex: number): Promise<RecoverDamage | null> {
  const cannot = (why: string): RecoverDamage => ({ offset: f.offset, code: 'E_ORDER', message: `block ${coreIndex} cannot be written back: ${why}` });
  // §6.3: a CRC-32C binds no rule; this one the writer only takes as given by its caller.
  if (f.compression === 0 && (f.flags & BlockFlag.ENCRYPTED) === 0 && stored.length !== f.originalLength) {
    return cannot('an uncompressed, unencrypted block must have stored length = originalLength');
  }
  try {
    // §6.1 header fields, as the scan decoded them.
    await writer.writeRawBlock({
      track: f.trackNumber,
      flags: f.flags,
      compression: COMPRESSIONS[f.compression] ?? 'none',
      duration: f.duration,
      pts: f.pts,
      dts: f.dts,
      originalLength: f.originalLength,
      stored,
    });
    return null;
  } catch (error) {
    if (!(error instanceof H4mkError)) throw error;
    // The writer's own E_ORDER (§6.1 ordering rules), reported at the block that breaks them.
    return error.code === 'E_ORDER' ? cannot(error.message) : damageOf(error, f.offset);
  }
}
