/**
 * Recovery's decisions between the scan and the copy: where the track table,
 * META, SAFE and CRYP come from (docs/FORMAT.md §14.2; see recover.ts), and
 * which of the accepted blocks the output can hold as they are.
 */
import { BlockFlag } from '../format/constants.js';
import type { CryptoParams } from '../format/crypto-params.js';
import type { TrackRecord } from '../format/track-table.js';
import type { FoundList, RecoverDamage } from './found.js';
import type { FoundIndex } from './scan.js';

/** Track table and metadata to use when the damaged file has no readable index. */
export type RecoverReference = {
  tracks: readonly Omit<TrackRecord, 'number'>[];
  meta?: Record<string, unknown>;
  safe?: Record<string, unknown>;
  crypto?: CryptoParams | null;
};

/** Where the track table came from. */
export type TracksFrom = 'final-index' | 'checkpoint' | 'reference' | 'made-up' | 'none';

/** What the output is built with. */
export type Salvage = {
  tracksFrom: TracksFrom;
  tracks: readonly Omit<TrackRecord, 'number'>[];
  meta: Record<string, unknown> | undefined;
  safe: Record<string, unknown> | undefined;
  crypto: CryptoParams | null;
};

/**
 * The track table and metadata: from the latest index region that survived,
 * else from `reference`, else made up for the blocks found.
 */
export function chooseTracks(index: FoundIndex | null, reference: RecoverReference | undefined, found: FoundList): Salvage {
  if (index !== null) {
    const { tracks, meta, safe, crypto } = index.index;
    return { tracksFrom: index.final ? 'final-index' : 'checkpoint', tracks, meta, safe, crypto };
  }
  if (reference !== undefined) {
    return { tracksFrom: 'reference', tracks: reference.tracks, meta: reference.meta, safe: reference.safe, crypto: reference.crypto ?? null };
  }
  return { tracksFrom: found.count === 0 ? 'none' : 'made-up', tracks: madeUpTracks(found), meta: undefined, safe: undefined, crypto: null };
}

/** Made-up tracks for blocks whose track table was lost. */
function madeUpTracks(found: FoundList): Omit<TrackRecord, 'number'>[] {
  let max = -1;
  for (let i = 0; i < found.count; i++) max = Math.max(max, found.get(i).trackNumber);
  return Array.from({ length: max + 1 }, (_, n) => ({
    id: `track_${n}`,
    kind: 'data' as const,
    codec: 'opaque',
    config: new Uint8Array(0),
    timescale: 1_000_000,
    compression: 'none' as const,
    name: '',
    language: '',
    extra: { recovered: 'the track table was lost: kind, codec and timescale are unknown' },
  }));
}

/**
 * Cuts `found` before the first block the output cannot hold as it is (an
 * unknown track, or encryption without any CRYP) and returns that damage, or
 * `damage` when there is none; and whether blocks up to there are encrypted.
 */
export function keepWritable(found: FoundList, salvage: Salvage, damage: RecoverDamage | null): { damage: RecoverDamage | null; encrypted: boolean } {
  const { tracks, crypto } = salvage;
  let encrypted = false;
  for (let i = 0; i < found.count; i++) {
    const f = found.get(i);
    const problem =
      f.trackNumber >= tracks.length
        ? `block ${i} names track ${f.trackNumber}, the track table has ${tracks.length}`
        : (f.flags & BlockFlag.ENCRYPTED) !== 0 && crypto === null
          ? `block ${i} is encrypted, but no CRYP record survived (its keys cannot be derived)`
          : null;
    if ((f.flags & BlockFlag.ENCRYPTED) !== 0) encrypted = true;
    if (problem !== null) {
      found.truncate(i);
      return { damage: { offset: f.offset, code: 'E_FORMAT', message: problem }, encrypted };
    }
  }
  return { damage, encrypted };
}
