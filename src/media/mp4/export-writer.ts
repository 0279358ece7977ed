import { colourOfExtra } from '../codec/colour.js';
import type { ExportBlocks, Selected } from '../export-selection.js';
import type { MediaTrackExtra } from '../track-extra.js';
import type { Mp4Edit } from './boxes.js';
import { Mp4Exporter, type Mp4TrackSpec } from './mux.js';

export async function writeMp4(path: string, selected: Selected[], windowed: boolean, blocks: ExportBlocks): Promise<void> {
  const movieScales = new Set(selected.map((s) => s.extra.mp4?.movie_timescale ?? null));
  const movieTimescale = movieScales.size === 1 ? ([...movieScales][0] ?? 1000) : 1000;
  const muxer = Mp4Exporter.create(path, movieTimescale);
  const index = new Map<Selected, number>();
  try {
    for (const s of selected) {
      const t = s.info;
      const { mp4, video, audio } = s.extra;
      const edits = !windowed && mp4 !== undefined ? sourceEdits(mp4) : 'auto';
      const spec: Mp4TrackSpec = {
        kind: t.kind as 'video' | 'audio' | 'subtitle',
        mediaCodec: s.mediaCodec,
        codec: t.codec,
        config: t.config,
        timescale: t.timescale,
        language: t.language,
        name: t.name,
        edits,
        ...(video === undefined ? {} : { video: { width: video.width ?? 0, height: video.height ?? 0, rotation: video.rotation ?? 0 } }),
        ...(audio === undefined ? {} : { audio: { sampleRate: audio.sample_rate ?? 48000, channels: audio.channels ?? 2 } }),
      };
      const colour = colourOfExtra(s.extra);
      if (colour !== null) spec.colorSpace = colour;
      if (mp4?.matrix !== undefined && !windowed) spec.matrix = mp4.matrix;
      if (mp4?.trailing_empty_sample === true && !windowed) spec.trailingEmptySample = true;
      if (mp4?.ctts_version !== undefined && !windowed) spec.cttsVersion = mp4.ctts_version;
      index.set(s, muxer.addTrack(spec));
    }
    for await (const { s, block } of blocks) {
      await muxer.writePacket(index.get(s) as number, {
        pts: block.pts - s.rebase,
        dts: block.dts - s.rebase,
        duration: block.duration,
        keyframe: block.keyframe,
        data: block.payload,
      });
    }
    await muxer.finish();
  } catch (error) {
    await muxer.abort();
    throw error;
  }
}

function sourceEdits(mp4: NonNullable<MediaTrackExtra['mp4']>): Mp4Edit[] | null {
  return (
    mp4.edits?.map((e) => ({
      segmentDuration: e.segment_duration,
      mediaTime: e.media_time,
      rateInteger: e.rate ?? 1,
      rateFraction: e.rate_fraction ?? 0,
    })) ?? null
  );
}
