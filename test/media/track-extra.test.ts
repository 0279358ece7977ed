/**
 * TRAK `extra` of imported media tracks against its zod schema
 * (src/media/track-extra.ts, FORMAT appendix A): what real imports write
 * fits it with nothing dropped (the fixtures of scripts/make-media-fixtures.sh
 * and files ffmpeg writes here: MOV with colour tags,
 * fragmented MP4, Ogg, MPEG-TS with B-frames, FLAC); a malformed field is dropped alone
 * (a list with a malformed entry whole), unknown keys are kept, and an
 * export of a container whose extra has malformed fields still succeeds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Block, exportMedia, FileSink, FileSource, H4mkReader, H4mkWriter, importMedia } from '../../src/node.js';
import { checkMediaExtra, MediaTrackExtraSchema, parseMediaExtra } from '../../src/media/track-extra.js';
import { FIXTURE_FILES, FIXTURES, requireFfmpeg, SKIP_FFMPEG } from './ffmpeg.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h4mk-extra-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ffmpeg(...args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args], { cwd: dir });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr.toString()}`);
}

const VIDEO = ['-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=25:duration=1'];
const AUDIO = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1'];

/** The extra objects of every track of `file` after `importMedia`. */
async function importedExtras(file: string): Promise<Record<string, unknown>[]> {
  const out = join(dir, `${file.replaceAll('/', '_')}.h4mk`);
  await importMedia(file, await FileSink.create(out));
  const source = await FileSource.open(out);
  try {
    const r = await H4mkReader.open(source);
    return r.tracks().map((t) => t.extra);
  } finally {
    await source.close();
  }
}

function expectAccepted(extras: Record<string, unknown>[]): void {
  expect(extras.length).toBeGreaterThan(0);
  for (const extra of extras) {
    const strict = MediaTrackExtraSchema.safeParse(extra);
    expect(strict.success, JSON.stringify(strict.error?.issues)).toBe(true);
    const { extra: parsed, dropped } = checkMediaExtra(extra);
    expect(dropped).toEqual([]);
    expect(parsed).toEqual(extra);
    expect(typeof parsed.media_codec).toBe('string');
    expect(parsed.source?.container).toBeTypeOf('string');
  }
}

