/**
 * Hostile command lines, GENERATED from the commander program
 * (src/cli/program.ts): for every verb, every option that takes a value and
 * every positional argument, the CLI runs with hostile values of the
 * option's kind, the other arguments being valid:
 *
 *   numbers  -1000000, NaN, 1e400, 0x10, "", a 400-digit number
 *   paths    a directory, a missing file, an empty file, ""
 *   outputs  the input itself, a hard link and a symbolic link to it, an
 *            existing file (no --force), a directory, ""
 *   strings  "", NaN, a 400-digit number
 *   choices  NaN, ""          JSON  "", 1e400, []
 *
 * Every run must end with a documented exit code (0, 1, 2, 3, 4) and, unless
 * it succeeded, exactly one `h4mk: error:` line on stderr (plus at most one
 * `h4mk: hint:` line): never "internal error", never JavaScript error text
 * (TypeError, "Cannot read", "is not a function", BigInt, Infinity, stack
 * frames). No input and no existing output may change.
 *
 * A CLI process spends ~0.5 s of CPU loading its modules, so one process per
 * case would take minutes for the ~500 cases. Two tiers keep the test near a
 * minute on a busy 2-core machine:
 *
 * 1. every case runs through the real `run()` of dist/cli/program.js (argv
 *    to exit code, the same code path as main.js) in spawned batch
 *    processes, one module load per batch; anything such a process writes
 *    to its own stderr (outside the CLI's Output) fails the test;
 * 2. a deterministic sample (per verb, two cases of different kinds of
 *    value, and the regressions of issue 15) also runs as its own
 *    `node dist/cli/main.js` process, four at a time, and must end the same
 *    way.
 *
 * A new verb or option is covered without a change here; a new kind of
 * option value (a placeholder not classified below) fails the test until it
 * is classified, and a new verb fails until it has a baseline command line.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command, Option } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The built program (what main.js runs), not the sources: no transform, and the options read are the ones run.
import { createProgram } from '../dist/cli/program.js';
import { formatSecretKey } from '../dist/cli/key-file.js';
import { Output } from '../dist/cli/output.js';
import { addControlsTrack, FileSink, FileSource, generateSigningKeys, H4mkReader, H4mkWriter, importMedia, parseControls } from '../dist/node.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const PROGRAM = pathToFileURL(fileURLToPath(new URL('../dist/cli/program.js', import.meta.url))).href;
const OUTPUT = pathToFileURL(fileURLToPath(new URL('../dist/cli/output.js', import.meta.url))).href;
const MEDIA_FIXTURE = fileURLToPath(new URL('./media/fixtures/h264-aac.mp4', import.meta.url));
const DOCUMENTED_EXIT = [0, 1, 2, 3, 4];
const CONCURRENCY = 4;
const BATCHES = 3;
const PASS_ENV = 'H4MK_HOSTILE_PASS';

// ── fixtures (paths are known before they exist: the cases are generated at collection) ──

const root = mkdtempSync(join(tmpdir(), 'h4mk-hostile-'));
const F = {
  ndjson: join(root, 'in', 'blocks.ndjson'),
  container: join(root, 'in', 'c.h4mk'),
  encrypted: join(root, 'in', 'enc.h4mk'),
  controlsContainer: join(root, 'in', 'ctrl.h4mk'),
  mediaContainer: join(root, 'in', 'media.h4mk'),
  media: join(root, 'in', 'clip.mp4'),
  key: join(root, 'in', 'k.key'),
  signKey: join(root, 'in', 'sign.key'),
  controls: join(root, 'in', 'controls.json'),
  secret: join(root, 'in', 'share.secret'),
  serveDir: join(root, 'in', 'served'),
  empty: join(root, 'in', 'empty'),
  existing: join(root, 'in', 'existing.bin'),
  dir: join(root, 'in', 'a-directory'),
  missing: join(root, 'in', 'missing', 'nothing-here'),
  links: join(root, 'links'),
};
/** A TCP port in use: `serve` runs end at listen (EADDRINUSE) instead of serving. */
let busyPort = 0;
let busy: Server | undefined;

const HUGE = '9'.repeat(400);

type Kind = 'number' | 'path' | 'output' | 'string' | 'choice' | 'json';

