/**
 * §12 `optimize` from one format version to the other, v1 → v2 above all: every block's stored bytes are
 * copied verbatim (compressed payloads stay as they are) into v2 segments
 * (§6.5) with the same tracks, META and SAFE. The segments are cut by the
 * writer's default policy (§6.4), so SEGX, SEEK and the chain head (§7 v2)
 * are new; a SEAL, which signed the v1 index, is dropped.
 *
 * An encrypted v1 container is not upgraded: its CRYP transcript MAC (§13.5)
 * covers the chain head, which changes with the version, and recomputing it
 * needs the container secret; it is copied as v1 instead.
 */
import { toHex } from '../format/bytes.js';
import type { FormatVersion } from '../format/constants.js';
import type { Sink } from '../io/sink.js';
import { flagsOf } from '../reader/block-decoder.js';
import type { H4mkReader } from '../reader/reader.js';
import { trackOptionsOf } from '../writer/options.js';
import { H4mkWriter } from '../writer/writer.js';

/**
 * Writes the unencrypted container behind `reader` to `sink` in format
 * `version` (2 upgrades a v1 file; 1 writes a v2 file for v1-only readers) and
 * `layout`, and commits the sink.
 */
export async function convertContainer(reader: H4mkReader, sink: Sink, layout: 'tail' | 'faststart', version: FormatVersion) {
  const index = reader.view.content;
  if (index.crypto !== null) throw new TypeError('an encrypted container keeps its format version (its transcript MAC covers the chain head)');
  const writer = await H4mkWriter.create(sink, { layout, formatVersion: version, meta: index.meta, safe: index.safe, limits: reader.limits });
  try {
    for (const t of index.tracks) {
      writer.addTrack(trackOptionsOf(t));
    }
    for await (const b of reader.readBlocks(0, reader.blockCount, { decompress: false })) {
      await writer.writeRawBlock({
        track: b.trackNumber,
        flags: flagsOf(b),
        compression: b.compression,
        duration: b.duration,
        pts: b.pts,
        dts: b.dts,
        originalLength: b.originalLength,
        stored: b.payload,
      });
    }
    const summary = await writer.finish();
    return {
      layout,
      formatVersion: version,
      blockCount: summary.blockCount,
      segmentCount: summary.segmentCount,
      bytes: summary.bytes,
      indexLength: summary.indexLength,
      chainHead: toHex(summary.chainHead),
      droppedGapBytes: 0,
      indexCopied: false,
      droppedSeal: index.seal !== null,
      converted: true,
      notConverted: null,
    };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
