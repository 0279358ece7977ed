/**
 * CLI transcript tests: spawn `node dist/cli/main.js …` (built by `npm test`)
 * and check stdout, stderr and exit codes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Output, colorAllowed } from '../src/cli/output.js';
import { startProgress } from '../src/cli/progress.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const VERBS = ['pack', 'import', 'export', 'manifest', 'seek', 'range', 'block', 'verify', 'dump', 'demo'];

type Run = { code: number | null; stdout: string; stderr: string; bytes: Buffer };

function h4mk(args: string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    input: options.input ?? '',
    env: options.env ?? { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), bytes: r.stdout };
}

/** Runs with --json and parses stdout, which must be exactly one JSON document. */
function h4mkJson(args: string[], options: { input?: string | Buffer } = {}): Run & { json: Record<string, unknown> } {
  const r = h4mk([...args, '--json'], options);
  return { ...r, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

/** stderr of a failed run: one `h4mk: error:` line, optionally one hint line, nothing else. */
function expectOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^h4mk: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines.length).toBeLessThanOrEqual(2);
  if (lines[1] !== undefined) expect(lines[1]).toMatch(/^h4mk: hint: /);
}

type Block = { track: string; pts_us: number; keyframe: boolean; kind?: string; payload: Buffer };

let dir: string;
let ndjson: string;
/** Blocks in file order: index = core_index. */
const blocks: Block[] = [];

/** A deterministic multitrack input: video with I/P/B (reordered), 48 kHz audio, JSON control. */
function makeInput(): string {
  const lines: string[] = [
    JSON.stringify({ track: { id: 'video_main', kind: 'video', codec: 'opaque', timescale: 90000, config_b64: Buffer.from('cfg').toString('base64') } }),
    JSON.stringify({ track: { id: 'audio_main', kind: 'audio', codec: 'opaque', timescale: 48000, language: 'en' } }),
    JSON.stringify({ track: { id: 'control', kind: 'control', codec: 'json' } }),
  ];
  type Entry = { dtsUs: number; line: Record<string, unknown>; block: Block };
  const entries: Entry[] = [];
  // 90 frames at 30 fps, GOP 30: display I B B P B B P …; decode order sends each anchor before its Bs.
  const kindOf = (i: number) => (i % 30 === 0 ? 'I' : i % 3 === 0 || i % 30 === 29 ? 'P' : 'B');
  const order: number[] = [];
  let pending: number[] = [];
  for (let i = 0; i < 90; i++) {
    if (kindOf(i) === 'B') pending.push(i);
    else {
      order.push(i, ...pending);
      pending = [];
    }
  }
  order.forEach((display, d) => {
    const kind = kindOf(display);
    const payload = Buffer.alloc(400 + (display % 7) * 50, `frame ${display} ${kind} `);
    const pts = display * 3000;
    const dts = (d - 1) * 3000;
    const line = { track: 'video_main', pts, dts, duration: 3000, keyframe: kind === 'I', kind, payload_b64: payload.toString('base64') };
    entries.push({
      dtsUs: (dts * 1e6) / 90000,
      line,
      block: { track: 'video_main', pts_us: Math.floor((pts * 1e6) / 90000), keyframe: kind === 'I', kind, payload },
    });
  });
  for (let k = 0; k < 141; k++) {
    const payload = Buffer.from(Array.from({ length: 64 }, (_, i) => (k * 31 + i * 17) & 0xff));
    const line = { track: 'audio_main', pts: k * 1024, duration: 1024, keyframe: true, payload_b64: payload.toString('base64') };
    entries.push({
      dtsUs: (k * 1024 * 1e6) / 48000,
      line,
      block: { track: 'audio_main', pts_us: Math.floor((k * 1024 * 1e6) / 48000), keyframe: true, payload },
    });
  }
  for (let k = 0; k < 30; k++) {
    const payload = Buffer.from(JSON.stringify({ pan: k, tilt: -k }));
    const line = { track: 'control', pts_us: k * 100000, keyframe: true, payload_file: `control-${k}.json` };
    writeFileSync(join(dir, `control-${k}.json`), payload);
    entries.push({ dtsUs: k * 100000, line, block: { track: 'control', pts_us: k * 100000, keyframe: true, payload } });
  }
  entries.sort((a, b) => a.dtsUs - b.dtsUs);
  for (const e of entries) {
    lines.push(JSON.stringify(e.line));
    blocks.push(e.block);
  }
  return `${lines.join('\n')}\n`;
}