describe.skipIf(SKIP_FFMPEG)('the extra of real imports fits the schema', () => {
  beforeAll(() => requireFfmpeg());

  it.each(FIXTURE_FILES)('%s', async (name) => {
    const extras = await importedExtras(join(FIXTURES, name));
    expectAccepted(extras);
    const container = name.endsWith('.mp4') ? 'mp4' : 'matroska';
    for (const extra of extras) expect(parseMediaExtra(extra)[container]).toBeDefined();
  });

  it('MOV with colour tags', async () => {
    ffmpeg(
      ...VIDEO,
      ...AUDIO,
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-color_primaries',
      'bt709',
      '-color_trc',
      'bt709',
      '-colorspace',
      'bt709',
      '-c:a',
      'aac',
      '-shortest',
      'tagged.mov',
    );
    const extras = await importedExtras(join(dir, 'tagged.mov'));
    expectAccepted(extras);
    const video = parseMediaExtra(extras[0] as Record<string, unknown>);
    expect(video.source?.container).toBe('mov');
    expect(video.video?.color).toMatchObject({ primaries: 'bt709', transfer: 'bt709', matrix: 'bt709' });
    expect(video.video?.rotation).toBe(0);
    expect(video.mp4?.matrix).toHaveLength(9);
  });

  it('fragmented MP4', async () => {
    ffmpeg(...VIDEO, ...AUDIO, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', 'frag_keyframe+empty_moov', 'frag.mp4');
    const extras = await importedExtras(join(dir, 'frag.mp4'));
    expectAccepted(extras);
    expect(extras.map((e) => parseMediaExtra(e).mp4?.fragmented)).toEqual([true, true]);
  });

  it.each([
    ['Ogg Opus', 'a.ogg', ['-c:a', 'libopus'], 'ogg'],
    ['FLAC', 'a.flac', ['-c:a', 'flac'], 'flac'],
    ['MPEG-TS', 'av.ts', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-x264-params', 'bframes=2:b-adapt=0', '-c:a', 'aac'], 'mpegts'],
  ])('%s (through mediabunny)', async (_label, file, codec, container) => {
    const inputs = container === 'mpegts' ? [...VIDEO, ...AUDIO] : AUDIO;
    ffmpeg(...inputs, ...codec, '-shortest', file);
    const extras = await importedExtras(join(dir, file));
    expectAccepted(extras);
    for (const extra of extras) expect(parseMediaExtra(extra).source).toMatchObject({ container, track_id: expect.any(Number) });
    if (container === 'mpegts') expect(parseMediaExtra(extras[0] as Record<string, unknown>).dts_derived).toBe('presentation_order');
  });
});

describe('malformed fields and unknown keys', () => {
  const good = {
    media_codec: 'avc',
    source: { container: 'mp4', index: 0 },
    video: { width: 160, height: 90, rotation: 0, displayWidth: 160, displayHeight: 90 },
    mp4: { track_id: 1, movie_timescale: 1000, edits: [{ segment_duration: 1000, media_time: 0, rate: 1, rate_fraction: 0 }] },
    matroska: { flags: { default: 1, forced: 0 }, discard_padding: { '960': 6500000 }, block_groups: [0, 960] },
  };

  it('keeps unknown keys at every level', () => {
    const extra = {
      ...good,
      vendor: { x: [1, 'two'] },
      video: { ...good.video, hdr: 'yes' },
      mp4: { ...good.mp4, edits: [{ ...good.mp4.edits[0], note: 1 }] },
    };
    const { extra: parsed, dropped } = checkMediaExtra(extra);
    expect(dropped).toEqual([]);
    expect(parsed).toEqual(extra);
    expect(parsed.vendor).toEqual({ x: [1, 'two'] });
    expect(parsed.video?.hdr).toBe('yes');
  });

  it('drops a field of the wrong type and keeps the rest', () => {
    const extra = {
      ...good,
      media_codec: 7,
      video: { ...good.video, width: 'wide', rotation: 45 },
      matroska: { ...good.matroska, flags: { default: 1, forced: 'no' } },
    };
    const before = structuredClone(extra);
    const { extra: parsed, dropped } = checkMediaExtra(extra);
    expect(extra).toEqual(before);
    expect(dropped.sort()).toEqual(['matroska.flags.forced', 'media_codec', 'video.rotation', 'video.width']);
    expect(parsed.media_codec).toBeUndefined();
    expect(parsed.video).toEqual({ height: 90, displayWidth: 160, displayHeight: 90 });
    expect(parsed.matroska?.flags).toEqual({ default: 1 });
    expect(parsed.mp4).toEqual(good.mp4);
  });

  it('drops a list with a malformed entry whole, and an object that is not one', () => {
    const extra = {
      ...good,
      source: 'mp4',
      mp4: { ...good.mp4, edits: [good.mp4.edits[0], { segment_duration: 5 }, { segment_duration: -1, media_time: 'x' }] },
      matroska: { ...good.matroska, block_groups: [0, '960'], discard_padding: { '960': 'a lot', '1920': 1 } },
    };
    const { extra: parsed, dropped } = checkMediaExtra(extra);
    expect(dropped.sort()).toEqual(['matroska.block_groups', 'matroska.discard_padding.960', 'mp4.edits', 'source']);
    expect(parsed.source).toBeUndefined();
    expect(parsed.mp4).toEqual({ track_id: 1, movie_timescale: 1000 });
    expect(parsed.matroska).toEqual({ flags: { default: 1, forced: 0 }, discard_padding: { '1920': 1 } });
  });

  it('an extra that is not a media track parses to nothing known', () => {
    expect(parseMediaExtra({ schema: 'h4mk.controls/1', controls: [] })).toEqual({ schema: 'h4mk.controls/1', controls: [] });
  });

  it.skipIf(SKIP_FFMPEG)('export ignores malformed fields of a foreign container', async () => {
    requireFfmpeg();
    // A container written by another tool: the blocks of an import, the extra damaged.
    const imported = join(dir, 'foreign-src.h4mk');
    await importMedia(join(FIXTURES, 'h264-aac.mp4'), await FileSink.create(imported));
    const src = await FileSource.open(imported);
    const foreign = join(dir, 'foreign.h4mk');
    try {
      const r = await H4mkReader.open(src);
      const w = await H4mkWriter.create(await FileSink.create(foreign));
      const index = new Map<number, number>();
      for (const t of r.tracks()) {
        const mp4 = t.extra.mp4 as Record<string, unknown>;
        const damaged = {
          ...t.extra,
          source: 3,
          disposition: 'default',
          ...(t.kind === 'audio' ? { audio: { sample_rate: '48000', channels: 2 } } : {}),
          mp4: { ...mp4, movie_timescale: -5, edits: 'none', matrix: [1, 2] },
        };
        index.set(
          t.number,
          w.addTrack({ id: t.id, kind: t.kind, codec: t.codec, config: t.config, timescale: t.timescale, name: t.name, language: t.language, extra: damaged }),
        );
      }
      for await (const b of r.blocks({})) {
        const block = b as Block;
        await w.writeBlock({
          track: index.get(block.trackNumber) as number,
          pts: block.pts,
          dts: block.dts,
          duration: block.duration,
          keyframe: block.keyframe,
          payload: block.payload,
        });
      }
      await w.finish();
    } finally {
      await src.close();
    }
    const fr = await FileSource.open(foreign);
    try {
      const r = await H4mkReader.open(fr);
      for (const t of r.tracks())
        expect(checkMediaExtra(t.extra).dropped).toEqual(expect.arrayContaining(['source', 'disposition', 'mp4.movie_timescale', 'mp4.edits', 'mp4.matrix']));
      const summary = await exportMedia(r, join(dir, 'foreign.mp4'));
      expect(summary.tracks.map((t) => t.blocks)).toEqual(r.tracks().map((t) => t.blockCount));
    } finally {
      await fr.close();
    }
  });
});
