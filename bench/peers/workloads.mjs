/**
 * The two workloads of the peer comparison (issue 8), as materialised
 * columns (the shape of bench/lib/workload.mjs `materialise`, so the plain
 * copy baseline and every writer read exactly the same payload bytes) plus a
 * track list that says how each format declares the tracks:
 *
 *   (a) `synthetic(durationUs)`: the fixed-seed 2-hour-shaped stream of
 *       bench/lib/workload.mjs (30 fps video with 2 s GOPs and B-frames,
 *       48 kHz AAC-sized audio, a 10 Hz JSON control track), scaled;
 *   (b) `demoClip(seconds)`: the real H.264 + AAC packets of the demo clip
 *       (assets/demo-clip.mp4, demuxed with mediabunny's EncodedPacketSink),
 *       looped to `seconds` of content with shifted timestamps.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_FORMATS, EncodedPacketSink, FilePathSource, Input } from 'mediabunny';
import { materialise, TRACKS } from '../lib/workload.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const DEMO_CLIP = join(here, '..', '..', 'assets', 'demo-clip.mp4');

/**
 * A minimal avcC (version 1, High profile 0x64, level 3.1, 4-byte NAL
 * lengths, no SPS/PPS): the synthetic payloads are random bytes, so this is
 * a muxing-throughput test, not a playable file.
 */
const FAKE_AVCC = Uint8Array.of(1, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0x00);

/** (a) The 2-hour-shaped synthetic stream, `durationUs` of content. */
export function synthetic({ durationUs, tiny = false, payloadScale }) {
  const cols = materialise({ durationUs, tiny, ...(payloadScale === undefined ? {} : { payloadScale }) });
  const [video, audio, control] = TRACKS;
  return {
    name: 'synthetic',
    description: `synthetic 2-hour-shaped stream, ${(durationUs / 60e6).toFixed(1)} min (30 fps video, 2 s GOPs, B-frames; 48 kHz audio; 10 Hz JSON control)`,
    cols,
    durationUs,
    tracks: [
      {
        h4mk: { ...video },
        mp4: {
          type: 'video',
          codec: 'avc',
          frameRate: 30,
          decoderConfig: { codec: 'avc1.64001f', codedWidth: 1920, codedHeight: 1080, description: FAKE_AVCC },
        },
      },
      {
        h4mk: { ...audio },
        mp4: { type: 'audio', codec: 'aac', decoderConfig: { codec: 'mp4a.40.2', numberOfChannels: 2, sampleRate: 48_000, description: audio.config } },
      },
      // MP4 (mediabunny) has no track type for a JSON control stream: the MP4 file carries video + audio only.
      { h4mk: { ...control }, mp4: null },
    ],
  };
}

