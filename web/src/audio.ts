/**
 * The audio waveform around the cursor: the blocks of an audio track in a
 * window, decoded with WebCodecs' AudioDecoder, drawn as min/max columns.
 */
import type { Block, TrackInfo } from 'h4mk/web';

/** Decoded samples of channel 0 with the time of the first one. */
export type Samples = { startUs: number; sampleRate: number; data: Float32Array };

/** AAC AudioSpecificConfig → sample rate and channels (ISO 14496-3 §1.6.2.1), for tracks without `extra.audio`. */
function aacParameters(config: Uint8Array): { sampleRate: number; channels: number } | null {
  if (config.length < 2) return null;
  const rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
  const bits = ((config[0] as number) << 8) | (config[1] as number);
  const rate = rates[(bits >> 7) & 0x0f]; //  5 bits object type, then 4 bits frequency index
  const channels = (bits >> 3) & 0x0f; //    4 bits channel configuration
  return rate === undefined || channels === 0 ? null : { sampleRate: rate, channels };
}

/** The AudioDecoder configuration of a track, or null when its parameters are unknown. */
export function audioConfig(track: TrackInfo): AudioDecoderConfig | null {
  const audio = (track.extra as { audio?: { sample_rate?: unknown; channels?: unknown } }).audio;
  let sampleRate = typeof audio?.sample_rate === 'number' ? audio.sample_rate : null;
  let channels = typeof audio?.channels === 'number' ? audio.channels : null;
  if ((sampleRate === null || channels === null) && track.codec.startsWith('mp4a.')) {
    const p = aacParameters(track.config);
    sampleRate ??= p?.sampleRate ?? null;
    channels ??= p?.channels ?? null;
  }
  if (track.codec === 'opus') {
    sampleRate ??= 48000;
    channels ??= track.config.length > 9 ? (track.config[9] as number) : 2; // OpusHead channel count
  }
  if (sampleRate === null || channels === null) return null;
  const config: AudioDecoderConfig = { codec: track.codec, sampleRate, numberOfChannels: channels };
  if (track.config.length > 0) config.description = new Uint8Array(track.config);
  return config;
}

/** Decodes `blocks` and returns channel 0 as one run of samples (gaps are not expected in a window). */
export async function decodeAudio(track: TrackInfo, blocks: readonly Block[]): Promise<Samples | null> {
  const config = audioConfig(track);
  if (config === null || typeof AudioDecoder === 'undefined' || blocks.length === 0) return null;
  if (!(await AudioDecoder.isConfigSupported(config)).supported) return null;
  const parts: { t: number; data: Float32Array; rate: number }[] = [];
  let failure: Error | null = null;
  const decoder = new AudioDecoder({
    output: (audio) => {
      try {
        const data = new Float32Array(audio.numberOfFrames);
        audio.copyTo(data, { planeIndex: 0, format: 'f32-planar' });
        parts.push({ t: audio.timestamp, data, rate: audio.sampleRate });
      } finally {
        audio.close();
      }
    },
    error: (e) => {
      failure = e instanceof Error ? e : new Error(String(e));
    },
  });
  try {
    decoder.configure(config);
    for (const b of blocks) decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: b.ptsUs, duration: Math.max(0, b.durationUs), data: b.payload }));
    await decoder.flush();
  } finally {
    if (decoder.state !== 'closed') decoder.close();
  }
  if (failure !== null) throw failure;
  if (parts.length === 0) return null;
  parts.sort((a, b) => a.t - b.t);
  const first = parts[0] as { t: number; rate: number };
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { startUs: first.t, sampleRate: first.rate, data };
}

/** Draws the samples of [fromUs, toUs) as min/max columns with a cursor at `cursorUs`. */
export function drawWaveform(canvas: HTMLCanvasElement, samples: Samples | null, fromUs: number, toUs: number, cursorUs: number, note = ''): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#f4f6f8';
  ctx.fillRect(0, 0, width, height);
  const mid = height / 2;
  ctx.strokeStyle = '#d0d7de';
  ctx.beginPath();
  ctx.moveTo(0, mid);
  ctx.lineTo(width, mid);
  ctx.stroke();
  if (samples !== null) {
    ctx.fillStyle = '#2f6f9f';
    const perUs = samples.sampleRate / 1e6;
    for (let x = 0; x < width; x++) {
      const a = Math.floor((fromUs + ((toUs - fromUs) * x) / width - samples.startUs) * perUs);
      const b = Math.floor((fromUs + ((toUs - fromUs) * (x + 1)) / width - samples.startUs) * perUs);
      let lo = 0;
      let hi = 0;
      for (let i = Math.max(0, a); i < Math.min(samples.data.length, Math.max(a + 1, b)); i++) {
        const v = samples.data[i] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) ctx.fillRect(x, mid - hi * mid, 1, Math.max(1, (hi - lo) * mid));
    }
  }
  const cx = ((cursorUs - fromUs) / (toUs - fromUs)) * width;
  ctx.strokeStyle = '#d1242f';
  ctx.beginPath();
  ctx.moveTo(cx + 0.5, 0);
  ctx.lineTo(cx + 0.5, height);
  ctx.stroke();
  if (note !== '') {
    ctx.fillStyle = '#57606a';
    ctx.font = '12px sans-serif';
    ctx.fillText(note, 8, 16);
  }
}
