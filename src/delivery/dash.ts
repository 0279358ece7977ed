/**
 * The DASH MPD (ISO/IEC 23009-1, isoff-live profile) over the same CMAF
 * segments as the HLS playlists: one AdaptationSet per video track, one per
 * audio track (language, role). Text subtitles are in the HLS playlists only
 * (see the note where they are skipped).
 * The DASH init segments (`init-dash.mp4`) carry an edit list that takes
 * the plan's offset off the fMP4 media times, so SegmentTimeline times are
 * presentation times (the source's pts), and presentationTimeOffset is the
 * period's start.
 */
import { type PlaylistOptions, trackDir } from './hls.js';
import { completeSegments, type DeliveryPlan, segmentBounds, type TrackTimeline, timelineOf } from './plan.js';
import type { DeliveryTrack } from './tracks.js';

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** ISO 8601 duration of `seconds`. */
export function isoDuration(seconds: number): string {
  return `PT${Math.max(0, seconds).toFixed(3)}S`;
}

/** S elements of a SegmentTimeline in `t`'s timescale (runs of equal durations folded with r). */
function timeline(tl: TrackTimeline, t: DeliveryTrack, count: number): string[] {
  const ts = t.info.timescale;
  const at = (seconds: number) => Math.round(seconds * ts);
  const out: string[] = [];
  let runStart = -1;
  let runD = -1;
  let runR = 0;
  const flush = () => {
    if (runStart < 0) return;
    out.push(`<S t="${runStart}" d="${runD}"${runR > 0 ? ` r="${runR}"` : ''}/>`);
  };
  let expected = -1;
  for (let k = 0; k < count; k++) {
    const b = segmentBounds(tl, k);
    const start = at(b.start);
    const d = Math.max(1, at(b.end) - start);
    if (start === expected && d === runD) runR++;
    else {
      flush();
      runStart = start;
      runD = d;
      runR = 0;
    }
    expected = start + d;
  }
  flush();
  return out;
}

/** The MPD. `base`: a BaseURL for the segment URIs (e.g. "../hls/" on the server), default none. */
export function dashManifest(plan: DeliveryPlan, options: PlaylistOptions & { base?: string; availabilityStart?: Date; publishTime?: Date } = {}): string {
  const q = options.query ?? '';
  const live = plan.live;
  const primary = plan.primary;
  // Period time 0 is the earliest presentation time of any delivered track, so nothing (audio priming,
  // audio that starts before the first video frame) falls before presentationTimeOffset and is cut.
  let start = primary === null ? 0 : (primary.cuts[0]?.pts ?? 0) / primary.track.info.timescale;
  for (const t of plan.tracks) if (t.carriage === 'cmaf' && t.info.firstPts !== null) start = Math.min(start, t.info.firstPts / t.info.timescale);
  const duration = plan.endSeconds - start;
  // Live: the presentation is anchored so that the last complete segment has just become available.
  let lastEnd = start;
  if (live && primary !== null) {
    const n = completeSegments(plan, primary.track);
    if (n > 0) lastEnd = segmentBounds(primary, n - 1).end;
  }
  const anchor = options.availabilityStart ?? new Date(Date.now() - Math.max(0, lastEnd - start) * 1000);
  const head = live
    ? `type="dynamic" availabilityStartTime="${anchor.toISOString()}" publishTime="${(options.publishTime ?? new Date()).toISOString()}" minimumUpdatePeriod="PT1S" timeShiftBufferDepth="PT24H" suggestedPresentationDelay="PT3S"`
    : `type="static" mediaPresentationDuration="${isoDuration(duration)}"`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" ${head} minBufferTime="PT2S">`,
  ];
  for (const t of plan.tracks) {
    if (t.carriage === null)
      lines.push(`  <!-- track ${t.info.number} (${xml(t.info.id)}, ${xml(t.info.codec)}) left out: ${xml(t.reason ?? '').replace(/--/g, '- -')} -->`);
  }
  if (options.base !== undefined) lines.push(`  <BaseURL>${xml(options.base)}</BaseURL>`);
  lines.push(`  <Period id="0" start="PT0S">`);
  let id = 0;
  for (const t of plan.tracks) {
    if (t.carriage === null) continue;
    const tl = timelineOf(plan, t);
    if (tl === null) continue;
    const count = completeSegments(plan, t);
    const dir = trackDir(t);
    if (t.carriage === 'webvtt') {
      // Sidecar WebVTT is what dash.js reads, but ffmpeg's DASH demuxer opens every adaptation set as
      // fMP4 and then fails the whole manifest; text in fMP4 (wvtt) is not written yet, so the
      // subtitles are in the HLS playlists only.
      lines.push(`    <!-- track ${t.info.number} (${xml(t.info.id)}): subtitles are in the HLS playlists (${dir}/index.m3u8) -->`);
      continue;
    }
    const video = t.kind === 'video';
    const ts = t.info.timescale;
    // presentationTimeOffset maps media time onto period time 0 (see `start`).
    const pto = Math.floor(start * ts);
    lines.push(
      `    <AdaptationSet id="${id++}" contentType="${video ? 'video' : 'audio'}" mimeType="${video ? 'video' : 'audio'}/mp4" segmentAlignment="true" startWithSAP="1"${t.language === '' ? '' : ` lang="${xml(t.language)}"`}>`,
      `      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="${t.isDefault || t === primary?.track ? 'main' : 'alternate'}"/>`,
      `      <Representation id="${dir}" codecs="${xml(t.codecs)}" bandwidth="${t.bandwidth}"${video && t.width > 0 ? ` width="${t.width}" height="${t.height}"` : ''}${video ? '' : ` audioSamplingRate="${t.sampleRate}"`}>`,
      ...(video ? [] : [`        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${t.channels}"/>`]),
      `        <SegmentTemplate timescale="${ts}" presentationTimeOffset="${pto}" initialization="${xml(`${dir}/init-dash.mp4${q}`)}" media="${xml(`${dir}/$Number$.m4s${q}`)}" startNumber="0">`,
      '          <SegmentTimeline>',
      ...timeline(tl, t, count).map((s) => `            ${s}`),
      '          </SegmentTimeline>',
      '        </SegmentTemplate>',
      '      </Representation>',
      '    </AdaptationSet>',
    );
  }
  lines.push('  </Period>', '</MPD>');
  return `${lines.join('\n')}\n`;
}
