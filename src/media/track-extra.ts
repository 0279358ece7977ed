/**
 * The TRAK `extra` object of an imported media track (docs/FORMAT.md,
 * appendix A), as one zod schema shared by import and export: the importers
 * build a {@link MediaTrackExtraInit} (typed, so a misspelt key does not
 * compile), the exporter reads {@link parseMediaExtra}'s result.
 *
 * Every object keeps keys it does not know (FORMAT §12: readers keep
 * unknown keys), so what another tool added survives a read.
 *
 * A field of the wrong type is dropped, not fatal: `extra` is untrusted JSON
 * and every field of it is optional, so an exporter given a foreign
 * container does better to fall back to its defaults for one malformed
 * field (as it does for a missing one) than to refuse the whole export. A
 * list with a malformed element is dropped whole (an edit list or block list
 * missing one entry would mean something else); a bad key of a keyed record
 * (`flags`, `discard_padding`) drops that key alone. {@link checkMediaExtra}
 * also says which fields were dropped.
 */
import { z } from 'zod';

const count = z.int().nonnegative();

/** `video.color`: WebCodecs colour names (codec/colour.ts lists those it uses); each present only when known. */
export const MediaColourSchema = z.looseObject({
  primaries: z.string().optional(),
  transfer: z.string().optional(),
  matrix: z.string().optional(),
  full_range: z.boolean().optional(),
});

/** `video`: coded size, rotation and display size (mediabunny's names), colour. */
export const MediaVideoSchema = z.looseObject({
  width: count.optional(),
  height: count.optional(),
  rotation: z.literal([0, 90, 180, 270]).optional(),
  displayWidth: count.optional(),
  displayHeight: count.optional(),
  color: MediaColourSchema.optional(),
});

/** `audio`: sample rate, channels, bit depth when known. */
export const MediaAudioSchema = z.looseObject({
  sample_rate: z.number().positive().optional(),
  channels: z.int().positive().optional(),
  bit_depth: z.int().positive().optional(),
});

/** `disposition` (mediabunny's TrackDisposition). */
export const MediaDispositionSchema = z.looseObject({
  default: z.boolean().optional(),
  primary: z.boolean().optional(),
  forced: z.boolean().optional(),
  original: z.boolean().optional(),
  commentary: z.boolean().optional(),
  hearingImpaired: z.boolean().optional(),
  visuallyImpaired: z.boolean().optional(),
});

/** `source`: where the track came from. */
export const MediaSourceSchema = z.looseObject({
  container: z.string().optional(),
  index: count.optional(),
  track_id: z.number().optional(),
});

/** One entry of `mp4.edits` (elst): segment_duration in the movie timescale, media_time in ticks (−1: empty edit). */
export const Mp4EditSchema = z.looseObject({
  segment_duration: count,
  media_time: z.int().min(-1),
  rate: z.int().optional(),
  rate_fraction: z.int().optional(),
});

/** `mp4`: what an MP4/MOV source had that an MP4 export restores. */
export const Mp4ExtraSchema = z.looseObject({
  track_id: count.optional(),
  handler: z.string().optional(),
  sample_entry: z.string().optional(),
  movie_timescale: z.int().positive().optional(),
  media_duration: count.optional(),
  ctts_version: count.optional(),
  matrix: z.array(z.number()).length(9).optional(),
  edits: z.array(Mp4EditSchema).optional(),
  elst_version: count.optional(),
  all_sync: z.boolean().optional(),
  stsd_entry_b64: z.string().optional(),
  trailing_empty_sample: z.boolean().optional(),
  fragmented: z.boolean().optional(),
});

/** `matroska.block_groups` / `block_durations`: every block, none, the listed block pts, or too many to list. */
const BlockListSchema = z.union([z.enum(['all', 'none', 'mixed']), z.array(z.number())]);

/** One entry of `matroska.content_encodings`, as stored. */
export const MatroskaEncodingSchema = z.looseObject({
  order: count,
  scope: count,
  type: count,
  algorithm: count.optional(),
  settings_b64: z.string().optional(),
});

