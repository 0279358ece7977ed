/**
 * A progress bar for long work (pack, verify), drawn with cli-progress on
 * stderr, and only when stderr is a terminal: pipes and logs stay clean.
 */
import { createRequire } from 'node:module';
import type { OutputStream } from './output.js';

/** The slice of cli-progress the CLI uses (the package ships no types). */
type SingleBarLike = {
  start(total: number, startValue: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
};
type CliProgressModule = {
  SingleBar: new (options: Record<string, unknown>, preset?: unknown) => SingleBarLike;
  Presets: { shades_classic: unknown };
};

/** A progress display; the no-op one is used when stderr is not a terminal. */
export interface Progress {
  update(value: number): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { update() {}, stop() {} };

/**
 * Starts a bar over `total` units labelled `label`, on `stream` when it is a
 * terminal; otherwise returns a progress that prints nothing.
 */
export function startProgress(label: string, total: number, unit: string, stream: OutputStream = process.stderr): Progress {
  if (stream.isTTY !== true || total <= 0) return NO_PROGRESS;
  const cliProgress = createRequire(import.meta.url)('cli-progress') as CliProgressModule;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta}s`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let stopped = false;
  return {
    update: (value) => bar.update(Math.min(value, total)),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
