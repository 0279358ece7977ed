/**
 * Everything the CLI prints goes through one {@link Output}: results on
 * stdout (text, or exactly one JSON document with `--json`), diagnostics on
 * stderr as `h4mk: error: …` / `h4mk: warning: …` / `h4mk: hint: …`. Color only on a terminal and
 * never when NO_COLOR is set.
 */

/** The part of a Node stream the CLI writes to. */
export interface OutputStream {
  write(chunk: string | Uint8Array): boolean;
  isTTY?: boolean;
}

/** ANSI styles used by the CLI. */
export type Style = 'red' | 'green' | 'yellow' | 'bold' | 'dim';

const ANSI: Record<Style, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], bold: [1, 22], dim: [2, 22] };

/** True when `stream` is a terminal and the environment allows color (https://no-color.org). */
export function colorAllowed(stream: OutputStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** The CLI's view of stdout and stderr for one run. */
export class Output {
  /** Set from the running verb's `--json` flag. */
  jsonMode = false;
  /** Extra top-level fields (e.g. `stats`) merged into the run's JSON document when it is an object. */
  jsonExtra: (() => Record<string, unknown> | undefined) | undefined;
  private jsonWritten = false;
  private readonly colorOut: boolean;
  private readonly colorErr: boolean;

  constructor(
    readonly stdout: OutputStream = process.stdout,
    readonly stderr: OutputStream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.colorOut = colorAllowed(stdout, env);
    this.colorErr = colorAllowed(stderr, env);
  }

  /** Whether the one JSON document of this run has been written. */
  get wroteJson(): boolean {
    return this.jsonWritten;
  }

  /** Writes the run's JSON document (at most one per run). */
  json(value: unknown): void {
    if (this.jsonWritten) throw new Error('internal: a second JSON document was requested');
    this.jsonWritten = true;
    const extra = this.jsonExtra?.();
    const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
    const document = extra !== undefined && isObject ? { ...(value as Record<string, unknown>), ...extra } : value;
    this.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  }

  /** Writes a line of text to stdout. */
  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  /** Writes raw bytes to stdout. */
  bytes(bytes: Uint8Array): void {
    this.stdout.write(bytes);
  }

  /** `text` styled for stdout. */
  style(text: string, style: Style): string {
    return this.colorOut ? paint(text, style) : text;
  }

  /** Prints `h4mk: error: …` (one line) and an optional hint on stderr. */
  error(message: string, hint?: string): void {
    const label = this.colorErr ? paint('error:', 'red') : 'error:';
    this.stderr.write(`h4mk: ${label} ${oneLine(message)}\n`);
    if (hint !== undefined) this.hint(hint);
  }

  /** Prints `h4mk: warning: …` (one line) on stderr; the run goes on. */
  warn(message: string): void {
    const label = this.colorErr ? paint('warning:', 'yellow') : 'warning:';
    this.stderr.write(`h4mk: ${label} ${oneLine(message)}\n`);
  }

  /** Prints `h4mk: hint: …` on stderr. */
  hint(message: string): void {
    const label = this.colorErr ? paint('hint:', 'yellow') : 'hint:';
    this.stderr.write(`h4mk: ${label} ${oneLine(message)}\n`);
  }

  /** Prints a free-form diagnostic (a stack trace under `--debug`) on stderr. */
  debug(text: string): void {
    this.stderr.write(`${text}\n`);
  }
}

function paint(text: string, style: Style): string {
  const [on, off] = ANSI[style];
  return `\u001b[${on}m${text}\u001b[${off}m`;
}

/** Collapses whitespace so a message always fits on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
