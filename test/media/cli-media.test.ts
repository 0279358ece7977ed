/**
 * CLI transcripts of the media verbs: `import`, `export`, `controls add/show`.
 * Spawns `node dist/cli/main.js` (built by `npm test`). Failures print one
 * `h4mk: error:` line (and at most one hint), exit 2, and write nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './ffmpeg.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
let dir: string;

type Run = { code: number | null; stdout: string; stderr: string };
function h4mk(args: string[]): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
function json(args: string[]): Record<string, unknown> {
  const r = h4mk([...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}
function expectOneLineError(r: Run, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^h4mk: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines.length).toBeLessThanOrEqual(2);
  if (lines[1] !== undefined) expect(lines[1]).toMatch(/^h4mk: hint: /);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h4mk-cli-media-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('import', () => {
  it('prints a summary: tracks, blocks, bytes, seconds', () => {
    const r = h4mk(['import', join(FIXTURES, 'multi.mkv'), '-o', 'multi.h4mk']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      /^imported .*multi\.mkv \(matroska, 39311 bytes\) into multi\.h4mk: 4 tracks, 236 blocks, 36721 payload bytes, \d+ bytes written, in [\d.]+ s\n/,
    );
    expect(r.stdout).toMatch(/subtitle_0\s+subtitle\s+srt\s+2 blocks/);
    const j = json(['import', join(FIXTURES, 'h264-aac.mp4'), '-o', 'a.h4mk', '--compress', 'zstd', '--meta', '{"title":"x"}']);
    expect(j).toMatchObject({ ok: true, format: 'mp4', blocks: 145, source_bytes: 34260, container: { compression: 'zstd', blocks: 145 } });
    expect(j.tracks).toEqual([
      { id: 'video_0', kind: 'video', codec: expect.stringMatching(/^avc1\./), timescale: 12800, blocks: 50, bytes: 19273, source_index: 0 },
      { id: 'audio_0', kind: 'audio', codec: 'mp4a.40.2', timescale: 48000, blocks: 95, bytes: 12129, source_index: 1 },
    ]);
    expect(json(['manifest', 'a.h4mk']).meta).toEqual({ source: { file: 'h264-aac.mp4', format: 'mp4', bytes: 34260 }, title: 'x' });
  });

  it.each([
    ['garbage', Buffer.from('this is not a media file at all, just text\n'.repeat(20)), /garbage\.bin: not a media file h4mk can import/],
    ['empty', Buffer.alloc(0), /empty\.bin: the file is empty/],
    ['truncated MP4', readFileSync(join(FIXTURES, 'h264-aac.mp4')).subarray(0, 20_000), /truncated-mp4\.bin: the file ends early/],
    ['truncated WebM', readFileSync(join(FIXTURES, 'vp9-opus.webm')).subarray(0, 30_000), /truncated-webm\.bin: the file ends early/],
    ['MP4 without its moov', readFileSync(join(FIXTURES, 'h264-aac.mp4')).subarray(0, 40), /no moov box/],
  ])('%s: one error line, exit 2, nothing written', (label, bytes, pattern) => {
    const name = `${label.replace(/ /g, '-').replace('MP4-without-its-moov', 'nomoov').toLowerCase()}.bin`;
    writeFileSync(join(dir, name), bytes);
    const before = readdirSync(dir).sort();
    expectOneLineError(h4mk(['import', name, '-o', `${name}.h4mk`]), pattern);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('a missing input is exit 2 and writes nothing', () => {
    const before = readdirSync(dir).sort();
    expectOneLineError(h4mk(['import', 'nope.mp4', '-o', 'nope.h4mk']), /nope\.mp4: no such file or directory/);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});

describe('export', () => {
  it('writes MP4/WebM/MKV, narrows tracks, cuts windows at keyframes', () => {
    json(['import', join(FIXTURES, 'long-gop.mkv'), '-o', 'long.h4mk']);
    const whole = json(['export', 'long.h4mk', '-o', 'long.mp4']);
    expect(whole).toMatchObject({ ok: true, format: 'mp4', packets: 240, window: null });
    const cut = json(['export', 'long.h4mk', '-o', 'cut.mkv', '--from-us', '4500000', '--to-us', '6000000', '--track', 'video_0']);
    expect(cut).toMatchObject({ format: 'matroska', packets: 120, window: { from_us: 4_000_000, to_us: null }, tracks: [{ id: 'video_0', packets: 120 }] });
    const text = h4mk(['export', 'multi.h4mk', '-o', 'multi.mp4']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('skipped subtitle_0: srt subtitles are not written to MP4');
  });

  it('refuses what it cannot do, with one line and nothing written', () => {
    const before = readdirSync(dir).sort();
    expectOneLineError(h4mk(['export', 'multi.h4mk', '-o', 'x.avi']), /cannot tell the output format/);
    expectOneLineError(h4mk(['export', 'a.h4mk', '-o', 'x.webm']), /no track of the container can be exported to webm .*not allowed in WebM/);
    expectOneLineError(h4mk(['export', 'a.h4mk', '-o', 'x.mp4', '--track', 'nope']), /unknown track "nope"/);
    expectOneLineError(h4mk(['export', 'a.h4mk', '-o', 'x.mp4', '--from-us', '5', '--to-us', '5']), /window is empty/);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});

describe('controls', () => {
  const controls = [
    { control: 'pan', value: 15, unit: 'deg', t_us: 0, duration_us: 1_000_000, easing: 'ease-in-out' },
    { control: 'dolly', value: 0.5, unit: 'm', t_us: 1_000_000 },
    { control: 'focus', value: 2, unit: 'm', t_us: 1_500_000, easing: 'step' },
  ];

  it('add, then show (text and JSON); SAFE records the policy', () => {
    writeFileSync(join(dir, 'controls.json'), JSON.stringify({ controls }));
    const r = json(['controls', 'add', 'a.h4mk', '--from', 'controls.json', '-o', 'ac.h4mk']);
    expect(r).toMatchObject({ ok: true, track: 'camera_control', controls: 3, blocks: 148 });
    const shown = json(['controls', 'show', 'ac.h4mk']);
    expect(shown).toMatchObject({ track: 'camera_control', count: 3 });
    expect((shown.controls as Record<string, unknown>[]).map((c) => [c.control, c.t_us, c.easing])).toEqual([
      ['pan', 0, 'ease-in-out'],
      ['dolly', 1_000_000, 'linear'],
      ['focus', 1_500_000, 'step'],
    ]);
    const text = h4mk(['controls', 'show', 'ac.h4mk']);
    expect(text.stdout).toContain('camera_control: 3 camera controls');
    expect(text.stdout).toMatch(/0\.000 s\s+pan\s+15 deg\s+over 1\.000 s\s+ease-in-out/);
    expect(json(['manifest', 'ac.h4mk']).safe).toMatchObject({ controls: { identity_fields: 'rejected' } });
    expect(json(['verify', 'ac.h4mk']).ok).toBe(true);
    // The media tracks still export identically after the copy.
    json(['export', 'ac.h4mk', '-o', 'ac.mp4']);
    json(['export', 'a.h4mk', '-o', 'a.mp4']);
    expect(readFileSync(join(dir, 'ac.mp4')).equals(readFileSync(join(dir, 'a.mp4')))).toBe(true);
  });

  it('refuses identity-bearing fields with one clear line; nothing is written', () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify([{ ...controls[0], face_id: 7 }]));
    const before = readdirSync(dir).sort();
    const r = h4mk(['controls', 'add', 'a.h4mk', '--from', 'bad.json', '-o', 'bad.h4mk']);
    expectOneLineError(r, /bad\.json: field "0\.face_id" is identity-bearing and is refused: controls describe the camera, never who is in the frame/);
    writeFileSync(join(dir, 'bad2.json'), JSON.stringify([{ ...controls[0], unit: 'm' }]));
    expectOneLineError(h4mk(['controls', 'add', 'a.h4mk', '--from', 'bad2.json', '-o', 'bad.h4mk']), /bad2\.json\[0\] \(unit\): pan takes deg or rad/);
    expect(
      readdirSync(dir)
        .filter((f) => !f.startsWith('bad'))
        .sort(),
    ).toEqual(before.filter((f) => !f.startsWith('bad')));
    expectOneLineError(h4mk(['controls', 'show', 'a.h4mk']), /no camera-controls track/);
  });

  it('has help for both subcommands', () => {
    for (const sub of ['add', 'show']) {
      const r = h4mk(['controls', sub, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: h4mk controls ${sub}`);
      expect(r.stdout).toContain('--json');
    }
  });
});

describe('streaming import', () => {
  it('keeps peak RSS far below 300 MB on a 256 MiB input (scripts/media-rss.mjs; 2 GiB measured at about 125 MiB)', () => {
    const script = fileURLToPath(new URL('../../scripts/media-rss.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--mib', '256'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const stats = JSON.parse(r.stdout) as { exit: number; peak_rss_mib: number; bytes: number };
    expect(stats.exit).toBe(0);
    expect(stats.bytes).toBeGreaterThan(256 * 1024 * 1024);
    expect(stats.peak_rss_mib).toBeLessThan(300);
  });

  it.skipIf(spawnSync('script', ['--version']).status !== 0)('draws a progress bar on a terminal and clears it before the summary', () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} import ${JSON.stringify(join(FIXTURES, 'long-gop.mkv'))} -o tty.h4mk`;
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: dir, encoding: 'utf8', env: { ...process.env, TERM: 'xterm' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('importing [');
    expect(r.stdout).toMatch(/imported .*long-gop\.mkv \(matroska, 51571 bytes\) into tty\.h4mk: 1 tracks, 240 blocks/);
  });
});
