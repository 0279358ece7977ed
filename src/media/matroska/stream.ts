/**
 * Matroska / WebM read from a stream (standard input), as ffmpeg writes it to
 * a pipe: a Segment of unknown size, Clusters of known or unknown size. Each
 * element is buffered whole and parsed by the same code as the file demuxer
 * (readInfo, readTrack: ./scan.ts; blocks and lacing: ./block.ts);
 * elements that are not needed (SeekHead, Void, Cues, Tags, …) are skipped
 * as they stream by. Memory is one element at a time.
 */
import { eachChild, type ElementHeader, Id, readElementHeader, readLeaf, readString, readUint } from './ebml.js';
import { MediaError } from '../errors.js';
import { MAX_BLOCK, type MkvBlock, readBlockElement } from './block.js';
import { type MkvInfo, type MkvTrack, readInfo, readTrack } from './scan.js';
import { FrameDecoder } from './encoding.js';
import { readerAt, type StreamBytes } from '../stream-bytes.js';

/** Largest element buffered whole (a block with its BlockGroup around it). */
const MAX_ELEMENT = MAX_BLOCK + 64 * 1024;

/** Level-1 elements: inside a cluster of unknown size, one of these ends the cluster. */
const TOP_LEVEL: ReadonlySet<number> = new Set([
  Id.Cluster,
  Id.Cues,
  Id.Tags,
  Id.Chapters,
  Id.Attachments,
  Id.Info,
  Id.Tracks,
  Id.SeekHead,
  Id.EBML,
  Id.Segment,
]);

/** Told where each cluster starts and ends (the probe rebuilds them, ./probe.ts). */
export type ClusterObserver = { start(h: ElementHeader): void; end(at: number): void };

export class MkvStream {
  /** Set while the stream's first bytes are recorded. */
  observer: ClusterObserver | null = null;

  private constructor(
    private readonly bytes: StreamBytes,
    /** The Segment element's header. */
    readonly segment: ElementHeader,
    readonly info: MkvInfo,
    readonly tracks: MkvTrack[],
    /** Where the segment's data ends (Infinity: unknown size, until the input ends). */
    private readonly segmentEnd: number,
  ) {}

  /** Reads the EBML header, the Segment's header, Info and Tracks, up to the first Cluster. */
  static async open(bytes: StreamBytes): Promise<MkvStream> {
    const name = bytes.name;
    const ebml = await header(bytes);
    if (ebml === null || ebml.id !== Id.EBML || ebml.size === null) throw new MediaError('E_MEDIA_FORMAT', 'not a Matroska stream (no EBML header)', name);
    let docType = 'matroska';
    const ebmlReader = await load(bytes, ebml);
    await eachChild(ebmlReader, ebml, async (h) => {
      if (h.id === Id.DocType) docType = readString(await readLeaf(ebmlReader, h));
    });
    const segment = await header(bytes);
    if (segment === null || segment.id !== Id.Segment) throw new MediaError('E_MEDIA_FORMAT', 'no Matroska Segment after the EBML header', name);
    bytes.take(segment.headerLength);
    const segmentEnd = segment.size === null ? Number.POSITIVE_INFINITY : segment.dataOffset + segment.size;
    const info: MkvInfo = { docType, timestampScale: 1_000_000, duration: null, title: null, muxingApp: null, writingApp: null };
    const tracks: MkvTrack[] = [];
    for (;;) {
      const h = await header(bytes);
      if (h === null || h.offset >= segmentEnd) break;
      if (h.id === Id.Cluster) break;
      if (h.size === null) throw new MediaError('E_MEDIA_FORMAT', `element 0x${h.id.toString(16)} of unknown size at offset ${h.offset}`, name);
      if (h.id === Id.Info) await readInfo(await load(bytes, h), h, info);
      else if (h.id === Id.Tracks) {
        const reader = await load(bytes, h);
        await eachChild(reader, h, async (e) => void (e.id === Id.TrackEntry && tracks.push(await readTrack(reader, e))));
      } else await skip(bytes, h);
    }
    if (tracks.length === 0) throw new MediaError('E_MEDIA_FORMAT', 'the Matroska segment has no tracks before its first cluster', name);
    return new MkvStream(bytes, segment, info, tracks, segmentEnd);
  }

