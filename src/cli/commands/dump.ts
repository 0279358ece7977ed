/**
 * `h4mk dump FILE`: a chunk-level listing with offsets, made by walking the
 * file (src/reader/chunk-scan.ts), not by trusting its index. Exit 1 when a
 * chunk fails its CRC or the walk meets damage.
 */
import type { Command } from 'commander';
import { H4mkError, type RandomAccessSource } from '../../node.js';
import { decodeFooter } from '../../format/header.js';
import { ReadAheadSource } from '../../io/read-ahead-source.js';
import { scanChunks, type ScanEntry, type ScannedChunk } from '../../reader/chunk-scan.js';
import { withSource } from '../container.js';
import { failure } from '../errors.js';
import { isUrl } from '../input.js';
import type { Output } from '../output.js';

/** Adds the `dump` verb. */
export function registerDump(program: Command, out: Output): void {
  program
    .command('dump')
    .description('list the header and every chunk with its offset, length and CRC status (for debugging)')
    .argument('<file>', 'file to walk (need not open as a container)')
    .option('--json', 'print one JSON document with a "chunks" array')
    .action(async (file: string) => {
      const entries: Record<string, unknown>[] = [];
      const counts: Record<string, number> = {};
      let problems = 0;
      const fileSize = await withSource(file, async (input) => {
        // Over HTTP, read ahead: one request per 4 MiB instead of two per chunk.
        const source = isUrl(file) ? new ReadAheadSource(input) : input;
        const size = await source.size();
        if (!out.jsonMode) out.line('offset length type crc details');
        for await (const scanned of scanChunks(source)) {
          const entry = await checkpointFooter(source, scanned, size);
          if (entry.error !== null) problems++;
          if (entry.kind === 'chunk') counts[entry.type] = (counts[entry.type] ?? 0) + 1;
          if (out.jsonMode) entries.push(entryJson(entry));
          else out.line(describe(out, entry));
        }
        return source.size();
      });
      if (out.jsonMode) out.json({ file, file_size: fileSize, ok: problems === 0, problems, counts, chunks: entries });
      else out.line([`${fileSize} bytes`, ...Object.entries(counts).map(([type, n]) => `${n} ${type}`), `${problems} problem(s)`].join(', '));
      if (problems > 0)
        throw failure(`${file}: ${problems} damaged chunk(s) or framing error(s)`, 'E_DAMAGED', "'h4mk verify FILE' attributes damage to blocks");
    });
}

function errorJson(e: H4mkError | null): Record<string, unknown> | null {
  return e === null ? null : { code: e.code, message: e.message, offset: e.offset ?? null };
}

function entryJson(entry: ScanEntry): Record<string, unknown> {
  switch (entry.kind) {
    case 'header': {
      const h = entry.header;
      const header = h === null ? null : { version: h.version, flags: h.flags, layout: entry.layout, index_length: h.indexLength };
      return { offset: 0, type: 'header', length: entry.length, ok: entry.error === null, header, error: errorJson(entry.error) };
    }
    case 'damage':
      return { offset: entry.offset, type: 'damage', error: errorJson(entry.error) };
    case 'chunk':
      return {
        offset: entry.offset,
        type: entry.type,
        payload_length: entry.payloadLength,
        crc_ok: entry.crcOk,
        crc: entry.storedCrc,
        ...details(entry),
        error: errorJson(entry.error),
      };
  }
}

function details(c: ScannedChunk): Record<string, unknown> {
  if (c.block !== undefined) {
    const b = c.block;
    return {
      core: {
        core_index: b.coreIndex,
        track_number: b.trackNumber,
        pts: b.pts,
        dts: b.dts,
        duration: b.duration,
        keyframe: b.keyframe,
        kind: b.frameKind,
        compression: b.compressionName,
        stored_length: b.storedLength,
        original_length: b.originalLength,
      },
    };
  }
  if (c.segmentTable !== undefined)
    return { [c.type === 'SEGT' ? 'segt' : 'bidx']: { first_core_index: c.segmentTable.firstCoreIndex, block_count: c.segmentTable.blockCount } };
  if (c.footer !== undefined) return { footer: { index_offset: c.footer.indexOffset, index_length: c.footer.indexLength, flags: c.footer.flags } };
  return {};
}

function describe(out: Output, entry: ScanEntry): string {
  switch (entry.kind) {
    case 'header': {
      const h = entry.header;
      if (h === null) return `0 ${entry.length} header ${out.style('bad', 'red')} ${entry.error?.code ?? ''}: ${entry.error?.message ?? ''}`;
      return `0 ${entry.length} header ok version ${h.version}, ${entry.layout} layout${entry.layout === 'faststart' ? `, index_length ${h.indexLength}` : ''}`;
    }
    case 'damage':
      return `${entry.offset} - ${out.style('DAMAGE', 'red')} - ${entry.error.code}: ${entry.error.message} (walk stopped)`;
    case 'chunk': {
      const crc = entry.crcOk ? 'ok' : out.style('BAD', 'red');
      const parts: string[] = [];
      const b = entry.block;
      if (b !== undefined) {
        parts.push(
          `core_index ${b.coreIndex} track ${b.trackNumber} pts ${b.pts} dts ${b.dts} ${b.keyframe ? 'key' : 'non-key'}${b.frameKind === null ? '' : ` ${b.frameKind}`}` +
            `, ${b.storedLength} bytes stored (${b.compressionName}), ${b.originalLength} original`,
        );
      }
      if (entry.segmentTable !== undefined) parts.push(`first_core_index ${entry.segmentTable.firstCoreIndex} blocks ${entry.segmentTable.blockCount}`);
      if (entry.footer !== undefined) parts.push(`index at ${entry.footer.indexOffset}, ${entry.footer.indexLength} bytes`);
      if (entry.error !== null) parts.push(`${entry.error.code}: ${entry.error.message}`);
      return `${entry.offset} ${entry.payloadLength} ${entry.type} ${crc} ${parts.join('; ')}`.trimEnd();
    }
  }
}

/**
 * §14 A FOOT chunk before the end of the file is a live checkpoint's footer,
 * not an error: decoded relative to its own position.
 */
async function checkpointFooter(source: RandomAccessSource, entry: ScanEntry, fileSize: number): Promise<ScanEntry> {
  if (entry.kind !== 'chunk' || entry.type !== 'FOOT' || !entry.crcOk || entry.offset + 36 === fileSize || entry.payloadLength !== 24) return entry;
  try {
    const footer = decodeFooter(await source.read(entry.offset, 36), entry.offset + 36);
    return { ...entry, footer, error: null };
  } catch (error) {
    if (!(error instanceof H4mkError)) throw error;
    return { ...entry, error };
  }
}
