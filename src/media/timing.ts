/**
 * Decode times for containers that store only presentation times
 * (Matroska, and the formats read through mediabunny).
 */

/**
 * Decode times and presentation gaps from presentation times in decode order.
 *
 * With reordering (video) and a reorder delay d (the largest number of
 * positions a packet is decoded ahead of its presentation rank), the
 * decode time of the i-th packet is the (i − d)-th smallest presentation
 * time, `dts[i] = sorted[i − d]`, and the first d packets continue that
 * grid backwards, `dts[i] = sorted[i] − (sorted[d] − sorted[0])`. This is
 * what ffmpeg reports for Matroska (the smallest of the last d + 1 pts in
 * its pts buffer of depth `has_b_frames`, and the first decode times moved
 * back by the first one's offset), tick for tick also when frame durations
 * are not whole ticks (29.97 fps in milliseconds). Without reordering,
 * dts = pts.
 *
 * `gap[i]` is the distance to the next larger presentation time (the last
 * packet repeats the previous gap): the duration of a frame when the
 * container does not state it.
 */
export function decodeOrderTimes(
  pts: Float64Array,
  reorder: boolean,
  announcedDelay: number | null = null,
): { dts: Float64Array; gap: Float64Array; delay: number } {
  const n = pts.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => (pts[a] as number) - (pts[b] as number) || a - b);
  const sorted = new Float64Array(n);
  const gap = new Float64Array(n);
  let delay = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r] as number;
    sorted[r] = pts[i] as number;
    if (i - r > delay) delay = i - r;
  }
  for (let r = 0; r < n; r++) {
    const i = order[r] as number;
    gap[i] = r + 1 < n ? (sorted[r + 1] as number) - (sorted[r] as number) : r > 0 ? (sorted[r] as number) - (sorted[r - 1] as number) : 0;
  }
  // A decoder buffers as many frames as the stream announces, even when it reorders fewer.
  if (reorder && announcedDelay !== null && announcedDelay > delay) delay = Math.min(announcedDelay, n - 1);
  if (!reorder || delay === 0) return { dts: pts.slice(), gap, delay: 0 };
  const shift = (sorted[delay] as number) - (sorted[0] as number);
  const dts = new Float64Array(n);
  for (let i = 0; i < n; i++) dts[i] = i >= delay ? (sorted[i - delay] as number) : (sorted[i] as number) - shift;
  return { dts, gap, delay };
}

/** Samples in an Opus packet (RFC 6716 §3.1: TOC config and frame count code), at 48 kHz; null if malformed. */
export function opusPacketSamples(packet: Uint8Array): number | null {
  const toc = packet[0];
  if (toc === undefined) return null;
  const config = toc >> 3;
  const frameSamples = config < 12 ? [480, 960, 1920, 2880][config & 3] : config < 16 ? [480, 960][config & 1] : [120, 240, 480, 960][config & 3];
  const code = toc & 3;
  const frames = code === 0 ? 1 : code === 1 || code === 2 ? 2 : packet[1] === undefined ? 0 : packet[1] & 0x3f;
  return frames === 0 || frameSamples === undefined ? null : frames * frameSamples;
}
