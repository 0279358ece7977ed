/**
 * MP4 export: mediabunny's ISO BMFF muxer writes the sample entries (avcC,
 * hvcC, esds, dOps, …), mdat and the sample tables, streaming to a temporary
 * file (`fastStart: false`, so moov comes last); ./timing.ts then puts
 * back the exact decode times, composition offsets, timescales and edit
 * lists. The file is renamed into place only when complete.
 */
import { randomBytes } from 'node:crypto';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type AudioCodec,
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  FilePathTarget,
  Mp4OutputFormat,
  Output,
  type Rotation,
  type VideoCodec,
} from 'mediabunny';
import { MediaError } from '../errors.js';
import type { Mp4Edit } from './boxes.js';
import { rewriteMp4Timing, type TextTrackData, type TrackTiming } from './timing.js';
import type { ColourSpace } from '../codec/colour.js';
import { GrowableF64 } from '../util.js';

/** A track for the MP4 muxer. */
export type Mp4TrackSpec = {
  /** Subtitles must be timed text (tx3g): `config` is then the whole sample entry. */
  kind: 'video' | 'audio' | 'subtitle';
  /** mediabunny codec name. */
  mediaCodec: string;
  /** Codec parameter string. */
  codec: string;
  config: Uint8Array;
  timescale: number;
  language: string;
  name: string;
  video?: { width: number; height: number; rotation: number };
  audio?: { sampleRate: number; channels: number };
  /** The source's colour description, written as colr. */
  colorSpace?: ColourSpace;
  /** Edit list to write (null: none; "auto": one that presents the packets at their pts). */
  edits: Mp4Edit[] | null | 'auto';
  matrix?: number[];
  cttsVersion?: number;
  /** Timed text: end with an empty sample of duration 0, as the source did. */
  trailingEmptySample?: boolean;
};

type State = {
  spec: Mp4TrackSpec;
  /** mediabunny's source; null for timed text, which this module writes itself. */
  source: EncodedVideoPacketSource | EncodedAudioPacketSource | null;
  dts: GrowableF64;
  cts: GrowableF64;
  lastDuration: number;
  first: boolean;
  samples: Uint8Array[];
};

/** Timed text is held in memory until the end; this caps it. */
const MAX_TEXT_BYTES = 64 * 1024 * 1024;

export class Mp4Exporter {
  private readonly states: State[] = [];
  private readonly output: Output;
  private started = false;
  private done = false;
  private textBytes = 0;

  private constructor(
    private readonly path: string,
    private readonly temporary: string,
    private readonly movieTimescale: number,
  ) {
    this.output = new Output({
      format: new Mp4OutputFormat({ fastStart: false }),
      target: new FilePathTarget(temporary, { chunked: true, chunkSize: 4 * 1024 * 1024 }),
    });
  }

