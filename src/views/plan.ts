/** The byte ranges a range query reads (the server's plan document). */
import { z } from 'zod';
import type { PlannedRange } from '../node.js';

export const planDoc = z.object({
  requests: z.int(),
  bytes: z.int(),
  ranges: z.array(z.object({ offset: z.int(), length: z.int(), segments: z.array(z.int()) })),
});
export type PlanDoc = z.infer<typeof planDoc>;

export function planView(ranges: PlannedRange[]): PlanDoc {
  return {
    ranges: ranges.map((r) => ({ offset: r.offset, length: r.length, segments: r.segments })),
    bytes: ranges.reduce((n, r) => n + r.length, 0),
    requests: ranges.length,
  };
}
