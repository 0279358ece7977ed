/**
 * §5.10 KEYP and §6.6 KEYS: the keyframe map. SEEK (§5.4) names the first and
 * the last keyframe of a track in each segment; KEYS names the ones between,
 * for every seek entry with three keyframes or more (audio: every block), so
 * a seek finds its keyframe without reading the segment's table. KEYS sits
 * right before the last record, where chunks of other types may lie (a gap,
 * or between two records of a run, §5.5); KEYP, in the index region, gives
 * its offset, length and SHA-256. Nothing in KEYS is new information:
 * verification compares it with the segment tables.
 *
 * Each entry with key_count = k ≥ 3, per track in track-number order, then in
 * entry order: u8 coding (0 even, 1 listed); a bitmap of ceil(B/8) bytes (B:
 * the segment's block count; bit i, LSB first, set when position i is a
 * keyframe of the track); with coding 1, k − 2 varints: each middle key's pts
 * minus the previous key's. Coding 0: the keys' pts are evenly spaced from
 * first_key_pts to last_key_pts.
 */
import { ByteWriter, Cursor } from './bytes.js';
import { DIGEST_LENGTH, type Limits } from './constants.js';
import { H4mkError } from './errors.js';
import type { TrackSeekTable } from './seek-table.js';
import type { SegmentDirectory } from './segment-directory.js';
import { VarintReader } from './varint.js';

/** §5.10 KEYP: where the KEYS chunk starts (relative to the data region), its payload length and SHA-256. */
export type KeyframeMapRef = { offset: number; length: number; digest: Uint8Array };

/** §5.10 KEYP payload length: two u64 and a SHA-256. */
export const KEYP_PAYLOAD_LENGTH = 8 + 8 + DIGEST_LENGTH;

/** Entries with this many keyframes or more are listed in KEYS. */
export const KEYS_MIN_KEY_COUNT = 3;

const EVEN = 0;
const LISTED = 1;

/** §5.10 Encodes KEYP. */
export function encodeKeyframeMapRef(ref: KeyframeMapRef): Uint8Array {
  return new ByteWriter(KEYP_PAYLOAD_LENGTH).u64(ref.offset).u64(ref.length).bytes(ref.digest).finish();
}

/** §5.10 Decodes KEYP (`base`: absolute payload offset); the length is checked against max_index_length (§9). */
export function decodeKeyframeMapRef(payload: Uint8Array, base: number, limits: Limits): KeyframeMapRef {
  if (payload.length !== KEYP_PAYLOAD_LENGTH) {
    throw new H4mkError(
      payload.length < KEYP_PAYLOAD_LENGTH ? 'E_TRUNCATED' : 'E_FORMAT',
      `KEYP payload is ${payload.length} bytes, must be ${KEYP_PAYLOAD_LENGTH}`,
      {
        offset: base,
        chunk: 'KEYP',
      },
    );
  }
  const c = new Cursor(payload, 0, payload.length, base);
  const offset = c.u64('keys_offset');
  const length = c.u64('keys_length');
  if (length < 1) throw new H4mkError('E_FORMAT', 'KEYP keys_length must be at least 1', { offset: base + 8, chunk: 'KEYP' });
  if (length > limits.maxIndexLength) throw new H4mkError('E_LIMIT', `KEYS of ${length} bytes exceeds max_index_length`, { offset: base + 8, chunk: 'KEYP' });
  return { offset, length, digest: c.bytesView(DIGEST_LENGTH).slice() };
}

/** True when some seek entry has key_count ≥ 3, i.e. a KEYS payload is not empty. */
export function needsKeyframeMap(seek: readonly TrackSeekTable[]): boolean {
  for (const t of seek) for (let k = 0; k < t.entryCount; k++) if ((t.keyCount[k] as number) >= KEYS_MIN_KEY_COUNT) return true;
  return false;
}

/** One seek entry's keyframes, in file order: positions in the segment and pts. */
export type EntryKeys = { positions: ArrayLike<number>; pts: ArrayLike<number>; count: number };

/**
 * §6.6 Encodes KEYS for `seek` over `segments`; `keysOf(track, entry)` gives
 * the keyframes of an entry with key_count ≥ 3 (they must agree with it).
 */
