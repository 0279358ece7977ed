/**
 * A byte-budgeted cache of byte arrays: least recently used out, with a
 * frequency admission rule (after TinyLFU): when the budget is full, a new
 * entry gets in only if it was asked for more often, recently, than the
 * entry it would push out. A plain LRU smaller than a working set read in a
 * cycle (a player, a CDN filling its edge, a benchmark rotating URLs) misses
 * every time; with admission it keeps a stable part of the set. One entry
 * may use at most 1/8 of the budget.
 */
export class ByteLru {
  private readonly entries = new Map<string, Uint8Array>();
  /** Recent request counts, keys of entries and of refused candidates alike; halved when it grows. */
  private readonly seen = new Map<string, number>();
  private bytes = 0;

  constructor(readonly budget: number) {}

  get(key: string): Uint8Array | undefined {
    this.count(key);
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: Uint8Array): void {
    if (value.length > this.budget / 8 || this.entries.has(key) || this.budget === 0) return;
    const wanted = this.seen.get(key) ?? 0;
    // Who would have to leave: if any of them is wanted at least as much, the newcomer stays out.
    let freed = this.budget - this.bytes;
    const victims: string[] = [];
    for (const [k, v] of this.entries) {
      if (freed >= value.length) break;
      if ((this.seen.get(k) ?? 0) >= wanted) return;
      victims.push(k);
      freed += v.length;
    }
    for (const k of victims) {
      this.bytes -= (this.entries.get(k) as Uint8Array).length;
      this.entries.delete(k);
    }
    this.entries.set(key, value);
    this.bytes += value.length;
  }

  /** Bytes held. */
  get size(): number {
    return this.bytes;
  }

  private count(key: string): void {
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
    if (this.seen.size > 8192) {
      for (const [k, n] of this.seen) {
        if (n <= 1) this.seen.delete(k);
        else this.seen.set(k, n >> 1);
      }
    }
  }
}