/** Flips one bit of the stored payload of block `coreIndex` in a copy of `source`; returns the copy's path. */
function corruptBlock(source: string, coreIndex: number, target: string): string {
  const { json } = h4mkJson(['block', source, '--index', String(coreIndex)]);
  const bytes = readFileSync(join(dir, source));
  // CORE chunk: 8-byte chunk header, 36-byte block header, then the stored payload.
  bytes[(json.offset as number) + 8 + 36 + 3] ^= 0x10;
  writeFileSync(join(dir, target), bytes);
  return target;
}

beforeAll(() => {
  expect(existsSync(MAIN), 'run `npm run build` first').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'h4mk-cli-test-'));
  ndjson = makeInput();
  writeFileSync(join(dir, 'blocks.ndjson'), ndjson);
  // Version 1: the block, verify and dump tests below edit and expect CORE and BIDX chunks (v2 CLI checks: test/format-v2.test.ts).
  const r = h4mk(['pack', 'blocks.ndjson', '-o', 'zstd.h4mk', '--compress', 'zstd', '--format-version', '1', '--meta', '{"title":"cli test"}']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  writeFileSync(join(dir, 'junk.bin'), 'not a container at all, but long enough to have a header and a footer');
  corruptBlock('zstd.h4mk', 42, 'flipped.h4mk');
});

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('program', () => {
  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = h4mk(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('--help works on every verb', () => {
    for (const verb of VERBS) {
      const r = h4mk([verb, '--help']);
      expect(r.code, verb).toBe(0);
      expect(r.stdout, verb).toContain(`Usage: h4mk ${verb}`);
      expect(r.stdout, verb).toContain('--json');
    }
  });

  it('usage errors exit 2 with one error line and a hint', () => {
    const unknownOption = h4mk(['manifest', 'zstd.h4mk', '--bogus']);
    expect(unknownOption.code).toBe(2);
    expectOneLineError(unknownOption.stderr, /unknown option '--bogus'/);
    const typo = h4mk(['mainfest', 'zstd.h4mk']);
    expect(typo.code).toBe(2);
    expectOneLineError(typo.stderr, /unknown command 'mainfest'/);
    expect(typo.stderr).toContain('h4mk: hint: Did you mean manifest?');
    const badValue = h4mk(['block', 'zstd.h4mk', '--index', 'x']);
    expect(badValue.code).toBe(2);
    expectOneLineError(badValue.stderr, /--index/);
    expect(h4mk([]).code).toBe(2);
    const missing = h4mk(['pack', 'blocks.ndjson']);
    expect(missing.code).toBe(2);
    expectOneLineError(missing.stderr, /required option '-o, --output <file>'/);
  });

  it('a stack trace appears only with --debug', () => {
    const plain = h4mk(['manifest', 'junk.bin']);
    expect(plain.code).toBe(2);
    expectOneLineError(plain.stderr, /E_MAGIC/);
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    const debug = h4mk(['manifest', 'junk.bin', '--debug']);
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/^h4mk: error: E_MAGIC/);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('errors under --json still print exactly one JSON document', () => {
    const r = h4mkJson(['manifest', 'junk.bin']);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, exit_code: 2, error: { code: 'E_MAGIC', offset: 0 } });
    const usage = h4mkJson(['seek', 'zstd.h4mk', '--track', 'video_main']);
    expect(usage.code).toBe(2);
    expect(usage.json).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
  });

  it('a missing file is an input error (exit 2) naming the path', () => {
    const r = h4mk(['verify', 'does-not-exist.h4mk']);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, /does-not-exist\.h4mk: no such file or directory/);
  });

  it('prints no ANSI color when output is not a terminal, even without NO_COLOR', () => {
    const env = { ...process.env };
    delete env.NO_COLOR;
    delete env.FORCE_COLOR;
    const r = h4mk(['verify', 'flipped.h4mk'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAILED');
    expect(`${r.stdout}${r.stderr}`).not.toContain('\u001b[');
  });

  it('colors only a terminal, and never under NO_COLOR; progress only on a terminal', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (s: string | Uint8Array) => written.push(String(s)) > 0 };
    expect(colorAllowed(tty, {})).toBe(true);
    expect(colorAllowed(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorAllowed({ ...tty, isTTY: false }, {})).toBe(false);
    new Output(tty, tty, {}).error('boom');
    expect(written.join('')).toBe('h4mk: \u001b[31merror:\u001b[39m boom\n');
    written.length = 0;
    new Output(tty, tty, { NO_COLOR: '1' }).error('boom\nsecond line');
    expect(written.join('')).toBe('h4mk: error: boom second line\n');
    written.length = 0;
    startProgress('work', 10, 'items', { ...tty, isTTY: false }).stop();
    expect(written).toEqual([]);
  });
});