/** Values by kind; SAME/HARD/SYM are resolved per verb (its input, a hard link, a symlink to it). */
const VALUES: Record<Kind, string[]> = {
  number: ['-1000000', 'NaN', '1e400', '0x10', '', HUGE],
  path: [F.dir, F.missing, F.empty, ''],
  output: ['{SAME}', '{HARD}', '{SYM}', F.existing, F.dir, ''],
  string: ['', 'NaN', HUGE],
  choice: ['NaN', ''],
  json: ['', '1e400', '[]'],
};

/** The kind of value an option takes, from its placeholder. */
function optionKind(verb: string, o: Option): Kind {
  if (o.long === '--output' || o.long === '--out') return 'output';
  if (o.argChoices !== undefined) return 'choice';
  const placeholder = /<([^>]+)>|\[([^\]]+)\]/
    .exec(o.flags)
    ?.slice(1)
    .find((x) => x !== undefined);
  switch (placeholder) {
    case 'n':
    case 'port':
    case 'size':
    case 'seconds':
      return 'number';
    case 'file':
    case 'media':
    case 'dir':
      return 'path';
    case 'json':
      return o.parseArg === undefined ? 'path' : 'json';
    case 'id':
    case 'text':
    case 'name':
    case 'host':
    case 'url':
    case 'origin':
    case 'level':
    case 'duration':
    case 'var':
      return 'string';
    default:
      throw new Error(`classify the value of ${verb} ${o.flags} (placeholder ${placeholder}) in test/cli-hostile-argv.test.ts`);
  }
}

/** The kind of a positional argument, from its name. */
function argumentKind(verb: string, name: string): Kind {
  if (['blocks', 'input', 'file', 'dir'].includes(name)) return 'path';
  if (name === 'name') return 'string';
  throw new Error(`classify argument <${name}> of ${verb} in test/cli-hostile-argv.test.ts`);
}

/** A valid command line of a verb: positional arguments, options (null: a flag), and what its -o names. */
type Baseline = { args: string[]; options: [string, string | null][]; out?: string };

const OUT = (ext: string) => `{OUT}${ext}`;

const BASELINES: Record<string, Baseline> = {
  pack: { args: [F.ndjson], options: [['-o', OUT('.h4mk')]] },
  import: { args: [F.media], options: [['-o', OUT('.h4mk')]] },
  export: { args: [F.mediaContainer], options: [['-o', OUT('.mkv')]] },
  package: { args: [F.mediaContainer], options: [['-o', OUT('')]] },
  'controls add': {
    args: [F.container],
    options: [
      ['--from', F.controls],
      ['-o', OUT('.h4mk')],
    ],
  },
  'controls show': { args: [F.controlsContainer], options: [] },
  manifest: { args: [F.container], options: [] },
  seek: {
    args: [F.container],
    options: [
      ['--track', 'video'],
      ['--pts-us', '0'],
    ],
  },
  range: { args: [F.container], options: [] },
  block: { args: [F.container], options: [['--index', '0']] },
  verify: { args: [F.container], options: [] },
  dump: { args: [F.container], options: [] },
  demo: {
    args: [],
    options: [
      ['--input', F.empty],
      ['--out', OUT('')],
    ],
  },
  keygen: { args: [], options: [['-o', OUT('.key')]] },
  grant: {
    args: [F.encrypted],
    options: [
      ['--key-file', F.key],
      ['--track', 'video'],
      ['--from-us', '0'],
      ['--to-us', '1000000'],
      ['-o', OUT('.json')],
    ],
  },
  seal: {
    args: [F.container],
    options: [
      ['--sign-key', F.signKey],
      ['-o', OUT('.h4mk')],
    ],
  },
  tail: { args: [F.container], options: [['--exit-on-finish', null]] },
  recover: { args: [F.container], options: [['-o', OUT('.h4mk')]] },
  optimize: { args: [F.container], options: [['-o', OUT('.h4mk')]] },
  serve: { args: [F.serveDir], options: [['--port', '{BUSY}']] },
  share: {
    args: ['c.h4mk'],
    options: [
      ['--expires', '1h'],
      ['--secret-file', F.secret],
    ],
  },
};

/** Options that replace one another (one key; a spelling and its alias). */
const EXCLUSIVE = [
  ['--key-file', '--passphrase-env', '--grant'],
  ['--pts-us', '--pts_us'],
  ['--from-us', '--from_us'],
  ['--to-us', '--to_us'],
];

