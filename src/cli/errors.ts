/**
 * Exit codes and the one table that maps errors to them.
 *
 * | exit | meaning                                                            |
 * |------|--------------------------------------------------------------------|
 * | 0    | success                                                            |
 * | 1    | verification failed: data failed an integrity or authenticity check|
 * |      | (CRC, SHA-256, decompression, AEAD tag `E_AUTH`, transcript        |
 * |      | `E_TRANSCRIPT`, seal `E_SIGNATURE`), or `verify` found damage      |
 * | 2    | usage or input error: bad arguments, unreadable or invalid input,  |
 * |      | and `E_KEY`: the key, passphrase or grant given does not open this |
 * |      | container or block (wrong key, another container, outside a grant, |
 * |      | no key for an encrypted block, a key for a plain container)        |
 * | 3    | partial: `recover` rebuilt a valid container, but blocks were lost |
 * | 4    | nothing there: the data is intact but holds nothing to answer with |
 * |      | (`seek` on a track without a keyframe, e.g. an empty track)        |
 * | 130  | interrupted (SIGINT) during `pack`; nothing was written            |
 *
 * Why `E_KEY` is 2 and not 1: the data may be perfectly intact; what is wrong
 * is what the user supplied. `E_AUTH` is 1: the key is right (its key-check
 * value matched) and the bytes are not what was encrypted.
 */
import { CommanderError } from 'commander';
import { H4mkError, type H4mkErrorCode } from '../node.js';

/** Process exit codes of the CLI. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2, PARTIAL: 3, NOTHING: 4, INTERRUPTED: 130 } as const;
/** One of the {@link ExitCode} values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI raises itself, with its exit code, a stable code and an optional hint. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: string;
  readonly hint: string | undefined;
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options: { code?: string; hint?: string } = {},
  ) {
    super(message);
    this.code =
      options.code ??
      (exitCode === ExitCode.FAILED
        ? 'E_FAILED'
        : exitCode === ExitCode.INTERRUPTED
          ? 'E_INTERRUPTED'
          : exitCode === ExitCode.NOTHING
            ? 'E_NOT_FOUND'
            : 'E_USAGE');
    this.hint = options.hint;
  }
}

/** A usage or input error (exit 2). */
export function inputError(message: string, hint?: string): CliError {
  return new CliError(message, ExitCode.USAGE, hint === undefined ? {} : { hint });
}

/** A failed check (exit 1) with a stable `code`. */
export function failure(message: string, code: string, hint?: string): CliError {
  return new CliError(message, ExitCode.FAILED, hint === undefined ? { code } : { code, hint });
}

/**
 * Container error codes that mean "the data failed an integrity check" (exit 1);
 * every other container error is invalid input (exit 2).
 */
const INTEGRITY_CODES: ReadonlySet<string> = new Set(['E_CHECKSUM', 'E_DIGEST', 'E_DECOMPRESS', 'E_AUTH', 'E_SIGNATURE', 'E_TRANSCRIPT']);

/** How the CLI reports one error. */
export type ErrorReport = {
  exitCode: ExitCode;
  /** Stable code for JSON output: an H4mkError code, a Node errno code, or E_USAGE / E_FAILED / E_INTERNAL. */
  code: string;
  message: string;
  hint?: string;
  /** Byte offset and attribution, for container errors. */
  offset?: number;
  coreIndex?: number;
  chunk?: string;
};

/** A Node system error (`ENOENT`, `EACCES`, …). */
type SystemError = Error & { code: string; syscall?: string; path?: string };

/** True for Node system errors, which carry an errno `code` such as ENOENT. */
export function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && typeof (error as Partial<SystemError>).code === 'string' && /^E[A-Z]+$/.test((error as SystemError).code);
}

const SYSTEM_MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  EEXIST: 'file exists',
  EPIPE: 'broken pipe',
};

/**
 * Rewrites a system error as an input error about `path` (the path the user
 * gave, rather than an internal temporary name); other errors pass through.
 */
export function aboutPath(path: string, error: unknown): unknown {
  if (!isSystemError(error)) return error;
  return inputError(`${path}: ${SYSTEM_MESSAGES[error.code] ?? error.message}`);
}

/** Maps any thrown value to its exit code, message and hint. */
export function reportOf(error: unknown): ErrorReport {
  if (error instanceof CliError) {
    return withHint({ exitCode: error.exitCode, code: error.code, message: error.message }, error.hint);
  }
  if (error instanceof CommanderError) {
    // Commander's messages start with "error: " and may carry a "(Did you mean …?)" line.
    const [first = '', ...rest] = error.message.replace(/^error: /, '').split('\n');
    const suggestion = rest
      .join(' ')
      .trim()
      .replace(/^\((.*)\)$/, '$1');
    return withHint({ exitCode: ExitCode.USAGE, code: 'E_USAGE', message: first }, suggestion === '' ? undefined : suggestion);
  }
  if (error instanceof H4mkError) {
    const report: ErrorReport = {
      exitCode: INTEGRITY_CODES.has(error.code) ? ExitCode.FAILED : ExitCode.USAGE,
      code: error.code,
      message: `${error.code}: ${error.message}`,
    };
    if (error.offset !== undefined) report.offset = error.offset;
    if (error.coreIndex !== undefined) report.coreIndex = error.coreIndex;
    if (error.chunk !== undefined) report.chunk = error.chunk;
    return withHint(report, hintForContainerError(error.code));
  }
  if (isSystemError(error)) {
    const what = SYSTEM_MESSAGES[error.code] ?? error.message;
    const message = error.path === undefined ? what : `${error.path}: ${what}`;
    return { exitCode: ExitCode.USAGE, code: error.code, message };
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    return { exitCode: ExitCode.USAGE, code: 'E_USAGE', message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return withHint({ exitCode: ExitCode.USAGE, code: 'E_INTERNAL', message: `internal error: ${message}` }, 'run again with --debug for a stack trace');
}

function withHint(report: ErrorReport, hint: string | undefined): ErrorReport {
  if (hint !== undefined) report.hint = hint;
  return report;
}

function hintForContainerError(code: H4mkErrorCode): string | undefined {
  switch (code) {
    case 'E_MAGIC':
      return "media files (MP4, MOV, Matroska/WebM, MPEG-TS, Ogg…) become containers with 'h4mk import', NDJSON records with 'h4mk pack'";
    case 'E_TRUNCATED':
      return "the file ends early; 'h4mk dump FILE' shows how far its chunks are intact, 'h4mk recover FILE -o OUT' keeps them";
    case 'E_CHECKSUM':
    case 'E_DIGEST':
    case 'E_DECOMPRESS':
      return "'h4mk verify FILE' lists every damaged block";
    case 'E_VERSION':
    case 'E_UNSUPPORTED':
      return 'the file needs a newer version of h4mk';
    case 'E_AUTH':
      return "the block was altered, moved or replaced; 'h4mk verify FILE --key-file KEY' lists every block that fails";
    case 'E_TRANSCRIPT':
      return 'blocks were removed, reordered or the container was truncated, though its index is consistent';
    case 'E_KEY':
      return 'give the key file, passphrase (--passphrase-env) or grant of this container; a grant opens only its track and key epochs';
    case 'E_SIGNATURE':
      return 'the container changed after it was sealed, or was sealed by another key';
    case 'E_CHANGED':
      return 'the file changed on the server while it was being read; run again (a live container: use h4mk tail)';
    case 'E_IO':
      return 'the input could not be read: check the URL, the server and the network';
    default:
      return undefined;
  }
}
