/**
 * The contract package: what `@acme/math-contract` would publish. Both the
 * service and its callers depend on it; neither depends on the other.
 */
import { z } from 'zod';
import { defineContract } from '../../../lib';

export const Point = z.object({ x: z.number(), y: z.number() });

export const mathContract = defineContract({
  events: {
    add: { parameters: z.object({ a: z.number(), b: z.number() }), returns: z.number() },
    range: { parameters: z.object({ n: z.number().int().min(0).max(1000) }), returns: z.number().int(), stream: true },
    centroid: { parameters: z.array(Point).min(1), returns: Point },
  },
  topics: {
    results: { payload: z.object({ event: z.string(), ms: z.number() }) },
  },
});
