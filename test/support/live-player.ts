/**
 * Live additions to the streaming test page of ./player-page.ts (which is
 * reused as it is, stall tracking included):
 * - `LIVE_PLAYER_PAGE`: the same page with one more script, which replaces
 *   `window.Hls` by a subclass that merges {@link LIVE_HLS_CONFIG} into the
 *   page's own config (so `h4.start('hls', url)` plays at the live edge) and
 *   logs, on the wall clock (ms since the epoch: performance.timeOrigin +
 *   performance.now(), the same clock as the test process's), every
 *   presented video frame (requestVideoFrameCallback: its media time and
 *   expected display time), hls.js's playlist loads, fragment loads and
 *   appends, its latency estimates, seeks and rate changes. `h4live.collect()`
 *   returns all of it, with the resource timings of playlists and segments
 *   (a playlist answered by the browser's cache has transferSize 0).
 * - {@link MkvBlockClock}: reads the Matroska stream that ffmpeg writes to a
 *   pipe, chunk by chunk, and tells when each block (track, pts) arrived:
 *   the moment a frame "enters the pipe".
 */
import { PLAYER_PAGE } from './player-page.js';

/**
 * hls.js settings for low latency at the live edge of an EVENT playlist of
 * 1 s segments with no parts (merged over the page's `{ enableWorker: true }`):
 * - `liveSyncDuration: 1.5`: start and hold 1.5 s behind the live edge as
 *   hls.js estimates it (end of the last listed segment plus the time since
 *   the playlist last grew). hls.js never starts closer than one target
 *   duration (1 s). Measured against h4mk serve on a busy 2-core box, 1 s
 *   puts the playhead at the very end of what is listed each time a
 *   segment appears, so every late playlist is an underflow; and chromium's
 *   audio renderer doubles the audio it wants buffered before it resumes
 *   after each underflow (AudioRendererAlgorithm::IncreasePlaybackThreshold,
 *   up to 3 s), so the stalls grew to 0.45, 1.1, then 2.5 s. With 1.5 s, runs
 *   had no stall over 250 ms, for about 0.1 to 0.2 s more delay;
 * - `liveMaxLatencyDuration: 4`: further than 4 s behind, hls.js seeks
 *   forward to the sync point;
 * - `maxLiveSyncPlaybackRate: 1.2` (it needs `lowLatencyMode: true`):
 *   between those two, it plays up to 1.2× fast to catch up, while more than
 *   1 s is buffered ahead;
 * - `liveSyncOnStallIncrease: 0.25`: each stall adds 0.25 s to the target
 *   latency (the default is 1 s; hls.js caps the total at one target
 *   duration);
 * - playlists retried every 250 ms, up to 20 times: at the very start the
 *   media playlists list no complete segment yet (hls.js reports a
 *   non-fatal LEVEL_EMPTY_ERROR, which this policy retries);
 * - `backBufferLength: 10`: memory stays flat over the run.
 * A test may set `window.h4liveConfig` (merged last) before `h4.start`.
 */
export const LIVE_HLS_CONFIG = {
  lowLatencyMode: true,
  liveSyncDuration: 1.5,
  liveMaxLatencyDuration: 4,
  maxLiveSyncPlaybackRate: 1.2,
  liveSyncOnStallIncrease: 0.25,
  liveDurationInfinity: false,
  backBufferLength: 10,
  playlistLoadPolicy: {
    default: {
      maxTimeToFirstByteMs: 10_000,
      maxLoadTimeMs: 20_000,
      timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: 20, retryDelayMs: 250, maxRetryDelayMs: 1000 },
    },
  },
} as const;

/** One presented video frame: [wall ms, media time s, presentedFrames]. */
export type FrameRecord = [number, number, number];

