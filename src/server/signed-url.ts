/**
 * Signed URLs: read access to one container until a time, without a token.
 *
 *   /v1/containers/NAME?expires=UNIX_SECONDS&sig=BASE64URL(HMAC-SHA256(secret, "h4mk-share-v1\n" NAME "\n" UNIX_SECONDS))
 *
 * The signature covers the container name and the expiry only, so one URL
 * opens every read view of that container (raw bytes, manifest, blocks, …)
 * and nothing else; it never authorises a write. Names cannot contain a
 * newline (names.ts), so the signed message is unambiguous. The server
 * checks the MAC in constant time; the query string is never logged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Domain separation: a MAC made for another purpose with the same secret never verifies here. */
const LABEL = 'h4mk-share-v1';
/** Longest validity `h4mk share` accepts: a signed URL cannot be revoked except by rotating the secret. */
export const MAX_SHARE_SECONDS = 366 * 24 * 3600;
const MAC_LENGTH = 32;
/**
 * The one spelling of a 32-byte MAC in base64url without padding: 43
 * characters, the last of which carries 4 bits of the MAC and 2 unused bits
 * that must be zero (A, E, I, …, 8). Decoders ignore those bits, so without
 * this check four different strings would be accepted for each signature.
 */
const CANONICAL_SIG = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** The signature of (`name`, `expires`) under `secret`, base64url without padding. */
export function signName(secret: string | Uint8Array, name: string, expires: number): string {
  return createHmac('sha256', secret).update(`${LABEL}\n${name}\n${expires}`).digest('base64url');
}

/** `base` + `/v1/containers/NAME?expires=…&sig=…`. */
export function signedUrl(base: string, name: string, secret: string | Uint8Array, expires: number): string {
  const url = new URL(`v1/containers/${encodeURIComponent(name)}`, base.endsWith('/') ? base : `${base}/`);
  url.searchParams.set('expires', String(expires));
  url.searchParams.set('sig', signName(secret, name, expires));
  return url.toString();
}

/** Outcome of checking a request's signature. */
export type SignatureCheck = 'ok' | 'absent' | 'expired' | 'invalid';

/**
 * Checks `expires`/`sig` query values for `name` at `nowSeconds`. The MAC is
 * compared in constant time, and computed even for a malformed `sig`, so
 * timing tells nothing about how close a guess was. Only the canonical
 * spelling of a signature is accepted (see {@link CANONICAL_SIG}); `expires`
 * is 1 to 12 decimal digits.
 */
export function checkSignature(secret: string | Uint8Array, name: string, expires: unknown, sig: unknown, nowSeconds: number): SignatureCheck {
  if (expires === undefined && sig === undefined) return 'absent';
  const expiresText = typeof expires === 'string' && /^\d{1,12}$/.test(expires) ? expires : null;
  const expected = createHmac('sha256', secret)
    .update(`${LABEL}\n${name}\n${expiresText ?? ''}`)
    .digest();
  const given = typeof sig === 'string' && CANONICAL_SIG.test(sig) ? Buffer.from(sig, 'base64url') : null;
  const same = timingSafeEqual(expected, given !== null && given.length === MAC_LENGTH ? given : Buffer.alloc(MAC_LENGTH));
  if (!same || expiresText === null || given === null) return 'invalid';
  // Checked after the MAC, so an attacker cannot probe expiry handling with forged URLs.
  return Number(expiresText) < nowSeconds ? 'expired' : 'ok';
}

/** Parses `90`, `90s`, `15m`, `1h`, `7d`, `2w` into seconds (1 s to {@link MAX_SHARE_SECONDS}). */
export function parseDuration(text: string): number {
  const m = /^(\d{1,9})\s*(s|m|h|d|w)?$/i.exec(text.trim());
  if (m === null) throw new RangeError(`expected a duration such as 90s, 15m, 1h, 7d; got ${JSON.stringify(text)}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(m[2] ?? 's').toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
  const seconds = Number(m[1]) * unit;
  if (seconds < 1 || seconds > MAX_SHARE_SECONDS) throw new RangeError(`a share lasts from 1 s to ${MAX_SHARE_SECONDS / 86_400} days`);
  return seconds;
}