/** Makes an H.264 (B-frames) + AAC MP4 with ffmpeg when the demo clip is not in the tree. */
function generateClip() {
  const dir = mkdtempSync(join(tmpdir(), 'h4mk-peers-clip-'));
  const path = join(dir, 'clip.mp4');
  execFileSync('ffmpeg', [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x180:rate=25:duration=4',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000:duration=4',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-bf',
    '2',
    '-g',
    '50',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-ac',
    '1',
    path,
  ]);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every packet of every track of an MP4, in decode order per track, with mediabunny. */
async function demux(path) {
  const input = new Input({ source: new FilePathSource(path), formats: ALL_FORMATS });
  try {
    const tracks = [];
    for (const track of await input.getTracks()) {
      if (track.type !== 'video' && track.type !== 'audio') continue;
      const decoderConfig = await track.getDecoderConfig();
      const packets = [];
      for await (const p of new EncodedPacketSink(track).packets())
        packets.push({ data: p.data, timestamp: p.timestamp, duration: p.duration, key: p.type === 'key' });
      tracks.push({
        type: track.type,
        codec: track.codec,
        timescale: track.timeResolution,
        decoderConfig,
        packets,
        frameRate: track.type === 'video' ? (await track.computePacketStats(100)).averagePacketRate : undefined,
      });
    }
    return tracks;
  } finally {
    input.dispose();
  }
}

/**
 * (b) The demo clip's packets looped to `seconds`. Each loop is shifted by
 * the clip's period (its last packet end, rounded up to a video frame); all
 * times start at ≥ 0 (the AAC priming packet has a negative timestamp).
 * Decode timestamps are rebuilt from the presentation times (sorted pts
 * shifted so that dts ≤ pts), as a demuxer does for a format without dts.
 */
export async function demoClip({ seconds, path = DEMO_CLIP }) {
  let generated = null;
  if (!existsSync(path)) {
    generated = generateClip();
    path = generated.path;
  }
  const tracks = await demux(path);
  const video = tracks.find((t) => t.type === 'video');
  const frame = video ? 1 / video.frameRate : 0.04;
  const end = Math.max(...tracks.flatMap((t) => t.packets.map((p) => p.timestamp + p.duration)));
  const start = Math.min(...tracks.flatMap((t) => t.packets.map((p) => p.timestamp)));
  const period = Math.ceil((end - Math.min(0, start)) / frame - 1e-9) * frame;
  const lead = start < 0 ? Math.ceil(-start / frame - 1e-9) * frame : 0;
  const loops = Math.max(1, Math.round(seconds / period));

  // One pool with every packet of the clip; each looped block points into it.
  const perLoop = tracks.reduce((a, t) => a + t.packets.length, 0);
  const poolLength = tracks.reduce((a, t) => a + t.packets.reduce((b, p) => b + p.data.length, 0), 0);
  const pool = new Uint8Array(poolLength);
  const ticks = (t, s) => Math.round(s * t.timescale);
  const items = [];
  let o = 0;
  tracks.forEach((t, ti) => {
    const pts = t.packets.map((p) => ticks(t, p.timestamp + lead));
    const sorted = [...pts].sort((a, b) => a - b);
    const shift = Math.max(0, ...pts.map((x, k) => sorted[k] - x));
    t.packets.forEach((p, k) => {
      pool.set(p.data, o);
      items.push({
        track: ti,
        pts: pts[k],
        dts: sorted[k] - shift,
        duration: ticks(t, p.duration),
        key: p.key,
        offset: o,
        length: p.data.length,
        time: (sorted[k] - shift) / t.timescale,
      });
      o += p.data.length;
    });
  });
  // Interleave by decode time, the way a muxer writes (ties: track order).
  items.sort((a, b) => a.time - b.time || a.track - b.track);

  const n = perLoop * loops;
  const cols = {
    count: n,
    pool,
    jsonPool: new Uint8Array(0),
    track: new Uint8Array(n),
    pts: new Float64Array(n),
    dts: new Float64Array(n),
    duration: new Uint32Array(n),
    keyframe: new Uint8Array(n),
    kindCode: new Uint8Array(n),
    poolId: new Uint8Array(n),
    offset: new Float64Array(n),
    length: new Uint32Array(n),
    payloadBytes: 0,
  };
  let i = 0;
  for (let l = 0; l < loops; l++) {
    for (const it of items) {
      const shiftTicks = Math.round(l * period * tracks[it.track].timescale);
      cols.track[i] = it.track;
      cols.pts[i] = it.pts + shiftTicks;
      cols.dts[i] = it.dts + shiftTicks;
      cols.duration[i] = it.duration;
      cols.keyframe[i] = it.key ? 1 : 0;
      cols.kindCode[i] = it.key && tracks[it.track].type === 'video' ? 1 : 0;
      cols.offset[i] = it.offset;
      cols.length[i] = it.length;
      cols.payloadBytes += it.length;
      i++;
    }
  }
  const ids = { video: 'video_main', audio: 'audio_main' };
  return {
    name: 'clip',
    description: `demo clip (${generated ? 'generated with ffmpeg' : 'assets/demo-clip.mp4'}: ${tracks.map((t) => `${t.decoderConfig.codec} ${t.packets.length} packets`).join(', ')}, ${period.toFixed(2)} s) looped ${loops}× = ${((loops * period) / 60).toFixed(1)} min`,
    source: generated ? 'ffmpeg' : 'assets/demo-clip.mp4',
    /** The clip itself (a generated one lives until `cleanup()`). */
    path,
    cleanup: () => generated?.cleanup(),
    cols,
    durationUs: Math.round(loops * period * 1e6),
    tracks: tracks.map((t) => ({
      h4mk: { id: ids[t.type], kind: t.type, codec: t.decoderConfig.codec, timescale: t.timescale, config: t.decoderConfig.description },
      mp4: { type: t.type, codec: t.codec, frameRate: t.frameRate, decoderConfig: t.decoderConfig },
    })),
  };
}
