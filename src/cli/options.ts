/** Parsers for option values; a bad value is a commander usage error (exit 2). */
import { InvalidArgumentError } from 'commander';

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