/** What an option needs beside it to be reached at all (its verb checks the combination first). */
function context(verb: string, long: string): { add: [string, string | null][]; args?: string[] } {
  const writing = verb === 'pack' || verb === 'import';
  if (writing && ['--epoch-us', '--engine-id', '--engine-fp'].includes(long))
    return {
      add: [
        ['--encrypt', null],
        ['--key-file', F.key],
      ],
    };
  if (writing && (long === '--key-file' || long === '--passphrase-env')) return { add: [['--encrypt', null]] };
  if (writing && long === '--scrypt-log2n')
    return {
      add: [
        ['--encrypt', null],
        ['--passphrase-env', PASS_ENV],
      ],
    };
  if (writing && long.startsWith('--checkpoint-')) return { add: [['--live', null]] };
  if (verb === 'demo' && (long === '--host' || long === '--port')) return { add: [['--serve', null]] };
  if (verb === 'serve' && long === '--origin') return { add: [], args: [] };
  return { add: [] };
}

/**
 * `follows`: the verb waits for its input to grow (tail): a run still waiting
 * after a few seconds, having printed nothing on stderr, is what it should do.
 */
type Case = { id: number; verb: string; slot: string; kind: Kind; value: string; argv: string[]; follows: boolean };

/** Verbs that follow a growing input, and how long a run of them is given. */
const FOLLOWERS = ['tail'];
const FOLLOW_MS = 2500;

function leafCommands(command: Command, prefix: string[] = []): { name: string; command: Command }[] {
  return command.commands.flatMap((c) =>
    c.commands.length > 0 ? leafCommands(c, [...prefix, c.name()]) : [{ name: [...prefix, c.name()].join(' '), command: c }],
  );
}

/** The flag under which a baseline option is written (its long name, or -o for --output). */
function sameOption(spelled: string, long: string): boolean {
  return spelled === long || (spelled === '-o' && long === '--output');
}

function generate(): Case[] {
  const program = createProgram(new Output());
  const cases: Case[] = [];
  const add = (verb: string, slot: string, kind: Kind, value: string, args: string[], options: [string, string | null][]) => {
    const argv = [...verb.split(' '), ...args, ...options.flatMap(([k, v]) => (v === null ? [k] : [k, v]))];
    cases.push({ id: cases.length, verb, slot, kind, value, argv, follows: FOLLOWERS.includes(verb) });
  };
  for (const { name: verb, command } of leafCommands(program)) {
    const base = BASELINES[verb];
    if (base === undefined) throw new Error(`give verb '${verb}' a baseline command line in test/cli-hostile-argv.test.ts`);
    add(verb, 'baseline', 'string', '', base.args, base.options);
    command.registeredArguments.forEach((a, i) => {
      const kind = argumentKind(verb, a.name());
      for (const value of VALUES[kind])
        add(
          verb,
          `<${a.name()}>`,
          kind,
          value,
          base.args.map((x, j) => (j === i ? value : x)),
          base.options,
        );
    });
    for (const o of command.options) {
      if (!(o.required || o.optional) || o.long === undefined) continue;
      const long = o.long;
      const kind = optionKind(verb, o);
      const group = EXCLUSIVE.find((g) => g.includes(long)) ?? [long];
      const extra = context(verb, long);
      const kept = base.options.filter(([k]) => !group.some((g) => sameOption(k, g)) && !extra.add.some(([e]) => e === k));
      for (const value of VALUES[kind]) {
        if (value.startsWith('{') && base.args.length === 0) continue; // keygen, demo: no input to write over
        add(verb, long, kind, value, extra.args ?? base.args, [...kept, ...extra.add, [long, value]]);
      }
    }
  }
  return cases;
}

const CASES = generate();

/** The argv of a case for one tier: outputs under the tier's directory, links to the verb's input. */
function materialize(c: Case, tier: 'batch' | 'spawn'): string[] {
  const base = BASELINES[c.verb] as Baseline;
  const input = base.args[0] ?? F.empty;
  const linkName = c.verb.replace(' ', '-');
  return c.argv.map((a) =>
    a
      .replace('{OUT}', join(root, tier, `out-${c.id}`))
      .replace('{SAME}', input)
      .replace('{HARD}', join(F.links, `${linkName}.hard`))
      .replace('{SYM}', join(F.links, `${linkName}.sym`))
      .replace('{BUSY}', String(busyPort)),
  );
}