describe('pack', () => {
  it('prints a JSON summary and writes a container the manifest describes', () => {
    const r = h4mkJson(['pack', 'blocks.ndjson', '-o', 'summary.h4mk', '--compress', 'zstd']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, output: 'summary.h4mk', tracks: 3, blocks: blocks.length, layout: 'tail', compression: 'zstd' });
    expect(typeof r.json.seconds).toBe('number');
    expect(r.json.bytes).toBe(readFileSync(join(dir, 'summary.h4mk')).length);
    const m = h4mkJson(['manifest', 'summary.h4mk']).json;
    expect(m.chain_head).toBe(r.json.chain_head);
  });

  it('reads NDJSON from stdin with "-" and writes the same bytes as from a file', () => {
    const r = h4mk(['pack', '-', '-o', 'stdin.h4mk', '--compress', 'zstd', '--format-version', '1', '--meta', '{"title":"cli test"}'], {
      input: ndjson.replaceAll('control-', `${dir}/control-`),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'stdin.h4mk')).equals(readFileSync(join(dir, 'zstd.h4mk')))).toBe(true);
  });

  it('a bad line is exit 2 naming the line; nothing appears at the output path', () => {
    const lines = ndjson.split('\n');
    lines.splice(10, 0, '{"track":"video_main","pts_us":1,"payload_b64":"not base64!"}');
    writeFileSync(join(dir, 'bad.ndjson'), lines.join('\n'));
    const before = readdirSync(dir).sort();
    const r = h4mk(['pack', 'bad.ndjson', '-o', 'bad.h4mk']);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, /^h4mk: error: bad\.ndjson:11: "payload_b64" is not valid base64/);
    expect(existsSync(join(dir, 'bad.h4mk'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('a failing pack leaves an existing output file untouched, with --force too', () => {
    writeFileSync(join(dir, 'existing.h4mk'), 'precious');
    writeFileSync(join(dir, 'notkey.ndjson'), '{"track":{"id":"v","kind":"video"}}\n{"track":"v","pts_us":0,"keyframe":false,"payload_b64":"AAEC"}\n');
    const refused = h4mk(['pack', 'notkey.ndjson', '-o', 'existing.h4mk']);
    expect(refused.code).toBe(2);
    expectOneLineError(refused.stderr, /existing\.h4mk exists; refusing to replace it/);
    const r = h4mk(['pack', 'notkey.ndjson', '-o', 'existing.h4mk', '--force']);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, /notkey\.ndjson:2: the first block of track v must be a keyframe/);
    expect(readFileSync(join(dir, 'existing.h4mk'), 'utf8')).toBe('precious');
    expect(readdirSync(dir).filter((f) => f.includes('existing.h4mk'))).toEqual(['existing.h4mk']);
  });

  it('rejects unknown keys, undeclared tracks and inexact µs timestamps with the line number', () => {
    const cases: [string, RegExp][] = [
      ['{"track":{"id":"v","kind":"video","colour":"red"}}', /x\.ndjson:1: unknown key "colour" in track/],
      ['{"track":"nope","pts_us":0,"keyframe":true,"payload_b64":""}', /x\.ndjson:1: unknown track "nope"/],
      ['{"track":{"id":"v","kind":"video","timescale":90000}}\n{"track":"v","pts_us":1,"keyframe":true,"payload_b64":""}', /x\.ndjson:2: .*not a whole number/],
      [
        '{"track":{"id":"v","kind":"video"}}\n\n{"track":"v","pts_us":0,"keyframe":true,"payload_file":"absent.bin"}',
        /x\.ndjson:3: payload_file "absent\.bin": no such file/,
      ],
    ];
    for (const [text, pattern] of cases) {
      writeFileSync(join(dir, 'x.ndjson'), text);
      const r = h4mk(['pack', 'x.ndjson', '-o', 'x.h4mk']);
      expect(r.code, text).toBe(2);
      expectOneLineError(r.stderr, pattern);
      expect(existsSync(join(dir, 'x.h4mk'))).toBe(false);
    }
  });

  it('--faststart puts the index after the header; the container verifies', () => {
    expect(h4mk(['pack', 'blocks.ndjson', '-o', 'fast.h4mk', '--faststart', '--compress', 'brotli']).code).toBe(0);
    const m = h4mkJson(['manifest', 'fast.h4mk']).json;
    expect(m.layout).toBe('faststart');
    expect(m.index_offset).toBe(32);
    expect(h4mk(['verify', 'fast.h4mk']).code).toBe(0);
  });
});

describe('manifest', () => {
  it('lists tracks with counts, timing, bytes and the container facts', () => {
    const r = h4mkJson(['manifest', 'zstd.h4mk']);
    expect(r.code).toBe(0);
    const m = r.json;
    expect(m).toMatchObject({ layout: 'tail', block_count: blocks.length, meta: { title: 'cli test' }, safe: { policy: 'transport_only' }, format_version: 1 });
    expect(m.file_size).toBe(readFileSync(join(dir, 'zstd.h4mk')).length);
    expect(m.chain_head).toMatch(/^[0-9a-f]{64}$/);
    const tracks = m.tracks as Record<string, unknown>[];
    expect(tracks.map((t) => t.id)).toEqual(['video_main', 'audio_main', 'control']);
    const video = tracks[0] as Record<string, unknown>;
    expect(video).toMatchObject({
      kind: 'video',
      block_count: 90,
      keyframe_count: 3,
      first_pts_us: 0,
      last_pts_us: 2966666,
      duration_us: 3000000,
      timescale: 90000,
      compression: 'zstd',
    });
    expect(video.config_b64).toBe(Buffer.from('cfg').toString('base64'));
    expect(video.original_bytes).toBe(blocks.filter((b) => b.track === 'video_main').reduce((n, b) => n + b.payload.length, 0));
    expect(video.stored_bytes as number).toBeLessThan(video.original_bytes as number);
    expect(tracks[1]).toMatchObject({ block_count: 141, keyframe_count: 141, language: 'en', timescale: 48000 });
    expect(tracks[2]).toMatchObject({ block_count: 30, duration_us: 2900000 });
  });

  it('prints text by default, without the raw codec configuration', () => {
    const r = h4mk(['manifest', 'zstd.h4mk']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('video_main');
    expect(r.stdout).toContain('transport_only');
    expect(r.stdout).toContain('codec config 3 bytes');
    expect(r.stdout).not.toContain('cfg');
  });
});

describe('seek', () => {
  /** The last keyframe of `track` with pts ≤ target, by brute force over the input. */
  function expected(track: string, targetUs: number): number {
    let best = -1;
    blocks.forEach((b, i) => {
      if (b.track === track && b.keyframe && b.pts_us <= targetUs) best = i;
    });
    return best;
  }

  it('answers the keyframe to start decoding at, with --pts-us and the seed spelling --pts_us', () => {
    for (const target of [0, 999_999, 1_000_000, 1_500_000, 2_999_999, 50_000_000]) {
      const a = h4mkJson(['seek', 'zstd.h4mk', '--track', 'video_main', '--pts-us', String(target)]);
      const b = h4mkJson(['seek', 'zstd.h4mk', '--track', 'video_main', '--pts_us', String(target)]);
      expect(a.code).toBe(0);
      expect(b.json).toEqual(a.json);
      const core = expected('video_main', target);
      expect(a.json).toMatchObject({ found: true, core_index: core, pts_us: blocks[core]?.pts_us, track: 'video_main' });
      const span = a.json.span as Record<string, number>;
      expect(span.from_core_index).toBe(core);
      expect(span.length).toBeGreaterThan(0);
    }
  });

  it('a target before the first keyframe gives the first keyframe (exit 0)', () => {
    const r = h4mkJson(['seek', 'zstd.h4mk', '--track', 'audio_main', '--pts-us', '-1']);
    expect(r.code).toBe(0);
    const first = blocks.findIndex((b) => b.track === 'audio_main' && b.keyframe);
    expect(r.json).toMatchObject({ track: 'audio_main', found: true, target_pts_us: -1, core_index: first, pts_us: 0 });
    expect(r.stderr).toBe('');
  });

  it('MKV-like video from 21 ms: --pts-us 0 gives its first keyframe; a track without keyframes is exit 4', () => {
    const lines = [
      { track: { id: 'video', kind: 'video', codec: 'opaque', timescale: 1000 } },
      { track: { id: 'audio', kind: 'audio', codec: 'opaque', timescale: 1000 } },
      { track: { id: 'subs', kind: 'subtitle', codec: 'opaque', timescale: 1000 } },
    ];
    const body: Record<string, unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      body.push({ track: 'audio', pts: Math.floor(i * 21.333), keyframe: true, payload_b64: 'AQI=' });
      body.push({ track: 'video', pts: 21 + i * 40, keyframe: i % 25 === 0, payload_b64: 'AwQ=' });
    }
    writeFileSync(join(dir, 'mkv-like.ndjson'), `${[...lines, ...body].map((l) => JSON.stringify(l)).join('\n')}\n`);
    expect(h4mk(['pack', 'mkv-like.ndjson', '-o', 'mkv-like.h4mk']).code).toBe(0);
    const r = h4mkJson(['seek', 'mkv-like.h4mk', '--track', 'video', '--pts-us', '0']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ track: 'video', target_pts_us: 0, found: true, core_index: 1, pts_us: 21_000, pts: 21 });
    const text = h4mk(['seek', 'mkv-like.h4mk', '--track', 'video', '--pts-us', '0']);
    expect(text.stdout).toMatch(/^video: start decoding at core_index 1 \(keyframe pts 21000 µs, the first: 0 µs is before the track starts\)/);
    const empty = h4mkJson(['seek', 'mkv-like.h4mk', '--track', 'subs', '--pts-us', '0']);
    expect(empty.code).toBe(4);
    expect(empty.json).toEqual({ track: 'subs', target_pts_us: 0, found: false });
    expectOneLineError(empty.stderr, /no keyframe in track subs/);
    const all = h4mk(['seek', 'mkv-like.h4mk', '--all', '--pts-us', '0']);
    expect(all.code).toBe(4);
    expect(all.stdout).toMatch(/^video: start decoding at core_index 1 /);
    expectOneLineError(all.stderr, /no keyframe in track subs: it is empty or holds no keyframe/);
  });

  it('--all seeks every track', () => {
    const r = h4mkJson(['seek', 'zstd.h4mk', '--all', '--pts-us', '1234567']);
    expect(r.code).toBe(0);
    const tracks = r.json.tracks as Record<string, unknown>[];
    expect(tracks.map((t) => [t.track, t.core_index])).toEqual(['video_main', 'audio_main', 'control'].map((id) => [id, expected(id, 1_234_567)]));
  });

  it('needs exactly one of --track and --all, and a known track', () => {
    expect(h4mk(['seek', 'zstd.h4mk', '--pts-us', '0']).code).toBe(2);
    expect(h4mk(['seek', 'zstd.h4mk', '--all', '--track', 'control', '--pts-us', '0']).code).toBe(2);
    const unknown = h4mk(['seek', 'zstd.h4mk', '--track', 'nope', '--pts-us', '0']);
    expect(unknown.code).toBe(2);
    expectOneLineError(unknown.stderr, /unknown track "nope"/);
  });
});

