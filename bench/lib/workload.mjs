/**
 * Reproducible "2-hour movie" workload for the benchmarks: 30 fps video with
 * 2 s closed GOPs (I P B B … in decode order, B-frame reordering so pts ≠ dts),
 * 48 kHz AAC-like audio (1024-sample packets) and a 10 Hz JSON control track,
 * interleaved in decode-time order the way a muxer would.
 *
 * Everything comes from a fixed-seed PRNG, so two runs (and the writer and the
 * plain-copy baseline inside one run) see exactly the same blocks and bytes.
 * Payload bytes are views into one pre-filled random pool (random bytes are a
 * fair stand-in for already-compressed media); control payloads are real JSON.
 */

/** sfc32: small, fast, good-quality 32-bit PRNG. */
export function sfc32(seed) {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

/** Uniform float in [0, 1) and integer in [lo, hi] from a sfc32 generator. */
export function rng(seed) {
  const u32 = sfc32(seed);
  return {
    u32,
    float: () => u32() / 4294967296,
    int: (lo, hi) => lo + Math.floor((u32() / 4294967296) * (hi - lo + 1)),
  };
}

/** `length` PRNG bytes (fast: 4 bytes per step). */
export function randomPool(length, seed) {
  const next = sfc32(seed);
  const words = new Uint32Array(Math.ceil(length / 4));
  for (let i = 0; i < words.length; i++) words[i] = next();
  return new Uint8Array(words.buffer, 0, length);
}

export const VIDEO_TIMESCALE = 90_000;
export const VIDEO_FRAME_TICKS = 3_000; // 30 fps
export const GOP_FRAMES = 60; // 2 s
export const AUDIO_TIMESCALE = 48_000;
export const AUDIO_PACKET_TICKS = 1_024;
export const CONTROL_TIMESCALE = 1_000_000;
export const CONTROL_PERIOD_US = 100_000; // 10 Hz

export const TRACKS = Object.freeze([
  {
    id: 'video_main',
    kind: 'video',
    codec: 'avc1.64001f',
    timescale: VIDEO_TIMESCALE,
    name: 'Main video',
    language: 'und',
    config: Uint8Array.of(1, 0x64, 0, 0x1f, 0xff),
  },
  { id: 'audio_main', kind: 'audio', codec: 'mp4a.40.2', timescale: AUDIO_TIMESCALE, name: 'Main audio', language: 'en', config: Uint8Array.of(0x11, 0x90) },
  { id: 'control', kind: 'control', codec: 'application/json', timescale: CONTROL_TIMESCALE, name: 'Control' },
]);

/** Decode order of one closed 60-frame GOP, as display indices: I0, then (P3m, B3m-2, B3m-1)…, then trailing Ps. */
function gopDecodeOrder() {
  const order = [{ display: 0, kind: 'I' }];
  let m = 1;
  for (; 3 * m < GOP_FRAMES - 2; m++) {
    order.push({ display: 3 * m, kind: 'P' }, { display: 3 * m - 2, kind: 'B' }, { display: 3 * m - 1, kind: 'B' });
  }
  for (let d = 3 * (m - 1) + 1; d < GOP_FRAMES; d++) order.push({ display: d, kind: 'P' });
  if (order.length !== GOP_FRAMES || new Set(order.map((o) => o.display)).size !== GOP_FRAMES) throw new Error('bad GOP order');
  return order;
}
const GOP = gopDecodeOrder();
const KIND_CODE = { I: 1, P: 2, B: 3 };

/**
 * Streaming generator. `next()` fills `this.block` (reused) and returns true,
 * or false at the end. Stops after `durationUs` of content or `maxBlocks`.
 * `tiny` makes every payload 8–32 bytes (for index-scale tests).
 */
export class Workload {
  constructor({ durationUs, maxBlocks = Infinity, payloadScale = 1, seed = 0x4834, tiny = false, poolBytes = 16 << 20 }) {
    this.durationUs = durationUs;
    this.maxBlocks = maxBlocks;
    this.payloadScale = payloadScale;
    this.tiny = tiny;
    this.r = rng(seed);
    this.pool = randomPool(poolBytes, seed ^ 0x5a5a5a5a);
    this.encoder = new TextEncoder();
    this.frame = 0;
    this.packet = 0;
    this.tick = 0;
    this.count = 0;
    // Video ends at a whole frame; audio at a whole packet; control at 10 Hz.
    this.videoFrames = Math.floor((durationUs * 30) / 1e6);
    this.audioPackets = Math.floor((durationUs * AUDIO_TIMESCALE) / (AUDIO_PACKET_TICKS * 1e6));
    this.controlTicks = Math.floor(durationUs / CONTROL_PERIOD_US);
    this.block = { track: 0, pts: 0, dts: 0, duration: 0, keyframe: false, kind: 'I', kindCode: 0, payload: new Uint8Array(0), poolOffset: 0, fromPool: true };
  }

  /** Blocks this workload yields (ignoring maxBlocks). */
  get expectedBlocks() {
    return Math.min(this.maxBlocks, this.videoFrames + this.audioPackets + this.controlTicks);
  }

  size(lo, hi) {
    if (this.tiny) return this.r.int(8, 32);
    return Math.max(16, Math.round(this.r.int(lo, hi) * this.payloadScale));
  }

  poolView(length) {
    const offset = this.r.int(0, this.pool.length - length);
    this.block.poolOffset = offset;
    this.block.fromPool = true;
    return this.pool.subarray(offset, offset + length);
  }

  next() {
    if (this.count >= this.maxBlocks) return false;
    // Next decode time of each track, in seconds (exact enough to order them; ties: video, audio, control).
    const tv = this.frame < this.videoFrames ? this.frame / 30 : Infinity;
    const ta = this.packet < this.audioPackets ? (this.packet * AUDIO_PACKET_TICKS) / AUDIO_TIMESCALE : Infinity;
    const tc = this.tick < this.controlTicks ? this.tick / 10 : Infinity;
    const b = this.block;
    if (tv === Infinity && ta === Infinity && tc === Infinity) return false;
    if (tv <= ta && tv <= tc) {
      const n = this.frame++;
      const g = GOP[n % GOP_FRAMES];
      const gopStart = n - (n % GOP_FRAMES);
      b.track = 0;
      b.dts = n * VIDEO_FRAME_TICKS;
      // One frame of composition delay keeps pts ≥ dts with this B-frame order.
      b.pts = (gopStart + g.display + 1) * VIDEO_FRAME_TICKS;
      b.duration = VIDEO_FRAME_TICKS;
      b.keyframe = g.kind === 'I';
      b.kind = g.kind;
      b.kindCode = KIND_CODE[g.kind];
      const len = g.kind === 'I' ? this.size(40_000, 80_000) : g.kind === 'P' ? this.size(5_000, 20_000) : this.size(2_000, 8_000);
      b.payload = this.poolView(len);
    } else if (ta <= tc) {
      const n = this.packet++;
      b.track = 1;
      b.dts = b.pts = n * AUDIO_PACKET_TICKS;
      b.duration = AUDIO_PACKET_TICKS;
      b.keyframe = true;
      b.kind = undefined;
      b.kindCode = 0;
      b.payload = this.poolView(this.tiny ? this.size(0, 0) : Math.max(16, this.r.int(300, 800)));
    } else {
      const n = this.tick++;
      b.track = 2;
      b.dts = b.pts = n * CONTROL_PERIOD_US;
      b.duration = CONTROL_PERIOD_US;
      b.keyframe = true;
      b.kind = undefined;
      b.kindCode = 0;
      if (this.tiny) b.payload = this.poolView(this.size(0, 0));
      else {
        const json = `{"seq":${n},"t_us":${n * CONTROL_PERIOD_US},"cmd":"${['play', 'cue', 'marker', 'light'][this.r.int(0, 3)]}","level":${this.r.int(0, 255)},"pos":[${this.r.int(0, 1920)},${this.r.int(0, 1080)}]}`;
        b.payload = this.encoder.encode(json);
        b.fromPool = false;
      }
    }
    this.count++;
    return true;
  }
}

/**
 * The whole workload materialised as columns (so timed loops do no
 * generation work). Control JSON payloads are packed into their own pool.
 */
export function materialise(options) {
  const w = new Workload(options);
  const n = w.expectedBlocks;
  const cols = {
    count: 0,
    pool: w.pool,
    track: new Uint8Array(n),
    pts: new Float64Array(n),
    dts: new Float64Array(n),
    duration: new Uint32Array(n),
    keyframe: new Uint8Array(n),
    kindCode: new Uint8Array(n),
    /** Which pool: 0 = media pool, 1 = JSON pool. */
    poolId: new Uint8Array(n),
    offset: new Float64Array(n),
    length: new Uint32Array(n),
    payloadBytes: 0,
    jsonPool: null,
  };
  const json = [];
  let jsonBytes = 0;
  while (w.next()) {
    const i = cols.count++;
    const b = w.block;
    cols.track[i] = b.track;
    cols.pts[i] = b.pts;
    cols.dts[i] = b.dts;
    cols.duration[i] = b.duration;
    cols.keyframe[i] = b.keyframe ? 1 : 0;
    cols.kindCode[i] = b.kindCode;
    cols.length[i] = b.payload.length;
    if (b.fromPool) {
      cols.poolId[i] = 0;
      cols.offset[i] = b.poolOffset;
    } else {
      cols.poolId[i] = 1;
      cols.offset[i] = jsonBytes;
      json.push(b.payload);
      jsonBytes += b.payload.length;
    }
    cols.payloadBytes += b.payload.length;
  }
  const jp = new Uint8Array(jsonBytes);
  let o = 0;
  for (const p of json) {
    jp.set(p, o);
    o += p.length;
  }
  cols.jsonPool = jp;
  return cols;
}

const KINDS = [undefined, 'I', 'P', 'B'];

/** Payload view of block `i` of materialised columns. */
export function payloadAt(cols, i) {
  const pool = cols.poolId[i] === 0 ? cols.pool : cols.jsonPool;
  const o = cols.offset[i];
  return pool.subarray(o, o + cols.length[i]);
}

/** A BlockInput for block `i` (ticks of the track's timescale). */
export function blockInputAt(cols, i) {
  return {
    track: cols.track[i],
    pts: cols.pts[i],
    dts: cols.dts[i],
    duration: cols.duration[i],
    keyframe: cols.keyframe[i] === 1,
    kind: KINDS[cols.kindCode[i]],
    payload: payloadAt(cols, i),
  };
}

/** Declares the workload's tracks on a writer. */
export function addTracks(writer) {
  for (const t of TRACKS) writer.addTrack({ ...t });
}