type Result = { code: number | null; stderr: string; stdout: string };

/** Why a result breaks the contract, or null. */
function problem(c: Case, r: Result): string | null {
  if (r.code === null && c.follows && r.stderr === '') return null;
  if (r.code === null || !DOCUMENTED_EXIT.includes(r.code)) return `exit ${r.code}`;
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const js = /internal error|TypeError|RangeError|SyntaxError|ReferenceError|Cannot read|is not a function|is not defined|BigInt|Infinity|^\s+at /m;
  if (js.test(r.stderr)) return 'JavaScript error text on stderr';
  if (r.code === 0) {
    const stray = lines.find((l) => !l.startsWith('h4mk: warning: ') && !l.startsWith('h4mk: listening on '));
    return stray === undefined ? null : `exit 0 with stderr ${JSON.stringify(stray)}`;
  }
  if (lines.length < 1 || lines.length > 2) return `${lines.length} stderr lines`;
  if (!/^h4mk: error: \S/.test(lines[0] as string)) return 'the first stderr line is not "h4mk: error: …"';
  if (/^h4mk: error: :/.test(lines[0] as string)) return 'the error names an empty path';
  if (lines[1] !== undefined && !/^h4mk: hint: \S/.test(lines[1])) return 'the second stderr line is not "h4mk: hint: …"';
  // Outputs that are the input, or exist, are refused with the output guard's words.
  if (c.kind === 'output' && c.verb !== 'demo') {
    if (c.value.startsWith('{') && !/is the input/.test(lines[0] as string)) return 'the output is the input, and the error does not say so';
    if (c.value === F.existing && !/exists; refusing to replace it/.test(lines[0] as string)) return 'an existing output, and the error does not say so';
    if (c.value === F.dir && c.verb !== 'package' && !/is a directory|exists; refusing to replace it/.test(lines[0] as string))
      return 'a directory as the output, and the error does not say so';
  }
  return null;
}

/** Runs `tasks` with at most `limit` at a time. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

const ENV = { PATH: process.env.PATH ?? '', HOME: root, NO_COLOR: '1', [PASS_ENV]: 'correct horse battery staple' };

function spawnNode(args: string[], timeoutMs: number): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 1 << 20) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The batch runner: imports the program once and runs its cases through run(), one JSON line per case. */
const RUNNER = `
import { readFileSync } from 'node:fs';
process.setMaxListeners(0);
const [programUrl, outputUrl, casesFile] = process.argv.slice(1);
const { run } = await import(programUrl);
const { Output } = await import(outputUrl);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
// Process warnings (a file handle left open, …) are charged to the cases run since the last
// collection: garbage is collected every few cases (one collection per case would double the time).
let warnings = [];
let since = [];
process.on('warning', (w) => warnings.push(w.name + ': ' + w.message));
const collect = async () => {
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 1));
  if (warnings.length > 0) process.stdout.write(JSON.stringify({ warnings, after: since }) + '\\n');
  warnings = [];
  since = [];
};
const capture = (sink) => ({ isTTY: false, write: (chunk) => { sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')); return true; } });
for (const c of cases) {
  let stdout = '';
  let stderr = '';
  const out = new Output(capture((s) => { if (stdout.length < 65536) stdout += s; }), capture((s) => { stderr += s; }), { NO_COLOR: '1' });
  let timer;
  const t0 = performance.now();
  const code = await Promise.race([
    run(['node', 'h4mk', ...c.argv], out).catch((error) => 'threw: ' + String(error)),
    new Promise((resolve) => { timer = setTimeout(() => resolve(null), c.follows ? ${FOLLOW_MS} : 30000); }),
  ]);
  clearTimeout(timer);
  since.push(c.id);
  if (since.length === 16) await collect();
  process.stdout.write(JSON.stringify({ id: c.id, code, stderr, stdout, ms: performance.now() - t0 }) + '\\n');
}
await collect();
process.exit(0);
`;

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Hashes of every fixture input (and the existing output), to show nothing was written over. */
function inputHashes(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(root, 'in'))) {
    const path = join(root, 'in', name);
    if (statSync(path).isFile()) out[name] = sha(path);
  }
  return out;
}