describe('range', () => {
  it('lists the blocks with from ≤ pts < to in file order', () => {
    const r = h4mkJson(['range', 'zstd.h4mk', '--from-us', '500000', '--to-us', '1000000']);
    expect(r.code).toBe(0);
    const got = (r.json.blocks as Record<string, unknown>[]).map((b) => b.core_index);
    const want = blocks.flatMap((b, i) => (b.pts_us >= 500_000 && b.pts_us < 1_000_000 ? [i] : []));
    expect(got).toEqual(want);
    expect(r.json.count).toBe(want.length);
    const first = (r.json.blocks as Record<string, unknown>[])[0];
    expect(first).toHaveProperty('dts_us');
    expect(first).toHaveProperty('stored_length');
  });

  it('filters by repeated --track and --keyframes-only; --ndjson prints one object per line', () => {
    const r = h4mkJson(['range', 'zstd.h4mk', '--track', 'video_main', '--track', 'control', '--keyframes-only']);
    const got = (r.json.blocks as Record<string, unknown>[]).map((b) => b.core_index);
    expect(got).toEqual(blocks.flatMap((b, i) => (b.keyframe && b.track !== 'audio_main' ? [i] : [])));
    const lines = h4mk(['range', 'zstd.h4mk', '--ndjson', '--track', 'video_main']).stdout.trim().split('\n');
    expect(lines).toHaveLength(90);
    expect((JSON.parse(lines[1] as string) as Record<string, unknown>).kind).toBe(blocks[1]?.kind);
  });

  it('rejects from > to', () => {
    expect(h4mk(['range', 'zstd.h4mk', '--from-us', '5', '--to-us', '4']).code).toBe(2);
  });
});