/** `matroska`: what a Matroska/WebM source had that a Matroska export restores. */
export const MatroskaExtraSchema = z.looseObject({
  doc_type: z.string().optional(),
  timestamp_scale: z.int().positive().optional(),
  track_number: z.int().positive().optional(),
  track_uid: z.number().nonnegative().optional(),
  track_type: count.optional(),
  codec_id: z.string().optional(),
  language: z.string().optional(),
  flags: z.record(z.string(), count).optional(),
  codec_delay_ns: count.optional(),
  seek_pre_roll_ns: count.optional(),
  default_duration_ns: count.optional(),
  no_codec_private: z.boolean().optional(),
  video: z
    .looseObject({
      pixel_width: count.optional(),
      pixel_height: count.optional(),
      display_width: count.nullable().optional(),
      display_height: count.nullable().optional(),
    })
    .optional(),
  audio: z
    .looseObject({
      sampling_frequency: z.number().positive().optional(),
      channels: z.int().positive().optional(),
      bit_depth: z.int().positive().nullable().optional(),
    })
    .optional(),
  pts_shift: z.int().optional(),
  block_groups: BlockListSchema.optional(),
  block_durations: BlockListSchema.optional(),
  discard_padding: z.record(z.string(), z.int()).optional(),
  discard_padding_dropped: count.optional(),
  invisible: z.array(z.number()).optional(),
  invisible_dropped: count.optional(),
  laced: z.boolean().optional(),
  content_encodings: z.array(MatroskaEncodingSchema).optional(),
});

/** The whole `extra` of an imported media track (appendix A). */
export const MediaTrackExtraSchema = z.looseObject({
  media_codec: z.string().optional(),
  source: MediaSourceSchema.optional(),
  video: MediaVideoSchema.optional(),
  audio: MediaAudioSchema.optional(),
  disposition: MediaDispositionSchema.optional(),
  dts_derived: z.literal('presentation_order').optional(),
  mp4: Mp4ExtraSchema.optional(),
  matroska: MatroskaExtraSchema.optional(),
});

/** A parsed `extra`: the known fields typed, unknown keys kept. */
export type MediaTrackExtra = z.infer<typeof MediaTrackExtraSchema>;

/** `T` without the index signatures of loose objects (records that have nothing but one stay records). */
type Known<T> = T extends readonly (infer U)[] ? Known<U>[] : T extends object ? (keyof KnownKeys<T> extends never ? T : KnownKeys<T>) : T;
type KnownKeys<T> = { [K in keyof T as string extends K ? never : number extends K ? never : K]: Known<T[K]> };

/** What an importer writes: only the keys of appendix A, so a misspelt key is a compile error. */
export type MediaTrackExtraInit = Known<MediaTrackExtra>;
export type Mp4ExtraInit = NonNullable<MediaTrackExtraInit['mp4']>;
export type MatroskaExtraInit = NonNullable<MediaTrackExtraInit['matroska']>;

type Path = readonly PropertyKey[];

/** Deletes the field an issue at `path` is about: the first list on the path, else the last key present. */
function dropField(root: Record<string, unknown>, path: Path): string | null {
  const holders: Record<string, unknown>[] = [];
  let holder: unknown = root;
  let cut = path.length - 1;
  for (let i = 0; i < path.length; i++) {
    if (typeof holder !== 'object' || holder === null || Array.isArray(holder)) {
      cut = i - 1;
      break;
    }
    holders.push(holder as Record<string, unknown>);
    const value = (holder as Record<PropertyKey, unknown>)[path[i] as PropertyKey];
    if (Array.isArray(value)) {
      cut = i;
      break;
    }
    holder = value;
  }
  for (let i = Math.min(cut, holders.length - 1); i >= 0; i--) {
    const h = holders[i] as Record<PropertyKey, unknown>;
    const key = path[i] as PropertyKey;
    if (Object.hasOwn(h, key)) {
      delete h[key];
      return path
        .slice(0, i + 1)
        .map(String)
        .join('.');
    }
  }
  return null;
}

/** {@link parseMediaExtra}, also naming the dropped fields (dotted paths such as `mp4.edits`). */
export function checkMediaExtra(extra: Record<string, unknown>): { extra: MediaTrackExtra; dropped: string[] } {
  const copy = structuredClone(extra);
  const dropped: string[] = [];
  for (;;) {
    const r = MediaTrackExtraSchema.safeParse(copy);
    if (r.success) return { extra: r.data, dropped };
    // One field at a time: two issues inside the same dropped list must not drop its parent too.
    const issue = r.error.issues[0];
    const field = issue === undefined ? null : dropField(copy, issue.path);
    // Unreachable for a JSON object (every field is optional), kept so a schema change cannot loop forever.
    if (field === null) throw new TypeError(`TRAK extra does not fit appendix A: ${r.error.message}`);
    dropped.push(field);
  }
}

/** Validates a TRAK `extra` against appendix A; malformed fields are dropped, unknown keys kept. The argument is not changed. */
export function parseMediaExtra(extra: Record<string, unknown>): MediaTrackExtra {
  return checkMediaExtra(extra).extra;
}
