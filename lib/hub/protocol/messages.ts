/**
 * Everything a comm-ipc hub and its clients say to each other: the message
 * types per direction, the envelope (comm-ipc's `CommData`), and the exact
 * error texts that Python peers match on. Routing lives elsewhere
 * (lib/hub/server), the byte encoding in ./codec.ts.
 *
 * Reference: shared/hub/comm-ipc-protocol.md, sections 2-3.
 */

/** Message types a client sends (C→S). Anything else is refused. */
export const CLIENT_TYPES = [
  'identify',
  'conn_proof',
  'ping',
  'register',
  'set_password',
  'call',
  'response',
  'broadcast',
  'send',
  'add_subscription',
  'remove_subscription',
  'subscribe',
  'unsubscribe',
  'publish',
  'list_members',
  'announce_remote',
  'forget_remote',
  'cancel', // beyond comm-ipc: the caller gives up a call (lib/hub/server/handle-cancel.ts)
] as const;
export type ClientMessageType = (typeof CLIENT_TYPES)[number];

/** Message types a hub sends (S→C). */
export const SERVER_TYPES = [
  'identified',
  'conn_challenge',
  'pong',
  'error',
  'channel_sync',
  'auth_challenge',
  'response',
  'metadata_update',
  'call',
  'broadcast',
  'send',
  'receive',
  'cancel', // beyond comm-ipc: to a provider, the caller gave up (comm-ipc clients ignore unknown types)
] as const;
export type ServerMessageType = (typeof SERVER_TYPES)[number];

/** Routed frames: the hub stamps them (sender_id, timestamp, origin_server_id, path). */
export const ROUTED_TYPES: ReadonlySet<string> = new Set(['call', 'response', 'broadcast', 'send']);

/**
 * The comm-ipc envelope (`CommData`): what a provider receives for a call,
 * what a caller gets back, what listeners get for broadcasts, sends and
 * publications. Keys absent on the wire are absent here.
 */
export interface HubMessage<T = unknown> {
  type?: string;
  sender_id?: string;
  server_id?: string;
  channel?: string;
  event?: string;
  data?: T;
  /** Unix seconds, an integer. */
  timestamp?: number;
  metadata?: Record<string, unknown>;
  request_id?: string | null;
  target_id?: string | null;
  /** Hub ids the frame passed through. */
  path?: string[];
  is_stream?: boolean;
  is_final?: boolean;
  signature?: string | null;
  origin_server_id?: string | null;
  sub_name?: string | null;
  mode?: string;
  /** Error text of a failed response. */
  error?: string;
  /** This hub's error code on hub-originated error responses (an extra key; comm-ipc ignores it). */
  code?: string;
  [extra: string]: unknown;
}

/** Reserved and system names (4.4). */
export const RESERVED_CHANNEL = 'subscription';
export const SUBSCRIPTION_EVENT_PREFIX = 'subscription.';
export const SYSTEM_CHANNEL_PREFIX = '__comm_ipc';
export const LOGS_CHANNEL = '__comm_ipc_logs';
export const ERRORS_CHANNEL = '__comm_ipc_errors';
export const SYSTEM_CHANNEL = '__comm_ipc_system';
/** Client ids no member may take: the hub speaks as `server` and `system` (3.1.5, 3.2.9). */
export const RESERVED_CLIENT_IDS: ReadonlySet<string> = new Set(['', 'server', 'system']);

/** The exact texts Python peers match on (3.3, 2.6). */
export const Texts = {
  idInUse: (id: string) => `Client ID ${id} already in use`,
  authFailed: 'Authentication failed',
  notAuthenticated: 'Not authenticated',
  invalidChallenge: 'Invalid or expired challenge',
  challengeExpired: 'Challenge expired',
  invalidChannelPassword: 'Invalid channel password',
  eventRequired: 'Event name required for provider registration',
  providerExists: (c: string, e: string) => `Provider already exists for ${c}:${e} and group mode is incompatible`,
  onlyOwnerPassword: 'Only the channel owner can set or change the password',
  passwordChanged: 'Channel password changed, please reconnect',
  channelTerminated: (c: string) => `Channel ${c} owner disconnected, channel terminated`,
  noProvider: (c: string, e: string) => `No provider for ${c}:${e}`,
  subRequired: 'channel and sub_name required',
  subChannelReserved: 'Channel name subscription is reserved',
  subNameReserved: (s: string) => `Subscription name ${s} is reserved`,
  subOwned: (s: string) => `Subscription ${s} already owned by another client`,
  subNotOwner: 'Not the owner or subscription does not exist',
  // Ours (comm-ipc never answers these cases):
  providerGone: (c: string, e: string) => `Provider of ${c}:${e} disconnected before answering`,
  tooManyCalls: (n: number) => `Too many calls in flight on this connection (limit ${n})`,
} as const;