beforeAll(async () => {
  expect(existsSync(MAIN), 'run `npm run build` first').toBe(true);
  for (const d of ['in', 'batch', 'spawn', 'links']) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(F.dir);
  mkdirSync(F.serveDir);
  writeFileSync(F.empty, '');
  writeFileSync(F.existing, 'an output that is already there\n');
  // A video whose first keyframe is at 21 ms (as Matroska files often start) and an audio track.
  const lines = [
    { track: { id: 'video', kind: 'video', codec: 'opaque', timescale: 1000 } },
    { track: { id: 'audio', kind: 'audio', codec: 'opaque', timescale: 48000 } },
  ];
  const blocks: { track: string; pts: number; keyframe: boolean }[] = [];
  for (let i = 0; i < 60; i++) {
    blocks.push({ track: 'audio', pts: i * 1024, keyframe: true });
    blocks.push({ track: 'video', pts: 21 + i * 33, keyframe: i % 15 === 0 });
  }
  writeFileSync(
    F.ndjson,
    `${[...lines, ...blocks.map((b) => ({ ...b, payload_b64: Buffer.from(`${b.track} ${b.pts}`).toString('base64') }))].map((l) => JSON.stringify(l)).join('\n')}\n`,
  );
  const secret = new Uint8Array(32).fill(7);
  writeFileSync(F.key, formatSecretKey(secret), { mode: 0o600 });
  chmodSync(F.key, 0o600);
  const write = async (path: string, encryption?: { secret: Uint8Array; epochUs: number }) => {
    const writer = await H4mkWriter.create(await FileSink.create(path), encryption === undefined ? {} : { encryption });
    writer.addTrack({ id: 'video', kind: 'video', codec: 'opaque', timescale: 1000 });
    writer.addTrack({ id: 'audio', kind: 'audio', codec: 'opaque', timescale: 48000 });
    for (const b of blocks) await writer.writeBlock({ track: b.track, pts: b.pts, keyframe: b.keyframe, payload: Buffer.from(`${b.track} ${b.pts}`) });
    await writer.finish();
  };
  await write(F.container);
  await write(F.encrypted, { secret, epochUs: 1_000_000 });
  copyFileSync(F.container, join(F.serveDir, 'c.h4mk'));
  const records = [{ control: 'pan', value: 10, unit: 'deg', t_us: 0, duration_us: 500_000, easing: 'linear' }];
  writeFileSync(F.controls, JSON.stringify(records));
  const source = await FileSource.open(F.container);
  try {
    await addControlsTrack(await H4mkReader.open(source), parseControls(records), await FileSink.create(F.controlsContainer));
  } finally {
    await source.close();
  }
  copyFileSync(MEDIA_FIXTURE, F.media);
  await importMedia(F.media, await FileSink.create(F.mediaContainer));
  writeFileSync(F.signKey, generateSigningKeys().privateKeyPem, { mode: 0o600 });
  chmodSync(F.signKey, 0o600);
  writeFileSync(F.secret, 'a share secret of more than thirty-two characters\n', { mode: 0o600 });
  chmodSync(F.secret, 0o600);
  for (const [verb, base] of Object.entries(BASELINES)) {
    const input = base.args[0];
    if (input === undefined || !input.startsWith(root) || !statSync(input).isFile()) continue;
    const name = verb.replace(' ', '-');
    linkSync(input, join(F.links, `${name}.hard`));
    symlinkSync(input, join(F.links, `${name}.sym`));
  }
  busy = createServer();
  await new Promise<void>((resolve) => busy?.listen(0, resolve));
  const address = busy.address();
  busyPort = typeof address === 'object' && address !== null ? address.port : 0;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (busy === undefined ? resolve() : busy.close(() => resolve())));
  rmSync(root, { recursive: true, force: true });
});

/**
 * The sample that also runs as real processes: per verb, two cases of
 * different kinds (rotating over kinds, slots and values from verb to verb),
 * and the issue's regressions.
 */
