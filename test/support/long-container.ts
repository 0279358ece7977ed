/**
 * A long container shaped like an imported clip, for tests of scale (the
 * inspector's 2-hour timelines, the server's request economy): the clip's two
 * tracks (real codec configuration), 25 fps video with a keyframe every 2 s,
 * 1024-sample 48 kHz AAC packets; tiny payloads except the first block of each
 * track (the clip's own, so init segments and the first frame are real).
 * Two hours: ~520,000 blocks in 3,600 segments, ~80 MB.
 */
import { FileSink, FileSource, H4mkReader, H4mkWriter, type TrackInfo, type TrackOptions } from '../../dist/node.js';

/** Track options copied from an imported track (codec, avcC/AudioSpecificConfig, TRAK extra with media_codec). */
export function optionsOf(t: TrackInfo): TrackOptions {
  return { id: t.id, kind: t.kind, codec: t.codec, config: t.config, timescale: t.timescale, name: t.name, language: t.language, extra: t.extra };
}

/** Writes `seconds` of such a container to `path`, from the imported clip container `clipContainer` (video track 0, audio track 1). */
export async function writeLongContainer(clipContainer: string, path: string, seconds: number): Promise<{ segments: number }> {
  const clip = await H4mkReader.open(await FileSource.open(clipContainer));
  const [video, audio] = clip.tracks() as [TrackInfo, TrackInfo];
  if (video.kind !== 'video' || audio.kind !== 'audio') throw new Error(`${clipContainer}: expected a video then an audio track`);
  const firstVideo = (await clip.readBlock((clip.indexKeyframes(0)[0] as { coreIndex: number }).coreIndex)).payload;
  const firstAudio = (await clip.readBlock((clip.indexKeyframes(1)[0] as { coreIndex: number }).coreIndex)).payload;
  await clip.close();
  const sink = await FileSink.create(path);
  const writer = await H4mkWriter.create(sink, { compression: 'none' });
  writer.addTrack(optionsOf(video));
  writer.addTrack(optionsOf(audio));
  const fps = 25;
  const gop = 2 * fps;
  const frameTicks = video.timescale / fps;
  const frames = seconds * fps;
  const packets = Math.floor((seconds * 48_000) / 1024);
  const key = new Uint8Array(300).fill(7);
  const delta = new Uint8Array(60).fill(3);
  const sound = new Uint8Array(24).fill(5);
  let f = 0;
  let p = 0;
  while (f < frames || p < packets) {
    const tv = f < frames ? f / fps : Infinity;
    const ta = p < packets ? (p * 1024) / 48_000 : Infinity;
    if (tv <= ta) {
      const keyframe = f % gop === 0;
      await writer.writeBlock({
        track: 0,
        pts: f * frameTicks,
        dts: f * frameTicks,
        duration: frameTicks,
        keyframe,
        kind: keyframe ? 'I' : 'P',
        payload: f === 0 ? firstVideo : keyframe ? key : delta,
      });
      f++;
    } else {
      await writer.writeBlock({ track: 1, pts: p * 1024, duration: 1024, keyframe: true, payload: p === 0 ? firstAudio : sound });
      p++;
    }
  }
  await writer.finish();
  return { segments: frames / gop };
}
