/** What the media verbs (import, export, controls) share: error mapping and formatting. */
import { isMediaError } from '../../node.js';
import { CliError, ExitCode } from '../errors.js';

const HINTS: Record<string, string> = {
  E_MEDIA_FORMAT: 'h4mk import reads MP4/MOV, Matroska/WebM, Ogg, MP3, WAV, ADTS, FLAC and MPEG-TS',
  E_MEDIA_TRUNCATED: 'the media file is incomplete; copy or download it again',
  E_CONTROLS: 'a control record is {"control":"pan","value":12.5,"unit":"deg","t_us":0,"easing":"linear"}',
};

/** Runs `fn`; a media-layer error becomes an input error (exit 2) with its code and a hint. */
export async function mediaErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isMediaError(error)) {
      const hint = HINTS[error.code];
      throw new CliError(error.message, ExitCode.USAGE, hint === undefined ? { code: error.code } : { code: error.code, hint });
    }
    throw error;
  }
}

/** Seconds elapsed since `started` (performance.now()), to the millisecond. */
export function secondsSince(started: number): number {
  return Number(((performance.now() - started) / 1000).toFixed(3));
}

/** Pads a table of strings into aligned columns. */
export function columns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '));
}
