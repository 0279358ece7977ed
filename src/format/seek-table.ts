/**
 * §5.4 SEEK ("SEEKM"): per-track seek tables. One entry per segment that
 * holds blocks of the track, varint-coded, with the track's keyframe span in
 * that segment. Together with SEGX this is the top-level index.
 */
import { ByteWriter, Cursor } from './bytes.js';
import { MAX_TIMESTAMP } from './constants.js';
import { H4mkError } from './errors.js';
import { unzigzag, VarintReader, zigzag } from './varint.js';

/** What one SEEK entry says about one track's blocks in one segment (§5.4), apart from the segment number. */
export type SeekEntryFields = {
  count: number;
  keyCount: number;
  minPts: number;
  maxPts: number;
  firstKeyPts: number;
  lastKeyPts: number;
  firstKeyPosition: number;
  lastKeyPosition: number;
};

/** The seek table of one track, column-wise (entry k describes one segment). */
export type TrackSeekTable = {
  trackNumber: number;
  blockCount: number;
  keyframeCount: number;
  storedBytes: number;
  originalBytes: number;
  entryCount: number;
  segment: Uint32Array;
  /** Blocks of this track in the segment. */
  count: Uint32Array;
  /** Keyframes of this track in the segment. */
  keyCount: Uint32Array;
  minPts: Float64Array;
  maxPts: Float64Array;
  /** pts of the first / last keyframe of the track in the segment (meaningless when keyCount = 0). */
  firstKeyPts: Float64Array;
  lastKeyPts: Float64Array;
  /** Position within the segment (0-based) of the first / last keyframe. */
  firstKeyPosition: Uint32Array;
  lastKeyPosition: Uint32Array;
};

export const TRACK_SEEK_HEADER_LENGTH = 44;

/** An empty table with room for `capacity` entries. */
export function createTrackSeekTable(trackNumber: number, capacity: number): TrackSeekTable {
  // One buffer for all nine columns (8-byte columns first): an open allocates one ArrayBuffer per track, not nine
  // (each costs microseconds and GC work; a 1,000,000-block index has three tables of 5,756 entries).
  const buffer = new ArrayBuffer(capacity * (4 * 8 + 5 * 4));
  let at = 0;
  const f64 = () => {
    const column = new Float64Array(buffer, at, capacity);
    at += 8 * capacity;
    return column;
  };
  const u32 = () => {
    const column = new Uint32Array(buffer, at, capacity);
    at += 4 * capacity;
    return column;
  };
  return {
    trackNumber,
    blockCount: 0,
    keyframeCount: 0,
    storedBytes: 0,
    originalBytes: 0,
    entryCount: 0,
    minPts: f64(),
    maxPts: f64(),
    firstKeyPts: f64(),
    lastKeyPts: f64(),
    segment: u32(),
    count: u32(),
    keyCount: u32(),
    firstKeyPosition: u32(),
    lastKeyPosition: u32(),
  };
}

/** §5.4 Encodes SEEK for all tracks, in track order. */
export function encodeSeekTables(tables: readonly TrackSeekTable[]): Uint8Array {
  const w = new ByteWriter(1024);
  w.u16(tables.length).u16(0);
  for (const t of tables) {
    const entries = new ByteWriter(t.entryCount * 12 + 16);
    let prevSegment = 0;
    let prevMin = 0;
    for (let k = 0; k < t.entryCount; k++) {
      const segment = t.segment[k] as number;
      const minPts = t.minPts[k] as number;
      const keyCount = t.keyCount[k] as number;
      entries
        .varint(k === 0 ? segment : segment - prevSegment) // segment (delta)
        .varint(t.count[k] as number) //                        block_count
        .varint(keyCount) //                                     key_count
        .varint(zigzag(minPts - prevMin)) //                    min_pts (zig-zag delta)
        .varint((t.maxPts[k] as number) - minPts); //           max_pts − min_pts
      if (keyCount > 0) {
        const firstKey = t.firstKeyPts[k] as number;
        const firstPos = t.firstKeyPosition[k] as number;
        entries
          .varint(firstKey - minPts) //                            first_key_pts − min_pts
          .varint(firstPos) //                                     first_key_position
          .varint((t.lastKeyPts[k] as number) - firstKey) //      last_key_pts − first_key_pts
          .varint((t.lastKeyPosition[k] as number) - firstPos); // last_key_position − first_key_position
      }
      prevSegment = segment;
      prevMin = minPts;
    }
    const body = entries.finish();
    w.u16(t.trackNumber).u16(0).u32(t.entryCount).u64(t.blockCount).u64(t.keyframeCount).u64(t.storedBytes).u64(t.originalBytes).u32(body.length).bytes(body);
  }
  return w.finish();
}

/**
 * §5.4 Decodes SEEK (`base` = absolute payload offset) and checks its internal
 * rules; cross-checks against SEGX happen in the index decoder.
 */