describe('block', () => {
  const video = () => blocks.findIndex((b) => b.track === 'video_main' && b.payload.length > 500);

  it('writes the decompressed payload to stdout; --raw gives the different stored bytes', () => {
    const i = video();
    const plain = h4mk(['block', 'zstd.h4mk', '--index', String(i)]);
    expect(plain.code).toBe(0);
    expect(plain.bytes.equals(blocks[i]?.payload as Buffer)).toBe(true);
    const raw = h4mk(['block', 'zstd.h4mk', '--index', String(i), '--raw']);
    expect(raw.code).toBe(0);
    expect(raw.bytes.equals(plain.bytes)).toBe(false);
    expect(raw.bytes.length).toBeLessThan(plain.bytes.length);
    expect(raw.bytes.subarray(0, 4).toString('hex')).toBe('28b52ffd'); // zstd frame magic
  });

  it('--json prints metadata with the payload in base64; -o writes a file', () => {
    const i = video();
    const r = h4mkJson(['block', 'zstd.h4mk', '--index', String(i)]);
    expect(r.json).toMatchObject({ core_index: i, track: 'video_main', compression: 'zstd', raw: false, original_length: blocks[i]?.payload.length });
    expect(Buffer.from(r.json.payload_b64 as string, 'base64').equals(blocks[i]?.payload as Buffer)).toBe(true);
    const o = h4mk(['block', 'zstd.h4mk', '--index', String(i), '-o', 'payload.bin']);
    expect(o.code).toBe(0);
    expect(readFileSync(join(dir, 'payload.bin')).equals(blocks[i]?.payload as Buffer)).toBe(true);
  });

  it('an index out of range is exit 2; a damaged block is exit 1', () => {
    const out = h4mk(['block', 'zstd.h4mk', '--index', String(blocks.length)]);
    expect(out.code).toBe(2);
    expectOneLineError(out.stderr, /out of range/);
    corruptBlock('zstd.h4mk', 7, 'damaged-block.h4mk');
    const damaged = h4mk(['block', 'damaged-block.h4mk', '--index', '7']);
    expect(damaged.code).toBe(1);
    expectOneLineError(damaged.stderr, /E_CHECKSUM.*block 7/);
  });
});

