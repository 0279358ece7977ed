/**
 * Disposable frames (media/codec/disposable.ts) on real x264 and x265 streams:
 * ffmpeg's own view of each packet (ffprobe -show_frames pict_type plus the
 * slice NAL header) is the reference — B-frames of a stream without
 * B-pyramid are never references; I and P frames always are.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSink, FileSource, H4mkReader, importMedia, isDisposable, nalLengthSize } from '../../dist/node.js';

const work = mkdtempSync(join(tmpdir(), 'h4mk-disposable-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args]);
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.toString()}`);
}

async function kinds(encoder: string[], name: string): Promise<{ kind: string; disposable: boolean; keyframe: boolean }[]> {
  const mp4 = join(work, `${name}.mp4`);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=4', ...encoder, mp4]);
  const out = join(work, `${name}.h4mk`);
  await importMedia(mp4, await FileSink.create(out), {});
  const reader = await H4mkReader.open(await FileSource.open(out));
  try {
    const t = reader.tracks()[0];
    if (t === undefined) throw new Error('no track');
    const size = nalLengthSize(t.codec, t.config);
    expect(size).not.toBeNull();
    const result: { kind: string; disposable: boolean; keyframe: boolean }[] = [];
    for await (const b of reader.readBlocks(0, reader.blockCount))
      result.push({ kind: b.frameKind ?? '?', disposable: isDisposable(t.codec, size, b.payload), keyframe: b.keyframe });
    return result;
  } finally {
    await reader.close();
  }
}

describe('disposable frames', () => {
  it('H.264 (x264, B-frames without pyramid): every B-frame and only B-frames', async () => {
    const frames = await kinds(['-c:v', 'libx264', '-bf', '3', '-x264-params', 'b-pyramid=none', '-g', '50'], 'avc');
    const b = frames.filter((f) => f.kind === 'B');
    expect(b.length).toBeGreaterThan(20);
    expect(b.every((f) => f.disposable)).toBe(true);
    expect(frames.filter((f) => f.kind !== 'B').some((f) => f.disposable)).toBe(false);
    expect(frames.filter((f) => f.keyframe).every((f) => !f.disposable)).toBe(true);
  });

  it('H.264 with B-pyramid: the referenced B-frames are kept', async () => {
    const frames = await kinds(['-c:v', 'libx264', '-bf', '3', '-x264-params', 'b-pyramid=normal', '-g', '50'], 'avc-pyramid');
    const b = frames.filter((f) => f.kind === 'B');
    expect(b.some((f) => f.disposable)).toBe(true);
    expect(b.some((f) => !f.disposable)).toBe(true);
  });

  it('other codecs are never disposable', () => {
    expect(isDisposable('vp09.00.10.08', nalLengthSize('vp09.00.10.08', new Uint8Array(8)), Uint8Array.of(0, 0, 0, 1, 1))).toBe(false);
  });
});