export function decodeSeekTables(payload: Uint8Array, base: number, trackCount: number): TrackSeekTable[] {
  const c = new Cursor(payload, 0, payload.length, base);
  const count = c.u16('SEEK track_count');
  c.zeros(2, 'SEEK reserved field');
  if (count !== trackCount) throw new H4mkError('E_FORMAT', `SEEK has ${count} tracks, TRAK has ${trackCount}`, { offset: base, chunk: 'SEEK' });
  const tables: TrackSeekTable[] = [];
  for (let i = 0; i < count; i++) {
    const at = c.fileOffset;
    const trackNumber = c.u16('track_number');
    if (trackNumber !== i) throw new H4mkError('E_FORMAT', 'SEEK tracks must be in track order', { offset: at, chunk: 'SEEK' });
    c.zeros(2, 'SEEK track reserved field');
    const entryCount = c.u32('entry_count');
    const blockCount = c.u64('block_count');
    const keyframeCount = c.u64('keyframe_count');
    const storedBytes = c.u64('stored_bytes');
    const originalBytes = c.u64('original_bytes');
    const bodyLength = c.u32('entries_length');
    c.need(bodyLength, 'SEEK entries');
    // Each entry takes at least 5 bytes: bound the allocation by the bytes present.
    // (Short is E_TRUNCATED, §4.2: the count declares more entries than entries_length holds.)
    if (entryCount * 5 > bodyLength) throw new H4mkError('E_TRUNCATED', 'SEEK entry_count does not fit its entries', { offset: at + 4, chunk: 'SEEK' });
    const t = createTrackSeekTable(trackNumber, entryCount);
    Object.assign(t, { blockCount, keyframeCount, storedBytes, originalBytes, entryCount });
    const bytes = c.bytes;
    const p = c.position;
    const end = p + bodyLength;
    let segment = 0;
    let minPts = 0;
    let sumCount = 0;
    let sumKeys = 0;
    let lastKey = -Infinity;
    // Varints through one reader (no allocation per value; errors carry file offsets and the chunk).
    const r = new VarintReader(bytes, p, end, base, 'SEEK');
    for (let k = 0; k < entryCount; k++) {
      const entryAt = base + r.offset;
      let v = r.next();
      if (k > 0 && v === 0) throw new H4mkError('E_FORMAT', 'SEEK segments must increase', { offset: entryAt, chunk: 'SEEK' });
      segment = k === 0 ? v : segment + v;
      const n = r.next();
      const keys = r.next();
      if (n === 0 || keys > n) throw new H4mkError('E_FORMAT', 'SEEK entry counts are inconsistent', { offset: entryAt, chunk: 'SEEK' });
      v = r.next();
      minPts += unzigzag(v);
      const span = r.next();
      // §2.4: entry times are block pts, so they obey the timestamp bound (and sums stay exact).
      if (Math.abs(minPts) > MAX_TIMESTAMP || minPts + span > MAX_TIMESTAMP) {
        throw new H4mkError('E_LIMIT', 'SEEK entry pts magnitude exceeds 2^51 - 1', { offset: entryAt, chunk: 'SEEK' });
      }
      t.segment[k] = segment;
      t.count[k] = n;
      t.keyCount[k] = keys;
      t.minPts[k] = minPts;
      t.maxPts[k] = minPts + span;
      if (keys > 0) {
        const firstKey = minPts + r.next();
        const firstPos = r.next();
        const d = r.next();
        const lastKey_ = firstKey + d;
        const dp = r.next();
        // §5.4: one keyframe is both the first and the last (both deltas 0); two or more sit at distinct positions.
        if (keys === 1 ? d !== 0 || dp !== 0 : dp === 0)
          throw new H4mkError('E_FORMAT', 'SEEK last-keyframe deltas disagree with key_count', { offset: entryAt, chunk: 'SEEK' });
        if (lastKey_ > minPts + span) throw new H4mkError('E_FORMAT', 'SEEK keyframe times must lie within the entry', { offset: entryAt, chunk: 'SEEK' });
        // §6.1 ordering rule, as the seek table shows it: E_ORDER, as in verification.
        if (firstKey < lastKey) throw new H4mkError('E_ORDER', 'keyframe pts decrease within the track (SEEK)', { offset: entryAt, chunk: 'SEEK' });
        t.firstKeyPts[k] = firstKey;
        t.lastKeyPts[k] = lastKey_;
        t.firstKeyPosition[k] = firstPos;
        t.lastKeyPosition[k] = firstPos + dp;
        lastKey = lastKey_;
      } else {
        t.firstKeyPts[k] = Number.NaN;
        t.lastKeyPts[k] = Number.NaN;
      }
      sumCount += n;
      sumKeys += keys;
    }
    if (r.offset !== end) throw new H4mkError('E_FORMAT', 'SEEK entries_length does not match its entries', { offset: base + r.offset, chunk: 'SEEK' });
    if (sumCount !== blockCount || sumKeys !== keyframeCount)
      throw new H4mkError('E_FORMAT', 'SEEK track totals do not match its entries', { offset: at, chunk: 'SEEK' });
    // §6.1 ordering rule, as the seek table shows it: E_ORDER, as in verification.
    if (blockCount > 0 && (t.keyCount[0] as number) === 0)
      throw new H4mkError('E_ORDER', 'the first block of a track must be a keyframe (SEEK)', { offset: at, chunk: 'SEEK' });
    c.position = end;
    tables.push(t);
  }
  if (c.remaining !== 0) throw new H4mkError('E_FORMAT', 'trailing bytes after the seek tables', { offset: c.fileOffset, chunk: 'SEEK' });
  return tables;
}
