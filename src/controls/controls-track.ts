/**
 * Adding a camera-controls track to an existing container, and reading one
 * back. Adding rewrites the container: every block is copied in file order
 * with its timestamps, flags and compression, and the control blocks are
 * merged in by time; SAFE gains the controls policy. Stored bytes are copied
 * verbatim (writeRawBlock): no recompression.
 */
import { BlockFlag, FRAME_KINDS } from '../format/constants.js';
import type { Sink } from '../io/sink.js';
import type { H4mkReader, Block } from '../reader/reader.js';
import { type BlockInput, trackOptionsOf } from '../writer/options.js';
import { H4mkWriter, type WriteSummary } from '../writer/writer.js';
import { ControlsAdapter, type ControlRecord, CONTROLS_CODEC, CONTROLS_SAFE_POLICY, validateControl } from './controls.js';
import { MediaError } from '../media/errors.js';

/** Options of {@link addControlsTrack}. */
export type AddControlsOptions = {
  /** Id of the new track; default "camera_control". */
  trackId?: string;
  layout?: 'tail' | 'faststart';
  onProgress?: (done: number, total: number) => void;
};

/**
 * Writes to `sink` a copy of the container read by `reader` with a controls
 * track holding `records` (validated again here). On error the sink is aborted.
 */
export async function addControlsTrack(
  reader: H4mkReader,
  records: readonly ControlRecord[],
  sink: Sink,
  options: AddControlsOptions = {},
): Promise<WriteSummary> {
  const trackId = options.trackId ?? 'camera_control';
  let writer: H4mkWriter | undefined;
  try {
    if (reader.tracks().some((t) => t.id === trackId)) throw new MediaError('E_CONTROLS', `the container already has a track ${JSON.stringify(trackId)}`);
    const adapter = new ControlsAdapter();
    const controls = records.map((r, i) => adapter.toBlock(validateControl(r, `control record ${i}`))).sort((a, b) => (a.pts as number) - (b.pts as number));
    writer = await H4mkWriter.create(sink, {
      layout: options.layout ?? reader.layout,
      meta: reader.meta,
      safe: { ...reader.safe, controls: CONTROLS_SAFE_POLICY },
    });
    for (const t of reader.tracks()) {
      writer.addTrack(trackOptionsOf(t));
    }
    const control = writer.addTrack({ id: trackId, ...adapter.trackOptions() });
    let next = 0;
    const flushUntil = async (us: number) => {
      while (next < controls.length && ((controls[next] as BlockInput).pts as number) <= us) {
        await (writer as H4mkWriter).writeBlock({ ...(controls[next] as Omit<BlockInput, 'track'>), track: control });
        next++;
      }
    };
    let done = 0;
    // Stored bytes are copied verbatim (verified against their digests, not recompressed).
    for await (const item of reader.blocks({}, { decompress: false })) {
      const b = item as Block;
      if (b.encrypted) throw new MediaError('E_MEDIA_UNSUPPORTED', `block ${b.coreIndex} is encrypted: add the controls track before encrypting`);
      await flushUntil(b.dtsUs);
      const kind = b.frameKind === null ? 0 : FRAME_KINDS.indexOf(b.frameKind);
      const flags = (b.keyframe ? BlockFlag.KEYFRAME : 0) | (Math.max(0, kind) << BlockFlag.FRAME_KIND_SHIFT);
      await writer.writeRawBlock({
        track: b.trackNumber,
        pts: b.pts,
        dts: b.dts,
        duration: b.duration,
        flags,
        compression: b.compression,
        originalLength: b.originalLength,
        stored: b.payload,
      });
      options.onProgress?.(++done, reader.blockCount);
    }
    await flushUntil(Number.POSITIVE_INFINITY);
    return await writer.finish();
  } catch (error) {
    if (writer !== undefined) await writer.abort().catch(() => {});
    else await sink.abort().catch(() => {});
    throw error;
  }
}

/** The control records of a controls track (every block validated); `track` defaults to the first controls track. */
export async function readControls(
  reader: H4mkReader,
  track?: string | number,
): Promise<{ trackId: string; records: (ControlRecord & { core_index: number })[] }> {
  const t = track === undefined ? reader.tracks().find((x) => x.kind === 'control' && x.codec === CONTROLS_CODEC) : reader.track(track);
  if (t === undefined) throw new MediaError('E_CONTROLS', 'the container has no camera-controls track');
  if (t.codec !== CONTROLS_CODEC) throw new MediaError('E_CONTROLS', `track ${t.id} is not a camera-controls track (codec ${t.codec})`);
  const adapter = new ControlsAdapter();
  const records: (ControlRecord & { core_index: number })[] = [];
  for await (const b of reader.blocks({ tracks: [t.number] })) records.push({ ...adapter.fromBlock(b), core_index: b.coreIndex });
  return { trackId: t.id, records };
}
