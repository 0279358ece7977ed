/**
 * A streaming Matroska / WebM scanner (RFC 9559): the segment info, the track
 * entries with everything a lossless export needs back (CodecPrivate,
 * CodecDelay, SeekPreRoll, DefaultDuration, flags), and the blocks in file
 * order with their timestamps, keyframe flags, BlockDuration and
 * DiscardPadding, unlaced into frames and decoded where the track has
 * ContentEncodings (./encoding.ts). Memory is one block at a time.
 *
 * mediabunny reads Matroska well but drops what is not needed for playback
 * (DiscardPadding, subtitles, SimpleBlock vs BlockGroup); this scanner keeps it.
 */
import type { ByteReader } from '../byte-reader.js';
import { eachChild, type ElementHeader, Id, readElementHeader, readFloat, readLeaf as leaf, readString, readUint } from './ebml.js';
import { MediaError } from '../errors.js';
import { type MkvBlock, readBlockElement } from './block.js';
import { CONTENT_ENCODINGS_ID, decodeContent, FrameDecoder, type MkvContentEncoding, readContentEncodings, unsupportedEncoding } from './encoding.js';

export type { MkvBlock } from './block.js';

/** Segment information. */
export type MkvInfo = {
  docType: string;
  /** Nanoseconds per timestamp unit (default 1,000,000). */
  timestampScale: number;
  /** Duration in timestamp units, when declared. */
  duration: number | null;
  title: string | null;
  muxingApp: string | null;
  writingApp: string | null;
};

/** One TrackEntry. */
export type MkvTrack = {
  number: number;
  uid: number | null;
  /** 1 video, 2 audio, 17 subtitle, … */
  type: number;
  codecId: string;
  codecPrivate: Uint8Array | null;
  codecDelayNs: number;
  seekPreRollNs: number;
  defaultDurationNs: number | null;
  name: string | null;
  language: string | null;
  languageBcp47: string | null;
  /** Flag elements that were present, by name (FlagDefault → default …). */
  flags: Record<string, number>;
  /** ContentEncodings in decoding order (empty: none); `codecPrivate` is already decoded. */
  encodings: MkvContentEncoding[];
  /** The TrackEntry's child elements as stored (for the codec probe of ./tracks.ts). */
  rawChildren: { id: number; bytes: Uint8Array }[];
  video: { pixelWidth: number; pixelHeight: number; displayWidth: number | null; displayHeight: number | null } | null;
  audio: { samplingFrequency: number; channels: number; bitDepth: number | null } | null;
};

const TRACK_FLAGS: Record<number, string> = {
  [Id.FlagEnabled]: 'enabled',
  [Id.FlagDefault]: 'default',
  [Id.FlagForced]: 'forced',
  [Id.FlagHearingImpaired]: 'hearing_impaired',
  [Id.FlagVisualImpaired]: 'visual_impaired',
  [Id.FlagOriginal]: 'original',
  [Id.FlagCommentary]: 'commentary',
};

export class MkvDemuxer {
  private readonly decoder: FrameDecoder;

  private constructor(
    private readonly reader: ByteReader,
    readonly info: MkvInfo,
    readonly tracks: MkvTrack[],
    /** Where the first Cluster starts, and where the segment's data ends. */
    private readonly clustersOffset: number,
    private readonly segmentEnd: number,
  ) {
    this.decoder = new FrameDecoder(tracks, reader.name);
  }

