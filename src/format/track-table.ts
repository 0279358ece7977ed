/**
 * §5.1 TRAK: the track table.
 */
import { ByteWriter, Cursor } from './bytes.js';
import { COMPRESSIONS, type Compression, MAX_SHORT_STRING, TRACK_KINDS, type TrackKind } from './constants.js';
import { H4mkError } from './errors.js';
import { parseJsonObject, readShortString, utf8 } from './strings.js';

/** One track as recorded in TRAK. */
export type TrackRecord = {
  /** Track number: its position in TRAK, used by blocks. */
  number: number;
  /** Unique textual id, e.g. "video_main". */
  id: string;
  kind: TrackKind;
  /** Codec string, e.g. "avc1.64001f", "opus", or "opaque". */
  codec: string;
  /** Decoder configuration (avcC, OpusHead, …), possibly empty. */
  config: Uint8Array;
  /** Ticks per second for this track's timestamps. */
  timescale: number;
  /** Default compression for new blocks of this track (informative for readers). */
  compression: Compression;
  name: string;
  /** BCP 47 language tag, or "". */
  language: string;
  /** Free-form JSON object. */
  extra: Record<string, unknown>;
};

function shortString(w: ByteWriter, text: string, what: string): void {
  const bytes = utf8(text);
  if (bytes.length > MAX_SHORT_STRING) throw new RangeError(`${what} longer than ${MAX_SHORT_STRING} UTF-8 bytes`);
  w.u8(bytes.length).bytes(bytes);
}

/** §5.1 Encodes TRAK. */
export function encodeTrackTable(tracks: readonly TrackRecord[]): Uint8Array {
  const w = new ByteWriter();
  w.u16(tracks.length).u16(0);
  tracks.forEach((t, i) => {
    if (t.number !== i) throw new RangeError('track numbers must equal their position');
    w.u16(t.number).u8(TRACK_KINDS.indexOf(t.kind)).u8(COMPRESSIONS.indexOf(t.compression)).u32(t.timescale).u32(0);
    shortString(w, t.id, 'track id');
    shortString(w, t.codec, 'codec');
    shortString(w, t.name, 'name');
    shortString(w, t.language, 'language');
    w.u32(t.config.length).bytes(t.config);
    const extra = Object.keys(t.extra).length === 0 ? new Uint8Array(0) : utf8(JSON.stringify(t.extra));
    w.u32(extra.length).bytes(extra);
  });
  return w.finish();
}

/** §5.1 Decodes TRAK (`base` = absolute payload offset). */
export function decodeTrackTable(payload: Uint8Array, base: number, limits: { maxTracks: number; maxJsonLength: number }): TrackRecord[] {
  const c = new Cursor(payload, 0, payload.length, base);
  const count = c.u16('track_count');
  c.zeros(2, 'TRAK reserved field');
  if (count > limits.maxTracks) throw new H4mkError('E_LIMIT', `${count} tracks exceed the limit of ${limits.maxTracks}`, { offset: base, chunk: 'TRAK' });
  const tracks: TrackRecord[] = [];
  const ids = new Set<string>();
  for (let i = 0; i < count; i++) {
    const at = c.fileOffset;
    const number = c.u16('track_number');
    if (number !== i) throw new H4mkError('E_FORMAT', 'track numbers must equal their position', { offset: at, chunk: 'TRAK' });
    const kindId = c.u8('kind');
    const kind = TRACK_KINDS[kindId];
    if (kind === undefined) throw new H4mkError('E_UNSUPPORTED', `unknown track kind ${kindId}`, { offset: at + 2, chunk: 'TRAK' });
    const compressionId = c.u8('compression');
    const compression = COMPRESSIONS[compressionId];
    if (compression === undefined) throw new H4mkError('E_UNSUPPORTED', `unknown compression codec ${compressionId}`, { offset: at + 3, chunk: 'TRAK' });
    const timescale = c.u32('timescale');
    if (timescale === 0) throw new H4mkError('E_FORMAT', 'timescale must be positive', { offset: at + 4, chunk: 'TRAK' });
    c.zeros(4, 'track reserved field');
    const id = readShortString(c, 'track id');
    if (id.length === 0 || ids.has(id)) throw new H4mkError('E_FORMAT', `track id ${JSON.stringify(id)} is empty or repeated`, { offset: at, chunk: 'TRAK' });
    ids.add(id);
    const codec = readShortString(c, 'codec');
    const name = readShortString(c, 'name');
    const language = readShortString(c, 'language');
    const configLength = c.u32('config_length');
    if (configLength > limits.maxJsonLength)
      throw new H4mkError('E_LIMIT', 'codec configuration exceeds the limit', { offset: c.fileOffset - 4, chunk: 'TRAK' });
    const config = c.bytesView(configLength, 'codec configuration').slice();
    const extraLength = c.u32('extra_length');
    if (extraLength > limits.maxJsonLength) throw new H4mkError('E_LIMIT', 'track extra exceeds the limit', { offset: c.fileOffset - 4, chunk: 'TRAK' });
    const extraAt = c.fileOffset;
    const extraBytes = c.bytesView(extraLength, 'extra');
    const extra = extraLength === 0 ? {} : parseJsonObject(extraBytes, extraAt, 'track extra');
    tracks.push({ number, id, kind, codec, config, timescale, compression, name, language, extra });
  }
  if (c.remaining !== 0) throw new H4mkError('E_FORMAT', 'trailing bytes after the track table', { offset: c.fileOffset, chunk: 'TRAK' });
  return tracks;
}
