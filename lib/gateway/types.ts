/**
 * The public types of {@link HubGateway} (lib/gateway/gateway.ts): its
 * states and events, where it listens, what a mount and a channel argument
 * take, and the structural Fastify type it plugs into.
 */
import type * as http from 'node:http';
import type { HubChannel } from '../hub/client/channel';
import type { PathContributor } from './openapi';
import type { RouteOptions } from './router';

export type GatewayState = 'idle' | 'running' | 'closing' | 'closed';

export interface GatewayEvents {
  /** An announced schema could not be compiled: calls to that event are not validated. */
  schemaError: [err: Error, channel: string, event: string];
  /** The OpenAPI document changed (a provider came or went). */
  change: [];
  close: [];
}

/** Options of {@link HubGateway.mount}. */
export interface MountOptions extends RouteOptions {
  /** Adds this subtree's operations to the OpenAPI document. */
  openapi?: PathContributor;
}

/** Where {@link HubGateway.listen} listens. @default host '127.0.0.1', port 0 */
export interface GatewayListenOptions {
  host?: string;
  port?: number;
}

/** A Fastify plugin (typed structurally: fastify is not a dependency). */
export interface FastifyLike {
  server: http.Server;
  addHook(
    name: 'onRequest',
    hook: (request: { raw: http.IncomingMessage }, reply: { raw: http.ServerResponse; hijack(): void }, done: () => void) => void,
  ): unknown;
}

/** A channel argument: its name, or an opened HubChannel (comm-ipc passes its channel object). */
export type ChannelRef = string | HubChannel;