  /** Reads the EBML header, Info and Tracks; checks that the segment is complete. */
  static async open(reader: ByteReader): Promise<MkvDemuxer> {
    if (reader.size < 4) throw new MediaError('E_MEDIA_FORMAT', 'not a Matroska file', reader.name);
    const ebml = await readElementHeader(reader, 0, reader.size);
    if (ebml.id !== Id.EBML || ebml.size === null) throw new MediaError('E_MEDIA_FORMAT', 'not a Matroska file (no EBML header)', reader.name);
    let docType = 'matroska';
    await eachChild(reader, ebml, async (h) => {
      if (h.id === Id.DocType) docType = readString(await leaf(reader, h));
    });
    const segment = await readElementHeader(reader, ebml.dataOffset + ebml.size, reader.size);
    if (segment.id !== Id.Segment) throw new MediaError('E_MEDIA_FORMAT', 'no Matroska Segment after the EBML header', reader.name);
    const segmentEnd = segment.size === null ? reader.size : segment.dataOffset + segment.size;
    if (segmentEnd > reader.size) {
      throw new MediaError('E_MEDIA_TRUNCATED', `the file ends early: the segment declares ${segmentEnd} bytes, the file has ${reader.size}`, reader.name);
    }
    const info: MkvInfo = { docType, timestampScale: 1_000_000, duration: null, title: null, muxingApp: null, writingApp: null };
    const tracks: MkvTrack[] = [];
    let at = segment.dataOffset;
    let clustersOffset = -1;
    while (at < segmentEnd) {
      const h = await readElementHeader(reader, at, segmentEnd);
      if (h.id === Id.Cluster) {
        clustersOffset = at;
        break;
      }
      if (h.size === null) throw new MediaError('E_MEDIA_FORMAT', `element 0x${h.id.toString(16)} of unknown size at offset ${at}`, reader.name);
      if (h.id === Id.Info) await readInfo(reader, h, info);
      else if (h.id === Id.Tracks) await eachChild(reader, h, async (e) => void (e.id === Id.TrackEntry && tracks.push(await readTrack(reader, e))));
      at = h.dataOffset + h.size;
    }
    if (tracks.length === 0) throw new MediaError('E_MEDIA_FORMAT', 'the Matroska segment has no tracks before its first cluster', reader.name);
    return new MkvDemuxer(reader, info, tracks, clustersOffset < 0 ? segmentEnd : clustersOffset, segmentEnd);
  }

  /**
   * The blocks in file order, frames decoded (ContentEncodings). With
   * `payloads: false`, unlaced blocks are read only as far as their headers
   * (a cheap pass over a large file), except those of zlib-compressed tracks.
   */
  async *blocks(options: { payloads: boolean }): AsyncGenerator<MkvBlock> {
    const reader = this.reader;
    const payloads = options.payloads ? true : (track: number) => this.decoder.needsWholeFrames(track);
    let at = this.clustersOffset;
    while (at < this.segmentEnd) {
      const h = await readElementHeader(reader, at, this.segmentEnd);
      if (h.id !== Id.Cluster) {
        if (h.size === null) throw new MediaError('E_MEDIA_FORMAT', `element 0x${h.id.toString(16)} of unknown size at offset ${at}`, reader.name);
        at = h.dataOffset + h.size;
        continue;
      }
      const end = h.size === null ? this.segmentEnd : h.dataOffset + h.size;
      if (end > reader.size) throw new MediaError('E_MEDIA_TRUNCATED', `the file ends inside the cluster at offset ${at}`, reader.name);
      let clusterTimestamp = 0;
      let p = h.dataOffset;
      while (p < end) {
        const e = await readElementHeader(reader, p, end);
        // A cluster of unknown size ends at the next top-level element.
        if (h.size === null && (e.id === Id.Cluster || e.id === Id.Cues || e.id === Id.Tags || e.id === Id.Chapters || e.id === Id.Attachments)) break;
        if (e.size === null) throw new MediaError('E_MEDIA_FORMAT', `element of unknown size inside a cluster at offset ${p}`, reader.name);
        const next = e.dataOffset + e.size;
        if (next > end)
          throw new MediaError(end === reader.size ? 'E_MEDIA_TRUNCATED' : 'E_MEDIA_FORMAT', `element at offset ${p} overruns its cluster`, reader.name);
        if (e.id === Id.Timestamp) clusterTimestamp = readUint(await leaf(reader, e));
        else if (e.id === Id.SimpleBlock || e.id === Id.BlockGroup) yield this.decoder.decode(await readBlockElement(reader, e, clusterTimestamp, payloads));
        p = next;
      }
      at = p;
    }
  }
}

/** Reads an Info element into `info`. */
export async function readInfo(reader: ByteReader, h: ElementHeader, info: MkvInfo): Promise<void> {
  await eachChild(reader, h, async (e) => {
    if (e.id === Id.TimestampScale) info.timestampScale = readUint(await leaf(reader, e));
    else if (e.id === Id.Duration) info.duration = readFloat(await leaf(reader, e));
    else if (e.id === Id.Title) info.title = readString(await leaf(reader, e));
    else if (e.id === Id.MuxingApp) info.muxingApp = readString(await leaf(reader, e));
    else if (e.id === Id.WritingApp) info.writingApp = readString(await leaf(reader, e));
  });
  if (!Number.isSafeInteger(info.timestampScale) || info.timestampScale < 1) throw new MediaError('E_MEDIA_FORMAT', 'invalid TimestampScale', reader.name);
}

