/**
 * Matroska ContentEncodings (RFC 9559 §5.1.4.1.31): a track whose frames
 * (scope 1) or CodecPrivate (scope 2) are stored compressed. Two algorithms
 * are decoded, the ones real muxers write: zlib (ContentCompAlgo 0,
 * `mkvmerge --compression N:zlib`) and header stripping (ContentCompAlgo 3:
 * the ContentCompSettings bytes were removed from the start of every frame
 * and are put back). bzlib, lzo1x and encryption are reported as
 * unsupported. Frames are decoded as they are read, so every importer sees
 * the packets ffmpeg's demuxer returns.
 */
import { inflateSync } from 'node:zlib';
import type { ByteReader } from '../byte-reader.js';
import { eachChild, type ElementHeader, readLeaf, readUint } from './ebml.js';
import { MediaError } from '../errors.js';
import type { MkvBlock } from './block.js';
import type { MatroskaExtraInit } from '../track-extra.js';

/** One ContentEncoding. */
export type MkvContentEncoding = {
  /** ContentEncodingOrder (decoding starts with the highest). */
  order: number;
  /** ContentEncodingScope bits: 1 frames, 2 CodecPrivate, 4 the next ContentEncoding. */
  scope: number;
  /** ContentEncodingType: 0 compression, 1 encryption. */
  type: number;
  /** ContentCompAlgo: 0 zlib, 1 bzlib, 2 lzo1x, 3 header stripping. */
  algorithm: number;
  /** ContentCompSettings (the stripped bytes, for header stripping). */
  settings: Uint8Array | null;
};

const ContentEncodingId = 0x6240;
const ContentEncodingOrder = 0x5031;
const ContentEncodingScope = 0x5032;
const ContentEncodingType = 0x5033;
const ContentCompression = 0x5034;
const ContentCompAlgo = 0x4254;
const ContentCompSettings = 0x4255;
/** ContentEncodings, the TrackEntry child. */
export const CONTENT_ENCODINGS_ID = 0x6d80;

/** Largest decoded frame or CodecPrivate (the container's own block limit). */
export const MAX_DECODED = 64 * 1024 * 1024;

const ALGORITHMS: Record<number, string> = { 0: 'zlib', 1: 'bzlib', 2: 'lzo1x', 3: 'header stripping' };

/** Reads a ContentEncodings element: its encodings in decoding order (highest ContentEncodingOrder first). */
export async function readContentEncodings(reader: ByteReader, h: ElementHeader): Promise<MkvContentEncoding[]> {
  const list: MkvContentEncoding[] = [];
  await eachChild(reader, h, async (e) => {
    if (e.id !== ContentEncodingId) return;
    const c: MkvContentEncoding = { order: 0, scope: 1, type: 0, algorithm: 0, settings: null };
    await eachChild(reader, e, async (f) => {
      if (f.id === ContentEncodingOrder) c.order = readUint(await readLeaf(reader, f));
      else if (f.id === ContentEncodingScope) c.scope = readUint(await readLeaf(reader, f));
      else if (f.id === ContentEncodingType) c.type = readUint(await readLeaf(reader, f));
      else if (f.id === ContentCompression) {
        await eachChild(reader, f, async (g) => {
          if (g.id === ContentCompAlgo) c.algorithm = readUint(await readLeaf(reader, g));
          else if (g.id === ContentCompSettings) c.settings = await readLeaf(reader, g);
        });
      }
    });
    list.push(c);
  });
  return list.sort((a, b) => b.order - a.order);
}

/** Why a track with these encodings cannot be read, or null when every one is decoded here. */
export function unsupportedEncoding(list: readonly MkvContentEncoding[]): string | null {
  for (const e of list) {
    if (e.type !== 0) return 'its frames are encrypted (Matroska ContentEncryption)';
    if (e.algorithm !== 0 && e.algorithm !== 3)
      return `its frames are compressed with ${ALGORITHMS[e.algorithm] ?? `ContentCompAlgo ${e.algorithm}`}, which is not supported`;
  }
  return null;
}

