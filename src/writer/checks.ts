/**
 * The writer's checks of what it is given: track declarations (§5.1),
 * JSON objects (§5.2), timestamps (§2.4) and the §6.1 ordering rules.
 * Misuse of the API is a TypeError or RangeError; a block out of the order
 * §6.1 requires is an `E_ORDER` {@link H4mkError}, as on every other path.
 */
import { getCodec } from '../compress/codec.js';
import { type Compression, type Limits, MAX_SHORT_STRING, MAX_TIMESTAMP, TRACK_KINDS } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import { utf8 } from '../format/strings.js';
import { usToTicksExact } from '../format/time.js';
import type { TrackRecord } from '../format/track-table.js';
import type { BlockInput, TrackOptions } from './options.js';

/** What the ordering rules of §6.1 remember of one track. */
export type TrackOrder = { record: TrackRecord; blocks: number; lastDts: number; lastKeyPts: number };

/**
 * §6.1 Ordering rules, within a track in file order: the first block is a
 * keyframe; dts never decreases; keyframe pts never decrease.
 *
 * @throws H4mkError `E_ORDER` naming the rule and the track.
 */
export function checkOrder(t: TrackOrder, pts: number, dts: number, keyframe: boolean): void {
  if (t.blocks === 0 && !keyframe) throw new H4mkError('E_ORDER', `the first block of track ${t.record.id} must be a keyframe`);
  if (dts < t.lastDts) throw new H4mkError('E_ORDER', `dts must not decrease within track ${t.record.id} (${dts} after ${t.lastDts})`);
  if (keyframe && pts < t.lastKeyPts) throw new H4mkError('E_ORDER', `keyframe pts must not decrease within track ${t.record.id}`);
}

/** Checks the rest of a track declaration whose id was checked; returns its record, numbered `number`. */
export function trackRecord(options: TrackOptions, number: number, defaultCompression: Compression, limits: Limits): TrackRecord {
  if (!TRACK_KINDS.includes(options.kind)) throw new TypeError(`track kind must be one of ${TRACK_KINDS.join(', ')}`);
  if (number >= limits.maxTracks) throw new RangeError(`more than ${limits.maxTracks} tracks`);
  const timescale = options.timescale ?? 1_000_000;
  if (!Number.isInteger(timescale) || timescale < 1 || timescale > 0xffff_ffff) throw new RangeError('timescale must be an integer in 1..2^32-1');
  const compression = options.compression ?? defaultCompression;
  getCodec(compression);
  const config = options.config ?? new Uint8Array(0);
  if (!(config instanceof Uint8Array)) throw new TypeError('codec configuration must be a Uint8Array');
  // §5.1 short strings and the extra object are checked now, not at finish (which would lose the container).
  const codec = shortString(options.codec ?? 'opaque', 'codec');
  const name = shortString(options.name ?? '', 'name');
  const language = shortString(options.language ?? '', 'language');
  shortString(options.id, 'track id');
  const extra = jsonObject(options.extra ?? {}, 'track extra', limits.maxJsonLength);
  if (config.length > limits.maxJsonLength) throw new RangeError('codec configuration exceeds the limit');
  return { number, id: options.id, kind: options.kind, codec, config: config.slice(), timescale, compression, name, language, extra };
}

/** A block's pts, dts and duration in track ticks, from ticks or microseconds. */
export function blockTimestamps(
  block: Pick<BlockInput, 'pts' | 'dts' | 'duration' | 'ptsUs' | 'dtsUs' | 'durationUs'>,
  timescale: number,
): { pts: number; dts: number; duration: number } {
  const pick = (ticks: number | undefined, us: number | undefined, what: string): number | undefined => {
    if (ticks !== undefined && us !== undefined) throw new TypeError(`give ${what} or ${what}Us, not both`);
    const v = ticks ?? (us === undefined ? undefined : usToTicksExact(checkInteger(us, `${what}Us`), timescale, what));
    return v === undefined ? undefined : checkInteger(v, what);
  };
  const pts = pick(block.pts, block.ptsUs, 'pts');
  if (pts === undefined) throw new TypeError('a block needs pts or ptsUs');
  const dts = pick(block.dts, block.dtsUs, 'dts') ?? pts;
  const duration = pick(block.duration, block.durationUs, 'duration') ?? 0;
  if (Math.abs(pts) > MAX_TIMESTAMP || Math.abs(dts) > MAX_TIMESTAMP) throw new RangeError('timestamps must lie within ±(2^51 - 1) ticks');
  if (duration < 0 || duration > 0xffff_ffff) throw new RangeError('duration must be within 0..2^32-1 ticks');
  return { pts, dts, duration };
}

/** §5.1 A short string: well-formed Unicode, at most 255 UTF-8 bytes. */
function shortString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  const bytes = utf8(value);
  if (bytes.length > MAX_SHORT_STRING) throw new RangeError(`${what} longer than ${MAX_SHORT_STRING} UTF-8 bytes`);
  if (new TextDecoder().decode(bytes) !== value) throw new TypeError(`${what} is not well-formed Unicode (lone surrogate)`);
  return value;
}

/**
 * §5.2 A JSON object the reader will accept back: a plain object, serializable,
 * within max_json_length. Returns a snapshot (later edits by the caller do not leak in).
 */
export function jsonObject(value: unknown, what: string, maxLength: number): Record<string, unknown> {
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(value)) throw new TypeError(`${what} must be a JSON object`);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${what} is not serializable as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const copy: unknown = JSON.parse(text);
  if (!isObject(copy)) throw new TypeError(`${what} must serialize to a JSON object`);
  if (utf8(text).length > maxLength) throw new RangeError(`${what} is ${utf8(text).length} bytes of JSON, over maxJsonLength (${maxLength})`);
  return copy as Record<string, unknown>;
}

function checkInteger(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} must be an integer, got ${v}`);
  return v;
}
