/**
 * The service package (`@acme/math-service`): implements the contract. A
 * missing or misspelt handler, or a wrong result type, does not compile.
 */
import { implement, type HubChannel, type TypedChannel } from '../../../lib';
import { mathContract } from '../math-contract';

export function mathService(onServed: (event: string) => void) {
  return implement(mathContract, {
    add: ({ a, b }) => {
      onServed('add');
      return a + b;
    },
    async *range({ n }) {
      onServed('range');
      for (let i = 0; i < n; i++) yield i;
    },
    centroid: (points) => {
      onServed('centroid');
      const sum = points.reduce((s, p) => ({ x: s.x + p.x, y: s.y + p.y }), { x: 0, y: 0 });
      return { x: sum.x / points.length, y: sum.y / points.length };
    },
  });
}

/** Binds the service to a channel (events, topics; replayed on every reconnect). */
export function serve(channel: HubChannel, onServed: (event: string) => void): Promise<TypedChannel<typeof mathContract>> {
  return mathService(onServed).register(channel);
}
