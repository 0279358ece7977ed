/**
 * A small streaming Matroska / WebM writer (RFC 9559) for export. It writes
 * what mediabunny's writer drops and a lossless round trip needs:
 * CodecDelay, SeekPreRoll, DefaultDuration, BlockGroups with BlockDuration,
 * ReferenceBlock and DiscardPadding, subtitle tracks, and any TimestampScale.
 *
 * Layout: EBML header, Segment (8-byte size, patched at the end), a reserved
 * area for the SeekHead, Info (Duration patched at the end), Tracks,
 * Clusters (each buffered, at most a few MiB), Cues. The file is written to
 * a temporary name beside the target and renamed into place by `finish`.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { concat, element, floatElement, Id, idBytes, intBytes, intElement, sizeBytes, stringElement, uintBytes, uintElement, voidElement } from './ebml.js';

/** A track to write. */
export type MkvTrackSpec = {
  number: number;
  uid: number;
  /** 1 video, 2 audio, 17 subtitle. */
  type: number;
  codecId: string;
  codecPrivate: Uint8Array | null;
  codecDelayNs?: number;
  seekPreRollNs?: number;
  defaultDurationNs?: number | null;
  name?: string;
  /** Matroska legacy language (ISO 639-2), e.g. "eng". */
  language?: string | null;
  languageBcp47?: string | null;
  /** Flag elements by name: enabled, default, forced, hearing_impaired, visual_impaired, original, commentary. */
  flags?: Record<string, number>;
  video?: { pixelWidth: number; pixelHeight: number; displayWidth?: number | null; displayHeight?: number | null };
  audio?: { samplingFrequency: number; channels: number; bitDepth?: number | null };
};

/** A block to write; `timestamp` in TimestampScale units. */
export type MkvBlockSpec = {
  track: number;
  timestamp: number;
  keyframe: boolean;
  /** Write a BlockGroup (needed for duration, DiscardPadding, and where the source had one). */
  group: boolean;
  duration: number | null;
  discardPadding: number | null;
  invisible?: boolean;
  data: Uint8Array;
};

export type MkvWriterOptions = {
  docType: 'webm' | 'matroska';
  timestampScale: number;
  title?: string;
  tracks: MkvTrackSpec[];
  /** Track whose keyframes start clusters and get cues (default: the first video track, else the first track). */
  cueTrack?: number;
};

const FLAG_IDS: Record<string, number> = {
  enabled: Id.FlagEnabled,
  default: Id.FlagDefault,
  forced: Id.FlagForced,
  hearing_impaired: Id.FlagHearingImpaired,
  visual_impaired: Id.FlagVisualImpaired,
  original: Id.FlagOriginal,
  commentary: Id.FlagCommentary,
};

const SEEK_HEAD_RESERVED = 128;
const MAX_CLUSTER_BYTES = 5 * 1024 * 1024;
const MAX_CLUSTER_NS = 5_000_000_000;

export class MkvWriter {
  private position = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private cluster: Uint8Array[] = [];
  private clusterBytes = 0;
  private clusterTimestamp = 0;
  private clusterOpen = false;
  private readonly cues: { time: number; track: number; position: number }[] = [];
  private readonly lastTimestamp = new Map<number, number>();
  private maxEnd = 0;
  private readonly cueTrack: number;
  private readonly cueTrackIsVideo: boolean;
  private segmentDataOffset = 0;
  private durationOffset = 0;
  private infoOffset = 0;
  private tracksOffset = 0;
  private finished = false;

  private constructor(
    private readonly handle: FileHandle,
    private readonly temporary: string,
    private readonly path: string,
    private readonly options: MkvWriterOptions,
  ) {
    this.cueTrack = options.cueTrack ?? options.tracks.find((t) => t.type === 1)?.number ?? options.tracks[0]?.number ?? 1;
    this.cueTrackIsVideo = options.tracks.find((t) => t.number === this.cueTrack)?.type === 1;
  }

  /** Starts a file that appears at `path` once {@link finish} succeeds. */
  static async create(path: string, options: MkvWriterOptions): Promise<MkvWriter> {
    const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temporary, 'wx');
    const writer = new MkvWriter(handle, temporary, path, options);
    try {
      await writer.writeHead();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return writer;
  }

