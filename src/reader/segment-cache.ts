/** A small LRU of decoded segment tables, bounded by entry count. */
import type { SegmentTable } from '../format/segment-table.js';

export class SegmentCache {
  private readonly map = new Map<number, SegmentTable>();
  constructor(private readonly capacity: number) {}

  get(segment: number): SegmentTable | undefined {
    const t = this.map.get(segment);
    if (t !== undefined) {
      this.map.delete(segment);
      this.map.set(segment, t);
    }
    return t;
  }

  set(segment: number, table: SegmentTable): void {
    this.map.delete(segment);
    this.map.set(segment, table);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as number;
      this.map.delete(oldest);
    }
  }
}
