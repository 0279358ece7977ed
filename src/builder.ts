/**
 * An in-memory convenience shaped like the seed's
 * `build_h4mk_tracks(blocks, meta, safe)`: for small containers and tests.
 */
import { MemorySink } from './io/sink.js';
import type { BlockInput, TrackOptions, WriterOptions } from './writer/options.js';
import { H4mkWriter } from './writer/writer.js';

/**
 * Builds a whole container in memory. Tracks are declared up front; blocks
 * are written in the order given.
 */
export async function buildH4mkTracks(
  tracks: readonly TrackOptions[],
  blocks: Iterable<BlockInput>,
  meta: Record<string, unknown> = {},
  safe?: Record<string, unknown>,
  options: Omit<WriterOptions, 'meta' | 'safe'> = {},
): Promise<Uint8Array> {
  const sink = new MemorySink();
  const writer = await H4mkWriter.create(sink, { ...options, meta, ...(safe === undefined ? {} : { safe }) });
  try {
    for (const t of tracks) writer.addTrack(t);
    for (const b of blocks) await writer.writeBlock(b);
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return sink.bytes();
}