describe('verify', () => {
  it('passes an intact container', () => {
    const r = h4mkJson(['verify', 'zstd.h4mk']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, block_count: blocks.length, blocks_checked: blocks.length, failed_blocks: [] });
  });

  it('a flipped payload byte is exit 1 and lists that core_index', () => {
    const r = h4mkJson(['verify', 'flipped.h4mk']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, failed_blocks: [42] });
    const text = h4mk(['verify', 'flipped.h4mk']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('failed core_index: 42');
    expectOneLineError(text.stderr, /verification failed: .*damaged core_index: 42$/);
  });

  it('a file that cannot be opened is a verification failure with code and offset', () => {
    const r = h4mkJson(['verify', 'junk.bin']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, opened: false, failures: [{ code: 'E_MAGIC', offset: 0 }] });
    const bytes = readFileSync(join(dir, 'zstd.h4mk'));
    writeFileSync(join(dir, 'truncated.h4mk'), bytes.subarray(0, bytes.length - 10));
    const t = h4mk(['verify', 'truncated.h4mk']);
    expect(t.code).toBe(1);
    expectOneLineError(t.stderr, /truncated\.h4mk: E_[A-Z]+: .*offset \d+/);
  });
});

describe('dump', () => {
  it('lists the header, every CORE chunk in order, BIDX tables and the footer', () => {
    const r = h4mkJson(['dump', 'zstd.h4mk']);
    expect(r.code).toBe(0);
    const chunks = r.json.chunks as Record<string, unknown>[];
    expect(chunks[0]).toMatchObject({ type: 'header', offset: 0, ok: true, header: { layout: 'tail' } });
    const cores = chunks.filter((c) => c.type === 'CORE');
    expect(cores.map((c) => (c.core as Record<string, unknown>).core_index)).toEqual(blocks.map((_, i) => i));
    expect(cores.every((c) => c.crc_ok === true)).toBe(true);
    const bidx = chunks.filter((c) => c.type === 'BIDX').map((c) => (c.bidx as Record<string, number>).block_count);
    expect(bidx.reduce((a, b) => a + b, 0)).toBe(blocks.length);
    expect(chunks.at(-1)).toMatchObject({ type: 'FOOT', crc_ok: true });
    // Offsets chain: each chunk starts where the previous one ends.
    for (let i = 2; i < chunks.length; i++) {
      const prev = chunks[i - 1] as Record<string, number>;
      expect((chunks[i] as Record<string, number>).offset).toBe(prev.offset + 12 + prev.payload_length);
    }
    const text = h4mk(['dump', 'zstd.h4mk']);
    expect(text.stdout.split('\n').filter((l) => / CORE ok core_index \d+/.test(l))).toHaveLength(blocks.length);
  });

  it('marks a chunk with a bad CRC and exits 1', () => {
    const r = h4mkJson(['dump', 'flipped.h4mk']);
    expect(r.code).toBe(1);
    const bad = (r.json.chunks as Record<string, unknown>[]).filter((c) => c.crc_ok === false);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ type: 'CORE', core: { core_index: 42 }, error: { code: 'E_CHECKSUM' } });
  });

  it('stops with a typed damage entry at a length running past the end of the file', () => {
    const bytes = readFileSync(join(dir, 'zstd.h4mk'));
    const huge = Buffer.from(bytes.subarray(0, 32 + 8));
    huge.writeUInt32LE(0xffff_fff0, 32 + 4); // first chunk declares ~4 GiB
    writeFileSync(join(dir, 'huge.h4mk'), huge);
    const r = h4mkJson(['dump', 'huge.h4mk']);
    expect(r.code).toBe(1);
    const chunks = r.json.chunks as Record<string, unknown>[];
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toMatchObject({ type: 'damage', offset: 32, error: { code: 'E_TRUNCATED', offset: 32 } });
  });
});

