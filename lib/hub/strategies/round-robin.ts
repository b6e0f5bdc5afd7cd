import type { Candidate, EventCursor, Strategy } from './strategy';

/** p1, p2, p1, p2 for sequential calls: a per-event index, as comm-ipc. */
export class RoundRobinStrategy implements Strategy {
  readonly name = 'round-robin';

  select(candidates: readonly Candidate[], cursor: EventCursor): Candidate {
    const pick = candidates[cursor.index % candidates.length]!;
    cursor.index = (cursor.index + 1) % candidates.length;
    return pick;
  }
}
