/**
 * `h4mk package`: the HLS playlists, DASH manifest and CMAF/WebVTT segments
 * of a container written as static files that any web server, object store
 * or CDN serves as they are — byte for byte what `h4mk serve` answers on the
 * fly. The package is written into a temporary directory beside the output
 * and renamed into place when complete.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  buildInitSegment,
  buildKeyframeSegment,
  buildMediaSegment,
  buildSubtitleFile,
  buildSubtitleSegment,
  dashManifest,
  DeliveryError,
  deliveryPlan,
  iframePlaylist,
  masterPlaylist,
  mediaPlaylist,
  completeSegments,
  timelineOf,
  trackDir,
} from '../delivery/index.js';
import type { H4mkReader } from '../reader/reader.js';

/** Options of {@link packageContainer}. */
export type PackageOptions = {
  /** Write the HLS playlists (default true unless only `dash` is set). */
  hls?: boolean;
  /** Write the DASH manifest (default true unless only `hls` is set). */
  dash?: boolean;
  /** Replace an existing output directory. */
  force?: boolean;
  /**
   * An encrypted container whose reader holds its key: write the blocks
   * decrypted. The package is then plain: anyone who can read it can play it.
   */
  decrypt?: boolean;
  onProgress?: (done: number, total: number) => void;
};

/** What was written. */
export type PackageSummary = {
  files: number;
  bytes: number;
  segments: number;
  tracks: { id: string; codec: string; carriage: string; segments: number }[];
  skipped: { id: string; codec: string; reason: string }[];
};

/** Writes the package of `reader`'s container to directory `out`. */
export async function packageContainer(reader: H4mkReader, out: string, options: PackageOptions = {}): Promise<PackageSummary> {
  const hls = options.hls ?? options.dash !== true;
  const dash = options.dash ?? options.hls !== true;
  const plan = deliveryPlan(reader);
  if (plan.encrypted && options.decrypt === true && reader.unlocked) plan.encrypted = false;
  if (plan.encrypted) throw new DeliveryError('E_ENCRYPTED', 'the container is encrypted: give its key (--key-file) and --decrypt to write a plain package');
  if (plan.primary === null) throw new DeliveryError('E_UNSUPPORTED', 'no track of this container can be delivered (no video or audio that fMP4 carries)');
  const existing = await stat(out).catch(() => null);
  if (existing !== null && options.force !== true) throw new DeliveryError('E_EXISTS', `${out} exists`);
  const temporary = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.tmp`);
  const summary: PackageSummary = { files: 0, bytes: 0, segments: 0, tracks: [], skipped: [] };
  const put = async (path: string, data: Uint8Array | string) => {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    await writeFile(join(temporary, path), bytes);
    summary.files++;
    summary.bytes += bytes.length;
  };
  const delivered = plan.tracks.filter((t) => t.carriage !== null);
  const total = delivered.reduce((a, t) => a + completeSegments(plan, t), 0);
  let done = 0;
  try {
    await mkdir(temporary);
    if (hls) await put('master.m3u8', masterPlaylist(plan));
    if (dash) await put('manifest.mpd', dashManifest(plan));
    for (const t of plan.tracks) {
      if (t.carriage === null) {
        summary.skipped.push({ id: t.info.id, codec: t.info.codec, reason: t.reason ?? '' });
        continue;
      }
      const tl = timelineOf(plan, t);
      if (tl === null) continue;
      const dir = trackDir(t);
      await mkdir(join(temporary, dir));
      const n = t.info.number;
      if (hls) await put(`${dir}/index.m3u8`, mediaPlaylist(plan, t));
      if (t.carriage === 'webvtt') {
        if (dash) await put(`${dir}/all.vtt`, await buildSubtitleFile(reader, plan, n));
        for (let k = 0; k < completeSegments(plan, t); k++) {
          if (hls) await put(`${dir}/${k}.vtt`, await buildSubtitleSegment(reader, plan, n, k));
          options.onProgress?.(++done, total);
        }
      } else {
        if (hls) await put(`${dir}/init.mp4`, await buildInitSegment(reader, plan, n));
        if (dash) await put(`${dir}/init-dash.mp4`, await buildInitSegment(reader, plan, n, { dash: true }));
        const iframes = hls && t.kind === 'video' && tl.track === t;
        if (iframes) await put(`${dir}/iframes.m3u8`, iframePlaylist(plan, t));
        for (let k = 0; k < completeSegments(plan, t); k++) {
          await put(`${dir}/${k}.m4s`, await buildMediaSegment(reader, plan, n, k));
          if (iframes) await put(`${dir}/${k}.key.m4s`, await buildKeyframeSegment(reader, plan, n, k));
          options.onProgress?.(++done, total);
        }
      }
      summary.segments += completeSegments(plan, t);
      summary.tracks.push({ id: t.info.id, codec: t.codecs, carriage: t.carriage, segments: completeSegments(plan, t) });
    }
    if (existing !== null) await rm(out, { recursive: true, force: true });
    await rename(temporary, out);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true }).catch(() => {});
    throw error;
  }
  return summary;
}