  /** A muxer whose file appears at `path` once {@link finish} succeeds. */
  static create(path: string, movieTimescale: number): Mp4Exporter {
    return new Mp4Exporter(path, join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`), movieTimescale);
  }

  /** Adds a track (before the first packet); returns its index. */
  addTrack(spec: Mp4TrackSpec): number {
    const base = { ...(spec.language === '' ? {} : { languageCode: spec.language }), ...(spec.name === '' ? {} : { name: spec.name }) };
    let source: EncodedVideoPacketSource | EncodedAudioPacketSource | null = null;
    try {
      if (spec.kind === 'subtitle') {
        if (spec.mediaCodec !== 'tx3g' || spec.config.length < 8) throw new Error('only timed text (tx3g) subtitles go into MP4');
      } else if (spec.kind === 'video') {
        source = new EncodedVideoPacketSource(spec.mediaCodec as VideoCodec);
        const rotation = spec.video?.rotation ?? 0;
        this.output.addVideoTrack(source, { ...base, ...([0, 90, 180, 270].includes(rotation) ? { rotation: rotation as Rotation } : {}) });
      } else {
        source = new EncodedAudioPacketSource(spec.mediaCodec as AudioCodec);
        this.output.addAudioTrack(source, base);
      }
    } catch (error) {
      throw new MediaError(
        'E_MEDIA_UNSUPPORTED',
        `codec ${spec.codec} cannot be written to MP4: ${error instanceof Error ? error.message : String(error)}`,
        this.path,
      );
    }
    this.states.push({ spec, source, dts: new GrowableF64(), cts: new GrowableF64(), lastDuration: 0, first: true, samples: [] });
    return this.states.length - 1;
  }

  /** Adds one packet of track `index` (decode order, ticks of the track's timescale). */
  async writePacket(index: number, p: { pts: number; dts: number; duration: number; keyframe: boolean; data: Uint8Array }): Promise<void> {
    if (!this.started) {
      await this.output.start();
      this.started = true;
    }
    const s = this.states[index];
    if (s === undefined) throw new RangeError(`no MP4 track ${index}`);
    const ts = s.spec.timescale;
    if (s.source === null) {
      this.textBytes += p.data.length;
      if (this.textBytes > MAX_TEXT_BYTES) throw new MediaError('E_MEDIA_UNSUPPORTED', `more than ${MAX_TEXT_BYTES} bytes of timed text`, this.path);
      s.samples.push(p.data.slice());
      s.dts.push(p.dts);
      s.cts.push(p.pts - p.dts);
      s.lastDuration = p.duration;
      return;
    }
    const packet = new EncodedPacket(p.data, p.keyframe ? 'key' : 'delta', p.pts / ts, p.duration / ts);
    if (s.first) {
      const spec = s.spec;
      const decoderConfig =
        spec.kind === 'video'
          ? {
              codec: spec.codec,
              codedWidth: spec.video?.width ?? 0,
              codedHeight: spec.video?.height ?? 0,
              ...(spec.config.length > 0 ? { description: spec.config } : {}),
              ...(spec.colorSpace === undefined ? {} : { colorSpace: spec.colorSpace }),
            }
          : {
              codec: spec.codec,
              sampleRate: spec.audio?.sampleRate ?? 48000,
              numberOfChannels: spec.audio?.channels ?? 2,
              ...(spec.config.length > 0 ? { description: spec.config } : {}),
            };
      await (s.source as EncodedVideoPacketSource).add(packet, { decoderConfig } as never);
      s.first = false;
    } else await s.source.add(packet);
    s.dts.push(p.dts);
    s.cts.push(p.pts - p.dts);
    s.lastDuration = p.duration;
  }

  /** Finalizes mediabunny's file, restores the timing, renames it into place. */
  async finish(): Promise<void> {
    try {
      if (!this.started) throw new MediaError('E_MEDIA_FORMAT', 'nothing to export: no packets', this.path);
      for (const s of this.states) s.source?.close();
      await this.output.finalize();
      const timing = (s: State): TrackTiming => ({
        timescale: s.spec.timescale,
        dts: s.dts.view(),
        cts: s.cts.view(),
        lastDuration: s.lastDuration,
        edits: s.spec.edits === 'auto' ? autoEdits(s, this.movieTimescale) : s.spec.edits,
        ...(s.spec.matrix === undefined ? {} : { matrix: s.spec.matrix }),
        ...(s.spec.cttsVersion === undefined ? {} : { cttsVersion: s.spec.cttsVersion }),
      });
      for (const s of this.states) {
        if (s.source !== null || s.spec.trailingEmptySample !== true || s.samples.length === 0) continue;
        s.samples.push(Uint8Array.of(0, 0));
        s.dts.push(s.dts.at(s.dts.length - 1) + s.lastDuration);
        s.cts.push(0);
        s.lastDuration = 0;
      }
      const media = this.states.filter((s) => s.source !== null);
      const text: TextTrackData[] = this.states
        .filter((s) => s.source === null && s.samples.length > 0)
        .map((s) => ({ timescale: s.spec.timescale, language: s.spec.language, sampleEntry: s.spec.config, timing: timing(s), samples: s.samples }));
      await rewriteMp4Timing(this.temporary, this.movieTimescale, media.map(timing), text);
      await rename(this.temporary, this.path);
      this.done = true;
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  /** Discards the temporary file. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (this.started) await this.output.cancel().catch(() => {});
    await unlink(this.temporary).catch(() => {});
  }
}

/**
 * An edit list that makes a player present each sample at its pts: stts
 * starts at 0, so media time m is decode time dts[0] + m. The presentation
 * starts at the smallest pts (an empty edit delays a positive start; a
 * negative one, such as encoder priming, is skipped).
 */
function autoEdits(s: State, movieTimescale: number): Mp4Edit[] | null {
  const dts = s.dts.view();
  const cts = s.cts.view();
  if (dts.length === 0) return null;
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < dts.length; i++) {
    const pts = (dts[i] as number) + (cts[i] as number);
    first = Math.min(first, pts);
    last = Math.max(last, pts);
  }
  const d0 = dts[0] as number;
  if (d0 === 0 && first === 0) return null;
  const ts = s.spec.timescale;
  const start = Math.max(first, 0);
  const end = last + s.lastDuration;
  const edits: Mp4Edit[] = [];
  if (start > 0) edits.push({ segmentDuration: Math.round((start * movieTimescale) / ts), mediaTime: -1, rateInteger: 1, rateFraction: 0 });
  edits.push({ segmentDuration: Math.round(((end - start) * movieTimescale) / ts), mediaTime: start - d0, rateInteger: 1, rateFraction: 0 });
  return edits;
}