describe('demo', () => {
  it('imports the embedded clip, adds camera controls, verifies, prints the manifest with GOP statistics; exit 0', () => {
    const r = h4mkJson(['demo', '--out', join(dir, 'demo')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      verify: { ok: true, failed_blocks: [] },
      pack: { compression: 'zstd', layout: 'tail' },
      import: { format: 'mp4' },
    });
    const manifest = r.json.manifest as Record<string, unknown>;
    const tracks = manifest.tracks as Record<string, unknown>[];
    expect(tracks.map((t) => t.kind)).toEqual(['video', 'audio', 'control']);
    expect(tracks[0]).toMatchObject({
      codec: expect.stringMatching(/^avc1\./),
      keyframe_count: 2,
      duration_us: 4_000_000,
      gop: { keyframes: 2, max_us: 2_000_000, max_frames: 50 },
    });
    expect(tracks[1]).toMatchObject({ codec: 'mp4a.40.2', timescale: 48000 });
    expect(manifest.safe).toMatchObject({ policy: 'transport_only', controls: { identity_fields: 'rejected' } });
    expect(existsSync(join(dir, 'demo', 'demo.h4mk'))).toBe(true);
    const frames = h4mkJson(['range', join(dir, 'demo', 'demo.h4mk'), '--track', 'video_0', '--to-us', '2000000']).json.blocks as Record<string, unknown>[];
    expect(new Set(frames.map((f) => f.kind))).toEqual(new Set(['I', 'P', 'B']));
    expect(frames.some((f) => f.pts_us !== f.dts_us)).toBe(true);
    const control = h4mk([
      'block',
      join(dir, 'demo', 'demo.h4mk'),
      '--index',
      String(h4mkJson(['seek', join(dir, 'demo', 'demo.h4mk'), '--track', 'camera_control', '--pts-us', '0']).json.core_index),
    ]);
    expect(JSON.parse(control.stdout)).toMatchObject({ control: expect.stringMatching(/^(pan|tilt|zoom)$/), t_us: 0 });
    const text = h4mk(['demo', '--out', join(dir, 'demo-text')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('GOP 2 keyframes');
  });
});
