/**
 * The one rule every verb that writes follows, checked here before it reads
 * or writes anything:
 *
 * - it never writes over one of its inputs: not the same path, and not the
 *   same file reached through another name (a hard or symbolic link: the
 *   real paths and the device + inode numbers are compared), whatever
 *   `--force` says; an output directory (`package`) may neither be nor
 *   contain an input;
 * - it never replaces an existing output unless `--force` is given. Outputs
 *   are still written to a temporary file beside the destination and renamed
 *   over it once complete, so with `--force` the old file stays whole until
 *   the new one replaces it.
 *
 * Live outputs (`pack --live`, `import --live`) are written in place so that
 * readers can follow them: they cannot replace a file atomically, so with
 * `--force` the existing file is removed first and the live file starts
 * empty (see {@link guardOutput}'s `inPlace`).
 */
import type { Stats } from 'node:fs';
import { lstat, realpath, stat, unlink } from 'node:fs/promises';
import { basename, dirname, resolve, sep } from 'node:path';
import { aboutPath, inputError } from './errors.js';
import { isUrl } from './input.js';

/** The hint of a refusal to replace an existing output. */
export const FORCE_HINT = 'add --force to replace it';
/** The help text of `--force` on every verb that writes. */
export const FORCE_HELP = 'replace an existing output (never an input); it is replaced only once the new one is complete';

/** Options of {@link guardOutput}. */
export type GuardOptions = {
  /** `--force`: an existing output may be replaced (never an input). */
  force?: boolean;
  /** What the output is: a file (default) or a directory (`package`). */
  kind?: 'file' | 'directory';
  /**
   * The output is written in place (live): with `force`, an existing file is
   * removed now, since it cannot be replaced atomically.
   */
  inPlace?: boolean;
  /** How the output was named on the command line, for messages (default `-o`). */
  flag?: string;
};

/** What {@link guardOutput} found at the output path. */
export type OutputIdentity = {
  /** Something (a file, a directory, a link) was there. */
  exists: boolean;
  /** Device and inode of the file it names (after links), when there is one. */
  dev: number | null;
  ino: number | null;
};

/** The real path of `path`, or of its directory joined with its name when it does not exist. */
async function realPathOf(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = await realpath(dirname(absolute)).catch(() => dirname(absolute));
    return resolve(parent, basename(absolute));
  }
}

/** True when `a` and `b` are the same file (same device and inode). */
export function sameFile(a: Pick<Stats, 'dev' | 'ino'> | OutputIdentity, b: Pick<Stats, 'dev' | 'ino'>): boolean {
  return a.dev !== null && a.ino !== null && a.dev === b.dev && a.ino === b.ino;
}

/** True when `path` is inside directory `dir` (both absolute). */
function within(path: string, dir: string): boolean {
  return path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** Inputs that name a local file: not stdin (`-`), not a URL, not absent. */
function localInputs(inputs: ReadonlyArray<string | undefined>): string[] {
  return inputs.filter((p): p is string => p !== undefined && p !== '' && p !== '-' && !isUrl(p));
}

/**
 * Checks that `output` may be written by a verb reading `inputs` (files,
 * `-` or URLs; undefined entries are ignored): a one-line input error
 * (exit 2) with a hint when it is, is inside (directories) or is a link to
 * one of the inputs, or when it exists and `force` was not given. Inputs
 * that do not exist are left to the verb to report.
 */
export async function guardOutput(output: string, inputs: ReadonlyArray<string | undefined>, options: GuardOptions = {}): Promise<OutputIdentity> {
  const flag = options.flag ?? '-o';
  const directory = options.kind === 'directory';
  if (output === '') throw inputError(`${flag}: the output path is empty`, `give ${flag} the ${directory ? 'directory' : 'file'} to write`);
  if (isUrl(output)) throw inputError(`${flag} ${output}: h4mk writes local files only`, `give ${flag} a file path`);
  const link = await lstat(output).catch(() => null);
  const target: Stats | null = link === null ? null : await stat(output).catch(() => null);
  const identity: OutputIdentity = { exists: link !== null, dev: target?.dev ?? null, ino: target?.ino ?? null };
  const outputReal = await realPathOf(output);
  for (const input of localInputs(inputs)) {
    const st = await stat(input).catch(() => null);
    if (st === null) continue;
    const inputReal = await realPathOf(input);
    if (inputReal === outputReal || resolve(input) === resolve(output) || sameFile(identity, st)) {
      throw inputError(
        `refusing to write ${output}: it is the input ${input}`,
        `the output is the input: give ${flag} another ${directory ? 'directory' : 'path'} (h4mk never writes over its input, even with --force)`,
      );
    }
    if (directory && (within(inputReal, outputReal) || within(resolve(input), resolve(output)))) {
      throw inputError(
        `refusing to write ${output}: it contains the input ${input}`,
        `the output is the input's directory: give ${flag} a directory that does not hold the input`,
      );
    }
  }
  if (!identity.exists) return identity;
  // What --force could not replace: a directory with a file, a device or a pipe with anything.
  if (!directory && target?.isDirectory() === true) throw inputError(`${output}: is a directory`, `give ${flag} a file path`);
  if (target !== null && !target.isFile() && !target.isDirectory())
    throw inputError(`${output}: not a regular file; h4mk replaces files only`, `give ${flag} a file path`);
  if (options.force !== true) throw inputError(`${output} exists; refusing to replace it`, FORCE_HINT);
  if (options.inPlace === true) {
    // A live file is written in place: the old one goes first (it cannot be replaced atomically).
    await unlink(output).catch((error: unknown) => {
      throw aboutPath(output, error);
    });
    return { exists: false, dev: null, ino: null };
  }
  return identity;
}

/**
 * Checks that an input path names something readable as a file before a
 * verb starts: a one-line input error for an empty path, a missing file or a
 * directory. `-` (stdin) and URLs pass.
 */
export async function requireInputFile(path: string, what = 'the input'): Promise<void> {
  if (path === '-' || isUrl(path)) return;
  if (path === '') throw inputError(`${what}: the path is empty`);
  const st = await stat(path).catch((error: unknown) => {
    throw aboutPath(path, error);
  });
  if (st.isDirectory()) throw inputError(`${path}: is a directory`, `give ${what} as a file`);
  if (!st.isFile() && !st.isFIFO() && !st.isCharacterDevice() && !st.isSocket()) throw inputError(`${path}: not a regular file`);
}

/** Checks that `path` names an existing directory: a one-line input error otherwise. */
export async function requireDirectory(path: string, hint: string): Promise<void> {
  if (path === '') throw inputError('the directory path is empty', hint);
  const st = await stat(path).catch((error: unknown) => {
    throw aboutPath(path, error);
  });
  if (!st.isDirectory()) throw inputError(`${path}: not a directory`, hint);
}
