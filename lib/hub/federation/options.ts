/** Options of a federated hub: their types, defaults and validation (throws TypeError/RangeError). */
import type { NatsOptions } from './nats-transport';

export type { NatsOptions } from './nats-transport';

export interface ClusterOptions {
  /** Prefix of every NATS subject the hubs use; hubs with the same prefix form one channel space. @default 'pipeio.hub' */
  subjectPrefix?: string;
  /** Milliseconds between heartbeats. @default 1000 */
  heartbeatInterval?: number;
  /** Milliseconds without a heartbeat after which a hub is dropped (its members leave, calls to them fail). @default 3000 */
  peerTimeout?: number;
  /**
   * Milliseconds this hub's own NATS link may stay down before it drops every
   * other hub (until then it assumes they are alive and queues frames for them). @default 10000
   */
  linkDownGrace?: number;
  /** Bytes queued for other hubs while the link is down; beyond, the queue is dropped and calls to remote providers fail. @default 67108864 */
  maxQueueBytes?: number;
}

export type ResolvedClusterOptions = Required<ClusterOptions>;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`options.cluster.${name} must be a positive number`);
  }
  return value;
}

export function resolveClusterOptions(nats: NatsOptions | undefined, cluster: ClusterOptions | undefined): ResolvedClusterOptions | undefined {
  if (nats === undefined) {
    if (cluster !== undefined) throw new TypeError('options.cluster needs options.nats');
    return undefined;
  }
  if (nats === null || typeof nats !== 'object' || Array.isArray(nats)) throw new TypeError('options.nats must be an object of NATS connection options');
  const c = cluster ?? {};
  const prefix = c.subjectPrefix ?? 'pipeio.hub';
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new TypeError('options.cluster.subjectPrefix must be dot-separated tokens of [A-Za-z0-9_-]');
  }
  const heartbeatInterval = positive('heartbeatInterval', c.heartbeatInterval, 1000);
  const peerTimeout = positive('peerTimeout', c.peerTimeout, 3000);
  if (peerTimeout <= heartbeatInterval) throw new RangeError('options.cluster.peerTimeout must exceed heartbeatInterval');
  return {
    subjectPrefix: prefix,
    heartbeatInterval,
    peerTimeout,
    linkDownGrace: positive('linkDownGrace', c.linkDownGrace, 10_000),
    maxQueueBytes: positive('maxQueueBytes', c.maxQueueBytes, 64 * 1024 * 1024),
  };
}
