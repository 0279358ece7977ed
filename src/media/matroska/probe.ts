/**
 * The Matroska file mediabunny probes for a stream's codec facts: the
 * stream's first bytes as recorded, with the Segment made of unknown size and
 * every Cluster re-sized to the bytes recorded of it. mediabunny reads a
 * cluster only when it has all of its declared bytes, and does not find the
 * blocks of a cluster of unknown size; a stream's first bytes end inside a
 * cluster and ffmpeg's live clusters may be of unknown size.
 */
import { concat, type ElementHeader, Id, idBytes, sizeBytes } from './ebml.js';
import type { ClusterObserver } from './stream.js';

type Span = { offset: number; dataOffset: number; end: number | null };

/** Collects the clusters of the recorded bytes. */
export class ClusterSpans implements ClusterObserver {
  readonly spans: Span[] = [];

  start(h: ElementHeader): void {
    this.spans.push({ offset: h.offset, dataOffset: h.dataOffset, end: null });
  }

  end(at: number): void {
    const last = this.spans[this.spans.length - 1];
    if (last !== undefined) last.end = at;
  }
}

/** 8-byte unknown size: all value bits set. */
const UNKNOWN_SIZE = Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** `recorded` (the stream from offset 0) with the Segment and Clusters re-sized (see above). */
export function probeFile(recorded: Uint8Array, segment: ElementHeader, spans: readonly Span[]): Uint8Array {
  const length = recorded.length;
  const parts: Uint8Array[] = [recorded.subarray(0, segment.offset), idBytes(Id.Segment), UNKNOWN_SIZE];
  let at = segment.dataOffset;
  for (const s of spans) {
    if (s.offset >= length) break;
    parts.push(recorded.subarray(at, s.offset));
    const end = Math.min(s.end ?? length, length);
    parts.push(idBytes(Id.Cluster), sizeBytes(end - s.dataOffset, 8), recorded.subarray(s.dataOffset, end));
    at = end;
  }
  parts.push(recorded.subarray(Math.min(at, length)));
  return concat(parts);
}
