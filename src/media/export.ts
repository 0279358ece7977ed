/**
 * Media export: media tracks of a container back into MP4, WebM or
 * Matroska without re-encoding, whole or as a window cut at keyframes.
 * What the source container had and the format has no field for (edit
 * lists, codec delay, discard padding, BlockGroups, timescales) comes back
 * from the TRAK `extra` object the importer wrote, read through
 * ./track-extra.ts (a malformed field falls back to its default).
 */
import { extname } from 'node:path';
import { ticksToUs } from '../format/time.js';
import type { H4mkReader, Block } from '../reader/reader.js';
import { MediaError } from './errors.js';
import { writeMp4 } from './mp4/export-writer.js';
import { mkvCodecId, WEBM_CODECS, writeMatroska } from './matroska/export-writer.js';
import type { Selected } from './export-selection.js';
import { parseMediaExtra } from './track-extra.js';

/** Target container formats. */
export type ExportFormat = 'mp4' | 'webm' | 'matroska';

/** Options of {@link exportMedia}. */
export type ExportOptions = {
  /** Target format; default from the output's extension (.mp4/.m4v/.mov, .webm, .mkv/.mka/.mks). */
  format?: ExportFormat;
  /** Track ids or numbers; default every media track the format can hold. */
  tracks?: ReadonlyArray<string | number>;
  /** Window start, µs: the export starts at the last keyframe at or before it (of the first video track). */
  fromUs?: number;
  /** Window end, µs: the export ends before the first keyframe at or after it. */
  toUs?: number;
  onProgress?: (done: number, total: number) => void;
};

/** What {@link exportMedia} reports. */
export type ExportSummary = {
  format: ExportFormat;
  tracks: { id: string; codec: string; blocks: number; bytes: number }[];
  skipped: { id: string; reason: string }[];
  blocks: number;
  bytes: number;
  /** The exported window in source µs (keyframe-aligned), when one was asked for. */
  window: { fromUs: number; toUs: number | null } | null;
};

/** The target format of an output path. */
export function formatOfPath(path: string): ExportFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.mp4' || ext === '.m4v' || ext === '.m4a' || ext === '.mov') return 'mp4';
  if (ext === '.webm') return 'webm';
  if (ext === '.mkv' || ext === '.mka' || ext === '.mks') return 'matroska';
  return null;
}

/** Exports media tracks of the container `reader` to `outputPath`. Nothing appears at the path on failure. */
export async function exportMedia(reader: H4mkReader, outputPath: string, options: ExportOptions = {}): Promise<ExportSummary> {
  const format = options.format ?? formatOfPath(outputPath);
  if (format === null) throw new MediaError('E_MEDIA_UNSUPPORTED', 'cannot tell the output format from the extension (use .mp4, .webm or .mkv)', outputPath);
  const skipped: { id: string; reason: string }[] = [];
  const wanted = options.tracks === undefined ? reader.tracks() : options.tracks.map((t) => reader.track(t));
  const selected: Selected[] = [];
  for (const t of wanted) {
    const extra = parseMediaExtra(t.extra);
    const mediaCodec = extra.media_codec ?? null;
    const reason =
      t.kind !== 'video' && t.kind !== 'audio' && t.kind !== 'subtitle'
        ? `a ${t.kind} track is not media`
        : mediaCodec === null
          ? 'not an imported media track (no media_codec)'
          : t.blockCount === 0
            ? 'no blocks'
            : format === 'mp4' && t.kind === 'subtitle' && mediaCodec !== 'tx3g'
              ? `${t.codec} subtitles are not written to MP4 (only tx3g timed text; .mkv keeps them)`
              : format === 'webm' && !WEBM_CODECS.has(mkvCodecId(extra, mediaCodec) ?? '')
                ? `codec ${t.codec} is not allowed in WebM (export to .mkv)`
                : format === 'matroska' && mkvCodecId(extra, mediaCodec as string) === null
                  ? `codec ${t.codec} has no Matroska codec ID (export to .mp4)`
                  : null;
    if (reason !== null) {
      if (options.tracks !== undefined) throw new MediaError('E_MEDIA_UNSUPPORTED', `track ${t.id}: ${reason}`, outputPath);
      skipped.push({ id: t.id, reason });
      continue;
    }
    selected.push({
      info: t,
      extra,
      mediaCodec: mediaCodec as string,
      fromCore: 0,
      toCore: Infinity,
      fromPts: -Infinity,
      toPts: Infinity,
      rebase: 0,
      blocks: 0,
      bytes: 0,
    });
  }
  if (selected.length === 0) {
    const reasons = skipped.map((s) => `${s.id}: ${s.reason}`).join('; ');
    throw new MediaError('E_MEDIA_UNSUPPORTED', `no track of the container can be exported to ${format}${reasons === '' ? '' : ` (${reasons})`}`, outputPath);
  }
  const window = await applyWindow(reader, selected, options);

  const total = selected.reduce((a, s) => a + s.info.blockCount, 0);
  let done = 0;
  const byNumber = new Map(selected.map((s) => [s.info.number, s]));
  const blocks = async function* (): AsyncGenerator<{ s: Selected; block: Block }> {
    // A window without a start (toUs alone) reads from the first block: −∞ has no µs view.
    const starts = selected.map((s) => (Number.isFinite(s.fromPts) ? ticksToUs(s.fromPts, s.info.timescale) : -Infinity));
    const fromUs = Math.min(...starts);
    const query = { tracks: selected.map((s) => s.info.number), ...(window === null || !Number.isFinite(fromUs) ? {} : { fromUs }) };
    for await (const b of reader.blocks(query)) {
      const s = byNumber.get(b.trackNumber) as Selected;
      done++;
      options.onProgress?.(done, total);
      if (b.coreIndex < s.fromCore || b.coreIndex >= s.toCore || b.pts < s.fromPts || b.pts >= s.toPts) continue;
      s.blocks++;
      s.bytes += b.payload.length;
      yield { s, block: b };
    }
  };

  if (format === 'mp4') await writeMp4(outputPath, selected, window !== null, blocks());
  else await writeMatroska(outputPath, format, selected, reader, blocks());
  return {
    format,
    tracks: selected.map((s) => ({ id: s.info.id, codec: s.info.codec, blocks: s.blocks, bytes: s.bytes })),
    skipped,
    blocks: selected.reduce((a, s) => a + s.blocks, 0),
    bytes: selected.reduce((a, s) => a + s.bytes, 0),
    window,
  };
}

