/**
 * The input of the read verbs: a local file or an http(s) URL (read with
 * range requests through HttpSource), and the options every read verb takes
 * for it:
 *
 * - `--stats`: requests, bytes and reads made on the input, printed on stderr
 *   after the result (text mode) or as a `stats` field of the JSON document;
 * - `--layout faststart|tail`: which end of the file to read first, so that a
 *   faststart container over HTTP opens with one prefix request (a tail one
 *   opens with one suffix request without a hint);
 * - `--live`: open the latest durable checkpoint of a container that is still
 *   being written (docs/FORMAT.md §14); over HTTP its growth is not a change.
 *
 * One {@link InputSession} per run (set by the program's preAction hook)
 * collects the counters of every source the verb opened.
 */
import { type Command, Option } from 'commander';
import type { RandomAccessSource } from '../node.js';

/** What `--stats`, `--layout` and `--live` gave. */
export type InputOptions = { stats?: boolean; layout?: 'tail' | 'faststart'; live?: boolean };

/** Counters summed over the sources of one run. */
export type InputStats = {
  /** "http" when any source was a URL, else "file". */
  source: 'http' | 'file';
  /** HTTP requests (retries included); 0 for local files. */
  requests: number;
  /** Bytes received (HTTP bodies) or read (files). */
  bytes: number;
  /** Logical reads the reader made. */
  reads: number;
  /** HTTP: reads answered from memory without a request. */
  cache_hits: number;
  /** HTTP: requests that were retries. */
  retries: number;
};

/** The verbs that read a container and take the input options (new read verbs register their own). */
export const READ_VERBS: readonly string[] = ['manifest', 'seek', 'range', 'block', 'verify', 'dump'];

/** True when `path` is an http(s) URL rather than a file name. */
export function isUrl(path: string): boolean {
  return /^https?:\/\//i.test(path);
}

/** The counters of one run. */
export class InputSession {
  private readonly totals: InputStats = { source: 'file', requests: 0, bytes: 0, reads: 0, cache_hits: 0, retries: 0 };
  constructor(readonly options: InputOptions = {}) {}

  /** Adds the counters of a source about to be closed. */
  add(source: RandomAccessSource, remote: boolean): void {
    const s = source.stats as { reads?: number; bytesRead?: number; requests?: number; cacheHits?: number; retries?: number } | undefined;
    if (remote) this.totals.source = 'http';
    if (s === undefined) return;
    this.totals.requests += s.requests ?? 0;
    this.totals.bytes += s.bytesRead ?? 0;
    this.totals.reads += s.reads ?? 0;
    this.totals.cache_hits += s.cacheHits ?? 0;
    this.totals.retries += s.retries ?? 0;
  }

  /** The counters so far. */
  stats(): InputStats {
    return { ...this.totals };
  }

  /** `{ stats }` to merge into the run's JSON document when `--stats` was given. */
  jsonExtra(): Record<string, unknown> | undefined {
    return this.options.stats === true ? { stats: this.stats() } : undefined;
  }

  /** The stderr line of `--stats` in text mode, or undefined. */
  textLine(): string | undefined {
    if (this.options.stats !== true) return undefined;
    const s = this.totals;
    const http = s.source === 'http' ? `${s.requests} request${s.requests === 1 ? '' : 's'}, ` : '';
    const cache = s.source === 'http' ? `, ${s.cache_hits} from cache${s.retries > 0 ? `, ${s.retries} retries` : ''}` : '';
    return `h4mk: stats: ${http}${s.bytes} bytes read in ${s.reads} reads${cache}`;
  }
}

let current = new InputSession();

/** Starts the input session of a run from the running verb's options. */
export function beginInput(options: Record<string, unknown>): InputSession {
  const layout = options.layout === 'tail' || options.layout === 'faststart' ? options.layout : undefined;
  current = new InputSession({ stats: options.stats === true, live: options.live === true, ...(layout === undefined ? {} : { layout }) });
  return current;
}

/** The input session of the running verb. */
export function currentInput(): InputSession {
  return current;
}

/** Adds `--stats` to a verb that reads an input. */
export function addStatsOption(command: Command): Command {
  return command.option('--stats', 'print the requests, bytes and reads made on the input (stderr; a "stats" field with --json)');
}

/** Adds `--stats`, `--layout` and `--live` to a read verb. */
export function addInputOptions(command: Command): Command {
  return addStatsOption(command)
    .addOption(
      new Option('--layout <layout>', 'read this end first: a faststart container over HTTP then opens with one request').choices(['faststart', 'tail']),
    )
    .option('--live', 'open the latest checkpoint of a container still being written (h4mk pack --live)');
}

/** Reader options from `--layout` and `--live`, for readers opened outside `withContainer`. */
export function readerHints(): { layout?: 'tail' | 'faststart'; live?: boolean } {
  const { layout, live } = current.options;
  return { ...(layout === undefined ? {} : { layout }), ...(live === true ? { live } : {}) };
}
