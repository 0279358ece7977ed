/**
 * The NDJSON input of `h4mk pack`: one JSON object per line, either a track
 * declaration or a block.
 *
 *     {"track":{"id":"video_main","kind":"video","codec":"opaque"}}
 *     {"track":"video_main","pts_us":0,"dts_us":0,"duration_us":33333,"keyframe":true,"kind":"I","payload_b64":"…"}
 *
 * Track keys: id, kind, codec, timescale, name, language, extra, config_b64,
 * compression. Block keys: track, pts_us | pts, dts_us | dts, duration_us |
 * duration (the µs spellings must convert exactly to the track's ticks),
 * keyframe, kind, compression, and exactly one of payload_b64 | payload_file.
 * Unknown keys are rejected so that a typo is not silently ignored.
 */
import { COMPRESSIONS, FRAME_KINDS, TRACK_KINDS, type BlockInput, type Compression, type FrameKind, type TrackKind, type TrackOptions } from '../node.js';

/** A block line: everything but the payload, and where the payload comes from. */
export type BlockLine = {
  block: Omit<BlockInput, 'payload'>;
  payload: { bytes: Uint8Array } | { file: string };
};

/** One parsed line; blank lines parse to null. */
export type NdjsonLine = { kind: 'track'; track: TrackOptions } | { kind: 'block'; line: BlockLine };

const TRACK_KEYS = new Set(['id', 'kind', 'codec', 'timescale', 'name', 'language', 'extra', 'config_b64', 'compression']);
const BLOCK_KEYS = new Set([
  'track',
  'pts_us',
  'dts_us',
  'duration_us',
  'pts',
  'dts',
  'duration',
  'keyframe',
  'kind',
  'compression',
  'payload_b64',
  'payload_file',
]);

/** Parses one line. Throws a TypeError describing the first problem. */
export function parseNdjsonLine(text: string): NdjsonLine | null {
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const record = asObject(value, 'a line');
  const track = record.track;
  if (track !== null && typeof track === 'object' && !Array.isArray(track)) {
    checkKeys(record, new Set(['track']), 'a track declaration');
    return { kind: 'track', track: parseTrack(track as Record<string, unknown>) };
  }
  return { kind: 'block', line: parseBlock(record) };
}

function parseTrack(t: Record<string, unknown>): TrackOptions {
  checkKeys(t, TRACK_KEYS, 'track');
  const options: TrackOptions = { id: string(t, 'id'), kind: oneOf(t, 'kind', TRACK_KINDS) as TrackKind };
  if (t.codec !== undefined) options.codec = string(t, 'codec');
  if (t.timescale !== undefined) options.timescale = integer(t, 'timescale');
  if (t.name !== undefined) options.name = string(t, 'name');
  if (t.language !== undefined) options.language = string(t, 'language');
  if (t.extra !== undefined) options.extra = asObject(t.extra, '"extra"');
  if (t.config_b64 !== undefined) options.config = decodeBase64(string(t, 'config_b64'), 'config_b64');
  if (t.compression !== undefined) options.compression = oneOf(t, 'compression', COMPRESSIONS) as Compression;
  return options;
}

function parseBlock(b: Record<string, unknown>): BlockLine {
  checkKeys(b, BLOCK_KEYS, 'block');
  if (b.track === undefined) throw new TypeError('a line needs "track": an object declares a track, a track id makes a block');
  const track = typeof b.track === 'number' ? integer(b, 'track') : string(b, 'track');
  const block: Omit<BlockInput, 'payload'> = { track };
  const pairs = [
    ['pts', 'pts_us', 'ptsUs'],
    ['dts', 'dts_us', 'dtsUs'],
    ['duration', 'duration_us', 'durationUs'],
  ] as const;
  for (const [ticks, micros, usKey] of pairs) {
    if (b[ticks] !== undefined && b[micros] !== undefined) throw new TypeError(`give "${ticks}" (ticks) or "${micros}", not both`);
    if (b[ticks] !== undefined) block[ticks] = integer(b, ticks);
    if (b[micros] !== undefined) block[usKey] = integer(b, micros);
  }
  if (block.pts === undefined && block.ptsUs === undefined) throw new TypeError('a block needs "pts_us" (or "pts" in ticks)');
  if (b.keyframe !== undefined) {
    if (typeof b.keyframe !== 'boolean') throw new TypeError('"keyframe" must be true or false');
    block.keyframe = b.keyframe;
  }
  if (b.kind !== undefined && b.kind !== null)
    block.kind = oneOf(
      b,
      'kind',
      FRAME_KINDS.filter((k) => k !== null),
    ) as FrameKind;
  if (b.compression !== undefined) block.compression = oneOf(b, 'compression', COMPRESSIONS) as Compression;
  const hasB64 = b.payload_b64 !== undefined;
  const hasFile = b.payload_file !== undefined;
  if (hasB64 === hasFile) throw new TypeError('a block needs exactly one of "payload_b64" and "payload_file"');
  const payload = hasB64 ? { bytes: decodeBase64(string(b, 'payload_b64'), 'payload_b64') } : { file: string(b, 'payload_file') };
  return { block, payload };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (standard alphabet, padding optional): Buffer.from alone skips bad characters. */
export function decodeBase64(text: string, what: string): Uint8Array {
  if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) throw new TypeError(`"${what}" is not valid base64`);
  const bytes = Buffer.from(text, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function checkKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(o)) if (!allowed.has(key)) throw new TypeError(`unknown key "${key}" in ${what}`);
}

function string(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new TypeError(`"${key}" must be a string`);
  return v;
}

function integer(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new TypeError(`"${key}" must be an integer`);
  return v;
}

function oneOf(o: Record<string, unknown>, key: string, values: readonly (string | null)[]): string {
  const v = string(o, key);
  if (!values.includes(v)) throw new TypeError(`"${key}" must be one of ${values.filter((x) => x !== null).join(', ')}`);
  return v;
}
