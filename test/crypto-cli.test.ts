/**
 * CLI transcript tests for encryption, grants and seals (issue 5): keygen,
 * pack --encrypt, block/range/verify with a key, passphrase or grant, grant,
 * seal, verify --pub, manifest. The CLI runs in-process through `run()` with
 * captured streams; every byte it prints is kept, and the last test checks
 * that no key appears anywhere in it.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Output, type OutputStream } from '../src/cli/output.js';
import { createProgram, run } from '../src/cli/program.js';
import { FileSource, type Grant, H4mkReader } from '../src/node.js';

type Run = { code: number; stdout: string; stderr: string };

/** Everything every run printed (stdout and stderr), for the leak check. */
const transcript: string[] = [];
let dir: string;
const path = (name: string) => join(dir, name);

async function h4mk(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const capture = () => {
    const parts: string[] = [];
    const stream: OutputStream = {
      write: (c) => {
        parts.push(typeof c === 'string' ? c : Buffer.from(c).toString('latin1'));
        return true;
      },
      isTTY: false,
    };
    return { stream, text: () => parts.join('') };
  };
  const stdout = capture();
  const stderr = capture();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let code: number;
  try {
    code = await run(['node', 'h4mk', ...args], new Output(stdout.stream, stderr.stream, { NO_COLOR: '1' }));
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const r = { code, stdout: stdout.text(), stderr: stderr.text() };
  transcript.push(`$ h4mk ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  return r;
}

async function h4mkJson(args: string[], env: Record<string, string> = {}): Promise<Run & { json: Record<string, unknown> }> {
  const r = await h4mk([...args, '--json'], env);
  return { ...r, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

function expectOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr
    .trimEnd()
    .split('\n')
    .filter((l) => !l.startsWith('h4mk: warning:'));
  expect(lines[0]).toMatch(/^h4mk: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines.length).toBeLessThanOrEqual(2);
  if (lines[1] !== undefined) expect(lines[1]).toMatch(/^h4mk: hint: /);
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const mode = (file: string) => statSync(file).mode & 0o777;
const PASSPHRASE = 'correct horse battery staple ✓';

/** Payloads by core_index order of the NDJSON (video and audio interleaved). */
const payloads: Buffer[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h4mk-crypto-cli-'));
  const lines = [
    JSON.stringify({ track: { id: 'v', kind: 'video', codec: 'opaque', timescale: 90000 } }),
    JSON.stringify({ track: { id: 'a', kind: 'audio', codec: 'opaque', timescale: 48000 } }),
  ];
  for (let i = 0; i < 90; i++) {
    const v = Buffer.alloc(300 + (i % 5) * 40, `video ${i} `);
    const a = Buffer.from(Array.from({ length: 48 }, (_, k) => (i * 7 + k * 13) & 0xff));
    lines.push(JSON.stringify({ track: 'v', pts: i * 3000, keyframe: i % 15 === 0, payload_b64: v.toString('base64') }));
    lines.push(JSON.stringify({ track: 'a', pts: i * 1600, keyframe: true, payload_b64: a.toString('base64') }));
    payloads.push(v, a);
  }
  writeFileSync(path('in.ndjson'), `${lines.join('\n')}\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keygen', () => {
  it('writes a 32-byte secret key file with mode 0600 and refuses to overwrite it', async () => {
    const r = await h4mk(['keygen', '-o', path('k.key')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(mode(path('k.key'))).toBe(0o600);
    const text = readFileSync(path('k.key'), 'utf8');
    expect(text).toMatch(/^h4mk-secret-v1 [A-Za-z0-9+/]{43}=\n$/);
    expect(Buffer.from(text.split(' ')[1] as string, 'base64')).toHaveLength(32);

    const again = await h4mk(['keygen', '-o', path('k.key')]);
    expect(again.code).toBe(2);
    expectOneLineError(again.stderr, /k\.key exists; refusing to replace it/);
    expect(readFileSync(path('k.key'), 'utf8')).toBe(text);

    const forced = await h4mkJson(['keygen', '-o', path('k2.key')]);
    expect(forced.json).toEqual({ ok: true, kind: 'secret', output: path('k2.key'), bits: 256, mode: '0600' });
    const replaced = await h4mk(['keygen', '-o', path('k2.key'), '--force']);
    expect(replaced.code).toBe(0);
    expect(mode(path('k2.key'))).toBe(0o600);
  });

  it('--sign writes NAME.key (0600) and NAME.pub, and refuses to overwrite either', async () => {
    const r = await h4mkJson(['keygen', '--sign', '-o', path('alice')]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, kind: 'ed25519', private_key: path('alice.key'), public_key: path('alice.pub') });
    expect(r.json.public_key_hex).toMatch(/^[0-9a-f]{64}$/);
    expect(mode(path('alice.key'))).toBe(0o600);
    expect(readFileSync(path('alice.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(path('alice.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const again = await h4mk(['keygen', '--sign', '-o', path('alice')]);
    expect(again.code).toBe(2);
    expectOneLineError(again.stderr, /alice\.key exists/);
    await h4mk(['keygen', '--sign', '-o', path('mallory')]);
  });
});

describe('pack --encrypt, block, range, manifest', () => {
  it('packs with a key file and reads every block back with it', async () => {
    const r = await h4mkJson([
      'pack',
      path('in.ndjson'),
      '-o',
      path('enc.h4mk'),
      '--encrypt',
      '--key-file',
      path('k.key'),
      '--epoch-us',
      '1000000',
      '--compress',
      'zstd',
    ]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, blocks: 180, encrypted: true, aead: 'AES-256-GCM', kdf: 'key-file', epoch_us: 1_000_000 });
    const text = await h4mk(['pack', path('in.ndjson'), '-o', path('enc-text.h4mk'), '--encrypt', '--key-file', path('k.key')]);
    expect(text.stdout).toMatch(/encrypted \(AES-256-GCM, key file, one key per track\)/);

    // Order within each track is kept; file order shifts by at most one block per track.
    const reader = await H4mkReader.open(await FileSource.open(path('enc.h4mk')), { key: { secret: keyOf('k.key') } });
    for (let i = 0; i < reader.blockCount; i++) {
      const b = await reader.readBlock(i);
      const perTrack = b.trackId === 'v' ? Math.round(b.pts / 3000) : Math.round(b.pts / 1600);
      expect(Buffer.from(b.payload).equals(payloads[perTrack * 2 + (b.trackId === 'v' ? 0 : 1)] as Buffer)).toBe(true);
    }
    await reader.close();

    const one = await h4mkJson(['block', path('enc.h4mk'), '--index', '7', '--key-file', path('k.key')]);
    expect(one.code).toBe(0);
    expect(one.json).toMatchObject({ encrypted: true, raw: false });
    const raw = await h4mkJson(['block', path('enc.h4mk'), '--index', '7', '--raw']);
    expect(raw.json.payload_length).toBe((one.json.stored_length as number) + 0);
    const noKey = await h4mk(['block', path('enc.h4mk'), '--index', '7', '-o', path('out.bin')]);
    expect(noKey.code).toBe(2);
    expectOneLineError(noKey.stderr, /E_KEY: block is encrypted; a key or grant is needed/);
    expect(existsSync(path('out.bin'))).toBe(false);
  });

  it('range lists from the index without a key, and authenticates every listed block with one', async () => {
    const plain = await h4mkJson(['range', path('enc.h4mk'), '--from-us', '0', '--to-us', '500000']);
    expect(plain.json).toMatchObject({ authenticated: false, count: 30 });
    const keyed = await h4mkJson(['range', path('enc.h4mk'), '--from-us', '0', '--to-us', '500000', '--key-file', path('k.key')]);
    expect(keyed.json).toMatchObject({ authenticated: true, count: 30 });
    expect((keyed.json.blocks as { authenticated: boolean }[]).every((b) => b.authenticated)).toBe(true);
    const ndjson = await h4mk(['range', path('enc.h4mk'), '--track', 'a', '--ndjson', '--key-file', path('k.key')]);
    const lines = ndjson.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { end_of_track: boolean });
    expect(lines).toHaveLength(90);
    expect(lines.map((l) => l.end_of_track).lastIndexOf(true)).toBe(89);
    expect(lines.filter((l) => l.end_of_track)).toHaveLength(1);
  });

  it('manifest shows encryption and seal parameters, never key material', async () => {
    const m = await h4mkJson(['manifest', path('enc.h4mk')]);
    expect(m.json).toMatchObject({
      encrypted: true,
      encryption: { aead: 'AES-256-GCM', kdf: 'key-file', scrypt: null, epoch_us: 1_000_000, engine_id: '', engine_fp: '' },
      sealed: false,
      seal: null,
    });
    expect(Object.keys(m.json.encryption as object).sort()).toEqual(['aead', 'container_id', 'engine_fp', 'engine_id', 'epoch_us', 'kdf', 'scrypt']);
    const text = await h4mk(['manifest', path('enc.h4mk')]);
    expect(text.stdout).toMatch(/^encryption {2}AES-256-GCM, key file, key epochs of 1000000 µs; container id [0-9a-f]{32}$/m);
    expect(text.stdout).toMatch(/^seal {8}none$/m);
  });
});

describe('passphrases', () => {
  it('are read from an environment variable only, stretched with scrypt, and checked', async () => {
    const env = { H4MK_TEST_PASS: PASSPHRASE };
    const r = await h4mkJson(
      ['pack', path('in.ndjson'), '-o', path('pass.h4mk'), '--encrypt', '--passphrase-env', 'H4MK_TEST_PASS', '--scrypt-log2n', '12'],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ kdf: 'scrypt' });
    const m = await h4mkJson(['manifest', path('pass.h4mk')]);
    expect(m.json.encryption).toMatchObject({ kdf: 'scrypt', scrypt: { log2n: 12, r: 8, p: 1 } });
    const ok = await h4mkJson(['verify', path('pass.h4mk'), '--passphrase-env', 'H4MK_TEST_PASS'], env);
    expect(ok.json).toMatchObject({ ok: true, key: 'passphrase', decrypted_blocks: 180, transcript_checked: true });
    const wrong = await h4mkJson(['verify', path('pass.h4mk'), '--passphrase-env', 'H4MK_TEST_PASS'], { H4MK_TEST_PASS: 'nope' });
    expect(wrong.code).toBe(2);
    expect(wrong.json.error).toMatchObject({ code: 'E_KEY' });
    const keyFile = await h4mk(['verify', path('pass.h4mk'), '--key-file', path('k.key')]);
    expect(keyFile.code).toBe(2);
    expectOneLineError(keyFile.stderr, /encrypted with a passphrase, not a key file/);
    const unset = await h4mk(['block', path('pass.h4mk'), '--index', '0', '--passphrase-env', 'H4MK_TEST_UNSET_VARIABLE']);
    expect(unset.code).toBe(2);
    expectOneLineError(unset.stderr, /environment variable H4MK_TEST_UNSET_VARIABLE is not set/);
    // A passphrase given where a variable name is expected is refused (and not echoed).
    const inline = await h4mk(['pack', path('in.ndjson'), '-o', path('x.h4mk'), '--encrypt', '--passphrase-env', 'two words']);
    expect(inline.code).toBe(2);
    expect(inline.stderr).toMatch(/expected the NAME of an environment variable/);
  });
});

describe('usage and key-file errors', () => {
  it('checks option combinations and key files, without quoting key files', async () => {
    const cases: [string[], RegExp][] = [
      [['pack', path('in.ndjson'), '-o', path('x.h4mk'), '--key-file', path('k.key')], /--key-file needs --encrypt/],
      [['pack', path('in.ndjson'), '-o', path('x.h4mk'), '--encrypt'], /--encrypt needs one of --key-file and --passphrase-env/],
      [['pack', path('in.ndjson'), '-o', path('x.h4mk'), '--encrypt', '--key-file', path('k.key'), '--passphrase-env', 'P'], /--encrypt needs one of/],
      [['pack', path('in.ndjson'), '-o', path('x.h4mk'), '--encrypt', '--key-file', path('alice.key')], /alice\.key: not an h4mk secret key file/],
      [
        ['block', path('enc.h4mk'), '--index', '0', '--key-file', path('k.key'), '--grant', path('g.json')],
        /give one of --key-file, --passphrase-env and --grant/,
      ],
      [['block', path('enc.h4mk'), '--index', '0', '--key-file', path('missing.key')], /missing\.key: no such file or directory/],
      [['block', path('enc.h4mk'), '--index', '0', '--key-file', path('k2.key')], /E_KEY: wrong key for this container/],
      [['block', path('enc.h4mk'), '--index', '0', '--grant', path('k.key')], /not a JSON grant file/],
    ];
    for (const [args, pattern] of cases) {
      const r = await h4mk(args);
      expect(r.code, args.join(' ')).toBe(2);
      expectOneLineError(r.stderr, pattern);
    }
    expect(existsSync(path('x.h4mk'))).toBe(false);
    // A damaged key line, and a key file others can read (used, with a warning).
    writeFileSync(path('bad.key'), `h4mk-secret-v1 ${Buffer.alloc(31, 1).toString('base64')}\n`);
    expectOneLineError((await h4mk(['verify', path('enc.h4mk'), '--key-file', path('bad.key')])).stderr, /not an h4mk secret key file/);
    writeFileSync(path('loose.key'), readFileSync(path('k.key')));
    chmodSync(path('loose.key'), 0o644);
    const loose = await h4mk(['verify', path('enc.h4mk'), '--key-file', path('loose.key')]);
    expect(loose.code).toBe(0);
    expect(loose.stderr).toMatch(/^h4mk: warning: .*loose\.key is accessible by other users \(mode 0644\); run: chmod 600/);
    // A key for a container that is not encrypted.
    await h4mk(['pack', path('in.ndjson'), '-o', path('plain.h4mk')]);
    const plain = await h4mk(['verify', path('plain.h4mk'), '--key-file', path('k.key')]);
    expect(plain.code).toBe(2);
    expectOneLineError(plain.stderr, /E_KEY: this container is not encrypted/);
  });
});

describe('grant', () => {
  let grant: Grant;

  it('exports only the epoch keys of one track over a window, to a 0600 file, printing no key', async () => {
    const r = await h4mkJson([
      'grant',
      path('enc.h4mk'),
      '--key-file',
      path('k.key'),
      '--track',
      'v',
      '--from-us',
      '1000000',
      '--to-us',
      '1500000',
      '-o',
      path('g.json'),
    ]);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      ok: true,
      file: path('enc.h4mk'),
      output: path('g.json'),
      track: 'v',
      track_number: 0,
      from_us: 1_000_000,
      to_us: 1_500_000,
      requested_from_us: 1_000_000,
      requested_to_us: 1_500_000,
      // 1 s is a keyframe (every 0.5 s): nothing to widen.
      effective_from_us: 1_000_000,
      effective_to_us: 1_500_000,
      widened: false,
      epoch_us: 1_000_000,
      epochs: [1],
      opens_from_us: 1_000_000,
      opens_to_us: 2_000_000,
      blocks: 30,
    });
    expect(mode(path('g.json'))).toBe(0o600);
    grant = JSON.parse(readFileSync(path('g.json'), 'utf8')) as Grant;
    expect(grant.keys.map((k) => k.epoch)).toEqual([1]);
    const again = await h4mk(['grant', path('enc.h4mk'), '--key-file', path('k.key'), '--track', 'v', '--from-us', '0', '--to-us', '1', '-o', path('g.json')]);
    expect(again.code).toBe(2);
    expectOneLineError(again.stderr, /g\.json exists/);

    const noEpochs = await h4mk([
      'grant',
      path('enc-text.h4mk'),
      '--key-file',
      path('k.key'),
      '--track',
      'a',
      '--from-us',
      '0',
      '--to-us',
      '1',
      '-o',
      path('g-all.json'),
    ]);
    expect(noEpochs.code).toBe(0);
    expect(noEpochs.stderr).toMatch(/^h4mk: warning: .*one key per track .*opens all of track "a"/);
    expect(noEpochs.stdout).toMatch(/opens the whole track \(90 blocks\)/);
  });

  it('the grant opens its blocks and nothing else', async () => {
    const inside = await h4mkJson(['range', path('enc.h4mk'), '--track', 'v', '--from-us', '1000000', '--to-us', '2000000', '--grant', path('g.json')]);
    expect(inside.json).toMatchObject({ authenticated: true, count: 30 });
    const outside = await h4mkJson(['range', path('enc.h4mk'), '--track', 'v', '--from-us', '900000', '--to-us', '2000000', '--grant', path('g.json')]);
    expect(outside.code).toBe(2);
    expect(outside.json.error).toMatchObject({ code: 'E_KEY' });
    expect(String((outside.json.error as { message: string }).message)).toMatch(/outside the grant/);
    const v = await h4mkJson(['verify', path('enc.h4mk'), '--grant', path('g.json')]);
    expect(v.json).toMatchObject({ ok: true, key: 'grant', decrypted_blocks: 30, transcript_checked: false });
  });

  it('checks its arguments', async () => {
    const cases: [string[], RegExp][] = [
      [['grant', path('enc.h4mk'), '--track', 'v', '--from-us', '0', '--to-us', '1', '-o', path('g2.json')], /a grant is made with the container key/],
      [
        ['grant', path('enc.h4mk'), '--key-file', path('k.key'), '--track', 'v', '--from-us', '5', '--to-us', '5', '-o', path('g2.json')],
        /--to-us 5 must be after --from-us 5/,
      ],
      [
        ['grant', path('enc.h4mk'), '--key-file', path('k.key'), '--track', 'nope', '--from-us', '0', '--to-us', '1', '-o', path('g2.json')],
        /unknown track "nope"/,
      ],
      [
        ['grant', path('enc.h4mk'), '--grant', path('g.json'), '--track', 'v', '--from-us', '0', '--to-us', '1', '-o', path('g2.json')],
        /unknown option '--grant'/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await h4mk(args);
      expect(r.code, args.join(' ')).toBe(2);
      expectOneLineError(r.stderr, pattern);
    }
    expect(existsSync(path('g2.json'))).toBe(false);
  });

  it('widens a video window back to its keyframe so every frame in it decodes (stderr, --json); audio is not widened', async () => {
    // 25 fps video with a keyframe every 2 s over 10 s, 1 s epochs: a grant for 7–8 s needs the keyframe at 6 s.
    const lines = [
      JSON.stringify({ track: { id: 'v', kind: 'video', codec: 'opaque', timescale: 90000 } }),
      JSON.stringify({ track: { id: 'a', kind: 'audio', codec: 'opaque' } }),
    ];
    for (let i = 0; i < 250; i++) {
      lines.push(JSON.stringify({ track: 'v', pts: i * 3600, keyframe: i % 50 === 0, payload_b64: Buffer.from(`gop video ${i}`).toString('base64') }));
      lines.push(JSON.stringify({ track: 'a', pts_us: i * 40_000, keyframe: true, payload_b64: Buffer.from(`gop audio ${i}`).toString('base64') }));
    }
    writeFileSync(path('gop.ndjson'), `${lines.join('\n')}\n`);
    expect((await h4mk(['pack', path('gop.ndjson'), '-o', path('gop.h4mk'), '--encrypt', '--key-file', path('k.key'), '--epoch-us', '1000000'])).code).toBe(0);
    const r = await h4mkJson([
      'grant',
      path('gop.h4mk'),
      '--key-file',
      path('k.key'),
      '--track',
      'v',
      '--from-us',
      '7000000',
      '--to-us',
      '8000000',
      '-o',
      path('g-gop.json'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('h4mk: warning: grant: window widened to start at the keyframe at 6.000 s (was 7.000 s) so every frame in it decodes\n');
    expect(r.json).toMatchObject({
      requested_from_us: 7_000_000,
      requested_to_us: 8_000_000,
      effective_from_us: 6_000_000,
      effective_to_us: 8_000_000,
      widened: true,
      epochs: [6, 7],
      blocks: 50,
    });
    const g = JSON.parse(readFileSync(path('g-gop.json'), 'utf8')) as Grant;
    expect([g.from_us, g.to_us]).toEqual([6_000_000, 8_000_000]);
    // With the grant alone, the decode span of 7–8 s (from the 6 s keyframe) decrypts.
    const reader = await H4mkReader.open(await FileSource.open(path('gop.h4mk')), { key: { grant: g } });
    const span = [];
    for await (const b of reader.blocks({ tracks: ['v'], fromUs: 7_000_000, toUs: 8_000_000, fromKeyframe: true })) span.push(b);
    await reader.close();
    expect(span).toHaveLength(50);
    expect(span[0]).toMatchObject({ keyframe: true, ptsUs: 6_000_000 });
    expect(span.map((b) => Buffer.from(b.payload).toString())).toEqual(Array.from({ length: 50 }, (_, i) => `gop video ${150 + i}`));

    const audio = await h4mkJson([
      'grant',
      path('gop.h4mk'),
      '--key-file',
      path('k.key'),
      '--track',
      'a',
      '--from-us',
      '7010000',
      '--to-us',
      '8000000',
      '-o',
      path('g-gop-a.json'),
    ]);
    expect(audio.stderr).toBe('');
    expect(audio.json).toMatchObject({ effective_from_us: 7_010_000, effective_to_us: 8_000_000, widened: false, epochs: [7] });
  });
});

describe('seal and verify --pub', () => {
  it('writes a sealed copy atomically, never touching the input', async () => {
    const before = sha(path('enc.h4mk'));
    const r = await h4mkJson(['seal', path('enc.h4mk'), '--sign-key', path('alice.key'), '--signer', 'alice@example.org', '-o', path('sealed.h4mk')]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, signer: 'alice@example.org', verified_first: true, replaced_seal: false, block_count: 180 });
    expect(sha(path('enc.h4mk'))).toBe(before);
    const same = await h4mk(['seal', path('enc.h4mk'), '--sign-key', path('alice.key'), '-o', path('enc.h4mk')]);
    expect(same.code).toBe(2);
    expectOneLineError(same.stderr, /refusing to write .*enc\.h4mk: it is the input/);
    expect(sha(path('enc.h4mk'))).toBe(before);
    const wrongKey = await h4mk(['seal', path('enc.h4mk'), '--sign-key', path('k.key'), '-o', path('s2.h4mk')]);
    expect(wrongKey.code).toBe(2);
    expectOneLineError(wrongKey.stderr, /k\.key: not a PEM private key/);
    expect(existsSync(path('s2.h4mk'))).toBe(false);
    // Re-sealing replaces the seal.
    const again = await h4mkJson(['seal', path('sealed.h4mk'), '--sign-key', path('mallory.key'), '--signer', 'mallory', '-o', path('resealed.h4mk')]);
    expect(again.json).toMatchObject({ replaced_seal: true, signer: 'mallory' });
  });

  it('verify reports the signer and fails on another key, on no seal and on damage', async () => {
    const ok = await h4mkJson(['verify', path('sealed.h4mk'), '--pub', path('alice.pub'), '--key-file', path('k.key')]);
    expect(ok.code).toBe(0);
    expect(ok.json).toMatchObject({
      ok: true,
      sealed: true,
      seal: { signer: 'alice@example.org', valid: true, trusted: true },
      decrypted_blocks: 180,
      transcript_checked: true,
    });
    const text = await h4mk(['verify', path('sealed.h4mk'), '--pub', path('alice.pub')]);
    expect(text.stdout).toMatch(/sealed by "alice@example\.org" at .*: signature valid, key matches --pub/);
    const untrusted = await h4mk(['verify', path('sealed.h4mk')]);
    expect(untrusted.code).toBe(0);
    expect(untrusted.stdout).toMatch(/not checked against a trusted key \(give --pub\)/);
    const other = await h4mkJson(['verify', path('sealed.h4mk'), '--pub', path('mallory.pub')]);
    expect(other.code).toBe(1);
    expect(other.json.failures).toEqual([expect.objectContaining({ code: 'E_SIGNATURE', message: expect.stringMatching(/sealed by another key/) })]);
    const unsealed = await h4mkJson(['verify', path('enc.h4mk'), '--pub', path('alice.pub')]);
    expect(unsealed.code).toBe(1);
    expect(unsealed.json.failures).toEqual([expect.objectContaining({ code: 'E_SIGNATURE', message: expect.stringMatching(/not sealed/) })]);
    const priv = await h4mk(['verify', path('sealed.h4mk'), '--pub', path('alice.key')]);
    expect(priv.code).toBe(2);
    expectOneLineError(priv.stderr, /is a private key/);
    const m = await h4mkJson(['manifest', path('sealed.h4mk')]);
    expect(m.json).toMatchObject({ sealed: true, seal: { algorithm: 'Ed25519', signer: 'alice@example.org', verified: false } });
    // A damaged container is not sealed.
    const bytes = readFileSync(path('enc.h4mk'));
    const info = await h4mkJson(['block', path('enc.h4mk'), '--index', '20', '--raw']);
    bytes[(info.json.offset as number) + 8 + 36 + 2] ^= 1;
    writeFileSync(path('damaged.h4mk'), bytes);
    const refused = await h4mk(['seal', path('damaged.h4mk'), '--sign-key', path('alice.key'), '-o', path('s3.h4mk')]);
    expect(refused.code).toBe(1);
    expectOneLineError(refused.stderr, /refusing to seal .*damaged\.h4mk: E_CHECKSUM/);
    expect(existsSync(path('s3.h4mk'))).toBe(false);
  });

  it('help lists the new verbs and options', () => {
    // Commander prints help on process.stdout itself: read it from the program.
    const program = createProgram(new Output({ write: () => true }, { write: () => true }, {}));
    const help = (verb: string) => program.commands.find((c) => c.name() === verb)?.helpInformation() ?? '';
    for (const verb of ['keygen', 'grant', 'seal']) {
      expect(help(verb), verb).toContain(`Usage: h4mk ${verb}`);
      expect(help(verb), verb).toContain('--json');
    }
    for (const [verb, options] of [
      ['pack', ['--encrypt', '--key-file', '--passphrase-env', '--epoch-us']],
      ['block', ['--key-file', '--passphrase-env', '--grant']],
      ['range', ['--key-file', '--grant']],
      ['verify', ['--key-file', '--grant', '--pub']],
    ] as const) {
      for (const o of options) expect(help(verb), `${verb} ${o}`).toContain(o);
    }
  });
});

function keyOf(name: string): Uint8Array {
  return new Uint8Array(Buffer.from((readFileSync(path(name), 'utf8').split(' ')[1] as string).trim(), 'base64'));
}

describe('no key material in any output', () => {
  it('greps everything the CLI printed for every key, in base64 and hex', async () => {
    // One more run with --debug, whose stack traces must not carry keys either.
    await h4mk(['block', path('enc.h4mk'), '--index', '0', '--key-file', path('k2.key'), '--debug']);
    await h4mk(['verify', path('pass.h4mk'), '--passphrase-env', 'H4MK_TEST_PASS', '--debug'], { H4MK_TEST_PASS: 'wrong one' });
    const all = transcript.join('\n');
    expect(transcript.length).toBeGreaterThan(50);
    const secrets: Uint8Array[] = [keyOf('k.key'), keyOf('k2.key')];
    for (const g of ['g.json', 'g-all.json']) {
      for (const k of (JSON.parse(readFileSync(path(g), 'utf8')) as Grant).keys) secrets.push(new Uint8Array(Buffer.from(k.key, 'base64')));
    }
    const needles: string[] = [PASSPHRASE, 'wrong one'];
    for (const s of secrets) {
      const b = Buffer.from(s);
      needles.push(
        b.toString('base64'),
        b.toString('base64').slice(0, 20),
        b.toString('base64url').slice(0, 20),
        b.toString('hex'),
        b.toString('hex').slice(0, 24),
        b.toString('hex').toUpperCase().slice(0, 24),
      );
    }
    for (const pem of ['alice.key', 'mallory.key']) {
      const body = readFileSync(path(pem), 'utf8').split('\n')[1] as string;
      needles.push(body, body.slice(0, 24));
    }
    for (const n of needles) expect(all.includes(n), `output contains key material (${n.length} chars)`).toBe(false);
  });
});
