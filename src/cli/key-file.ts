/**
 * Key files on disk: the 32-byte container secret (`h4mk keygen`), Ed25519
 * PEM pairs (`h4mk keygen --sign`) and grants (`h4mk grant`).
 *
 * Secret key file format (one line, UTF-8):
 *
 *     h4mk-secret-v1 <base64 of the 32 bytes>\n
 *
 * Why a text line with a version tag: it survives copy and paste and mail,
 * it cannot be mistaken for a PEM file, a grant or a container, and a later
 * format can be told apart from this one.
 *
 * Every file holding key material is created with mode 0600 and is never
 * replaced unless the caller forces it. Nothing read from a key file is ever
 * put in an error message: a file that does not parse is described, not quoted.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { aboutPath, inputError, isSystemError } from './errors.js';

/** The tag that starts a secret key file. */
export const SECRET_KEY_TAG = 'h4mk-secret-v1';
/** Length of a container secret. */
export const SECRET_KEY_LENGTH = 32;
/** Key files are small: anything larger is not one (grants have their own cap). */
const MAX_KEY_FILE_LENGTH = 64 * 1024;
/** A grant holds one 32-byte key per epoch (at most 10^6 of them): about 70 MB of JSON. */
export const MAX_GRANT_FILE_LENGTH = 80 * 1024 * 1024;

const SECRET_LINE = /^h4mk-secret-v1 ([A-Za-z0-9+/]{43}=)$/;

/** The text of a secret key file for `secret`. */
export function formatSecretKey(secret: Uint8Array): string {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_KEY_LENGTH) throw new RangeError(`a secret key is ${SECRET_KEY_LENGTH} bytes`);
  return `${SECRET_KEY_TAG} ${Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength).toString('base64')}\n`;
}

/**
 * Parses the text of a secret key file. The error names the file and what
 * kind of file it seems to be, never its content.
 */
export function parseSecretKey(text: string, path: string): Uint8Array {
  const match = SECRET_LINE.exec(text.replace(/\r?\n$/, ''));
  if (match !== null) {
    const secret = new Uint8Array(Buffer.from(match[1] as string, 'base64'));
    // Canonical base64 only: the 43rd character must leave no stray bits.
    if (secret.length === SECRET_KEY_LENGTH && formatSecretKey(secret).trimEnd() === text.replace(/\r?\n$/, '')) return secret;
  }
  const trimmed = text.trimStart();
  let hint = `a key file is one line '${SECRET_KEY_TAG} <base64 of 32 bytes>' as written by 'h4mk keygen -o KEY'`;
  if (trimmed.startsWith('-----BEGIN')) hint = "this is a PEM key (a signing key?); --key-file takes a secret key from 'h4mk keygen -o KEY'";
  else if (trimmed.startsWith('{')) hint = 'this looks like JSON (a grant?); give a grant with --grant FILE';
  else if (trimmed.startsWith(SECRET_KEY_TAG)) hint = `the key line is damaged: it must hold exactly ${SECRET_KEY_LENGTH} bytes in base64`;
  throw inputError(`${path}: not an h4mk secret key file`, hint);
}

/** A private file's text, and its permission bits when other users may read it. */
export type PrivateFile = { text: string; looseMode: number | null };

/**
 * Reads a file holding key material (at most `maxLength` bytes). `looseMode`
 * is the file's mode when group or others have any access (POSIX only), so
 * the caller can warn.
 */
export async function readPrivateFile(path: string, maxLength = MAX_KEY_FILE_LENGTH): Promise<PrivateFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw aboutPath(path, error);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw inputError(`${path}: not a regular file`);
    if (st.size > maxLength) throw inputError(`${path}: ${st.size} bytes is too large for a key file`);
    const bytes = await handle.readFile();
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw inputError(`${path}: not a text file`);
    }
    const looseMode = process.platform !== 'win32' && (st.mode & 0o077) !== 0 ? st.mode & 0o777 : null;
    return { text, looseMode };
  } catch (error) {
    throw aboutPath(path, error);
  } finally {
    await handle.close();
  }
}

/** Reads a secret key file. */
export async function readSecretKeyFile(path: string): Promise<{ secret: Uint8Array; looseMode: number | null }> {
  const file = await readPrivateFile(path);
  return { secret: parseSecretKey(file.text, path), looseMode: file.looseMode };
}

/** The warning printed for a key file others may read. */
export function looseModeWarning(path: string, mode: number): string {
  return `${path} is accessible by other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`;
}

/**
 * Writes `text` to `path` with `mode` (0600 for anything holding key
 * material). Without `force` an existing file is never touched (exclusive
 * create); with `force` a temporary file beside it is renamed over it, so
 * the old key stays intact until the new one is complete.
 */
export async function writeKeyFile(path: string, text: string, options: { force?: boolean; mode?: number } = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  if (options.force !== true) {
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx', mode);
    } catch (error) {
      if (isSystemError(error) && error.code === 'EEXIST')
        throw inputError(`${path} exists; refusing to replace it`, 'add --force to replace it (the old key is lost)');
      throw aboutPath(path, error);
    }
    try {
      await fillAndClose(handle, text, mode);
    } catch (error) {
      await unlink(path).catch(() => {});
      throw aboutPath(path, error);
    }
    return;
  }
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fillAndClose(await open(temporary, 'wx', mode), text, mode);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw aboutPath(path, error);
  }
}

/** Sets the exact mode (the umask may have removed bits), writes, syncs and closes. */
async function fillAndClose(handle: FileHandle, text: string, mode: number): Promise<void> {
  try {
    await handle.chmod(mode);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