  private async writeHead(): Promise<void> {
    const o = this.options;
    this.emit(
      element(Id.EBML, [
        uintElement(Id.EBMLVersion, 1),
        uintElement(Id.EBMLReadVersion, 1),
        uintElement(Id.EBMLMaxIDLength, 4),
        uintElement(Id.EBMLMaxSizeLength, 8),
        stringElement(Id.DocType, o.docType),
        uintElement(Id.DocTypeVersion, 4),
        uintElement(Id.DocTypeReadVersion, 2),
      ]),
    );
    // Segment with an 8-byte size, patched by finish().
    this.emit(concat([idBytes(Id.Segment), sizeBytes(0, 8)]));
    this.segmentDataOffset = this.position;
    this.emit(voidElement(SEEK_HEAD_RESERVED));
    this.infoOffset = this.position - this.segmentDataOffset;
    const infoHead = [uintElement(Id.TimestampScale, o.timestampScale), stringElement(Id.MuxingApp, 'h4mk'), stringElement(Id.WritingApp, 'h4mk')];
    if (o.title !== undefined && o.title !== '') infoHead.push(stringElement(Id.Title, o.title));
    const infoBody = concat(infoHead);
    const info = element(Id.Info, [infoBody, floatElement(Id.Duration, 0)]);
    // Duration is the last 8 bytes of the Info element.
    this.durationOffset = this.position + info.length - 8;
    this.emit(info);
    this.tracksOffset = this.position - this.segmentDataOffset;
    this.emit(element(Id.Tracks, o.tracks.map(trackEntry)));
    await this.flush();
  }

  /** Appends one block (blocks come in decode order, interleaved across tracks). */
  async writeBlock(b: MkvBlockSpec): Promise<void> {
    const ns = (b.timestamp - this.clusterTimestamp) * this.options.timestampScale;
    const relative = b.timestamp - this.clusterTimestamp;
    const startCluster =
      !this.clusterOpen ||
      (this.cueTrackIsVideo && b.keyframe && b.track === this.cueTrack && this.cluster.length > 0) ||
      relative > 32767 ||
      relative < -32768 ||
      this.clusterBytes + b.data.length > MAX_CLUSTER_BYTES ||
      ns > MAX_CLUSTER_NS;
    if (startCluster) {
      await this.closeCluster();
      this.clusterTimestamp = Math.max(0, b.timestamp);
      this.clusterOpen = true;
      if (b.timestamp - this.clusterTimestamp < -32768) throw new RangeError(`block timestamp ${b.timestamp} is negative`);
    }
    // A cue for each cluster that starts with a keyframe of the cue track.
    if (this.cluster.length === 0 && b.keyframe && b.track === this.cueTrack) {
      this.cues.push({ time: this.clusterTimestamp, track: b.track, position: this.position - this.segmentDataOffset });
    }
    const rel = b.timestamp - this.clusterTimestamp;
    const head = new Uint8Array(4);
    head[0] = 0x80 | b.track; // track numbers < 127: one-byte vint
    new DataView(head.buffer).setInt16(1, rel);
    // The payload is kept by reference and written with writev: no copy per block.
    let parts: Uint8Array[];
    if (!b.group) {
      head[3] = (b.keyframe ? 0x80 : 0) | (b.invisible === true ? 0x08 : 0);
      parts = [concat([idBytes(Id.SimpleBlock), sizeBytes(head.length + b.data.length), head]), b.data];
    } else {
      head[3] = b.invisible === true ? 0x08 : 0;
      const tail: Uint8Array[] = [];
      if (b.duration !== null) tail.push(uintElement(Id.BlockDuration, b.duration));
      if (!b.keyframe) tail.push(element(Id.ReferenceBlock, intBytes((this.lastTimestamp.get(b.track) ?? b.timestamp) - b.timestamp)));
      if (b.discardPadding !== null) tail.push(intElement(Id.DiscardPadding, b.discardPadding));
      const after = concat(tail);
      const blockHead = concat([idBytes(Id.Block), sizeBytes(head.length + b.data.length), head]);
      const groupSize = blockHead.length + b.data.length + after.length;
      parts = [concat([idBytes(Id.BlockGroup), sizeBytes(groupSize), blockHead]), b.data, after];
    }
    for (const part of parts) {
      this.cluster.push(part);
      this.clusterBytes += part.length;
    }
    this.lastTimestamp.set(b.track, b.timestamp);
    this.maxEnd = Math.max(this.maxEnd, b.timestamp + (b.duration ?? 0));
  }

  private async closeCluster(): Promise<void> {
    if (!this.clusterOpen || this.cluster.length === 0) return;
    const timestamp = uintElement(Id.Timestamp, this.clusterTimestamp);
    this.emit(concat([idBytes(Id.Cluster), sizeBytes(timestamp.length + this.clusterBytes), timestamp]));
    for (const part of this.cluster) this.emit(part);
    this.cluster = [];
    this.clusterBytes = 0;
    await this.flush();
  }

