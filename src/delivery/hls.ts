/**
 * HLS playlists (RFC 8216, version 7 for fMP4): a master playlist with
 * every video track as a variant, audio tracks as renditions grouped by
 * codec, text subtitles as WebVTT renditions and an I-frames-only playlist
 * per video track; a media playlist per track. URIs are relative
 * (`t{N}/…`), so the same text works from the server and from a static
 * package. Built from the plan, which comes from the index alone.
 */
import { completeSegments, type DeliveryPlan, segmentBounds, timelineOf } from './plan.js';
import type { DeliveryTrack } from './tracks.js';

/** Options of the playlist writers. */
export type PlaylistOptions = {
  /** Appended to every URI (e.g. `?sig=…&expires=…` of a signed URL); default none. */
  query?: string;
  /** Prefix of the master playlist's track URIs (the server's versioned directory, e.g. `v-…/`); default none. */
  prefix?: string;
};

/** The server's directory of one version of a container's segments (see DeliveryPlan.version). */
export function versionDir(plan: DeliveryPlan): string {
  return `v-${plan.version}`;
}

/** The directory of a track's files. */
export function trackDir(t: DeliveryTrack): string {
  return `t${t.info.number}`;
}

function quoted(text: string): string {
  return `"${text.replace(/["\r\n]/g, "'")}"`;
}

function audioGroup(t: DeliveryTrack): string {
  return `audio-${t.codecs.replace(/[^A-Za-z0-9]/g, '')}`;
}

