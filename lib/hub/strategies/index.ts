import { LeastActiveStrategy } from './least-active';
import { RoundRobinStrategy } from './round-robin';
import type { Strategy } from './strategy';

export type { Candidate, EventCursor, Strategy } from './strategy';

/** The names accepted by `lbPolicy`. */
export type LbPolicy = 'least-active' | 'round-robin';
export const LB_POLICIES: readonly LbPolicy[] = ['least-active', 'round-robin'];

/** Resolves a strategy by name. */
export function createStrategy(name: LbPolicy): Strategy {
  switch (name) {
    case 'least-active':
      return new LeastActiveStrategy();
    case 'round-robin':
      return new RoundRobinStrategy();
  }
}