export function encodeKeyframeMap(
  seek: readonly TrackSeekTable[],
  segments: SegmentDirectory,
  keysOf: (track: number, entry: number) => EntryKeys,
): Uint8Array {
  const out = new ByteWriter(4096);
  for (const t of seek) {
    for (let k = 0; k < t.entryCount; k++) {
      const count = t.keyCount[k] as number;
      if (count < KEYS_MIN_KEY_COUNT) continue;
      const keys = keysOf(t.trackNumber, k);
      if (keys.count !== count) throw new RangeError(`KEYS: entry ${k} of track ${t.trackNumber} has ${keys.count} keys, SEEK says ${count}`);
      const blocks = segments.blockCount[t.segment[k] as number] as number;
      const even = evenlySpaced(keys);
      out.u8(even ? EVEN : LISTED);
      const bitmap = new Uint8Array((blocks + 7) >> 3);
      for (let j = 0; j < count; j++) {
        const p = keys.positions[j] as number;
        bitmap[p >> 3] = (bitmap[p >> 3] as number) | (1 << (p & 7));
      }
      out.bytes(bitmap);
      if (!even) for (let j = 1; j < count - 1; j++) out.varint((keys.pts[j] as number) - (keys.pts[j - 1] as number));
    }
  }
  return out.finish();
}

function evenlySpaced(keys: EntryKeys): boolean {
  const first = keys.pts[0] as number;
  const span = (keys.pts[keys.count - 1] as number) - first;
  if (span % (keys.count - 1) !== 0) return false;
  const step = span / (keys.count - 1);
  for (let j = 1; j < keys.count - 1; j++) if ((keys.pts[j] as number) !== first + j * step) return false;
  return true;
}

/** A keyframe found in the map: its position in the segment and its pts. */
export type MappedKey = { position: number; pts: number };

/**
 * §6.6 The decoded map: per track, where each listed entry starts in the
 * payload. Lookups decode one entry (a bitmap of a segment's blocks and at
 * most k − 2 varints), never the whole map.
 */
export class KeyframeMap {
  private constructor(
    private readonly payload: Uint8Array,
    private readonly seek: readonly TrackSeekTable[],
    private readonly segments: SegmentDirectory,
    /** Per track, per entry: offset of its coding byte, or −1 (fewer than three keys). */
    private readonly starts: Int32Array[],
  ) {}

  /**
   * Decodes and checks KEYS against SEEK and SEGX (`base`: absolute payload
   * offset): codings, bitmaps (popcount = key_count, lowest and highest bit =
   * first and last key position, padding zero), pts (between the first and
   * the last key, coding 1 only where coding 0 does not apply), and the
   * payload used exactly. Every violation is E_FORMAT, a cut one E_TRUNCATED.
   */
  static decode(payload: Uint8Array, base: number, seek: readonly TrackSeekTable[], segments: SegmentDirectory): KeyframeMap {
    const starts: Int32Array[] = [];
    let p = 0;
    const fail = (message: string, at: number): never => {
      throw new H4mkError('E_FORMAT', message, { offset: base + at, chunk: 'KEYS' });
    };
    for (const t of seek) {
      const s = new Int32Array(t.entryCount).fill(-1);
      starts.push(s);
      for (let k = 0; k < t.entryCount; k++) {
        const count = t.keyCount[k] as number;
        if (count < KEYS_MIN_KEY_COUNT) continue;
        const blocks = segments.blockCount[t.segment[k] as number] as number;
        const bitmapLength = (blocks + 7) >> 3;
        if (p + 1 + bitmapLength > payload.length)
          throw new H4mkError('E_TRUNCATED', `KEYS ends inside track ${t.trackNumber}'s entry ${k}`, { offset: base + payload.length, chunk: 'KEYS' });
        s[k] = p;
        const coding = payload[p] as number;
        if (coding !== EVEN && coding !== LISTED) fail(`KEYS coding ${coding} is neither 0 nor 1`, p);
        checkBitmap(payload, p + 1, blocks, t, k, (message, at) => fail(message, at));
        p += 1 + bitmapLength;
        const first = t.firstKeyPts[k] as number;
        const span = (t.lastKeyPts[k] as number) - first;
        if (coding === EVEN) {
          if (span % (count - 1) !== 0) fail(`KEYS coding 0 where the keys' pts cannot be evenly spaced (track ${t.trackNumber}, entry ${k})`, s[k] as number);
          continue;
        }
        const r = new VarintReader(payload, p, payload.length, base, 'KEYS');
        let pts = first;
        let even = span % (count - 1) === 0;
        const step = span / (count - 1);
        for (let j = 1; j < count - 1; j++) {
          pts += r.next();
          if (pts !== first + j * step) even = false;
        }
        if (pts > first + span) fail(`KEYS pts pass the last keyframe's (track ${t.trackNumber}, entry ${k})`, p);
        if (even) fail(`KEYS coding 1 where coding 0 applies (track ${t.trackNumber}, entry ${k})`, s[k] as number);
        p = r.offset;
      }
    }
    if (p !== payload.length) fail(`KEYS has ${payload.length - p} bytes after its last entry`, p);
    return new KeyframeMap(payload, seek, segments, starts);
  }

