import type { Candidate, EventCursor, Strategy } from './strategy';

/**
 * The provider with the fewest calls in flight; ties go to the earliest
 * registrant (comm-ipc's rule, so 4 concurrent calls over 2 providers split
 * p1, p2, p1, p2). Unlike comm-ipc, "in flight" is counted per call from the
 * request table, not decremented on every stream chunk.
 */
export class LeastActiveStrategy implements Strategy {
  readonly name = 'least-active';

  select(candidates: readonly Candidate[], _cursor: EventCursor): Candidate {
    let best = candidates[0]!;
    for (let i = 1; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (c.active < best.active) best = c;
    }
    return best;
  }
}
