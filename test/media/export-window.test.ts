/**
 * exportMedia windows open on one side: `toUs` alone exports from the first
 * block of every track up to the video keyframe at or after it (it threw a
 * raw BigInt RangeError on −∞), with or without a video track; a window
 * that is not a number is a RangeError and leaves nothing behind.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportMedia, FileSink, FileSource, H4mkReader, importMedia } from '../../src/node.js';
import { decodeErrors, FIXTURES, requireFfmpeg, SKIP_FFMPEG } from './ffmpeg.js';

let dir: string;
let reader: H4mkReader;
let source: FileSource;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h4mk-export-window-'));
  const path = join(dir, 'in.h4mk');
  await importMedia(join(FIXTURES, 'h264-aac.mp4'), await FileSink.create(path));
  source = await FileSource.open(path);
  reader = await H4mkReader.open(source);
});

afterAll(async () => {
  await source.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Blocks of `track` with pts below `toUs` (µs), from the index. */
async function countBefore(track: string, toUs: number): Promise<number> {
  let n = 0;
  for await (const _ of reader.infos({ tracks: [track], toUs })) n++;
  return n;
}

describe('exportMedia with toUs alone', () => {
  it.each(['mkv', 'mp4'])('exports from the start to the keyframe at or after toUs (.%s)', async (ext) => {
    const [video, audio] = reader.tracks();
    expect([video?.kind, audio?.kind]).toEqual(['video', 'audio']);
    // Keyframes at 0 and 1 s; audio starts before 0 (AAC priming).
    expect(reader.indexKeyframes(video?.id as string).map((k) => k.ptsUs)).toEqual([0, 1_000_000]);
    expect(audio?.firstPtsUs).toBeLessThan(0);
    const out = join(dir, `head.${ext}`);
    const summary = await exportMedia(reader, out, { toUs: 900_000 });
    expect(summary.window).toEqual({ fromUs: 0, toUs: 1_000_000 });
    expect(summary.tracks.map((t) => t.blocks)).toEqual([await countBefore(video?.id as string, 1_000_000), await countBefore(audio?.id as string, 1_000_000)]);
    if (!SKIP_FFMPEG) {
      requireFfmpeg();
      expect(decodeErrors(out)).toBe('');
    }
  });

  it('works without a video track (audio only)', async () => {
    const audio = reader.tracks()[1]?.id as string;
    const summary = await exportMedia(reader, join(dir, 'audio-head.mka'), { tracks: [audio], toUs: 500_000 });
    expect(summary.window).toEqual({ fromUs: 0, toUs: 500_000 });
    expect(summary.blocks).toBe(await countBefore(audio, 500_000));
  });

  it('refuses a window that is not a number with a RangeError, leaving nothing behind', async () => {
    for (const options of [{ toUs: Number.NaN }, { fromUs: Number.NaN }, { fromUs: '1' as unknown as number }, { fromUs: 2_000_000, toUs: 1_000_000 }]) {
      const out = join(dir, 'bad.mkv');
      await expect(exportMedia(reader, out, options)).rejects.toThrow(RangeError);
      expect(existsSync(out)).toBe(false);
    }
  });
});
