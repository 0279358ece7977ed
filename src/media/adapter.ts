/**
 * The codec adapter contract between producers and blocks: an adapter names its codec, declares its track, turns one
 * unit (a codec packet, a message) into one block and a block back into a
 * unit. Two adapters live here: the opaque pass-through and the media adapter
 * that import and export use; the camera-controls adapter is in src/controls/.
 */
import type { FrameKind, TrackKind } from '../format/constants.js';
import type { Block } from '../reader/reader.js';
import type { BlockInput, TrackOptions } from '../writer/options.js';
import type { MediaTrack } from './demux.js';
import { FrameKindDetector } from './codec/frame-kind.js';

/** A block as an adapter produces it: everything but the track. */
export type AdaptedBlock = Omit<BlockInput, 'track'>;

/** Turns units of type `U` into blocks of one track and back. */
export interface CodecAdapter<U> {
  /** Codec id written to TRAK (`avc1.64001f`, `opus`, `opaque`, `h4mk.controls+json` …). */
  readonly codec: string;
  /** The track declaration (without its id). */
  trackOptions(): Omit<TrackOptions, 'id'>;
  /** One unit → one block. Throws on a unit the codec does not accept. */
  toBlock(unit: U): AdaptedBlock;
  /** One block → one unit. Throws on a block the codec does not accept. */
  fromBlock(block: Block): U;
}

/** A unit of the opaque pass-through adapter. */
export type OpaqueUnit = {
  pts: number;
  dts?: number;
  duration?: number;
  keyframe?: boolean;
  kind?: FrameKind;
  payload: Uint8Array;
};

/** Options of {@link OpaqueAdapter}. */
export type OpaqueAdapterOptions = { kind: TrackKind; codec?: string; timescale?: number; config?: Uint8Array; extra?: Record<string, unknown> };

/** Bytes in, the same bytes out; timestamps in the track's ticks. */
export class OpaqueAdapter implements CodecAdapter<OpaqueUnit> {
  readonly codec: string;
  constructor(private readonly options: OpaqueAdapterOptions) {
    this.codec = options.codec ?? 'opaque';
  }

  trackOptions(): Omit<TrackOptions, 'id'> {
    const o = this.options;
    return {
      kind: o.kind,
      codec: this.codec,
      timescale: o.timescale ?? 1_000_000,
      ...(o.config === undefined ? {} : { config: o.config }),
      ...(o.extra === undefined ? {} : { extra: o.extra }),
    };
  }

  toBlock(unit: OpaqueUnit): AdaptedBlock {
    if (!(unit.payload instanceof Uint8Array)) throw new TypeError('an opaque unit needs a Uint8Array payload');
    const block: AdaptedBlock = { pts: unit.pts, payload: unit.payload, keyframe: unit.keyframe ?? true };
    if (unit.dts !== undefined) block.dts = unit.dts;
    if (unit.duration !== undefined) block.duration = unit.duration;
    if (unit.kind !== undefined) block.kind = unit.kind;
    return block;
  }

  fromBlock(block: Block): OpaqueUnit {
    const unit: OpaqueUnit = { pts: block.pts, dts: block.dts, duration: block.duration, keyframe: block.keyframe, payload: block.payload };
    if (block.frameKind !== null) unit.kind = block.frameKind;
    return unit;
  }
}

/** A media packet as import produces and export consumes it (track ticks). */
export type MediaUnit = { pts: number; dts: number; duration: number; keyframe: boolean; data: Uint8Array };

/**
 * The adapter of an imported media track: TRAK from the demuxer's track
 * (codec string, decoder configuration, timescale, extra), one packet per
 * block with its frame kind where the bitstream tells it (./codec/frame-kind.ts).
 */
export class MediaAdapter implements CodecAdapter<MediaUnit> {
  readonly codec: string;
  private readonly kinds: FrameKindDetector | null;

  constructor(private readonly track: MediaTrack) {
    this.codec = track.codec;
    this.kinds = track.kind === 'video' ? new FrameKindDetector(track.mediaCodec, track.config) : null;
  }

  trackOptions(): Omit<TrackOptions, 'id'> {
    const t = this.track;
    return {
      kind: t.kind,
      codec: t.codec,
      config: t.config,
      timescale: t.timescale,
      name: t.name,
      language: t.language,
      extra: { ...t.extra, media_codec: t.mediaCodec },
    };
  }

  toBlock(unit: MediaUnit): AdaptedBlock {
    if (!Number.isSafeInteger(unit.pts) || !Number.isSafeInteger(unit.dts)) throw new RangeError('media timestamps must be integer ticks');
    const block: AdaptedBlock = { pts: unit.pts, dts: unit.dts, duration: Math.max(0, unit.duration), keyframe: unit.keyframe, payload: unit.data };
    const kind = this.kinds?.detect(unit.data, unit.pts, unit.keyframe) ?? null;
    if (kind !== null) block.kind = kind;
    return block;
  }

  fromBlock(block: Block): MediaUnit {
    return { pts: block.pts, dts: block.dts, duration: block.duration, keyframe: block.keyframe, data: block.payload };
  }
}
