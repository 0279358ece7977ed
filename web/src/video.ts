/**
 * Video frames with WebCodecs: a VideoDecoder configured from the track's
 * TRAK codec string and decoder configuration (avcC, hvcC, vpcC, av1C …),
 * fed the blocks of one decodable span in file (decode) order.
 */
import { type Block, isDisposable, nalLengthSize, trackColourSpace, type TrackInfo } from 'h4mk/web';

/** What a decode gave: the frame to show and how many frames it took. */
export type DecodedFrame = { frame: VideoFrame; decoded: number };

/** The VideoDecoder configuration of a track, from TRAK (and the importer's `extra.video`). */
export function videoConfig(track: TrackInfo): VideoDecoderConfig {
  const video = (track.extra as { video?: { width?: unknown; height?: unknown } }).video;
  const config: VideoDecoderConfig = { codec: track.codec, optimizeForLatency: true };
  if (track.config.length > 0) config.description = new Uint8Array(track.config);
  // The container's colour description, else the bitstream's, else ffmpeg's default for untagged
  // streams (BT.601 limited, every codec and size; browsers would take BT.709).
  const colour = trackColourSpace(track.codec, track.config, track.extra);
  if (colour !== undefined) config.colorSpace = colour as VideoColorSpaceInit;
  if (typeof video?.width === 'number' && typeof video.height === 'number') {
    config.codedWidth = video.width;
    config.codedHeight = video.height;
  }
  return config;
}

const support = new Map<string, Promise<boolean>>();

/** Whether this browser can decode `track` (cached per codec and configuration). */
export function canDecode(track: TrackInfo): Promise<boolean> {
  if (typeof VideoDecoder === 'undefined') return Promise.resolve(false);
  const key = `${track.codec}/${track.config.join(',')}`;
  let answer = support.get(key);
  if (answer === undefined) {
    answer = VideoDecoder.isConfigSupported(videoConfig(track)).then(
      (r) => r.supported === true,
      () => false,
    );
    support.set(key, answer);
  }
  return answer;
}

/**
 * One track's VideoDecoder, kept configured between seeks: creating and
 * configuring a decoder costs tens of milliseconds, so it is done once (and
 * ahead, with {@link warm}, while the first span is still being read), and
 * every decode starts at a keyframe after the previous flush. A decoder
 * that failed is closed and replaced by the next decode. One decode at a
 * time (the still view runs its seeks one after another).
 */
export class FrameDecoder {
  #decoder: VideoDecoder | null = null;
  #output: ((frame: VideoFrame) => void) | null = null;
  #failure: Error | null = null;

  constructor(private readonly track: TrackInfo) {}

  /** Creates and configures the decoder now, if it is not already. */
  warm(): void {
    if (typeof VideoDecoder === 'undefined') return;
    this.#get();
  }

  #get(): VideoDecoder {
    if (this.#decoder === null || this.#decoder.state === 'closed') {
      this.#failure = null;
      const decoder = new VideoDecoder({
        output: (frame) => {
          if (this.#output === null) frame.close();
          else this.#output(frame);
        },
        error: (e) => {
          this.#failure = e instanceof Error ? e : new Error(String(e));
        },
      });
      decoder.configure(videoConfig(this.track));
      this.#decoder = decoder;
    }
    return this.#decoder;
  }

  /** Closes the decoder (a later decode opens a new one). */
  close(): void {
    if (this.#decoder !== null && this.#decoder.state !== 'closed') this.#decoder.close();
    this.#decoder = null;
  }

  /**
   * Decodes `blocks` (a keyframe and what follows it, in decode order) and
   * returns the frame presented at `targetUs`: the one with the largest
   * timestamp ≤ target (the first frame when the target is before it). Every
   * other frame is closed; the caller closes the one returned.
   */
  async decodeAt(blocks: readonly Block[], targetUs: number): Promise<DecodedFrame> {
    const track = this.track;
    let best: VideoFrame | null = null;
    let first: VideoFrame | null = null;
    let decoded = 0;
    this.#output = (frame: VideoFrame): void => {
      decoded++;
      const t = frame.timestamp;
      if (t <= targetUs && (best === null || t >= best.timestamp)) {
        best?.close();
        best = frame;
        return;
      }
      if (best === null && (first === null || t < first.timestamp)) {
        first?.close();
        first = frame;
        return;
      }
      frame.close();
    };
    const decoder = this.#get();
    try {
      // The frame the target shows: the largest pts ≤ target (else the first). Disposable frames other than
      // it are referenced by nothing: skipping them halves a seek's decoding on streams with B-frames.
      const shown = blocks.reduce<Block | null>((pick, b) => (b.ptsUs <= targetUs && (pick === null || b.ptsUs >= pick.ptsUs) ? b : pick), null);
      const lengthSize = nalLengthSize(track.codec, track.config);
      for (const b of blocks) {
        if (b !== shown && shown !== null && !b.keyframe && isDisposable(track.codec, lengthSize, b.payload)) continue;
        decoder.decode(new EncodedVideoChunk({ type: b.keyframe ? 'key' : 'delta', timestamp: b.ptsUs, duration: Math.max(0, b.durationUs), data: b.payload }));
      }
      await decoder.flush();
      if (this.#failure !== null) throw this.#failure;
    } catch (error) {
      (best as VideoFrame | null)?.close();
      (first as VideoFrame | null)?.close();
      const failure = this.#failure ?? error;
      this.close();
      throw failure;
    } finally {
      this.#output = null;
    }
    const chosen = (best as VideoFrame | null) ?? (first as VideoFrame | null);
    if (best !== null && first !== null) (first as VideoFrame).close();
    if (chosen === null) throw new Error('the decoder produced no frame for this span');
    return { frame: chosen, decoded };
  }
}

/**
 * Decodes `blocks` (a keyframe and what follows it, in decode order) with a
 * decoder of its own and returns the frame presented at `targetUs` (see
 * {@link FrameDecoder.decodeAt}); the caller closes the frame returned.
 */
export async function decodeFrameAt(track: TrackInfo, blocks: readonly Block[], targetUs: number): Promise<DecodedFrame> {
  const decoder = new FrameDecoder(track);
  try {
    return await decoder.decodeAt(blocks, targetUs);
  } finally {
    decoder.close();
  }
}

/** Draws `frame` at its display size on `canvas` (which takes that size). */
export function drawFrame(canvas: HTMLCanvasElement, frame: VideoFrame): void {
  canvas.width = frame.displayWidth;
  canvas.height = frame.displayHeight;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (ctx === null) throw new Error('no 2D canvas context');
  ctx.drawImage(frame, 0, 0, frame.displayWidth, frame.displayHeight);
}