/**
 * Sets each track's window. Video tracks start at their last keyframe at or
 * before the window start and end before their first keyframe at or after
 * the window end; the first video track's keyframes set the bounds (µs) of
 * the other tracks. Timestamps are rebased so the window starts at 0.
 */
async function applyWindow(reader: H4mkReader, selected: Selected[], options: ExportOptions): Promise<{ fromUs: number; toUs: number | null } | null> {
  if (options.fromUs === undefined && options.toUs === undefined) return null;
  for (const [name, value] of [
    ['fromUs', options.fromUs],
    ['toUs', options.toUs],
  ] as const) {
    if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value)))
      throw new RangeError(`${name} must be a number of microseconds, got ${String(value)}`);
  }
  // Either end may be absent (or infinite): the window is then open on that side.
  const fromUs = options.fromUs ?? -Infinity;
  const toUs = options.toUs ?? Infinity;
  if (!(fromUs < toUs)) throw new RangeError('the window is empty: --from-us must be below --to-us');
  const cut = async (s: Selected, from: number, to: number) => {
    const start = Number.isFinite(from) ? await reader.seek(s.info.number, from) : null;
    let end: Block | null = null;
    if (Number.isFinite(to)) {
      for await (const b of reader.infos({ tracks: [s.info.number], fromUs: to, keyframesOnly: true })) {
        end = b as Block;
        break;
      }
    }
    s.fromCore = start?.coreIndex ?? 0;
    s.fromPts = start?.pts ?? -Infinity;
    s.toCore = end?.coreIndex ?? Infinity;
    s.toPts = end?.pts ?? Infinity;
    return { startUs: start?.ptsUs ?? (s.info.firstPtsUs as number), endUs: end?.ptsUs ?? null };
  };
  const primary = selected.find((s) => s.info.kind === 'video');
  let startUs: number;
  let endUs: number | null;
  if (primary !== undefined) {
    ({ startUs, endUs } = await cut(primary, fromUs, toUs));
    primary.rebase = primary.fromPts === -Infinity ? 0 : primary.fromPts;
    if (primary.fromPts === -Infinity) startUs = 0;
  } else {
    startUs = Number.isFinite(fromUs) ? fromUs : 0;
    endUs = Number.isFinite(toUs) ? toUs : null;
  }
  for (const s of selected) {
    if (s === primary) continue;
    const ts = s.info.timescale;
    const fromTicks = Math.ceil((startUs * ts) / 1e6);
    const toTicks = endUs === null ? Infinity : Math.ceil((endUs * ts) / 1e6);
    // Without a start, every track keeps its first blocks (as a whole export does).
    const lower = Number.isFinite(fromUs) ? fromTicks : -Infinity;
    if (s.info.kind === 'video') {
      await cut(s, Number.isFinite(fromUs) ? startUs : -Infinity, endUs ?? Infinity);
      s.fromPts = Math.max(s.fromPts, lower);
    } else {
      s.fromPts = lower;
      s.toPts = toTicks;
    }
    s.rebase = startUs === 0 ? 0 : Math.floor((startUs * ts) / 1e6);
  }
  return { fromUs: startUs, toUs: endUs };
}
