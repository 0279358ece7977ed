/**
 * CMAF chunks (media segments): styp + moof + mdat for one track
 * (ISO/IEC 14496-12 §8.8.4–8.8.12). Every sample keeps the source's decode
 * time (tfdt + durations), composition offset (trun version 1, signed) and
 * sync flag; written by hand because no muxer we can use takes decode times
 * as given (see ./sample-entry.ts).
 */
import { concatBytes } from '../../format/bytes.js';
import { box, BoxWriter, fields, fullBox } from './bmff.js';
import { TRACK_ID } from './init-segment.js';

/** One sample, in decode order. Times in the track's timescale. */
export type CmafSample = {
  dts: number;
  pts: number;
  /** The sample's duration; the last sample's is used only when no `endDts` is given. */
  duration: number;
  keyframe: boolean;
  data: Uint8Array;
};

/** sample_flags (ISO/IEC 14496-12 §8.8.3.1): depends_on 2 (no other sample) for sync samples; 1 and non-sync otherwise. */
const SYNC_FLAGS = 0x02000000;
const NON_SYNC_FLAGS = 0x01010000;

const TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800; // data offset, duration, size, flags, composition offset

/**
 * A media segment of `samples` (decode order, at least one). `offset` ticks
 * are added to every time (see InitSpec.offset); `sequence` is the
 * fragment's sequence number (1-based); with no samples, `emptyDts` is
 * the fragment's decode time. Durations are decode-time deltas,
 * so the next segment's first decode time follows on exactly; the last
 * sample's comes from `endDts` (the next sample's decode time) when known.
 */
export function mediaSegment(samples: readonly CmafSample[], options: { sequence: number; offset: number; endDts?: number; emptyDts?: number }): Uint8Array {
  const n = samples.length;
  // A track with nothing in this window (audio that ends before the video) gets an empty fragment at the window's start.
  const base = (samples[0]?.dts ?? options.emptyDts ?? 0) + options.offset;
  if (base < 0) throw new RangeError(`decode time ${base - options.offset} is before the start of the timeline (offset ${options.offset})`);
  const styp = box(
    'styp',
    fields((w) => {
      w.fourcc('msdh').u32(0).fourcc('msdh').fourcc('msix').fourcc('cmfs');
    }),
  );
  const mfhd = fullBox(
    'mfhd',
    0,
    0,
    fields((w) => w.u32(options.sequence)),
  );
  const tfhd = fullBox(
    'tfhd',
    0,
    0x020000,
    fields((w) => w.u32(TRACK_ID)),
  ); // default-base-is-moof
  const tfdt = fullBox(
    'tfdt',
    1,
    0,
    fields((w) => w.u64(base)),
  );
  // trun: 12 bytes of header fields after the full-box header, 16 per sample.
  const trunSize = 8 + 4 + 8 + 16 * n;
  const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunSize;
  let payload = 0;
  for (const s of samples) payload += s.data.length;
  const mdatHead = payload + 8 > 0xffffffff ? 16 : 8;
  const w = new BoxWriter(trunSize);
  w.u32(trunSize)
    .fourcc('trun')
    .u32((1 << 24) | TRUN_FLAGS);
  w.u32(n).i32(moofSize + mdatHead); // data_offset from the moof's first byte to the first sample in mdat
  for (let i = 0; i < n; i++) {
    const s = samples[i] as CmafSample;
    const next = samples[i + 1];
    const duration = next !== undefined ? next.dts - s.dts : options.endDts !== undefined ? options.endDts - s.dts : s.duration;
    if (duration < 0 || duration > 0xffffffff) throw new RangeError(`sample duration ${duration} out of range (decode times must not decrease)`);
    const cts = s.pts - s.dts;
    if (cts < -(2 ** 31) || cts >= 2 ** 31) throw new RangeError(`composition offset ${cts} out of range`);
    w.u32(duration)
      .u32(s.data.length)
      .u32(s.keyframe ? SYNC_FLAGS : NON_SYNC_FLAGS)
      .i32(cts);
  }
  const trun = w.finish();
  const moof = box('moof', mfhd, box('traf', tfhd, tfdt, trun));
  if (moof.length !== moofSize) throw new Error('moof size mismatch');
  const mdatHeader = new BoxWriter(16);
  if (mdatHead === 16)
    mdatHeader
      .u32(1)
      .fourcc('mdat')
      .u64(payload + 16);
  else mdatHeader.u32(payload + 8).fourcc('mdat');
  return concatBytes([styp, moof, mdatHeader.finish(), ...samples.map((s) => s.data)]);
}
