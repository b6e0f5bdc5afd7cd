/** The hub client's public surface (re-exported by lib/index.ts). */
export { HubClient } from './hub-client';
export { HubChannel } from './channel';
export { HubGroup } from './group';
export { HubStream } from './stream';
export type {
  AddEventOptions,
  CallContext,
  CallOptions,
  EventHandler,
  ExploredEvent,
  ExploredSubscription,
  ExploreResult,
  HubClientAddress,
  HubClientEvents,
  HubClientOptions,
  HubClientState,
  HubMember,
  ReceiveListener,
  SchemaInfo,
  StreamHandler,
} from './types';
