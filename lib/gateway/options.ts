/**
 * Gateway options, with units and safe defaults: loopback only, a 1 MiB
 * body limit, 30 s per request, CORS off, WebSocket origins checked, every
 * reader's buffer bounded. Bad values throw TypeError/RangeError at once.
 */
import type * as http from 'node:http';
import type { HubClientOptions } from '../hub/client/types';

export interface CorsOptions {
  /** Allowed origins (exact match), or `'*'` for any (then no credentials). */
  origins: readonly string[] | '*';
  /** Extra request headers a browser may send. @default ['authorization', 'content-type', 'last-event-id', 'range'] */
  headers?: readonly string[];
  /** Seconds a preflight answer may be cached. @default 600 */
  maxAge?: number;
}

export interface GatewayOptions {
  /** Path prefix of every gateway route (e.g. `/api`). @default '' */
  prefix?: string;
  /** Path of the live OpenAPI document (under the prefix); `false`: not served. @default '/openapi.json' */
  openapiPath?: string | false;
  /** Serve the default routes under /channels (the CLI's). @default true */
  defaultRoutes?: boolean;
  /** Serve only these channels (opened at start); omitted: any channel, opened on first use. */
  channels?: readonly string[];
  /** Channels opened on demand at most. @default 256 */
  maxChannels?: number;
  /** Channel passwords the gateway opens channels with. */
  passwords?: Readonly<Record<string, string>>;
  /** Topics this gateway declares, by channel, so web clients may publish to them. */
  topics?: Readonly<Record<string, readonly string[]>>;
  /** Largest JSON request body in bytes (413 above). @default 1048576 */
  bodyLimit?: number;
  /** Largest upload in bytes (413 above). @default 1073741824 (1 GiB) */
  uploadLimit?: number;
  /** Bytes per chunk an upload is cut into (each chunk is one call). @default 1048576 (1 MiB) */
  uploadChunkSize?: number;
  /** Upload chunks in flight to the provider at most (backpressure beyond). @default 4 */
  uploadWindow?: number;
  /**
   * Bytes of a file asked of its provider at once (a download is a series of
   * such calls): the most the hub holds for one slow reader. @default 8388608 (8 MiB)
   */
  downloadSegmentSize?: number;
  /** Largest JSON answer collected from a stream called without `Accept: text/event-stream`, in bytes. @default 16777216 */
  collectLimit?: number;
  /** Milliseconds a call may take (504 after); for streams, between two chunks. @default 30000 */
  requestTimeout?: number;
  /** Unread bytes an SSE or WebSocket reader may have before it is cut off. @default 1048576 */
  maxBufferedBytes?: number;
  /** Milliseconds between SSE keep-alive comments (0: none). @default 15000 */
  keepAlive?: number;
  /**
   * Decides whether a request may go on: true or false (401), or throw (a
   * PipeIOError keeps its status, anything else is 403). Runs before routing
   * for every route but those mounted `public`, and for WebSocket upgrades.
   */
  authorize?: (req: http.IncomingMessage) => boolean | Promise<boolean>;
  /** CORS; omitted: no CORS headers at all (browsers then refuse cross-origin reads). */
  cors?: CorsOptions;
  /**
   * Origins a browser WebSocket may come from (exact match). Omitted: only
   * the gateway's own origin (the Host header); requests without an Origin
   * (non-browser clients) are allowed.
   */
  wsOrigins?: readonly string[] | '*';
  /** Largest WebSocket message in bytes. @default 1048576 */
  wsMaxPayload?: number;
  /** Options of the hub clients the gateway makes (not of one it is given). */
  clientOptions?: HubClientOptions;
}

export interface ResolvedGatewayOptions {
  prefix: string;
  openapiPath: string | false;
  defaultRoutes: boolean;
  channels: readonly string[] | undefined;
  maxChannels: number;
  passwords: Readonly<Record<string, string>>;
  topics: Readonly<Record<string, readonly string[]>>;
  bodyLimit: number;
  uploadLimit: number;
  uploadChunkSize: number;
  uploadWindow: number;
  downloadSegmentSize: number;
  collectLimit: number;
  requestTimeout: number;
  maxBufferedBytes: number;
  keepAlive: number;
  authorize: GatewayOptions['authorize'];
  cors: CorsOptions | undefined;
  wsOrigins: readonly string[] | '*' | undefined;
  wsMaxPayload: number;
  clientOptions: HubClientOptions;
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`options.${name} must be a ${allowZero ? 'non-negative' : 'positive'} number (got ${String(value)})`);
  }
  return value;
}

function stringList(name: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw new TypeError(`options.${name} must be an array of non-empty strings`);
  }
  return value as string[];
}

export function resolveGatewayOptions(o: GatewayOptions = {}): ResolvedGatewayOptions {
  const prefix = (o.prefix ?? '').replace(/\/+$/, '');
  if (prefix !== '' && !prefix.startsWith('/')) throw new TypeError('options.prefix must start with /');
  const openapiPath = o.openapiPath ?? '/openapi.json';
  if (openapiPath !== false && (typeof openapiPath !== 'string' || !openapiPath.startsWith('/'))) {
    throw new TypeError('options.openapiPath must start with / (or be false)');
  }
  if (o.authorize !== undefined && typeof o.authorize !== 'function') throw new TypeError('options.authorize must be a function');
  if (o.cors !== undefined && o.cors.origins !== '*') stringList('cors.origins', o.cors.origins);
  if (o.wsOrigins !== undefined && o.wsOrigins !== '*') stringList('wsOrigins', o.wsOrigins);
  const topics: Record<string, readonly string[]> = {};
  for (const [ch, list] of Object.entries(o.topics ?? {})) topics[ch] = stringList(`topics.${ch}`, list) ?? [];
  return {
    prefix,
    openapiPath,
    defaultRoutes: o.defaultRoutes ?? true,
    channels: stringList('channels', o.channels),
    maxChannels: positive('maxChannels', o.maxChannels, 256),
    passwords: { ...(o.passwords ?? {}) },
    topics,
    bodyLimit: positive('bodyLimit', o.bodyLimit, 1024 * 1024),
    uploadLimit: positive('uploadLimit', o.uploadLimit, 1024 * 1024 * 1024),
    uploadChunkSize: positive('uploadChunkSize', o.uploadChunkSize, 1024 * 1024),
    uploadWindow: positive('uploadWindow', o.uploadWindow, 4),
    downloadSegmentSize: positive('downloadSegmentSize', o.downloadSegmentSize, 8 * 1024 * 1024),
    collectLimit: positive('collectLimit', o.collectLimit, 16 * 1024 * 1024),
    requestTimeout: positive('requestTimeout', o.requestTimeout, 30_000),
    maxBufferedBytes: positive('maxBufferedBytes', o.maxBufferedBytes, 1024 * 1024),
    keepAlive: positive('keepAlive', o.keepAlive, 15_000, true),
    authorize: o.authorize,
    cors: o.cors,
    wsOrigins: o.wsOrigins,
    wsMaxPayload: positive('wsMaxPayload', o.wsMaxPayload, 1024 * 1024),
    clientOptions: { ...(o.clientOptions ?? {}) },
  };
}
