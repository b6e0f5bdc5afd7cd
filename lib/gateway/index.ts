/** The gateway's public surface (re-exported by lib/index.ts). */
export { HubGateway } from './gateway';
export type { GatewayEvents, GatewayListenOptions, GatewayState, MountOptions, ChannelRef, FastifyLike } from './gateway';
export type { GatewaySource } from './hub-side';
export type { GatewayOptions, CorsOptions } from './options';
export type { RouteContext, RouteHandler, MountHandler, RouteOptions } from './router';
export type { GatewayCounters } from './context';
export type { DocBuilder, PathContributor, PathItem } from './openapi';
export type { FileHeader } from './files';
export type { ValidationIssue } from './validate';
