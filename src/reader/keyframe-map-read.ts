/**
 * §6.6 Reading the KEYS chunk of a v2 container: one read where KEYP says
 * (§5.10), then its type, length, CRC and SHA-256 checked in that order,
 * then the map decoded and checked against SEEK and SEGX.
 */
import { sha256 } from '../crypto/sha256.js';
import { bytesEqual } from '../format/bytes.js';
import { decodeChunk, peekChunkHeader } from '../format/chunk.js';
import { CHUNK_OVERHEAD } from '../format/constants.js';
import { H4mkError } from '../format/errors.js';
import type { ContainerIndex } from '../format/index-region.js';
import { KeyframeMap } from '../format/keyframe-map.js';
import { readExactly, type RandomAccessSource } from '../io/source.js';

/**
 * The container's keyframe map, or null when its index names none. With
 * `everyCrc` (verification, §8.4) the CRC is checked even when the digest
 * matches: a damaged CRC field is damage too.
 */
export async function readKeyframeMap(source: RandomAccessSource, index: ContainerIndex, dataOffset: number, everyCrc = false): Promise<KeyframeMap | null> {
  const ref = index.keys;
  if (ref === null) return null;
  const at = dataOffset + ref.offset;
  const bytes = await readExactly(source, at, CHUNK_OVERHEAD + ref.length);
  // The SHA-256 KEYP gives is checked first: when it matches, the CRC adds nothing (as for SEGT, §6.5).
  let verified = false;
  const stronger = (payload: Uint8Array): boolean => (verified = bytesEqual(sha256(payload), ref.digest));
  let chunk: ReturnType<typeof decodeChunk>;
  try {
    // §6.6 order: the type, then the declared length against keys_length (longer runs past the bytes KEYP gives, shorter leaves some), then CRC and digest.
    const { type, length } = peekChunkHeader(bytes, 0, at);
    if (type !== 'KEYS') throw new H4mkError('E_FORMAT', `expected the KEYS chunk where KEYP says, found ${JSON.stringify(type)}`, { offset: at });
    if (length !== ref.length)
      throw new H4mkError(length > ref.length ? 'E_TRUNCATED' : 'E_FORMAT', `KEYS declares ${length} bytes, KEYP says ${ref.length}`, { offset: at + 4 });
    chunk = decodeChunk(bytes, 0, { base: at, ...(everyCrc ? {} : { stronger }) });
  } catch (error) {
    throw error instanceof H4mkError ? error.relocate(0, { chunk: 'KEYS' }) : error;
  }
  if (everyCrc) stronger(chunk.payload);
  if (!verified) throw new H4mkError('E_DIGEST', 'KEYS does not match the digest KEYP gives', { offset: at + 8, chunk: 'KEYS' });
  return KeyframeMap.decode(chunk.payload, at + 8, index.seek, index.segments);
}
