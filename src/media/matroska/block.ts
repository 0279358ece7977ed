/**
 * Matroska block elements (RFC 9559 §10): a SimpleBlock or a BlockGroup read
 * through a ByteReader into an {@link MkvBlock}, unlaced into frames. Shared
 * by the file demuxer (./scan.ts, random access) and the stream reader
 * (./stream.ts, one element buffered at a time).
 */
import type { ByteReader } from '../byte-reader.js';
import { decodeVint, eachChild, type ElementHeader, Id, readInt, readLeaf, readUint } from './ebml.js';
import { MediaError } from '../errors.js';

/** One block, unlaced. */
export type MkvBlock = {
  /** Absolute offset of the SimpleBlock / BlockGroup element. */
  offset: number;
  track: number;
  /** Absolute timestamp of the first frame, in TimestampScale units. */
  timestamp: number;
  keyframe: boolean;
  /** True for a BlockGroup, false for a SimpleBlock. */
  group: boolean;
  invisible: boolean;
  /** BlockDuration, timestamp units, when present. */
  duration: number | null;
  /** DiscardPadding, nanoseconds, when present. */
  discardPadding: number | null;
  /** Frame payloads (for an unlaced block read without payloads: only the frame's first bytes). */
  frames: Uint8Array[];
};

/** Largest block accepted (the container's own block limit is 64 MiB). */
export const MAX_BLOCK = 64 * 1024 * 1024;

/**
 * The block of the SimpleBlock or BlockGroup element `e` (its header read),
 * in a cluster whose Timestamp is `clusterTimestamp`; `payloads` (or, per
 * track number, its answer) says whether an unlaced frame is read whole.
 * Frames are as stored: ContentEncodings are decoded by the caller
 * (./encoding.ts).
 */
export async function readBlockElement(
  reader: ByteReader,
  e: ElementHeader,
  clusterTimestamp: number,
  payloads: boolean | ((track: number) => boolean),
): Promise<MkvBlock> {
  if (e.id === Id.SimpleBlock) return { ...(await readBlock(reader, e, clusterTimestamp, false, payloads)), offset: e.offset };
  let block: Omit<MkvBlock, 'offset'> | null = null;
  let duration: number | null = null;
  let discardPadding: number | null = null;
  let referenced = false;
  await eachChild(reader, e, async (c) => {
    if (c.id === Id.Block) block = await readBlock(reader, c, clusterTimestamp, true, payloads);
    else if (c.id === Id.BlockDuration) duration = readUint(await readLeaf(reader, c));
    else if (c.id === Id.DiscardPadding) discardPadding = readInt(await readLeaf(reader, c));
    else if (c.id === Id.ReferenceBlock) referenced = true;
  });
  if (block === null) throw new MediaError('E_MEDIA_FORMAT', `BlockGroup without a Block at offset ${e.offset}`, reader.name);
  const b = block as Omit<MkvBlock, 'offset'>;
  return { ...b, offset: e.offset, keyframe: !referenced, duration, discardPadding };
}

/** A Block or SimpleBlock's header and frames (RFC 9559 §10.1). */
async function readBlock(
  reader: ByteReader,
  e: ElementHeader,
  clusterTimestamp: number,
  group: boolean,
  payloadsFor: boolean | ((track: number) => boolean),
): Promise<Omit<MkvBlock, 'offset'>> {
  const size = e.size as number;
  if (size > MAX_BLOCK) throw new MediaError('E_MEDIA_UNSUPPORTED', `block of ${size} bytes at offset ${e.offset} exceeds ${MAX_BLOCK} bytes`, reader.name);
  const head = await reader.copy(e.dataOffset, Math.min(size, 16));
  const [track, trackLength] = decodeVint(head, 0);
  if (trackLength + 3 > size) throw new MediaError('E_MEDIA_FORMAT', `block too short at offset ${e.offset}`, reader.name);
  const payloads = typeof payloadsFor === 'boolean' ? payloadsFor : payloadsFor(track);
  const relative = new DataView(head.buffer, head.byteOffset + trackLength, 2).getInt16(0);
  const flags = head[trackLength + 2] as number;
  const lacing = (flags >> 1) & 3;
  const headerLength = trackLength + 3;
  const base = {
    track,
    timestamp: clusterTimestamp + relative,
    keyframe: group ? true : (flags & 0x80) !== 0,
    group,
    invisible: (flags & 0x08) !== 0,
    duration: null,
    discardPadding: null,
  };
  if (lacing === 0) {
    // Without payloads, the frame is the few bytes read with the header (enough for a codec's table of contents).
    const frames = payloads ? [await reader.copy(e.dataOffset + headerLength, size - headerLength)] : [head.subarray(headerLength)];
    return { ...base, frames };
  }
  const data = await reader.copy(e.dataOffset, size);
  return { ...base, frames: unlace(data, headerLength, lacing, reader.name, e.offset) };
}

/** Splits a laced block (Xiph 1, fixed 2, EBML 3) into its frames (RFC 9559 §10.3). */
export function unlace(data: Uint8Array, at: number, lacing: number, name: string, offset: number): Uint8Array[] {
  const fail = () => new MediaError('E_MEDIA_FORMAT', `invalid lacing in the block at offset ${offset}`, name);
  const count = (data[at] ?? -1) + 1;
  if (count < 1) throw fail();
  let p = at + 1;
  const sizes: number[] = [];
  if (lacing === 1) {
    for (let i = 0; i < count - 1; i++) {
      let s = 0;
      for (;;) {
        const b = data[p++];
        if (b === undefined) throw fail();
        s += b;
        if (b !== 255) break;
      }
      sizes.push(s);
    }
  } else if (lacing === 3 && count > 1) {
    const [first, n] = decodeVint(data, p);
    p += n;
    sizes.push(first);
    for (let i = 1; i < count - 1; i++) {
      const [raw, m] = decodeVint(data, p);
      p += m;
      // Signed difference: subtract the bias 2^(7m-1) - 1.
      sizes.push((sizes[i - 1] as number) + raw - (2 ** (7 * m - 1) - 1));
    }
  }
  const rest = data.length - p - sizes.reduce((a, b) => a + b, 0);
  if (lacing === 2) {
    if ((data.length - p) % count !== 0) throw fail();
    for (let i = 0; i < count - 1; i++) sizes.push((data.length - p) / count);
    sizes.push((data.length - p) / count);
  } else sizes.push(rest);
  const frames: Uint8Array[] = [];
  for (const s of sizes) {
    if (s < 0 || p + s > data.length) throw fail();
    frames.push(data.slice(p, p + s));
    p += s;
  }
  return frames;
}
