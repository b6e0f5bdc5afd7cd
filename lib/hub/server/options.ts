/** Hub options: their types, defaults and validation (throws TypeError/RangeError). */
import { randomBytes } from 'node:crypto';
import { LB_POLICIES, type LbPolicy } from '../strategies';
import type { ChannelPolicy, ErrorPolicy } from './core';
import { resolveMetricsOptions, type HubMetricsOptions, type ResolvedHubMetricsOptions } from '../../metrics/hub-metrics';
import { resolveClusterOptions, type ClusterOptions, type NatsOptions, type ResolvedClusterOptions } from '../federation/options';

export interface HubOptions {
  /** This hub's id, stamped into routed frames' `path`. @default 'srv-' + 8 hex chars */
  serverId?: string;
  /** Connection secret: clients must answer an HMAC challenge (comm-ipc 2.4). Only its SHA-256 is kept. */
  secret?: string;
  /** Channel passwords set at start (comm-ipc's `system_passwords`); copied, never mutated. */
  channelPasswords?: Record<string, string>;
  /** What happens to a channel whose owner leaves. @default 'terminate' */
  channelPolicy?: ChannelPolicy;
  /** How a group's provider is picked. @default 'least-active' */
  lbPolicy?: LbPolicy;
  /** What happens besides the error reply when a client errs (comm-ipc 4.5). @default 'ignore' */
  errorPolicy?: ErrorPolicy;
  /** Milliseconds a connection may stay silent between frames. @default 60000 */
  idleTimeout?: number;
  /**
   * Milliseconds a frame may take from its first byte to its last: a deadline
   * for the whole frame (a byte now and then does not extend it). @default 60000
   */
  dataTimeout?: number;
  /** Milliseconds a new connection has to identify (and prove the secret). @default 10000 */
  handshakeTimeout?: number;
  /** Largest frame payload in bytes; a larger header closes the connection. @default 16777216 (16 MiB) */
  maxFrameSize?: number;
  /**
   * Bytes all connections' partial frames (frames whose bytes are still
   * arriving) may hold together. A partial frame that needs more is refused:
   * its connection gets `PIPEIO_ERR_LIMIT` and is closed; the others are not
   * touched. A partial frame holds at most twice its received bytes.
   * @default 268435456 (256 MiB)
   */
  maxPartialFrameBytes?: number;
  /**
   * Least average bytes per read of a frame that has taken more than 4096
   * reads; below it the frame is refused (`PIPEIO_ERR_LIMIT`) and its
   * connection closed. Every read costs the hub about a microsecond of CPU
   * whatever its size, so a client sending a frame one byte per write would
   * cost it about 1 s per MiB; with this floor such a frame costs at most
   * 4096 reads (a few ms). Our clients and comm-ipc's write whole frames. 0 turns it off.
   * @default 64
   */
  minFrameReadBytes?: number;
  /**
   * Whether clients may identify with `mode: "bridge"` (comm-ipc's bridge,
   * `HubBridge`): a bridge may announce members of other hubs and relay
   * frames with their path (docs/hub.md, "What a client may claim"). Others
   * are refused at identify with `PIPEIO_ERR_FORBIDDEN`.
   * @default true with a `secret` (a bridge proved it like any client), false without
   */
  allowBridges?: boolean;
  /** Unread outgoing bytes per connection beyond which it is closed as a slow consumer. @default 67108864 (64 MiB) */
  maxQueueBytes?: number;
  /** Calls one client may have waiting for an answer. @default 65536 */
  maxPendingCalls?: number;
  /** Most connections at once; more are refused. @default 10000 */
  maxConnections?: number;
  /**
   * Joins the hubs reachable through this NATS cluster into one channel space
   * (docs/cluster.md): `servers` plus any NATS connection option. Needs the
   * package `@nats-io/transport-node`, loaded only then. Without it the hub is local.
   */
  nats?: NatsOptions;
  /** Federation tuning (subject prefix, heartbeats, timeouts); only with `nats`. */
  cluster?: ClusterOptions;
  /**
   * Metrics kept by the hub (docs/observability.md): on by default, `false`
   * turns them off; an object tunes them (series cap, a prom-client registry).
   * @default true
   */
  metrics?: boolean | HubMetricsOptions;
}

export type ResolvedHubOptions = Required<Omit<HubOptions, 'secret' | 'nats' | 'cluster' | 'metrics'>> & {
  metrics: ResolvedHubMetricsOptions | undefined;
  secret: string | undefined;
  nats: NatsOptions | undefined;
  cluster: ResolvedClusterOptions | undefined;
};

const CHANNEL_POLICIES: readonly ChannelPolicy[] = ['terminate', 'promote'];
const ERROR_POLICIES: readonly ErrorPolicy[] = ['ignore', 'raise', 'broadcast'];

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`options.${name} must be a positive number`);
  }
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`options.${name} must be a number >= 0`);
  }
  return value;
}

function bool(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`options.${name} must be a boolean`);
  return value;
}

function oneOf<T extends string>(name: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new RangeError(`options.${name} must be one of ${allowed.join(', ')}`);
  return value;
}

export function resolveHubOptions(options: HubOptions = {}): ResolvedHubOptions {
  if (options.serverId !== undefined && (typeof options.serverId !== 'string' || options.serverId === '')) {
    throw new TypeError('options.serverId must be a non-empty string');
  }
  if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret === '')) {
    throw new TypeError('options.secret must be a non-empty string');
  }
  const passwords: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.channelPasswords ?? {})) {
    if (typeof v !== 'string') throw new TypeError(`options.channelPasswords.${k} must be a string`);
    passwords[k] = v;
  }
  return {
    serverId: options.serverId ?? `srv-${randomBytes(4).toString('hex')}`,
    secret: options.secret,
    channelPasswords: passwords,
    channelPolicy: oneOf('channelPolicy', options.channelPolicy, CHANNEL_POLICIES, 'terminate'),
    lbPolicy: oneOf('lbPolicy', options.lbPolicy, LB_POLICIES, 'least-active'),
    errorPolicy: oneOf('errorPolicy', options.errorPolicy, ERROR_POLICIES, 'ignore'),
    idleTimeout: positive('idleTimeout', options.idleTimeout, 60_000),
    dataTimeout: positive('dataTimeout', options.dataTimeout, 60_000),
    handshakeTimeout: positive('handshakeTimeout', options.handshakeTimeout, 10_000),
    maxFrameSize: positive('maxFrameSize', options.maxFrameSize, 16 * 1024 * 1024),
    maxPartialFrameBytes: positive('maxPartialFrameBytes', options.maxPartialFrameBytes, 256 * 1024 * 1024),
    minFrameReadBytes: nonNegative('minFrameReadBytes', options.minFrameReadBytes, 64),
    allowBridges: bool('allowBridges', options.allowBridges, options.secret !== undefined),
    maxQueueBytes: positive('maxQueueBytes', options.maxQueueBytes, 64 * 1024 * 1024),
    maxPendingCalls: positive('maxPendingCalls', options.maxPendingCalls, 65_536),
    maxConnections: positive('maxConnections', options.maxConnections, 10_000),
    nats: options.nats,
    cluster: resolveClusterOptions(options.nats, options.cluster),
    metrics: resolveMetricsOptions(options.metrics),
  };
}