  /**
   * The blocks in stream order, with payloads, until the input (or a sized
   * segment) ends. An input that ends inside an element throws
   * E_MEDIA_TRUNCATED (the blocks before it have been yielded).
   */
  async *blocks(): AsyncGenerator<MkvBlock> {
    const bytes = this.bytes;
    const name = bytes.name;
    const decoder = new FrameDecoder(this.tracks, name);
    for (;;) {
      const h = await header(bytes);
      if (h === null || h.offset >= this.segmentEnd) return;
      if (h.id === Id.EBML)
        throw new MediaError('E_MEDIA_UNSUPPORTED', `a second Matroska stream starts at offset ${h.offset} (chained segments are not supported)`, name);
      if (h.id !== Id.Cluster) {
        if (h.size === null) throw new MediaError('E_MEDIA_FORMAT', `element 0x${h.id.toString(16)} of unknown size at offset ${h.offset}`, name);
        await skip(bytes, h);
        continue;
      }
      bytes.take(h.headerLength);
      this.observer?.start(h);
      const end = h.size === null ? this.segmentEnd : h.dataOffset + h.size;
      let clusterTimestamp = 0;
      while (bytes.position < end) {
        const e = await header(bytes);
        if (e === null) {
          if (Number.isFinite(end)) throw truncated(bytes, h.offset, 'cluster');
          return;
        }
        // A cluster of unknown size ends at the next top-level element.
        if (h.size === null && TOP_LEVEL.has(e.id)) break;
        if (e.size === null) throw new MediaError('E_MEDIA_FORMAT', `element of unknown size inside a cluster at offset ${e.offset}`, name);
        if (e.dataOffset + e.size > end) throw new MediaError('E_MEDIA_FORMAT', `element at offset ${e.offset} overruns its cluster`, name);
        if (e.id === Id.Timestamp) clusterTimestamp = readUint(await readLeaf(await load(bytes, e), e));
        else if (e.id === Id.SimpleBlock || e.id === Id.BlockGroup)
          yield decoder.decode(await readBlockElement(await load(bytes, e), e, clusterTimestamp, true));
        else await skip(bytes, e);
      }
      this.observer?.end(bytes.position);
    }
  }
}

/** The next element's header (not consumed), or null at the end of the input. */
async function header(bytes: StreamBytes): Promise<ElementHeader | null> {
  await bytes.fill(12);
  if (bytes.available === 0) return null;
  const head = bytes.peek(12);
  const at = bytes.position;
  try {
    return await readElementHeader(readerAt(at, head, bytes.name), at, at + head.length);
  } catch (error) {
    // Too few bytes left for a whole header: the input stopped inside it.
    if (bytes.ended && head.length < 12) throw truncated(bytes, at, 'element header');
    throw error;
  }
}

/** Consumes the whole element `h` (header and data) and returns a reader over it. */
async function load(bytes: StreamBytes, h: ElementHeader) {
  const size = h.size as number;
  if (size > MAX_ELEMENT) throw new MediaError('E_MEDIA_UNSUPPORTED', `element of ${size} bytes at offset ${h.offset} is too large`, bytes.name);
  const length = h.headerLength + size;
  if (!(await bytes.fill(length))) throw truncated(bytes, h.offset, 'element');
  return readerAt(h.offset, bytes.take(length), bytes.name);
}

/** Consumes the element `h` without keeping it. */
async function skip(bytes: StreamBytes, h: ElementHeader): Promise<void> {
  if (!(await bytes.skip(h.headerLength + (h.size as number)))) throw truncated(bytes, h.offset, 'element');
}

function truncated(bytes: StreamBytes, offset: number, what: string): MediaError {
  return new MediaError('E_MEDIA_TRUNCATED', `the input ends inside the ${what} at offset ${offset}`, bytes.name);
}
