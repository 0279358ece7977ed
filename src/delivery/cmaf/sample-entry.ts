/**
 * The sample description (stsd) of a track, written by mediabunny's ISO
 * BMFF muxer: it knows every codec's sample entry and configuration box
 * (avc1/avcC, hvc1/hvcC, av01/av1C, vp09/vpcC, mp4a/esds, Opus/dOps,
 * fLaC/dfLa, mp3). We run it on the track's first packet in memory and take
 * its stsd; the rest of the init segment and every media segment are ours
 * (./init-segment.ts, ./media-segment.ts), because mediabunny derives decode
 * times from packet order and rebases timestamps, and a remux must keep the
 * source's exact pts, dts and durations.
 */
import {
  type AudioCodec,
  BufferTarget,
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  Mp4OutputFormat,
  Output,
  type VideoCodec,
} from 'mediabunny';
import { findBox } from './bmff.js';

/** What the sample entry is made from. */
export type SampleEntrySpec = {
  kind: 'video' | 'audio';
  /** mediabunny codec name (avc, hevc, av1, vp9, aac, opus, flac, mp3, …). */
  mediaCodec: string;
  /** WebCodecs codec string. */
  codec: string;
  /** Decoder configuration (avcC, hvcC, av1C, AudioSpecificConfig, OpusHead, …); may be empty. */
  config: Uint8Array;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  /** The track's first packet (a keyframe): some entries are read from it (AV1, VP9 without config). */
  firstPacket: Uint8Array;
  /** Written as the entry's colr (nclx) box when given. */
  colorSpace?: { primaries?: string; transfer?: string; matrix?: string; fullRange?: boolean };
};

/** The stsd box (header included) for `spec`. Throws when mediabunny cannot write the codec to MP4. */
export async function sampleDescription(spec: SampleEntrySpec): Promise<Uint8Array> {
  const target = new BufferTarget();
  const output = new Output({ format: new Mp4OutputFormat({ fastStart: 'fragmented' }), target });
  const packet = new EncodedPacket(spec.firstPacket, 'key', 0, 0.001);
  const description = spec.config.length > 0 ? { description: spec.config } : {};
  if (spec.kind === 'video') {
    const source = new EncodedVideoPacketSource(spec.mediaCodec as VideoCodec);
    output.addVideoTrack(source);
    await output.start();
    const colour = spec.colorSpace === undefined ? {} : { colorSpace: spec.colorSpace as VideoColorSpaceInit };
    await source.add(packet, { decoderConfig: { codec: spec.codec, codedWidth: spec.width ?? 0, codedHeight: spec.height ?? 0, ...description, ...colour } });
    source.close();
  } else {
    const source = new EncodedAudioPacketSource(spec.mediaCodec as AudioCodec);
    output.addAudioTrack(source);
    await output.start();
    await source.add(packet, {
      decoderConfig: { codec: spec.codec, sampleRate: spec.sampleRate ?? 48_000, numberOfChannels: spec.channels ?? 2, ...description },
    });
    source.close();
  }
  await output.finalize();
  const bytes = new Uint8Array(target.buffer ?? new ArrayBuffer(0));
  const stsd = findBox(bytes, 'moov/trak/mdia/minf/stbl/stsd');
  if (stsd === null) throw new Error('the MP4 muxer wrote no sample description');
  return stsd.slice();
}
