/**
 * Import from a stream (standard input): Matroska/WebM or MPEG-TS as ffmpeg
 * writes it to a pipe (`ffmpeg -re -i IN -c copy -f matroska -`), every
 * packet into a block as it arrives. With `live`, the container is a §14
 * live one (docs/FORMAT.md): written in place with checkpoints, so readers
 * follow it while it grows. The input's format is told by its first bytes:
 * the EBML magic 1A 45 DF A3, or the MPEG-TS sync byte 0x47 every 188 bytes.
 *
 * Memory is bounded: one element (Matroska) or mediabunny's 32 MiB cache
 * (MPEG-TS), the probe of the first bytes (./live-source.ts), and a few
 * packets per video track waiting for their decode times.
 */
import { FORMAT_VERSION, type FormatVersion } from '../format/constants.js';
import type { Compression } from '../format/constants.js';
import type { Sink } from '../io/sink.js';
import type { EncryptionOptions } from '../writer/encryption.js';
import type { LiveOptions } from '../writer/live.js';
import { H4mkWriter } from '../writer/writer.js';
import { MediaAdapter } from './adapter.js';
import { isH4mkError } from '../format/errors.js';
import { MediaError, refuseUnsupported } from './errors.js';
import { type ImportSummary, mediaTrackIds } from './import.js';
import type { LiveDemuxer } from './live-source.js';
import { StreamBytes } from './stream-bytes.js';

/** Options of {@link importStream}. */
export type StreamImportOptions = {
  compression?: Compression;
  layout?: 'tail' | 'faststart';
  /** Format version to write (docs/FORMAT.md §12); default 2. */
  formatVersion?: FormatVersion;
  /** Merged into META (after the importer's own `source` entry). */
  meta?: Record<string, unknown>;
  encryption?: EncryptionOptions;
  /** §14 live writing (the sink should write in place): checkpoint cadence. */
  live?: LiveOptions;
  /** Name of the input in META and messages. Default "<stdin>". */
  name?: string;
  /** Ends the input: what has arrived is written and the container finished. */
  stop?: AbortSignal;
  /** Leave out source tracks that cannot be imported; by default such a track fails the import (as for files). */
  skipUnsupported?: boolean;
};

/** What {@link importStream} reports: an import summary, and notes for the user. */
export type StreamImportSummary = ImportSummary & { notes: string[] };

/**
 * Imports the media stream `input` into a new container on `sink`. Nothing
 * is written to the sink before the tracks are known; on an error later, a
 * live sink keeps its last checkpoint (the writer is aborted).
 */
export async function importStream(input: AsyncIterable<Uint8Array>, sink: Sink, options: StreamImportOptions = {}): Promise<StreamImportSummary> {
  const name = options.name ?? '<stdin>';
  const bytes = StreamBytes.from(input, name, options.stop);
  let writer: H4mkWriter | undefined;
  try {
    const demuxer = await openStream(bytes);
    refuseUnsupported(demuxer.skipped, options.skipUnsupported === true, name);
    const ids = mediaTrackIds(demuxer.tracks);
    writer = await H4mkWriter.create(sink, {
      compression: options.compression ?? 'none',
      layout: options.layout ?? 'tail',
      formatVersion: options.formatVersion ?? FORMAT_VERSION,
      meta: { source: { file: name, format: demuxer.format, stream: true }, ...options.meta },
      ...(options.encryption === undefined ? {} : { encryption: options.encryption }),
      ...(options.live === undefined ? {} : { live: options.live }),
    });
    const adapters = demuxer.tracks.map((t) => new MediaAdapter(t));
    for (const [i, a] of adapters.entries()) writer.addTrack({ id: ids[i] as string, ...a.trackOptions() });
    const counts = demuxer.tracks.map(() => 0);
    const sizes = demuxer.tracks.map(() => 0);
    const forced: string[] = [];
    let total = 0;
    for await (const packet of demuxer.packets()) {
      const k = packet.track;
      const block = (adapters[k] as MediaAdapter).toBlock(packet);
      if (counts[k] === 0 && block.keyframe !== true) {
        block.keyframe = true;
        forced.push(ids[k] as string);
      }
      try {
        await writer.writeBlock({ track: k, ...block });
      } catch (error) {
        // Packets the writer refuses: out of range, or out of the order §6.1 requires (E_ORDER).
        if (error instanceof RangeError || isH4mkError(error, 'E_ORDER'))
          throw new MediaError('E_MEDIA_UNSUPPORTED', `track ${ids[k]}, packet ${counts[k]}: ${error.message}`, name, { cause: error });
        throw error;
      }
      counts[k] = (counts[k] as number) + 1;
      sizes[k] = (sizes[k] as number) + packet.data.length;
      total += packet.data.length;
    }
    const container = await writer.finish();
    return {
      format: demuxer.format,
      tracks: demuxer.tracks.map((t, i) => ({
        id: ids[i] as string,
        kind: t.kind,
        codec: t.codec,
        timescale: t.timescale,
        blocks: counts[i] as number,
        bytes: sizes[i] as number,
        sourceIndex: t.sourceIndex,
      })),
      skipped: [...demuxer.skipped],
      blocks: container.blockCount,
      bytes: total,
      sourceBytes: demuxer.bytesRead(),
      forcedKeyframes: forced,
      notes: demuxer.notes(),
      container,
    };
  } catch (error) {
    if (writer !== undefined) await writer.abort().catch(() => {});
    else await sink.abort().catch(() => {});
    throw error;
  }
}

/** Tells the format by the first bytes and opens its demuxer. */
async function openStream(bytes: StreamBytes): Promise<LiveDemuxer> {
  await bytes.fill(4);
  if (bytes.available === 0) throw new MediaError('E_MEDIA_FORMAT', 'the input is empty', bytes.name);
  const head = bytes.peek(4);
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    const { openLiveMatroska } = await import('./matroska/live.js');
    return openLiveMatroska(bytes);
  }
  await bytes.fill(3 * 188 + 1);
  const ts = bytes.peek(3 * 188 + 1);
  if (ts[0] === 0x47 && ts.length > 188 && [188, 376, 564].every((at) => at >= ts.length || ts[at] === 0x47)) {
    const { openLiveMpegTs } = await import('./mpegts/live.js');
    return openLiveMpegTs(bytes);
  }
  throw new MediaError('E_MEDIA_FORMAT', 'the input is neither Matroska/WebM (EBML header) nor MPEG-TS (sync byte 0x47 every 188 bytes)', bytes.name);
}
