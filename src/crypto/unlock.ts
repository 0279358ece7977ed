/**
 * Reader-side keys (§13.2, §13.6): a shared secret, a passphrase or a grant
 * becomes a key provider for one container, after checks that tell a wrong
 * key from damaged data.
 */
import { bytesEqual, fromHex, toHex } from '../format/bytes.js';
import type { CryptoParams } from '../format/crypto-params.js';
import { H4mkError } from '../format/errors.js';
import { contextDigest, epochOf, type IndexContext, secretFromPassphrase } from './keys.js';
import { type BlockKeyProvider, type CipherContext, SecretKeys } from './living-cipher.js';

/** A grant: the epoch keys of one track over a time window (§13.6). JSON on disk. */
export type Grant = {
  h4mk_grant: 1;
  container_id: string;
  track: string;
  track_number: number;
  epoch_us: number;
  from_us: number;
  to_us: number;
  keys: { epoch: number; key: string }[];
};

/** What a reader may be given to decrypt. */
export type KeyInput = { secret: Uint8Array } | { passphrase: string } | { grant: Grant };

/**
 * §13.6 A grant key: the canonical padded base64 (RFC 4648 §4, standard
 * alphabet) of 32 bytes: 43 characters, the last of which carries 4 data bits
 * and 2 zero bits, then one "=". Nothing else is accepted (no whitespace, no
 * URL-safe alphabet, no missing padding, no non-zero trailing bits).
 */
export const GRANT_KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** §13.6 A grant's container id: 32 lower-case hexadecimal digits. */
export const GRANT_CONTAINER_ID_PATTERN = /^[0-9a-f]{32}$/;
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes a key matching {@link GRANT_KEY_PATTERN} (platform-free: no Buffer, no atob). */
function grantKeyBytes(text: string): Uint8Array {
  const out = new Uint8Array(32);
  let bits = 0;
  let value = 0;
  let n = 0;
  for (let i = 0; i < 43; i++) {
    value = (value << 6) | BASE64.indexOf(text[i] as string);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

/** Keys from a grant: exactly its track and epochs. */
class GrantKeys implements BlockKeyProvider {
  readonly missingReason = 'outside the grant';
  private readonly keys = new Map<number, Uint8Array>();
  constructor(private readonly grant: Grant) {
    for (const k of grant.keys) this.keys.set(k.epoch, grantKeyBytes(k.key));
  }
  keyFor(trackNumber: number, epoch: number): Uint8Array | null {
    return trackNumber === this.grant.track_number ? (this.keys.get(epoch) ?? null) : null;
  }
}

/**
 * Parses and checks a grant document against the grammar of §13.6: E_KEY
 * when anything is off. Unknown members are ignored.
 */
export function parseGrant(value: unknown): Grant {
  const g = value as Partial<Grant> | null;
  const ok =
    g !== null &&
    typeof g === 'object' &&
    !Array.isArray(g) &&
    g.h4mk_grant === 1 &&
    typeof g.container_id === 'string' &&
    GRANT_CONTAINER_ID_PATTERN.test(g.container_id) &&
    typeof g.track === 'string' &&
    Number.isInteger(g.track_number) &&
    (g.track_number as number) >= 0 &&
    (g.track_number as number) <= 0xffff &&
    Number.isSafeInteger(g.epoch_us) &&
    (g.epoch_us as number) >= 0 &&
    Number.isSafeInteger(g.from_us) &&
    Number.isSafeInteger(g.to_us) &&
    (g.from_us as number) < (g.to_us as number) &&
    Array.isArray(g.keys) &&
    g.keys.length <= 1_000_000 &&
    g.keys.every((k) => typeof k === 'object' && k !== null && Number.isSafeInteger(k.epoch) && typeof k.key === 'string');
  if (!ok) throw new H4mkError('E_KEY', 'not a valid h4mk grant document');
  const epochs = new Set<number>();
  for (const k of g.keys as Grant['keys']) {
    if (!GRANT_KEY_PATTERN.test(k.key)) throw new H4mkError('E_KEY', 'grant holds a malformed key (32 bytes in padded standard base64 expected)');
    if (epochs.has(k.epoch)) throw new H4mkError('E_KEY', `grant lists epoch ${k.epoch} twice`);
    epochs.add(k.epoch);
  }
  return g as Grant;
}

/** §13.2 Builds the decryption context of a container for `key`; E_KEY when it is not this container's. */
export function unlock(params: CryptoParams, key: KeyInput, index: IndexContext): CipherContext {
  const base = { containerId: params.containerId, epochUs: params.epochUs, engineDigest: contextDigest(params.engineId, params.engineFp, index) };
  if ('grant' in key) {
    const grant = parseGrant(key.grant);
    if (!bytesEqual(fromHex(grant.container_id), params.containerId)) throw new H4mkError('E_KEY', 'the grant is for another container');
    if (grant.epoch_us !== params.epochUs) throw new H4mkError('E_KEY', 'the grant was made for other key epochs');
    return { ...base, keys: new GrantKeys(grant) };
  }
  let secret: Uint8Array;
  if ('passphrase' in key) {
    if (params.kdf.kind !== 'scrypt') throw new H4mkError('E_KEY', 'this container is encrypted with a key file, not a passphrase');
    secret = secretFromPassphrase(key.passphrase, params.kdf);
  } else {
    if (params.kdf.kind !== 'raw') throw new H4mkError('E_KEY', 'this container is encrypted with a passphrase, not a key file');
    secret = key.secret;
    if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new H4mkError('E_KEY', 'a key must be 32 bytes');
  }
  const keys = new SecretKeys(secret, params.containerId);
  if (!bytesEqual(keys.keyCheck(), params.keyCheck)) throw new H4mkError('E_KEY', 'wrong key for this container');
  return { ...base, keys };
}

/**
 * §13.6 A grant for `track` over [fromUs, toUs): the epoch keys covering the
 * window, nothing else. Needs the container secret (a full key).
 */
export function makeGrant(params: CryptoParams, context: CipherContext, track: { id: string; number: number }, fromUs: number, toUs: number): Grant {
  if (!(context.keys instanceof SecretKeys)) throw new TypeError('making a grant needs the container key, not a grant');
  if (!Number.isSafeInteger(fromUs) || !Number.isSafeInteger(toUs) || toUs <= fromUs) throw new RangeError('the window must be integers with from < to');
  const first = epochOf(fromUs, params.epochUs);
  const last = epochOf(toUs - 1, params.epochUs);
  if (last - first > 1_000_000) throw new RangeError('the window spans more than a million epochs');
  const keys: Grant['keys'] = [];
  for (let e = first; e <= last; e++) keys.push({ epoch: e, key: Buffer.from(context.keys.keyFor(track.number, e)).toString('base64') });
  return {
    h4mk_grant: 1,
    container_id: toHex(params.containerId),
    track: track.id,
    track_number: track.number,
    epoch_us: params.epochUs,
    from_us: fromUs,
    to_us: toUs,
    keys,
  };
}
