/**
 * Small byte ranges carved from shared 64 KiB ArrayBuffers, as Node's Buffer
 * pool does for its 4 KiB buffers, for what a reader allocates per segment
 * (a segment table's columns, a local read of a small segment).
 *
 * Why: a fresh ArrayBuffer of 6 KiB costs about 4.5 µs here (backing store,
 * external-memory accounting, sweeping at each GC), more than decoding a
 * 174-entry segment table; a carve costs a bump. The price: a live view keeps
 * its whole slab alive, at most SLAB_BYTES / 8 bytes for the smallest carve
 * and 4× its size for the largest (MAX_CARVE). Carved bytes are zero: a slab
 * is fresh memory, and no range is handed out twice.
 *
 * A carved buffer is shared: never transfer or detach `.buffer` of what
 * {@link carve} returns (nothing in this library does; the hash worker moves
 * only the writer's own record buffers).
 */
const SLAB_BYTES = 64 * 1024;
/** Larger requests get an ArrayBuffer of their own. */
export const MAX_CARVE = 16 * 1024;

let slab = new ArrayBuffer(0);
let used = 0;

/** `bytes` zeroed bytes, 8-byte aligned: from the current slab when small, else a fresh buffer. */
export function carve(bytes: number): { buffer: ArrayBuffer; offset: number } {
  if (bytes > MAX_CARVE) return { buffer: new ArrayBuffer(bytes), offset: 0 };
  const size = (bytes + 7) & ~7;
  if (used + size > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const offset = used;
  used += size;
  return { buffer: slab, offset };
}