/** True when the frames need decoding, and false when nothing applies to them. */
export function encodesFrames(list: readonly MkvContentEncoding[]): boolean {
  return list.some((e) => (e.scope & 1) !== 0 && (e.algorithm !== 3 || (e.settings?.length ?? 0) > 0));
}

/** True when a frame's first bytes are not enough to decode its start (zlib needs the whole frame). */
export function needsWholeFrames(list: readonly MkvContentEncoding[]): boolean {
  return list.some((e) => (e.scope & 1) !== 0 && e.algorithm !== 3);
}

/**
 * `data` decoded by the encodings whose scope has `scopeBit` (1: a frame,
 * 2: the CodecPrivate). Call only when {@link unsupportedEncoding} is null.
 */
export function decodeContent(data: Uint8Array, list: readonly MkvContentEncoding[], scopeBit: 1 | 2, name: string, offset: number): Uint8Array {
  let out = data;
  for (const e of list) {
    if ((e.scope & scopeBit) === 0) continue;
    if (e.algorithm === 3) {
      const prefix = e.settings;
      if (prefix === null || prefix.length === 0) continue;
      if (prefix.length + out.length > MAX_DECODED)
        throw new MediaError('E_MEDIA_UNSUPPORTED', `a frame at offset ${offset} decodes to more than ${MAX_DECODED} bytes`, name);
      const joined = new Uint8Array(prefix.length + out.length);
      joined.set(prefix, 0);
      joined.set(out, prefix.length);
      out = joined;
    } else if (e.algorithm === 0) {
      try {
        const inflated = inflateSync(out, { maxOutputLength: MAX_DECODED });
        out = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      } catch (error) {
        const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        throw new MediaError(
          tooLarge ? 'E_MEDIA_UNSUPPORTED' : 'E_MEDIA_FORMAT',
          tooLarge
            ? `a zlib-compressed ${scopeBit === 1 ? 'frame' : 'CodecPrivate'} at offset ${offset} inflates to more than ${MAX_DECODED} bytes`
            : `the zlib-compressed ${scopeBit === 1 ? 'frame' : 'CodecPrivate'} at offset ${offset} does not inflate: ${error instanceof Error ? error.message : String(error)}`,
          name,
          { cause: error },
        );
      }
    } else throw new MediaError('E_MEDIA_UNSUPPORTED', `ContentCompAlgo ${e.algorithm} is not supported`, name);
  }
  return out;
}

/** The encodings as TRAK extra records them (`matroska.content_encodings`). */
export function encodingsExtra(list: readonly MkvContentEncoding[]): NonNullable<MatroskaExtraInit['content_encodings']> {
  return list.map((e) => ({
    order: e.order,
    scope: e.scope,
    type: e.type,
    algorithm: e.algorithm,
    ...(e.settings === null ? {} : { settings_b64: Buffer.from(e.settings).toString('base64') }),
  }));
}

/** Decodes the frames of the blocks of every track whose encodings are supported (others pass unchanged). */
export class FrameDecoder {
  private readonly encodings = new Map<number, readonly MkvContentEncoding[]>();
  private readonly whole = new Set<number>();

  constructor(
    tracks: readonly { number: number; encodings: readonly MkvContentEncoding[] }[],
    private readonly name: string,
  ) {
    for (const t of tracks) {
      if (!encodesFrames(t.encodings) || unsupportedEncoding(t.encodings) !== null) continue;
      this.encodings.set(t.number, t.encodings);
      if (needsWholeFrames(t.encodings)) this.whole.add(t.number);
    }
  }

  /** True when a block of `track` must be read whole even without payloads. */
  needsWholeFrames(track: number): boolean {
    return this.whole.has(track);
  }

  /** The block with its frames decoded, each on its own (a laced block's encodings apply to every frame). */
  decode(block: MkvBlock): MkvBlock {
    const list = this.encodings.get(block.track);
    if (list === undefined) return block;
    block.frames = block.frames.map((f) => decodeContent(f, list, 1, this.name, block.offset));
    return block;
  }
}
