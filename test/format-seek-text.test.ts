/**
 * docs/FORMAT.md §8.2 says what a seek does before a track's first keyframe
 * as the reader does it: the first keyframe (as a seek to its own time; on
 * equal pts the last in file order), and no result only for a track without
 * keyframes. It used to say "None: there is no keyframe at or before T".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { H4mkWriter, MemorySink } from '../src/node.js';
import { openBytes } from './helpers.js';

function section82(): string {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'FORMAT.md'), 'utf8');
  const start = doc.indexOf('### 8.2 Seeking to time T on a track');
  return doc.slice(start, doc.indexOf('### 8.3', start)).replace(/\s+/g, ' ');
}

describe('§8.2 before the first keyframe', () => {
  it('the text states the fallback the reader implements', async () => {
    const text = section82();
    expect(text).not.toContain('None: there is no keyframe at or before T');
    expect(text).toContain("None: T is before the track's first keyframe, and the seek gives that first keyframe instead");
    expect(text).toContain('on equal pts the last such keyframe in file order');
    expect(text).toContain('Only a track with no entry with key_count > 0 (no keyframe at all, e.g. an empty track) has no result');

    // What the text describes: video from 1 s (two keyframes at 1 s, in two segments), and an empty track.
    const sink = new MemorySink();
    const writer = await H4mkWriter.create(sink, { segment: { maxBlocks: 1 } });
    writer.addTrack({ id: 'v', kind: 'video' });
    writer.addTrack({ id: 'empty', kind: 'data' });
    await writer.writeBlock({ track: 'v', ptsUs: 1_000_000, keyframe: true, payload: Uint8Array.of(1) });
    await writer.writeBlock({ track: 'v', ptsUs: 1_000_000, keyframe: true, payload: Uint8Array.of(2) });
    await writer.writeBlock({ track: 'v', ptsUs: 2_000_000, keyframe: true, payload: Uint8Array.of(3) });
    await writer.finish();
    const reader = await openBytes(sink.bytes());
    for (const target of [-5_000_000, 0, 600_000, 999_999]) {
      const hit = await reader.seek('v', target);
      expect(hit, String(target)).toMatchObject({ coreIndex: 1, ptsUs: 1_000_000 });
      expect(hit).toEqual(await reader.seek('v', 1_000_000));
    }
    expect(await reader.seek('empty', 0)).toBeNull();
  });
});