function spawnSample(results: Map<number, Result>): Case[] {
  const chosen = new Map<string, Case>();
  const verbs = [...new Set(CASES.map((c) => c.verb))];
  for (const [v, verb] of verbs.entries()) {
    const kinds = (Object.keys(VALUES) as Kind[]).filter((k) => CASES.some((c) => c.verb === verb && c.kind === k && c.slot !== 'baseline'));
    for (let k = 0; k < Math.min(2, kinds.length); k++) {
      const kind = kinds[(v + k) % kinds.length] as Kind;
      const mine = CASES.filter((c) => c.verb === verb && c.kind === kind && c.slot !== 'baseline');
      const pick = mine[(v * 7 + k * 3) % mine.length];
      if (pick !== undefined) chosen.set(`${verb} ${kind}`, pick);
    }
  }
  const regressions = [
    (c: Case) => c.verb === 'export' && c.slot === '--from-us' && c.value === '-1000000',
    (c: Case) => c.verb === 'import' && c.slot === '<input>' && c.value === F.dir,
    (c: Case) => c.verb === 'serve' && c.slot === '<dir>' && c.value === F.missing,
    (c: Case) => c.verb === 'pack' && c.slot === '<blocks>' && c.value === F.empty,
    (c: Case) => c.verb === 'pack' && c.slot === '--output' && c.value === '{HARD}',
  ];
  for (const r of regressions) {
    const c = CASES.find(r);
    if (c !== undefined) chosen.set(`regression ${c.id}`, c);
  }
  // A run still following its input (tail on an empty file) would only wait out its time as a process.
  return [...chosen.values()].filter((c) => results.has(c.id) && results.get(c.id)?.code !== null).sort((a, b) => a.id - b.id);
}

describe('hostile argv, generated from the program', () => {
  it(`${CASES.length} generated cases: a documented exit code and one typed error line each`, async () => {
    const started = performance.now();
    const before = inputHashes();
    // Tier 1: every case through run(), in batch processes.
    const batches: Case[][] = Array.from({ length: BATCHES }, () => []);
    for (const [i, c] of CASES.entries()) batches[i % BATCHES]?.push({ ...c, argv: materialize(c, 'batch') });
    const results = new Map<number, Result>();
    const runnerProblems: string[] = [];
    await Promise.all(
      batches.map(async (batch, b) => {
        const file = join(root, `cases-${b}.json`);
        writeFileSync(file, JSON.stringify(batch));
        const r = await spawnNode(['--expose-gc', '--no-warnings', '--input-type=module', '-e', RUNNER, PROGRAM, OUTPUT, file], 150_000);
        for (const line of r.stdout.split('\n')) {
          if (line === '') continue;
          const got = JSON.parse(line) as {
            id: number;
            code: number | string | null;
            stderr: string;
            stdout: string;
            ms: number;
            warnings?: string[];
            after?: number[];
          };
          if (got.warnings !== undefined) {
            const suspects = (got.after ?? []).map((id) => `      h4mk ${CASES[id]?.argv.join(' ').slice(0, 200)}`);
            runnerProblems.push(`process warnings (${got.warnings.join('; ')}) after one of these cases:\n${suspects.join('\n')}`);
            continue;
          }
          // H4MK_HOSTILE_LOG=1: every case, its time, exit code and first stderr line.
          if (process.env.H4MK_HOSTILE_LOG !== undefined)
            console.log(
              `${got.ms.toFixed(0).padStart(5)} ms exit ${got.code}  h4mk ${CASES[got.id]?.argv.join(' ').slice(0, 140)}\n      ${got.stderr.split('\n')[0]}`,
            );
          results.set(got.id, {
            code: typeof got.code === 'number' ? got.code : null,
            stderr: typeof got.code === 'string' ? `${got.code}\n${got.stderr}` : got.stderr,
            stdout: got.stdout,
          });
        }
        if (r.code !== 0) runnerProblems.push(`batch ${b} exited ${r.code}`);
        if (r.stderr.trim() !== '') runnerProblems.push(`batch ${b} wrote outside the CLI's Output: ${r.stderr.slice(0, 400)}`);
      }),
    );
    const batchSeconds = (performance.now() - started) / 1000;
    const failures: string[] = [...runnerProblems];
    for (const c of CASES) {
      const r = results.get(c.id);
      const why = r === undefined ? 'no result (the batch stopped early)' : problem(c, r);
      if (why !== null)
        failures.push(`h4mk ${materialize(c, 'batch').join(' ').slice(0, 300)}\n    ${why}\n    ${(r?.stderr ?? '').trim().split('\n').join('\n    ')}`);
    }
    // Tier 2: a sample as real processes, four at a time; they must end like their batch runs.
    const sample = spawnSample(results);
    const spawned = await pool(
      sample.map((c) => () => spawnNode([MAIN, ...materialize(c, 'spawn')], 60_000)),
      CONCURRENCY,
    );
    const normalize = (s: string) => s.replaceAll(join(root, 'spawn'), join(root, 'batch'));
    sample.forEach((c, i) => {
      const r = spawned[i] as Result;
      const why = problem(c, r);
      const batch = results.get(c.id) as Result;
      const argv = materialize(c, 'spawn').join(' ').slice(0, 300);
      if (why !== null) failures.push(`[process] h4mk ${argv}\n    ${why}\n    ${r.stderr.trim().split('\n').join('\n    ')}`);
      else if (r.code !== batch.code || normalize(r.stderr) !== batch.stderr) {
        failures.push(
          `[process] h4mk ${argv}\n    ended with ${r.code} ${JSON.stringify(r.stderr)}; through run(): ${batch.code} ${JSON.stringify(batch.stderr)}`,
        );
      }
    });
    const after = inputHashes();
    expect(after, 'an input or an existing output changed').toEqual(before);
    const seconds = (performance.now() - started) / 1000;
    const codes = new Map<number | null, number>();
    for (const r of results.values()) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    console.log(
      `hostile argv: ${CASES.length} generated cases (${new Set(CASES.map((c) => c.verb)).size} verbs) through run() in ${batchSeconds.toFixed(1)} s, ` +
        `${sample.length} of them also as processes; ${seconds.toFixed(1)} s in all; exit codes ${[...codes].map(([k, n]) => `${k}×${n}`).join(' ')}; ${failures.length} failures`,
    );
    expect(failures, failures.join('\n')).toEqual([]);
  });
});