/** Reads a TrackEntry element. */
export async function readTrack(reader: ByteReader, h: ElementHeader): Promise<MkvTrack> {
  const t: MkvTrack = {
    number: 0,
    uid: null,
    type: 0,
    codecId: '',
    codecPrivate: null,
    codecDelayNs: 0,
    seekPreRollNs: 0,
    defaultDurationNs: null,
    name: null,
    language: null,
    languageBcp47: null,
    flags: {},
    encodings: [],
    rawChildren: [],
    video: null,
    audio: null,
  };
  await eachChild(reader, h, async (e) => {
    t.rawChildren.push({ id: e.id, bytes: await reader.copy(e.offset, e.headerLength + (e.size as number)) });
    const flag = TRACK_FLAGS[e.id];
    if (flag !== undefined) t.flags[flag] = readUint(await leaf(reader, e));
    else if (e.id === Id.TrackNumber) t.number = readUint(await leaf(reader, e));
    else if (e.id === Id.TrackUID) t.uid = safeOrNull(await leaf(reader, e));
    else if (e.id === Id.TrackType) t.type = readUint(await leaf(reader, e));
    else if (e.id === Id.CodecID) t.codecId = readString(await leaf(reader, e));
    else if (e.id === Id.CodecPrivate) t.codecPrivate = await leaf(reader, e);
    else if (e.id === Id.CodecDelay) t.codecDelayNs = readUint(await leaf(reader, e));
    else if (e.id === Id.SeekPreRoll) t.seekPreRollNs = readUint(await leaf(reader, e));
    else if (e.id === Id.DefaultDuration) t.defaultDurationNs = readUint(await leaf(reader, e));
    else if (e.id === Id.Name) t.name = readString(await leaf(reader, e));
    else if (e.id === Id.Language) t.language = readString(await leaf(reader, e));
    else if (e.id === Id.LanguageBCP47) t.languageBcp47 = readString(await leaf(reader, e));
    else if (e.id === CONTENT_ENCODINGS_ID) t.encodings = await readContentEncodings(reader, e);
    else if (e.id === Id.Video) {
      const v = { pixelWidth: 0, pixelHeight: 0, displayWidth: null as number | null, displayHeight: null as number | null };
      await eachChild(reader, e, async (c) => {
        if (c.id === Id.PixelWidth) v.pixelWidth = readUint(await leaf(reader, c));
        else if (c.id === Id.PixelHeight) v.pixelHeight = readUint(await leaf(reader, c));
        else if (c.id === Id.DisplayWidth) v.displayWidth = readUint(await leaf(reader, c));
        else if (c.id === Id.DisplayHeight) v.displayHeight = readUint(await leaf(reader, c));
      });
      t.video = v;
    } else if (e.id === Id.Audio) {
      const a = { samplingFrequency: 8000, channels: 1, bitDepth: null as number | null };
      await eachChild(reader, e, async (c) => {
        if (c.id === Id.SamplingFrequency) a.samplingFrequency = readFloat(await leaf(reader, c));
        else if (c.id === Id.Channels) a.channels = readUint(await leaf(reader, c));
        else if (c.id === Id.BitDepth) a.bitDepth = readUint(await leaf(reader, c));
      });
      t.audio = a;
    }
  });
  if (t.number < 1) throw new MediaError('E_MEDIA_FORMAT', 'TrackEntry without a TrackNumber', reader.name);
  if (t.codecPrivate !== null && t.encodings.length > 0 && unsupportedEncoding(t.encodings) === null) {
    t.codecPrivate = decodeContent(t.codecPrivate, t.encodings, 2, reader.name, h.offset);
  }
  return t;
}

/** A TrackUID (up to 64 bits) as a number when exact, else null (a fresh UID is written on export). */
function safeOrNull(bytes: Uint8Array): number | null {
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return Number.isSafeInteger(v) ? v : null;
}