/** One hls.js event, wall clock `t` (ms). */
export type HlsRecord =
  | { t: number; ev: 'level'; kind: 'main' | 'audio'; live: boolean; n: number; edge: number; target: number; updated: boolean; requested: number | null }
  | { t: number; ev: 'loading' | 'loaded'; kind: string; sn: number | string }
  | { t: number; ev: 'buffered'; kind: string; sn: number | string; start: number; startPTS: number | null; endPTS: number | null }
  | { t: number; ev: 'eos' | 'ended' }
  | { t: number; ev: 'error'; fatal: boolean; details: string; currentTime: number; text: string };

/**
 * A sample of hls.js's latency controller, every 250 ms, with the buffered
 * ranges of the video element and of each SourceBuffer (by MIME type).
 */
export type LatencySample = {
  t: number;
  latency: number;
  target: number | null;
  rate: number;
  currentTime: number;
  readyState: number;
  paused: boolean;
  seeking: boolean;
  bufferEnd: number;
  ranges: [number, number][];
  sourceBuffers: Record<string, [number, number][]>;
};

/** A network resource (playlist or segment) as chromium timed it. */
export type ResourceRecord = { name: string; start: number; end: number; transferSize: number; status: number };

/** What `window.h4live.collect()` returns. */
export type LiveLog = {
  frames: FrameRecord[];
  hls: HlsRecord[];
  latency: LatencySample[];
  seeks: { t: number; from: number }[];
  rates: { t: number; rate: number }[];
  resources: ResourceRecord[];
  /** performance.timeOrigin + performance.now() when collected. */
  now: number;
};

const LIVE_SCRIPT = `
(() => {
  const v = document.getElementById('v');
  const wall = (t) => performance.timeOrigin + t;
  const now = () => wall(performance.now());
  if (performance.setResourceTimingBufferSize) performance.setResourceTimingBufferSize(100000);
  const L = { frames: [], hls: [], latency: [], seeks: [], rates: [] };
  const onFrame = (t, md) => {
    L.frames.push([wall(md.expectedDisplayTime || t), md.mediaTime, md.presentedFrames]);
    v.requestVideoFrameCallback(onFrame);
  };
  if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
  v.addEventListener('seeking', () => L.seeks.push({ t: now(), from: v.currentTime }));
  v.addEventListener('ratechange', () => L.rates.push({ t: now(), rate: v.playbackRate }));
  v.addEventListener('ended', () => L.hls.push({ t: now(), ev: 'ended' }));
  // The SourceBuffers hls.js makes, by MIME type (their own buffered ranges tell which track ran out).
  const sourceBuffers = [];
  for (const MS of [window.MediaSource, window.ManagedMediaSource]) {
    if (!MS || !MS.prototype.addSourceBuffer) continue;
    const add = MS.prototype.addSourceBuffer;
    MS.prototype.addSourceBuffer = function (mime) {
      const sb = add.call(this, mime);
      sourceBuffers.push({ mime, sb });
      return sb;
    };
  }
  const rangesOf = (b) => { const out = []; try { for (let i = 0; i < b.length; i++) out.push([+b.start(i).toFixed(3), +b.end(i).toFixed(3)]); } catch (e) {} return out; };
  const CONFIG = ${JSON.stringify(LIVE_HLS_CONFIG)};
  const Base = window.Hls;
  if (Base) {
    const kindOf = (frag) => (frag && frag.type) || '?';
    class LiveHls extends Base {
      constructor(config) {
        super(Object.assign({}, config, CONFIG, window.h4liveConfig || {}));
        const E = Base.Events;
        const level = (kind) => (_e, d) => {
          const x = d.details;
          const st = d.stats && d.stats.loading;
          L.hls.push({ t: now(), ev: 'level', kind, live: x.live, n: x.fragments.length, edge: x.edge, target: x.targetduration, updated: x.updated, requested: st && st.start ? wall(st.start) : null });
        };
        this.on(E.LEVEL_LOADED, level('main'));
        this.on(E.AUDIO_TRACK_LOADED, level('audio'));
        this.on(E.FRAG_LOADING, (_e, d) => L.hls.push({ t: now(), ev: 'loading', kind: kindOf(d.frag), sn: d.frag.sn }));
        this.on(E.FRAG_LOADED, (_e, d) => L.hls.push({ t: now(), ev: 'loaded', kind: kindOf(d.frag), sn: d.frag.sn }));
        this.on(E.FRAG_BUFFERED, (_e, d) => {
          const f = d.frag;
          const es = f.elementaryStreams && (f.elementaryStreams.video || f.elementaryStreams.audio);
          L.hls.push({ t: now(), ev: 'buffered', kind: kindOf(f), sn: f.sn, start: f.start,
            startPTS: es ? es.startPTS : (Number.isFinite(f.startPTS) ? f.startPTS : null), endPTS: es ? es.endPTS : (Number.isFinite(f.endPTS) ? f.endPTS : null) });
        });
        this.on(E.BUFFER_EOS, () => L.hls.push({ t: now(), ev: 'eos' }));
        this.on(E.ERROR, (_e, d) => L.hls.push({ t: now(), ev: 'error', fatal: !!d.fatal, details: String(d.details), currentTime: v.currentTime,
          text: String((d.error && d.error.message) || d.reason || '').slice(0, 200) }));
        const self = this;
        setInterval(() => {
          const b = v.buffered;
          const sbs = {};
          for (const x of sourceBuffers) { try { sbs[x.mime] = rangesOf(x.sb.buffered); } catch (e) { sbs[x.mime] = []; } }
          L.latency.push({ t: now(), latency: self.latency, target: self.targetLatency, rate: v.playbackRate, currentTime: v.currentTime, readyState: v.readyState, paused: v.paused, seeking: v.seeking, bufferEnd: b.length ? b.end(b.length - 1) : 0, ranges: rangesOf(b), sourceBuffers: sbs });
        }, 250);
      }
    }
    window.Hls = LiveHls;
  }
  window.h4live = {
    collect() {
      const resources = performance.getEntriesByType('resource')
        .filter((r) => /\\.(m3u8|m4s|mp4)(\\?|$)/.test(r.name))
        .map((r) => ({ name: r.name, start: wall(r.startTime), end: wall(r.responseEnd), transferSize: r.transferSize, status: r.responseStatus || 0 }));
      return Object.assign({}, L, { resources, now: now() });
    },
    wall: now,
  };
})();
`;