  /** True when entry `entry` of track `track` is listed (key_count ≥ 3). */
  has(track: number, entry: number): boolean {
    return ((this.starts[track] as Int32Array)[entry] ?? -1) >= 0;
  }

  /** The keyframe of a listed entry with the largest pts ≤ `ticks` (the last in file order on ties; the first key if none). */
  keyAtOrBefore(track: number, entry: number, ticks: number): MappedKey {
    const t = this.seek[track] as TrackSeekTable;
    const count = t.keyCount[entry] as number;
    const first = t.firstKeyPts[entry] as number;
    const last = t.lastKeyPts[entry] as number;
    const at = (this.starts[track] as Int32Array)[entry] as number;
    const bitmapLength = ((this.segments.blockCount[t.segment[entry] as number] as number) + 7) >> 3;
    let j: number;
    let pts: number;
    if (this.payload[at] === EVEN) {
      const step = (last - first) / (count - 1);
      j = ticks >= last ? count - 1 : ticks < first ? 0 : Math.floor((ticks - first) / step);
      pts = first + j * step;
    } else {
      const r = new VarintReader(this.payload, at + 1 + bitmapLength, this.payload.length);
      j = 0;
      pts = first;
      for (let i = 1; i < count - 1; i++) {
        const next = pts + r.next();
        if (next > ticks) break;
        j = i;
        pts = next;
      }
      if (j === count - 2 && last <= ticks) {
        j = count - 1;
        pts = last;
      }
    }
    return { position: nthSetBit(this.payload, at + 1, j), pts };
  }

  /** All keyframes of a listed entry, in file order. */
  keys(track: number, entry: number): EntryKeys {
    const t = this.seek[track] as TrackSeekTable;
    const count = t.keyCount[entry] as number;
    const at = (this.starts[track] as Int32Array)[entry] as number;
    const blocks = this.segments.blockCount[t.segment[entry] as number] as number;
    const positions = new Float64Array(count);
    const pts = new Float64Array(count);
    let n = 0;
    for (let i = 0; i < blocks; i++) if (((this.payload[at + 1 + (i >> 3)] as number) >> (i & 7)) & 1) positions[n++] = i;
    const first = t.firstKeyPts[entry] as number;
    const last = t.lastKeyPts[entry] as number;
    pts[0] = first;
    pts[count - 1] = last;
    if (this.payload[at] === EVEN) for (let j = 1; j < count - 1; j++) pts[j] = first + (j * (last - first)) / (count - 1);
    else {
      const r = new VarintReader(this.payload, at + 1 + ((blocks + 7) >> 3), this.payload.length);
      for (let j = 1; j < count - 1; j++) pts[j] = (pts[j - 1] as number) + r.next();
    }
    return { positions, pts, count };
  }
}

/** The position of the `n`-th (0-based) set bit of the bitmap at `at`. */
function nthSetBit(bytes: Uint8Array, at: number, n: number): number {
  let left = n;
  for (let i = at; ; i++) {
    let b = bytes[i] as number;
    const ones = POPCOUNT[b] as number;
    if (left >= ones) {
      left -= ones;
      continue;
    }
    for (let bit = 0; ; bit++, b >>= 1) {
      if ((b & 1) === 0) continue;
      if (left === 0) return (i - at) * 8 + bit;
      left--;
    }
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let v = b; v !== 0; v >>= 1) n += v & 1;
  return n;
});

/** Popcount = key_count, lowest and highest set bit = first and last key position, padding bits zero. */
function checkBitmap(payload: Uint8Array, at: number, blocks: number, t: TrackSeekTable, k: number, fail: (message: string, at: number) => void): void {
  const length = (blocks + 7) >> 3;
  let ones = 0;
  let lowest = -1;
  let highest = -1;
  for (let i = 0; i < length; i++) {
    const b = payload[at + i] as number;
    if (b === 0) continue;
    ones += POPCOUNT[b] as number;
    if (lowest < 0) lowest = i * 8 + Math.log2(b & -b);
    highest = i * 8 + (31 - Math.clz32(b));
  }
  const where = `track ${t.trackNumber}, entry ${k}`;
  if (highest >= blocks) fail(`KEYS bitmap padding bits set (${where})`, at + length - 1);
  if (ones !== t.keyCount[k]) fail(`KEYS bitmap has ${ones} keyframes, SEEK says ${t.keyCount[k]} (${where})`, at);
  if (lowest !== t.firstKeyPosition[k] || highest !== t.lastKeyPosition[k]) fail(`KEYS bitmap's first and last keyframes are not SEEK's (${where})`, at);
}
