/**
 * Liveness and readiness of a hub, in the terms a load balancer or
 * Kubernetes probes use (docs/observability.md):
 * - live (`/healthz`): the hub is running and every listener accepts. A
 *   failure means restart the process.
 * - ready (`/readyz`): live, below maxConnections (new clients would be
 *   accepted), and, when federated, the NATS link is up. A failure means
 *   send new clients elsewhere for now; the hub keeps serving those it has.
 */
import type { HealthCheck, HealthReport } from './types';

export interface HealthInputs {
  state: string;
  /** Per listener: where, and whether it is listening. */
  listeners: Array<{ name: string; listening: boolean }>;
  connections: number;
  maxConnections: number;
  /** Undefined when the hub is not federated. */
  federation: { state: string } | undefined;
}

export function evaluateHealth(h: HealthInputs): HealthReport {
  const live: HealthCheck[] = [{ name: 'running', ok: h.state === 'running', detail: `state ${h.state}` }];
  if (h.listeners.length === 0) live.push({ name: 'listeners', ok: false, detail: 'no listener' });
  for (const l of h.listeners) live.push({ name: `listener ${l.name}`, ok: l.listening, detail: l.listening ? 'listening' : 'not listening' });
  const ready: HealthCheck[] = [
    {
      name: 'connections',
      ok: h.connections < h.maxConnections,
      detail: `${h.connections} of ${h.maxConnections}`,
    },
  ];
  if (h.federation) ready.push({ name: 'federation', ok: h.federation.state === 'up', detail: `link ${h.federation.state}` });
  const isLive = live.every((c) => c.ok);
  return { live: isLive, ready: isLive && ready.every((c) => c.ok), checks: [...live, ...ready] };
}
