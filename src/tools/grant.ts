/**
 * §13.6 Grants whose window decodes. Keys are per epoch of pts, but a video
 * frame decodes only from its GOP's keyframe on: a grant for [A, B) on a
 * video track is made for the window widened back to the keyframe at or
 * before A, and on to the largest pts of the blocks decoded with its frames
 * (a B-frame's later reference, an open GOP's next keyframe), so every frame
 * of [A, B) decodes with the grant alone. Other tracks (every block stands
 * alone) are not widened. The grant document is the usual one (§13.6): its
 * `from_us`/`to_us` are the widened window, its keys that window's epochs.
 */
import type { Grant } from '../crypto/unlock.js';
import { H4mkError } from '../format/errors.js';
import type { H4mkReader } from '../reader/reader.js';

/** The window a grant opens, and the one asked for (µs of media time, [from, to)). */
export type GrantWindow = {
  requestedFromUs: number;
  requestedToUs: number;
  /** The grant's window: the requested one, widened as the module comment says. */
  fromUs: number;
  toUs: number;
  /** The keyframe the window now starts at, when the start moved (else null). */
  keyframeUs: number | null;
  /** True when `fromUs` or `toUs` differs from the request. */
  widened: boolean;
};

/**
 * The window a grant for `track` over [fromUs, toUs) must open for every
 * frame of it to decode (see the module comment). Reads the segment tables
 * of the window's decode span (no payloads).
 */
export async function decodableGrantWindow(reader: H4mkReader, track: string | number, fromUs: number, toUs: number): Promise<GrantWindow> {
  if (!Number.isSafeInteger(fromUs) || !Number.isSafeInteger(toUs) || toUs <= fromUs) throw new RangeError('the window must be integers with from < to');
  const t = reader.track(track);
  const same: GrantWindow = { requestedFromUs: fromUs, requestedToUs: toUs, fromUs, toUs, keyframeUs: null, widened: false };
  if (t.kind !== 'video') return same;
  const key = await reader.seek(t.number, fromUs);
  // No keyframe at or before A (seek then gives the first one, after A): nothing before A decodes anything.
  const keyframeUs = key !== null && key.ptsUs < fromUs ? key.ptsUs : null;
  // The blocks decoded for [A, B): from the keyframe, in file order, to the last block with pts < B.
  let lastUs = -Infinity;
  let inWindow = false;
  for await (const b of reader.infos({ tracks: [t.number], fromUs, toUs, fromKeyframe: true })) {
    lastUs = Math.max(lastUs, b.ptsUs);
    if (b.ptsUs >= fromUs && b.ptsUs < toUs) inWindow = true;
  }
  if (!inWindow) return same;
  const from = keyframeUs ?? fromUs;
  const to = Math.max(toUs, lastUs + 1);
  return { ...same, fromUs: from, toUs: to, keyframeUs, widened: from !== fromUs || to !== toUs };
}

/**
 * A grant for `track` over [fromUs, toUs) whose frames all decode: the
 * epochs of {@link decodableGrantWindow}'s window. Needs the container key
 * (E_KEY otherwise, as {@link H4mkReader.grant}).
 */
export async function makeDecodableGrant(
  reader: H4mkReader,
  track: string | number,
  fromUs: number,
  toUs: number,
): Promise<{ grant: Grant; window: GrantWindow }> {
  if (!reader.hasContainerKey) throw new H4mkError('E_KEY', 'a grant needs the container key');
  const window = await decodableGrantWindow(reader, track, fromUs, toUs);
  return { grant: reader.grant(track, window.fromUs, window.toUs), window };
}