  /**
   * Writes the last cluster and the Cues, fills in the SeekHead, the segment
   * size and the duration (timestamp units), and renames the file into place.
   */
  async finish(durationUnits?: number): Promise<number> {
    try {
      await this.closeCluster();
      const cuesOffset = this.position - this.segmentDataOffset;
      if (this.cues.length > 0) {
        this.emit(
          element(
            Id.Cues,
            this.cues.map((c) =>
              element(Id.CuePoint, [
                uintElement(Id.CueTime, c.time),
                element(Id.CueTrackPositions, [uintElement(Id.CueTrack, c.track), uintElement(Id.CueClusterPosition, c.position)]),
              ]),
            ),
          ),
        );
      }
      await this.flush();
      const seeks = [
        [Id.Info, this.infoOffset],
        [Id.Tracks, this.tracksOffset],
      ];
      if (this.cues.length > 0) seeks.push([Id.Cues, cuesOffset]);
      const seekHead = element(
        Id.SeekHead,
        seeks.map(([id, pos]) => element(Id.Seek, [element(Id.SeekID, idBytes(id as number)), element(Id.SeekPosition, uintBytes(pos as number))])),
      );
      await this.handle.write(concat([seekHead, voidElement(SEEK_HEAD_RESERVED - seekHead.length)]), 0, undefined, this.segmentDataOffset);
      await this.handle.write(sizeBytes(this.position - this.segmentDataOffset, 8), 0, undefined, this.segmentDataOffset - 8);
      const duration = new Uint8Array(8);
      new DataView(duration.buffer).setFloat64(0, durationUnits ?? this.maxEnd);
      await this.handle.write(duration, 0, undefined, this.durationOffset);
      await this.handle.datasync();
      await this.handle.close();
      await rename(this.temporary, this.path);
      this.finished = true;
      return this.position;
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  /** Removes the temporary file; nothing appears at the target. */
  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.handle.close().catch(() => {});
    await unlink(this.temporary).catch(() => {});
  }

  private emit(bytes: Uint8Array): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.position += bytes.length;
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const parts = this.pending;
    let at = this.position - this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    // writev takes at most IOV_MAX buffers at a time.
    for (let i = 0; i < parts.length; i += 512) {
      const batch = parts.slice(i, i + 512);
      const { bytesWritten } = await this.handle.writev(batch, at);
      const expected = batch.reduce((a, p) => a + p.length, 0);
      if (bytesWritten !== expected) {
        const rest = concat(batch).subarray(bytesWritten);
        await this.handle.write(rest, 0, rest.length, at + bytesWritten);
      }
      at += expected;
    }
  }
}

function trackEntry(t: MkvTrackSpec): Uint8Array {
  if (t.number < 1 || t.number > 126) throw new RangeError('track numbers must be within 1..126');
  const parts = [uintElement(Id.TrackNumber, t.number), uintElement(Id.TrackUID, t.uid), uintElement(Id.TrackType, t.type), uintElement(Id.FlagLacing, 0)];
  for (const [name, value] of Object.entries(t.flags ?? {})) {
    const id = FLAG_IDS[name];
    if (id !== undefined) parts.push(uintElement(id, value));
  }
  if (t.defaultDurationNs !== undefined && t.defaultDurationNs !== null) parts.push(uintElement(Id.DefaultDuration, t.defaultDurationNs));
  if (t.name !== undefined && t.name !== '') parts.push(stringElement(Id.Name, t.name));
  if (t.language !== undefined && t.language !== null) parts.push(stringElement(Id.Language, t.language));
  if (t.languageBcp47 !== undefined && t.languageBcp47 !== null) parts.push(stringElement(Id.LanguageBCP47, t.languageBcp47));
  parts.push(stringElement(Id.CodecID, t.codecId));
  if (t.codecPrivate !== null && t.codecPrivate.length > 0) parts.push(element(Id.CodecPrivate, t.codecPrivate));
  if (t.codecDelayNs !== undefined && t.codecDelayNs > 0) parts.push(uintElement(Id.CodecDelay, t.codecDelayNs));
  if (t.seekPreRollNs !== undefined && t.seekPreRollNs > 0) parts.push(uintElement(Id.SeekPreRoll, t.seekPreRollNs));
  if (t.video !== undefined) {
    const v = [uintElement(Id.PixelWidth, t.video.pixelWidth), uintElement(Id.PixelHeight, t.video.pixelHeight)];
    if (t.video.displayWidth !== undefined && t.video.displayWidth !== null) v.push(uintElement(Id.DisplayWidth, t.video.displayWidth));
    if (t.video.displayHeight !== undefined && t.video.displayHeight !== null) v.push(uintElement(Id.DisplayHeight, t.video.displayHeight));
    parts.push(element(Id.Video, v));
  }
  if (t.audio !== undefined) {
    const a = [floatElement(Id.SamplingFrequency, t.audio.samplingFrequency), uintElement(Id.Channels, t.audio.channels)];
    if (t.audio.bitDepth !== undefined && t.audio.bitDepth !== null) a.push(uintElement(Id.BitDepth, t.audio.bitDepth));
    parts.push(element(Id.Audio, a));
  }
  return element(Id.TrackEntry, parts);
}
