/**
 * The key options every verb that reads or writes encrypted containers
 * shares, so that `pack`, `block`, `range`, `verify`, `grant` (and the media
 * verbs `import` / `export`) spell and check them the same way:
 *
 *   read side   --key-file FILE | --passphrase-env VAR | --grant FILE
 *   write side  --encrypt (--key-file FILE | --passphrase-env VAR) [--epoch-us T]
 *
 * A passphrase is only ever taken from the environment: command lines are
 * visible to other users (ps, /proc) and end up in shell history.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { EncryptionOptions, Grant, KeyInput } from '../node.js';
import { parseGrant } from '../node.js';
import { SCRYPT_BOUNDS } from '../format/crypto-params.js';
import { inputError } from './errors.js';
import { looseModeWarning, MAX_GRANT_FILE_LENGTH, readPrivateFile, readSecretKeyFile } from './key-file.js';
import { parseIndex } from './options.js';
import type { Output } from './output.js';

/** Read-side key options as commander parses them. */
export type KeyOptions = { keyFile?: string; passphraseEnv?: string; grant?: string };

/** Write-side encryption options as commander parses them. */
export type EncryptOptions = {
  encrypt?: boolean;
  keyFile?: string;
  passphraseEnv?: string;
  epochUs?: number;
  scryptLog2n?: number;
  engineId?: string;
  engineFp?: string;
};

/** What a key input is, for reports (never the key itself). */
export type KeyKind = 'key-file' | 'passphrase' | 'grant';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses an environment variable name (the value is read later, never from argv). */
function parseEnvName(value: string): string {
  if (!ENV_NAME.test(value)) throw new InvalidArgumentError('expected the NAME of an environment variable (the passphrase is read from it)');
  return value;
}

/** scrypt cost exponent: 10 up to the format's bound (§13.2: 20; readers refuse more). */
function parseLog2N(value: string): number {
  const n = parseIndex(value);
  const max = SCRYPT_BOUNDS.maxLog2N;
  if (n < 10 || n > max) throw new InvalidArgumentError(`expected 10..${max} (readers refuse scrypt costs above 2^${max})`);
  return n;
}

/** Adds --key-file, --passphrase-env and (unless `grant` is false) --grant. */
export function addKeyOptions(command: Command, options: { grant?: boolean } = {}): Command {
  command
    .option('--key-file <file>', "the container's secret key file (from 'h4mk keygen')")
    .addOption(
      new Option('--passphrase-env <var>', 'read the passphrase from this environment variable (never give it on the command line)').argParser(parseEnvName),
    );
  if (options.grant !== false) command.option('--grant <file>', "a grant (from 'h4mk grant'): opens only its track and key epochs");
  return command;
}

/** Adds --encrypt and its key, epoch, scrypt and engine options. */
export function addEncryptOptions(command: Command): Command {
  return command
    .option('--encrypt', 'encrypt every block with AES-256-GCM (needs --key-file or --passphrase-env)')
    .option('--key-file <file>', "with --encrypt: the secret key file (from 'h4mk keygen')")
    .addOption(
      new Option('--passphrase-env <var>', 'with --encrypt: read a passphrase from this environment variable (stretched with scrypt)').argParser(parseEnvName),
    )
    .option('--epoch-us <n>', 'with --encrypt: a new key every N µs of media time, so grants can open time windows (default: one key per track)', parseIndex)
    .addOption(new Option('--scrypt-log2n <n>', 'with --passphrase-env: scrypt cost N = 2^n (default 15)').argParser(parseLog2N))
    .option('--engine-id <text>', 'with --encrypt: engine id bound into every block (seed engine_id)')
    .option('--engine-fp <text>', 'with --encrypt: engine fingerprint bound into every block (seed engine_fp)');
}

/** Reads a passphrase from environment variable `name`. */
export function passphraseFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined)
    throw inputError(`environment variable ${name} is not set`, `export ${name}=… first; the passphrase is never taken from the command line`);
  if (value === '') throw inputError(`environment variable ${name} is empty`);
  return value;
}

/** Reads the secret of a key file, warning when others may read the file. */
export async function secretFromKeyFile(path: string, out: Output): Promise<Uint8Array> {
  const { secret, looseMode } = await readSecretKeyFile(path);
  if (looseMode !== null) out.warn(looseModeWarning(path, looseMode));
  return secret;
}

/** Reads and checks a grant file (its keys never appear in errors). */
export async function readGrantFile(path: string, out: Output): Promise<Grant> {
  const file = await readPrivateFile(path, MAX_GRANT_FILE_LENGTH);
  let value: unknown;
  try {
    value = JSON.parse(file.text);
  } catch {
    // JSON.parse quotes the text around the error: it could be key material.
    throw inputError(`${path}: not a JSON grant file`, "grants are written by 'h4mk grant'");
  }
  const grant = parseGrant(value);
  // Only about a file that is a grant: for anything else the error says all.
  if (file.looseMode !== null) out.warn(looseModeWarning(path, file.looseMode));
  return grant;
}

/**
 * The key the user gave on the command line, or undefined for none; a
 * usage error when more than one is given.
 */
export async function keyInputOf(
  options: KeyOptions,
  out: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ key: KeyInput; kind: KeyKind } | undefined> {
  const given = [options.keyFile, options.passphraseEnv, options.grant].filter((x) => x !== undefined).length;
  if (given > 1) throw inputError('give one of --key-file, --passphrase-env and --grant');
  if (options.keyFile !== undefined) return { key: { secret: await secretFromKeyFile(options.keyFile, out) }, kind: 'key-file' };
  if (options.passphraseEnv !== undefined) return { key: { passphrase: passphraseFromEnv(options.passphraseEnv, env) }, kind: 'passphrase' };
  if (options.grant !== undefined) return { key: { grant: await readGrantFile(options.grant, out) }, kind: 'grant' };
  return undefined;
}

/** The writer's encryption options from --encrypt and friends, or undefined when not encrypting. */
export async function encryptionOf(options: EncryptOptions, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<EncryptionOptions | undefined> {
  if (options.encrypt !== true) {
    const stray = (
      [
        ['--key-file', options.keyFile],
        ['--passphrase-env', options.passphraseEnv],
        ['--epoch-us', options.epochUs],
        ['--scrypt-log2n', options.scryptLog2n],
        ['--engine-id', options.engineId],
        ['--engine-fp', options.engineFp],
      ] as const
    ).find(([, v]) => v !== undefined);
    if (stray !== undefined) throw inputError(`${stray[0]} needs --encrypt`, 'give --encrypt to encrypt the blocks');
    return undefined;
  }
  if ((options.keyFile === undefined) === (options.passphraseEnv === undefined)) throw inputError('--encrypt needs one of --key-file and --passphrase-env');
  if (options.scryptLog2n !== undefined && options.passphraseEnv === undefined) throw inputError('--scrypt-log2n applies to --passphrase-env only');
  const encryption: EncryptionOptions = {};
  if (options.keyFile !== undefined) encryption.secret = await secretFromKeyFile(options.keyFile, out);
  else {
    encryption.passphrase = passphraseFromEnv(options.passphraseEnv as string, env);
    if (options.scryptLog2n !== undefined) encryption.scrypt = { log2N: options.scryptLog2n };
  }
  if (options.epochUs !== undefined) encryption.epochUs = options.epochUs;
  if (options.engineId !== undefined) encryption.engineId = options.engineId;
  if (options.engineFp !== undefined) encryption.engineFp = options.engineFp;
  return encryption;
}
