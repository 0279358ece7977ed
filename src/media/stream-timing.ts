/**
 * Decode times and presentation gaps of one track, computed as packets
 * stream in: the online form of `decodeOrderTimes` (./timing.ts) for a
 * known reorder delay d.
 *
 * `decodeOrderTimes` sets `dts[i] = sorted[i − d]` (i ≥ d) and
 * `sorted[i] − (sorted[d] − sorted[0])` (i < d), where `sorted` is every
 * presentation time in ascending order. When no packet is decoded more than
 * d positions ahead of its presentation rank, the i-th smallest presentation
 * time is known once packet i + d has arrived (every packet of rank ≤ i is
 * among the first i + d + 1), so a min-heap popped once per arrival past the
 * first d yields `sorted` in order: rank r gives packet r + d its dts as it
 * arrives, and the first d packets wait for rank d. A packet's gap
 * (distance to the next larger presentation time, its duration when nothing
 * else states one) is known when the next rank is popped. Packets leave in
 * decode order; with the same d the results equal `decodeOrderTimes`.
 *
 * A stream that reorders deeper than d later on gets clamped decode times
 * (never decreasing); {@link StreamRetimer.deeper} counts such packets.
 */

/** A packet with its times: `dts` in track ticks, `gap` (−1 when it was not asked for). */
export type Timed<T> = { item: T; pts: number; dts: number; gap: number };

/** `sorted`: the decode time basis of the packet (sorted[index − d], or sorted[index] for the first d). */
type Entry<T> = { item: T; pts: number; index: number; needGap: boolean; sorted: number | null; gap: number };

export class StreamRetimer<T> {
  private readonly queue: Entry<T>[] = [];
  /** Min-heap by (pts, index) of the packets whose rank is not known yet. */
  private readonly heap: Entry<T>[] = [];
  private arrived = 0;
  private popped = 0;
  private previous: Entry<T> | null = null;
  private first = 0;
  /** sorted[0..d]: the ranks the shift and a short track's delay come from. */
  private readonly early: number[] = [];
  /** sorted[r] − sorted[r − 1] of the last rank popped. */
  private lastGap = 0;
  /** sorted[d] − sorted[0], once known. */
  private shift: number | null = null;
  private lastDts = Number.NEGATIVE_INFINITY;
  /** Packets whose decode time had to be clamped: the stream reorders deeper than the delay given. */
  deeper = 0;

  constructor(
    /** Video: decode order differs from presentation order by up to `delay` positions. */
    private readonly reorder: boolean,
    private readonly delay: number,
  ) {}

  /** One packet in decode order; returns the packets whose times are now final, in decode order. */
  push(item: T, pts: number, needGap: boolean): Timed<T>[] {
    const e: Entry<T> = { item, pts, index: this.arrived++, needGap, sorted: null, gap: -1 };
    this.queue.push(e);
    heapPush(this.heap, e);
    const window = this.reorder ? this.delay : 0;
    while (this.arrived - this.popped > window) this.pop();
    return this.ready(false);
  }

  /** The end of the track: every packet left. */
  end(): Timed<T>[] {
    while (this.heap.length > 0) this.pop();
    if (this.previous !== null) {
      // The last rank repeats the previous gap.
      this.previous.gap = this.popped >= 2 ? this.lastGap : 0;
      this.previous = null;
    }
    if (this.shift === null && this.popped > 0) {
      // Fewer packets than the delay: decodeOrderTimes caps the delay at n − 1.
      const d = Math.min(this.delay, this.popped - 1);
      this.shift = (this.early[d] as number) - this.first;
      this.shortDelay = d;
      for (const e of this.queue) e.sorted = (e.index >= d ? this.early[e.index - d] : this.early[e.index]) ?? null;
    }
    return this.ready(true);
  }

  /** The delay the decode times follow when it is not the given one (n − 1 for a track of n ≤ d packets). */
  private shortDelay: number | null = null;

  private pop(): void {
    const e = heapPop(this.heap) as Entry<T>;
    const r = this.popped++;
    const v = e.pts;
    // Rank r's value is the decode time of the packet at decode index r + d, and the basis of packet r < d.
    const d = this.reorder ? this.delay : 0;
    const head = this.queue[0]?.index ?? 0;
    const target = this.queue[r + d - head];
    if (target !== undefined) target.sorted = v;
    if (r < d) {
      const first = this.queue[r - head];
      if (first !== undefined) first.sorted = v;
    }
    if (r === 0) this.first = v;
    if (r <= this.delay) this.early.push(v);
    if (this.shift === null && r === this.delay) this.shift = v - this.first;
    if (this.previous !== null) {
      this.lastGap = v - this.previous.pts;
      this.previous.gap = this.lastGap;
    }
    this.previous = e;
  }

  private ready(final: boolean): Timed<T>[] {
    const out: Timed<T>[] = [];
    while (this.queue.length > 0) {
      const e = this.queue[0] as Entry<T>;
      const d = this.shortDelay ?? this.delay;
      const timed = !this.reorder || this.delay === 0 ? e.sorted !== null || final : e.sorted !== null && (e.index >= d || this.shift !== null);
      if (!timed || (e.needGap && e.gap < 0 && !final)) break;
      this.queue.shift();
      let dts =
        !this.reorder || this.delay === 0 || this.shift === 0 ? e.pts : e.index >= d ? (e.sorted as number) : (e.sorted as number) - (this.shift as number);
      if (dts < this.lastDts) {
        dts = this.lastDts;
        this.deeper++;
      }
      this.lastDts = dts;
      out.push({ item: e.item, pts: e.pts, dts, gap: Math.max(e.gap, 0) });
    }
    return out;
  }
}

function less<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.pts < b.pts || (a.pts === b.pts && a.index < b.index);
}

function heapPush<T>(heap: Entry<T>[], e: Entry<T>): void {
  heap.push(e);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(heap[i] as Entry<T>, heap[parent] as Entry<T>)) break;
    [heap[i], heap[parent]] = [heap[parent] as Entry<T>, heap[i] as Entry<T>];
    i = parent;
  }
}

function heapPop<T>(heap: Entry<T>[]): Entry<T> | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last !== undefined) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l] as Entry<T>, heap[m] as Entry<T>)) m = l;
      if (r < heap.length && less(heap[r] as Entry<T>, heap[m] as Entry<T>)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m] as Entry<T>, heap[i] as Entry<T>];
      i = m;
    }
  }
  return top;
}
