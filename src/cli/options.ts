/** Parsers for option values; a bad value is a commander usage error (exit 2). */
import { type Command, InvalidArgumentError } from 'commander';

const INTEGER = /^[+-]?\d+$/;

/** Parses a safe integer (timestamps may be negative). */
export function parseInteger(value: string): number {
  const n = INTEGER.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

/** Parses a non-negative safe integer (indices, counts). */
export function parseIndex(value: string): number {
  const n = parseInteger(value);
  if (n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

/** Parses `--format-version`: 1 or 2 (docs/FORMAT.md §12). */
export function parseFormatVersion(value: string): 1 | 2 {
  if (value === '1') return 1;
  if (value === '2') return 2;
  throw new InvalidArgumentError('expected 1 or 2');
}

/** The help text of `--format-version` for the verbs that write a container. */
export const FORMAT_VERSION_HELP = 'format version to write: 2 (the default) or 1 (for readers that know only version 1)';

/** Parses a path (a file, a directory, `-` where stdin is meant): anything but an empty string. */
export function parsePath(value: string): string {
  if (value === '') throw new InvalidArgumentError('expected a path, not an empty string');
  return value;
}

/** Option placeholders and argument names that stand for paths (see {@link requirePaths}). */
const PATH_PLACEHOLDERS = new Set(['file', 'dir', 'media']);
const PATH_ARGUMENTS = new Set(['file', 'input', 'blocks', 'dir']);

/**
 * Gives every option whose placeholder names a path (`<file>`, `<dir>`,
 * `<media>`) and every argument named like one, that has no parser of its
 * own, the {@link parsePath} parser, in `command` and its subcommands: an
 * empty path is then a usage error at once, naming the option.
 */
export function requirePaths(command: Command): void {
  for (const option of command.options) {
    const placeholder = /<([^>]+)>|\[([^\]]+)\]/
      .exec(option.flags)
      ?.slice(1)
      .find((x) => x !== undefined);
    if (placeholder !== undefined && PATH_PLACEHOLDERS.has(placeholder) && option.parseArg === undefined) option.argParser(parsePath);
  }
  for (const argument of command.registeredArguments) {
    if (PATH_ARGUMENTS.has(argument.name()) && argument.parseArg === undefined) argument.argParser(parsePath);
  }
  for (const sub of command.commands) requirePaths(sub);
}

/** Collects a repeatable option's values into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parses a JSON object given on the command line (e.g. `--meta '{"title":"x"}'`). */
export function parseJsonObjectOption(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected a JSON object');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object');
  return parsed as Record<string, unknown>;
}
