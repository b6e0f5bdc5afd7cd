/**
 * Load-balancing strategies for provider groups: small classes with one
 * `select()`, resolved by name ({@link createStrategy}). The provider table
 * hands them only the live providers of one event, in registration order,
 * and treats an empty list as "no provider" before calling them.
 */

/** What a strategy may know about a candidate. */
export interface Candidate {
  readonly id: string;
  /** Calls routed to it and not yet answered (the hub's request table). */
  readonly active: number;
}

/** Per-event state a strategy may keep (bounded: one small object per event). */
export interface EventCursor {
  index: number;
}

export interface Strategy {
  readonly name: string;
  /** Picks one of `candidates` (never empty) for a call or a send. */
  select(candidates: readonly Candidate[], cursor: EventCursor): Candidate;
}