/** The page of ./player-page.ts with the live script after its own. */
export const LIVE_PLAYER_PAGE = (() => {
  const at = PLAYER_PAGE.lastIndexOf('</body>');
  if (at < 0) throw new Error('player-page.ts: no </body> to put the live script before');
  return `${PLAYER_PAGE.slice(0, at)}<script>${LIVE_SCRIPT}</script>\n${PLAYER_PAGE.slice(at)}`;
})();

/** A block of the Matroska stream and when the last of its bytes arrived (wall ms). */
export type ArrivedBlock = { track: number; ptsMs: number; keyframe: boolean; arrival: number };

const ID = {
  segment: 0x18538067,
  info: 0x1549a966,
  timestampScale: 0x2ad7b1,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
  cluster: 0x1f43b675,
  clusterTimestamp: 0xe7,
  simpleBlock: 0xa3,
  blockGroup: 0xa0,
  block: 0xa1,
};
/** Master elements entered (their children parsed in line). */
const MASTERS = new Set([ID.segment, ID.info, ID.tracks, ID.trackEntry, ID.cluster, ID.blockGroup]);
/** Leaves read whole. */
const LEAVES = new Set([ID.timestampScale, ID.trackNumber, ID.trackType, ID.clusterTimestamp, ID.simpleBlock, ID.block]);

/**
 * Block arrival times of a Matroska stream read chunk by chunk (as ffmpeg
 * writes it to a pipe: an unknown-size Segment, clusters). Only what timing
 * needs is parsed: track numbers and types, the timestamp scale, cluster
 * timestamps and (Simple)Block headers; everything else is skipped unread.
 */
