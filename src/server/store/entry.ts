/**
 * One open container version as the store hands it out (its reader, strong
 * ETag and the documents derived from it), how a container is opened, and
 * its strong ETag.
 */
import { createHash } from 'node:crypto';
import { H4mkError, H4mkReader, type RandomAccessSource, readExactly, type VerifyReport } from '../../node.js';
import { encodeHeader } from '../../format/header.js';
import type { DeliveryPlan } from '../../delivery/index.js';
import type { ManifestDoc } from '../../views/index.js';

/** One open container version. */
export class Entry {
  /** Users holding it (requests, streams). */
  refs = 0;
  /** Replaced or evicted: closed when the last user releases it. */
  retired = false;
  /** Cached derived documents of this exact version. */
  manifest: Promise<ManifestDoc> | null = null;
  verify: Promise<VerifyReport> | null = null;
  /** The delivery plan (HLS/DASH) of this version, and its init segments by track number. */
  plan: DeliveryPlan | null = null;
  readonly inits = new Map<string, Promise<Uint8Array>>();

  constructor(
    readonly name: string,
    readonly reader: H4mkReader,
    /** Strong ETag of this version (see {@link containerEtag}). */
    readonly etag: string,
    /** HTTP date of the file's mtime (local mode), else null. */
    readonly lastModified: string | null,
  ) {}

  get size(): number {
    return this.reader.fileSize;
  }

  get source(): RandomAccessSource {
    return this.reader.source;
  }
}

/** An entry held by one user; call `release` exactly once. */
export type Lease = { entry: Entry; release(): void };

/**
 * Opens a container; one that a live writer is still appending to (its end is
 * not a FOOT) opens at its latest durable checkpoint (docs/FORMAT.md §14), so
 * that it can be followed and streamed while it grows.
 */
export async function openPossiblyLive(source: RandomAccessSource): Promise<H4mkReader> {
  try {
    return await H4mkReader.open(source);
  } catch (error) {
    if (!(error instanceof H4mkError) || (error.code !== 'E_FORMAT' && error.code !== 'E_CHECKSUM' && error.code !== 'E_TRUNCATED')) throw error;
    try {
      return await H4mkReader.open(source, { live: true });
    } catch {
      throw error;
    }
  }
}

/**
 * The strong ETag of a container version: the chain head (which names the
 * exact sequence of blocks, §7) plus a digest of everything else that can
 * change while the blocks stay the same — the file size, the header, the
 * whole index region (TRAK … VERI, and SEAL, which a re-seal replaces with
 * one of the same length) and the footer. The data region's tables (BIDX)
 * are covered through SEGX digests in the index region.
 */
export async function containerEtag(reader: H4mkReader): Promise<string> {
  const size = reader.fileSize;
  const hash = createHash('sha256').update('h4mk-etag-v1').update(String(size)).update('\n');
  // The header as the reader decoded it (equal to its bytes, which are checked): over HTTP a one-request
  // open has not read them, and fetching 32 bytes would cost the origin a second request.
  hash.update(encodeHeader(reader.header));
  hash.update(await readExactly(reader.source, reader.indexOffset, reader.indexLength));
  hash.update(await readExactly(reader.source, size - 36, 36));
  return `"${reader.chainHead.slice(0, 16)}-${hash.digest('hex').slice(0, 24)}"`;
}
