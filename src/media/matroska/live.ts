/**
 * Matroska / WebM from a stream into the importer's tracks and packets
 * (./live-source.ts). The tracks are the file importer's (./tracks.ts)
 * for the same input: mediabunny's codec facts come from the stream's first
 * bytes, recorded while the first blocks are held (until every audio and
 * video track has one, and video that may reorder without announcing its
 * depth has PROBE_FRAMES; at most PROBE_BYTES or PROBE_SECONDS; see
 * ./probe.ts for what mediabunny is given). Then the
 * held blocks and every later one go out as they arrive, with decode times
 * and durations derived as the file importer derives them (./stream-timing.ts).
 *
 * What the file importer learns only from the whole file is not in TRAK
 * extra: which blocks were BlockGroups, BlockDurations, DiscardPadding, lacing.
 */
import { MemorySource } from '../../io/source.js';
import type { MediaPacket } from '../demux.js';
import { isMediaError } from '../errors.js';
import type { LiveDemuxer } from '../live-source.js';
import { needsReorderProbe, PROBE_BYTES, PROBE_FRAMES, PROBE_SECONDS, reorderDelay } from '../live-source.js';
import type { MkvBlock } from './block.js';
import type { MkvTrack } from './scan.js';
import { ClusterSpans, probeFile } from './probe.js';
import { MkvStream } from './stream.js';
import { FrameTimes, type MatroskaEntry, matroskaCodecInfo, matroskaTracks, needsProbeSegment } from './tracks.js';
import type { StreamBytes } from '../stream-bytes.js';
import { StreamRetimer } from '../stream-timing.js';

/** mediabunny codec names of Matroska video CodecIDs, for the probe's reorder question. */
const VIDEO_CODECS: Record<string, string> = { 'V_MPEG4/ISO/AVC': 'avc', 'V_MPEGH/ISO/HEVC': 'hevc', V_VP8: 'vp8', V_VP9: 'vp9', V_AV1: 'av1' };

type Held = { data: Uint8Array; keyframe: boolean; duration: number | null; offset: number };

/** Opens a Matroska stream whose first bytes are in `bytes` (nothing consumed yet). */
export async function openLiveMatroska(bytes: StreamBytes): Promise<LiveDemuxer> {
  const notes: string[] = [];
  bytes.startRecording();
  const stream = await MkvStream.open(bytes);
  const spans = new ClusterSpans();
  stream.observer = spans;
  const iterator = stream.blocks();
  const held: MkvBlock[] = [];
  const need = new Map<number, number>(stream.tracks.map((t) => [t.number, probeFrames(t)]));
  const seconds = (ts: number) => (ts * stream.info.timestampScale) / 1e9;
  let first: number | null = null;
  let ended = false;
  while ([...need.values()].some((n) => n > 0) && bytes.recorded < PROBE_BYTES) {
    const b = await nextBlock(iterator, bytes, notes);
    if (b === null) {
      ended = true;
      break;
    }
    held.push(b);
    need.set(b.track, (need.get(b.track) ?? 0) - b.frames.length);
    first ??= b.timestamp;
    if (seconds(b.timestamp - first) >= PROBE_SECONDS) break;
  }
  stream.observer = null;
  const probe = probeFile(bytes.stopRecording(), stream.segment, spans.spans);
  // Disabled or encoded tracks: mediabunny reads the tracks rewritten, with the held frames (already decoded).
  const rewritten = needsProbeSegment(stream.tracks)
    ? { info: stream.info, frames: held.flatMap((b) => b.frames.map((data) => ({ track: b.track, timestamp: b.timestamp, keyframe: b.keyframe, data }))) }
    : undefined;
  const codecs = await matroskaCodecInfo(new MemorySource(probe), bytes.name, stream.tracks, rewritten);
  const mt = matroskaTracks(stream.info, stream.tracks, codecs, bytes.name);
  const { tracks, entries, byNumber, unit } = mt;
  const retimers = tracks.map((t, k) => {
    const entry = entries[k] as MatroskaEntry;
    if (entry.delayTicks !== 0 && t.extra.matroska !== undefined) t.extra.matroska.pts_shift = entry.delayTicks;
    if (t.kind !== 'video') return new StreamRetimer<Held>(false, 0);
    const probed: number[] = [];
    const times = new FrameTimes(t, entry, unit);
    for (const b of held) if (b.track === entry.mkv.number) for (const f of times.block(b)) probed.push(f.pts);
    return new StreamRetimer<Held>(true, reorderDelay(t.mediaCodec, t.config, probed));
  });
  const timers = tracks.map((t, k) => new FrameTimes(t, entries[k] as MatroskaEntry, unit));

  function* frames(b: MkvBlock): Generator<MediaPacket> {
    const k = byNumber.get(b.track);
    if (k === undefined) return;
    // As the file importer (./tracks.ts FrameTimes): laced frames timed one by one; an unknown duration is the gap to the next frame.
    const times = (timers[k] as FrameTimes).block(b);
    for (let j = 0; j < b.frames.length; j++) {
      const data = b.frames[j] as Uint8Array;
      const { pts, duration } = times[j] as { pts: number; duration: number | null };
      yield* timed(k, (retimers[k] as StreamRetimer<Held>).push({ data, keyframe: b.keyframe, duration, offset: b.offset }, pts, duration === null));
    }
  }
  function* timed(k: number, list: ReturnType<StreamRetimer<Held>['end']>): Generator<MediaPacket> {
    for (const t of list)
      yield { track: k, pts: t.pts, dts: t.dts, duration: t.item.duration ?? t.gap, keyframe: t.item.keyframe, data: t.item.data, offset: bytes.position };
  }

  async function* packets(): AsyncGenerator<MediaPacket> {
    for (const b of held.splice(0)) yield* frames(b);
    while (!ended) {
      const b = await nextBlock(iterator, bytes, notes);
      if (b === null) break;
      yield* frames(b);
    }
    for (const [k, r] of retimers.entries()) {
      yield* timed(k, r.end());
      if (r.deeper > 0) notes.push(`${r.deeper} packets of track ${k} reorder deeper than probed; their decode times were clamped`);
    }
  }

  return { format: mt.format, tracks, skipped: mt.skipped, packets, bytesRead: () => bytes.position, notes: () => notes };
}

/** Frames to hold for the probe before the first block is written. */
function probeFrames(t: MkvTrack): number {
  if (t.type === 2) return 1;
  if (t.type !== 1) return 0;
  return needsReorderProbe(VIDEO_CODECS[t.codecId] ?? t.codecId, t.codecPrivate ?? new Uint8Array(0)) ? PROBE_FRAMES : 1;
}

/** The next block, or null at the end; an input cut inside an element ends it too, with a note. */
async function nextBlock(iterator: AsyncGenerator<MkvBlock>, bytes: StreamBytes, notes: string[]): Promise<MkvBlock | null> {
  try {
    const r = await iterator.next();
    return r.done === true ? null : r.value;
  } catch (error) {
    if (isMediaError(error) && error.code === 'E_MEDIA_TRUNCATED' && bytes.ended) {
      notes.push(`${error.message}; the incomplete element was dropped`);
      return null;
    }
    throw error;
  }
}