export class MkvBlockClock {
  readonly blocks: ArrivedBlock[] = [];
  /** Track number → Matroska TrackType (1 video, 2 audio). */
  readonly trackTypes = new Map<number, number>();
  private buf = Buffer.alloc(0);
  private skip = 0;
  private cluster = 0;
  private scaleNs = 1_000_000;
  private entry: { number?: number; type?: number } = {};

  /** Feeds the next chunk, which arrived at `arrival` (wall ms). */
  feed(chunk: Buffer, arrival: number): void {
    let data = chunk;
    if (this.skip > 0) {
      const n = Math.min(this.skip, data.length);
      this.skip -= n;
      data = data.subarray(n);
    }
    this.buf = this.buf.length === 0 ? Buffer.from(data) : Buffer.concat([this.buf, data]);
    let at = 0;
    for (;;) {
      const id = vint(this.buf, at, false);
      if (id === null) break;
      const size = vint(this.buf, at + id.length, true);
      if (size === null) break;
      const body = at + id.length + size.length;
      if (MASTERS.has(id.value)) {
        if (id.value === ID.trackEntry) this.entry = {};
        at = body;
        continue;
      }
      if (size.value < 0) throw new Error(`Matroska element ${id.value.toString(16)} of unknown size`);
      if (LEAVES.has(id.value)) {
        if (body + size.value > this.buf.length) break;
        this.leaf(id.value, this.buf.subarray(body, body + size.value), arrival);
        at = body + size.value;
        continue;
      }
      // Anything else: skipped, also across chunks.
      const available = this.buf.length - body;
      if (size.value <= available) {
        at = body + size.value;
        continue;
      }
      this.skip = size.value - available;
      at = this.buf.length;
      break;
    }
    this.buf = this.buf.subarray(at);
  }

  private leaf(id: number, b: Buffer, arrival: number): void {
    if (id === ID.timestampScale) this.scaleNs = uint(b);
    else if (id === ID.clusterTimestamp) this.cluster = uint(b);
    else if (id === ID.trackNumber || id === ID.trackType) {
      if (id === ID.trackNumber) this.entry.number = uint(b);
      else this.entry.type = uint(b);
      if (this.entry.number !== undefined && this.entry.type !== undefined) this.trackTypes.set(this.entry.number, this.entry.type);
    } else {
      const track = vint(b, 0, true);
      if (track === null || b.length < track.length + 3) return;
      const rel = b.readInt16BE(track.length);
      const flags = b[track.length + 2] as number;
      const ptsMs = ((this.cluster + rel) * this.scaleNs) / 1e6;
      this.blocks.push({ track: track.value, ptsMs, keyframe: id === ID.simpleBlock && (flags & 0x80) !== 0, arrival });
    }
  }

  /** The track number of the first track of Matroska type `type` (1 video, 2 audio). */
  trackOf(type: number): number | null {
    for (const [n, t] of this.trackTypes) if (t === type) return n;
    return null;
  }
}

/** An EBML variable-size integer at `at`: an ID (marker kept) or a size (marker removed; -1 when "unknown"). */
function vint(b: Buffer, at: number, isSize: boolean): { value: number; length: number } | null {
  if (at >= b.length) return null;
  const first = b[at] as number;
  let length = 1;
  while (length <= 8 && (first & (0x80 >> (length - 1))) === 0) length++;
  if (length > 8) throw new Error('invalid EBML variable-size integer');
  if (at + length > b.length) return null;
  let value = isSize ? first & (0xff >> length) : first;
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const byte = b[at + i] as number;
    value = value * 256 + byte;
    if (byte !== 0xff) allOnes = false;
  }
  return { value: isSize && allOnes ? -1 : value, length };
}

function uint(b: Buffer): number {
  let v = 0;
  for (const byte of b) v = v * 256 + byte;
  return v;
}
