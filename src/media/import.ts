/**
 * Media import: every audio, video and subtitle track of a media file into
 * a container, one packet per CORE block, streaming (memory is one packet
 * plus the demuxer's tables, whatever the file size). No re-encoding.
 */
import { FORMAT_VERSION, type FormatVersion } from '../format/constants.js';
import type { EncryptionOptions } from '../writer/encryption.js';
import { basename } from 'node:path';
import type { Compression } from '../format/constants.js';
import { FileSource } from '../io/file-source.js';
import type { Sink } from '../io/sink.js';
import type { WriteSummary } from '../writer/writer.js';
import { H4mkWriter } from '../writer/writer.js';
import { MediaAdapter } from './adapter.js';
import { type MediaDemuxer, type MediaTrack, openMedia, type SkippedTrack } from './demux.js';
import { isH4mkError } from '../format/errors.js';
import { MediaError, refuseUnsupported } from './errors.js';

/** Options of {@link importMedia}. */
export type ImportOptions = {
  compression?: Compression;
  layout?: 'tail' | 'faststart';
  /** Format version to write (docs/FORMAT.md §12); default 2. */
  formatVersion?: FormatVersion;
  /** §5.5 The index budget (see WriterOptions.indexBudget). */
  indexBudget?: number;
  /** Merged into META (after the importer's own `source` entry). */
  meta?: Record<string, unknown>;
  /** Called after each packet with the source bytes consumed so far and the source size. */
  onProgress?: (done: number, total: number) => void;
  /** Stops the import (the output is aborted) when it fires. */
  signal?: AbortSignal;
  /** Encrypt every block (§13). */
  encryption?: EncryptionOptions;
  /**
   * Leave out source tracks that cannot be imported (reported in `skipped`).
   * By default such a track fails the import (UnsupportedTracksError, ./errors.ts).
   */
  skipUnsupported?: boolean;
};

/** One imported track. */
export type ImportedTrack = { id: string; kind: string; codec: string; timescale: number; blocks: number; bytes: number; sourceIndex: number };

/** What {@link importMedia} reports. */
export type ImportSummary = {
  format: string;
  tracks: ImportedTrack[];
  skipped: SkippedTrack[];
  blocks: number;
  /** Payload bytes imported. */
  bytes: number;
  sourceBytes: number;
  /** Tracks whose first packet was not a keyframe and was marked as one (the format requires it). */
  forcedKeyframes: string[];
  container: WriteSummary;
};

/** Track ids by kind: video_0, audio_0, audio_1, subtitle_0, … */
export function mediaTrackIds(tracks: readonly MediaTrack[]): string[] {
  const counts: Record<string, number> = {};
  return tracks.map((t) => {
    const n = counts[t.kind] ?? 0;
    counts[t.kind] = n + 1;
    return `${t.kind}_${n}`;
  });
}

/**
 * Imports the media file at `inputPath` into a new container written to
 * `sink`. On any error the sink is aborted: nothing appears at its destination.
 * A source track that cannot be imported is an error unless
 * `options.skipUnsupported` (empty tracks are only reported).
 */
export async function importMedia(inputPath: string, sink: Sink, options: ImportOptions = {}): Promise<ImportSummary> {
  let source: FileSource | undefined;
  let demuxer: MediaDemuxer | undefined;
  let writer: H4mkWriter | undefined;
  try {
    source = await FileSource.open(inputPath);
    demuxer = await openMedia(source, { path: inputPath });
    refuseUnsupported(demuxer.skipped, options.skipUnsupported === true, inputPath);
    const ids = mediaTrackIds(demuxer.tracks);
    writer = await H4mkWriter.create(sink, {
      compression: options.compression ?? 'none',
      layout: options.layout ?? 'tail',
      formatVersion: options.formatVersion ?? FORMAT_VERSION,
      ...(options.indexBudget === undefined ? {} : { indexBudget: options.indexBudget }),
      meta: { source: { file: basename(inputPath), format: demuxer.format, bytes: demuxer.size }, ...options.meta },
      ...(options.encryption === undefined ? {} : { encryption: options.encryption }),
    });
    const adapters = demuxer.tracks.map((t) => new MediaAdapter(t));
    for (const [i, a] of adapters.entries()) writer.addTrack({ id: ids[i] as string, ...a.trackOptions() });
    const counts = demuxer.tracks.map(() => 0);
    const bytes = demuxer.tracks.map(() => 0);
    const forced: string[] = [];
    let total = 0;
    for await (const packet of demuxer.packets()) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
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
        if (error instanceof RangeError || isH4mkError(error, 'E_ORDER')) {
          throw new MediaError('E_MEDIA_UNSUPPORTED', `track ${ids[k]}, packet ${counts[k]}: ${error.message}`, inputPath, { cause: error });
        }
        throw error;
      }
      counts[k] = (counts[k] as number) + 1;
      bytes[k] = (bytes[k] as number) + packet.data.length;
      total += packet.data.length;
      options.onProgress?.(packet.offset, demuxer.size);
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
        bytes: bytes[i] as number,
        sourceIndex: t.sourceIndex,
      })),
      skipped: [...demuxer.skipped],
      blocks: container.blockCount,
      bytes: total,
      sourceBytes: demuxer.size,
      forcedKeyframes: forced,
      container,
    };
  } catch (error) {
    if (writer !== undefined) await writer.abort().catch(() => {});
    else await sink.abort().catch(() => {});
    throw error;
  } finally {
    await demuxer?.close().catch(() => {});
    await source?.close().catch(() => {});
  }
}