/** The master playlist. */
export function masterPlaylist(plan: DeliveryPlan, options: PlaylistOptions = {}): string {
  const q = options.query ?? '';
  const p = options.prefix ?? '';
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const t of plan.tracks) {
    if (t.carriage === null) lines.push(`# track ${t.info.number} (${t.info.id}, ${t.info.codec}) left out: ${t.reason}`);
  }
  const videos = plan.tracks.filter((t) => t.carriage === 'cmaf' && t.kind === 'video');
  const audios = plan.tracks.filter((t) => t.carriage === 'cmaf' && t.kind === 'audio');
  const subtitles = plan.tracks.filter((t) => t.carriage === 'webvtt');
  const groups = new Map<string, DeliveryTrack[]>();
  for (const a of audios) groups.set(audioGroup(a), [...(groups.get(audioGroup(a)) ?? []), a]);
  for (const [group, members] of groups) {
    const chosen = members.find((m) => m.isDefault) ?? members[0];
    for (const a of members) {
      const attrs = [
        'TYPE=AUDIO',
        `GROUP-ID=${quoted(group)}`,
        `NAME=${quoted(a.name)}`,
        ...(a.language === '' ? [] : [`LANGUAGE=${quoted(a.language)}`]),
        `DEFAULT=${a === chosen ? 'YES' : 'NO'}`,
        'AUTOSELECT=YES',
        `CHANNELS=${quoted(String(a.channels))}`,
        `URI=${quoted(`${p}${trackDir(a)}/index.m3u8${q}`)}`,
      ];
      lines.push(`#EXT-X-MEDIA:${attrs.join(',')}`);
    }
  }
  for (const s of subtitles) {
    const attrs = [
      'TYPE=SUBTITLES',
      'GROUP-ID="subs"',
      `NAME=${quoted(s.name)}`,
      ...(s.language === '' ? [] : [`LANGUAGE=${quoted(s.language)}`]),
      `DEFAULT=${s.isDefault ? 'YES' : 'NO'}`,
      'AUTOSELECT=YES',
      `URI=${quoted(`${p}${trackDir(s)}/index.m3u8${q}`)}`,
    ];
    lines.push(`#EXT-X-MEDIA:${attrs.join(',')}`);
  }
  const subs = subtitles.length > 0 ? ',SUBTITLES="subs"' : '';
  const groupList = [...groups.entries()];
  if (videos.length > 0) {
    for (const v of videos) {
      const audioSets: [string | null, DeliveryTrack[]][] = groupList.length > 0 ? groupList : [[null, []]];
      for (const [group, members] of audioSets) {
        const audioBandwidth = Math.max(0, ...members.map((m) => m.bandwidth));
        const codecs = [v.codecs, ...(members[0] === undefined ? [] : [members[0].codecs])].join(',');
        const attrs = [
          `BANDWIDTH=${Math.ceil((v.bandwidth + audioBandwidth) * 1.2)}`,
          `AVERAGE-BANDWIDTH=${v.bandwidth + audioBandwidth}`,
          `CODECS=${quoted(codecs)}`,
          ...(v.width > 0 && v.height > 0 ? [`RESOLUTION=${v.width}x${v.height}`] : []),
          ...(group === null ? [] : [`AUDIO=${quoted(group)}`]),
        ];
        lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}${subs}`, `${p}${trackDir(v)}/index.m3u8${q}`);
      }
    }
    for (const v of videos) {
      const attrs = [
        `BANDWIDTH=${Math.ceil(v.bandwidth / 4) + 1}`,
        `CODECS=${quoted(v.codecs)}`,
        ...(v.width > 0 && v.height > 0 ? [`RESOLUTION=${v.width}x${v.height}`] : []),
      ];
      lines.push(`#EXT-X-I-FRAME-STREAM-INF:${attrs.join(',')},URI=${quoted(`${p}${trackDir(v)}/iframes.m3u8${q}`)}`);
    }
  } else {
    for (const [group, members] of groupList) {
      const main = members.find((m) => m.isDefault) ?? (members[0] as DeliveryTrack);
      lines.push(
        `#EXT-X-STREAM-INF:BANDWIDTH=${Math.ceil(main.bandwidth * 1.2)},AVERAGE-BANDWIDTH=${main.bandwidth},CODECS=${quoted(main.codecs)},AUDIO=${quoted(group)}${subs}`,
        `${p}${trackDir(main)}/index.m3u8${q}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function header(durations: number[], live: boolean, extra: string[]): string[] {
  const target = Math.max(1, ...durations.map((d) => Math.ceil(d - 1e-6)));
  // Live: the server holds a reload that names the next segment (`_HLS_msn`) until it is listed (RFC 8216bis §6.2.5.2).
  const control = live ? ['#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES'] : [];
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    `#EXT-X-PLAYLIST-TYPE:${live ? 'EVENT' : 'VOD'}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    ...control,
    ...extra,
  ];
}

/**
 * A media playlist of track `t`: the header (with `tags`), then one entry per
 * complete segment named by `uri(k)`, and ENDLIST once the container is finished.
 */
function trackPlaylist(plan: DeliveryPlan, t: DeliveryTrack, tags: string[], uri: (k: number) => string): string {
  const tl = timelineOf(plan, t);
  if (tl === null) throw new RangeError('nothing to deliver');
  const durations: number[] = [];
  for (let k = 0; k < completeSegments(plan, t); k++) {
    const b = segmentBounds(tl, k);
    durations.push(b.end - b.start);
  }
  const lines = header(durations, plan.live, tags);
  durations.forEach((d, k) => {
    lines.push(`#EXTINF:${d.toFixed(6)},`, uri(k));
  });
  if (!plan.live) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** The media playlist of track `t` (fMP4 or WebVTT segments). */
export function mediaPlaylist(plan: DeliveryPlan, t: DeliveryTrack, options: PlaylistOptions = {}): string {
  const q = options.query ?? '';
  const cmaf = t.carriage === 'cmaf';
  return trackPlaylist(plan, t, cmaf ? [`#EXT-X-MAP:URI=${quoted(`init.mp4${q}`)}`] : [], (k) => `${k}.${cmaf ? 'm4s' : 'vtt'}${q}`);
}

/** The I-frames-only playlist of video track `t`: one keyframe-only segment per segment. */
export function iframePlaylist(plan: DeliveryPlan, t: DeliveryTrack, options: PlaylistOptions = {}): string {
  const q = options.query ?? '';
  return trackPlaylist(plan, t, ['#EXT-X-I-FRAMES-ONLY', `#EXT-X-MAP:URI=${quoted(`init.mp4${q}`)}`], (k) => `${k}.key.m4s${q}`);
}