/** Runs the CLI as a process (cwd: the fixture root). */
function h4mk(args: string[]): Promise<Result> {
  return spawnNode([MAIN, ...args], 60_000);
}

/** The one rule of the writing verbs (src/cli/output-guard.ts), with --force. */
describe('outputs: never an input, never an existing file without --force', () => {
  const at = (name: string) => join(root, 'guard', name);

  beforeAll(() => {
    mkdirSync(join(root, 'guard'), { recursive: true });
    copyFileSync(F.ndjson, at('in.ndjson'));
    copyFileSync(F.container, at('c.h4mk'));
  });

  it('--force replaces an existing output, atomically; never an input, however it is named', async () => {
    writeFileSync(at('old.h4mk'), 'old');
    const refused = await h4mk(['pack', at('in.ndjson'), '-o', at('old.h4mk')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^h4mk: error: .*old\.h4mk exists; refusing to replace it\nh4mk: hint: add --force to replace it\n$/);
    expect(readFileSync(at('old.h4mk'), 'utf8')).toBe('old');
    const forced = await h4mk(['pack', at('in.ndjson'), '-o', at('old.h4mk'), '--force']);
    expect(forced.code).toBe(0);
    expect((await h4mk(['verify', at('old.h4mk')])).code).toBe(0);
    expect(readdirSync(join(root, 'guard')).filter((n) => n.startsWith('.'))).toEqual([]);

    const input = sha(at('in.ndjson'));
    linkSync(at('in.ndjson'), at('hard.ndjson'));
    symlinkSync(at('in.ndjson'), at('sym.ndjson'));
    for (const output of [at('in.ndjson'), at('hard.ndjson'), at('sym.ndjson'), join(root, 'guard', '.', 'in.ndjson')]) {
      const r = await h4mk(['pack', at('in.ndjson'), '-o', output, '--force']);
      expect(r.code, output).toBe(2);
      expect(r.stderr, output).toMatch(/^h4mk: error: refusing to write .*: it is the input .*in\.ndjson\nh4mk: hint: the output is the input/);
    }
    // The input named through a link, the output by its real name.
    const viaLink = await h4mk(['optimize', at('sym.ndjson'), '-o', at('in.ndjson'), '--force']);
    expect(viaLink.code).toBe(2);
    expect(viaLink.stderr).toMatch(/it is the input/);
    expect(sha(at('in.ndjson'))).toBe(input);
  });

  it('every writing verb refuses its input as its output, even with --force', async () => {
    const c = at('c.h4mk');
    const before = sha(c);
    const key = F.key;
    const commands = [
      ['optimize', c, '-o', c],
      ['recover', c, '-o', c],
      ['seal', c, '--sign-key', F.signKey, '-o', c],
      ['controls', 'add', c, '--from', F.controls, '-o', c],
      ['export', c, '-o', c, '--format', 'matroska'],
      ['block', c, '--index', '0', '-o', c],
      ['grant', F.encrypted, '--key-file', key, '--track', 'video', '--from-us', '0', '--to-us', '1', '-o', key],
      ['import', F.media, '-o', F.media],
      ['package', F.mediaContainer, '-o', F.mediaContainer],
    ];
    // Without --force the generated cases above cover it: here, with --force.
    const runs = await pool(
      commands.map((args) => () => h4mk([...args, '--force'])),
      CONCURRENCY,
    );
    runs.forEach((r, i) => {
      const args = (commands[i] as string[]).join(' ');
      expect(r.code, args).toBe(2);
      expect(r.stderr, args).toMatch(/^h4mk: error: refusing to write .*: it is the input/);
    });
    expect(sha(c)).toBe(before);
  });

  it('package: an output directory that holds the input is refused, --force or not', async () => {
    mkdirSync(at('site'), { recursive: true });
    copyFileSync(F.mediaContainer, at('site/m.h4mk'));
    for (const out of [at('site'), root]) {
      const r = await h4mk(['package', at('site/m.h4mk'), '-o', out, '--force']);
      expect(r.code, out).toBe(2);
      expect(r.stderr, out).toMatch(/^h4mk: error: refusing to write .*: it contains the input/);
    }
    expect(existsSync(at('site/m.h4mk'))).toBe(true);
    const existing = await h4mk(['package', at('site/m.h4mk'), '-o', at('pkg')]);
    expect(existing.code).toBe(0);
    const again = await h4mk(['package', at('site/m.h4mk'), '-o', at('pkg')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/pkg exists; refusing to replace it\nh4mk: hint: add --force to replace it\n$/);
    expect((await h4mk(['package', at('site/m.h4mk'), '-o', at('pkg'), '--force'])).code).toBe(0);
  });

  it('pack --live: an existing output is refused; with --force it is removed first, then written in place', async () => {
    writeFileSync(at('live.h4mk'), 'a file a reader may be following');
    const refused = await h4mk(['pack', at('in.ndjson'), '-o', at('live.h4mk'), '--live']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/live\.h4mk exists; refusing to replace it/);
    const forced = await h4mk(['pack', at('in.ndjson'), '-o', at('live.h4mk'), '--live', '--force']);
    expect(forced.code).toBe(0);
    expect((await h4mk(['verify', at('live.h4mk')])).code).toBe(0);
    const same = await h4mk(['pack', at('in.ndjson'), '-o', at('in.ndjson'), '--live', '--force']);
    expect(same.code).toBe(2);
    expect(existsSync(at('in.ndjson'))).toBe(true);
  });

  it('pack: a payload_file that is the output is refused with --force (it would be replaced while read)', async () => {
    writeFileSync(at('frame.bin'), 'payload bytes');
    writeFileSync(
      at('p.ndjson'),
      `${JSON.stringify({ track: { id: 'v', kind: 'video' } })}\n${JSON.stringify({ track: 'v', pts_us: 0, keyframe: true, payload_file: 'frame.bin' })}\n`,
    );
    const r = await h4mk(['pack', at('p.ndjson'), '-o', at('frame.bin'), '--force']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^h4mk: error: .*p\.ndjson:2: payload_file "frame\.bin" is the output .*frame\.bin/);
    expect(readFileSync(at('frame.bin'), 'utf8')).toBe('payload bytes');
  });

  it('pack: input without a track is an error, and nothing is written', async () => {
    for (const text of ['', '\n\n', `${JSON.stringify({ track: 'v', pts_us: 0, keyframe: true, payload_b64: 'AA==' })}\n`]) {
      writeFileSync(at('none.ndjson'), text);
      const r = await h4mk(['pack', at('none.ndjson'), '-o', at('none.h4mk')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^h4mk: error: /);
      expect(existsSync(at('none.h4mk'))).toBe(false);
    }
    writeFileSync(at('none.ndjson'), '');
    const r = await h4mk(['pack', at('none.ndjson'), '-o', at('none.h4mk'), '--live']);
    expect(r.stderr).toMatch(/^h4mk: error: .*none\.ndjson: no track declared \(the input is empty\); nothing was written/);
    expect(existsSync(at('none.h4mk'))).toBe(false);
  });
});
