/** HubClient options: defaults and validation (TypeError/RangeError, thrown from the constructor). */
import { randomBytes } from 'node:crypto';
import type { HubClientAddress, HubClientOptions } from './types';

export interface ResolvedClientOptions {
  clientId: string;
  secret: string | undefined;
  autoReconnect: boolean;
  reconnectMaxTries: number;
  heartbeatInterval: number;
  callTimeout: number | undefined;
  idleTimeout: number;
  requestTimeout: number;
  mode: string;
  maxFrameSize: number;
  streamHighWaterMark: number;
  validateReceived: boolean;
}

function positive(name: string, value: number | undefined, fallback: number): number;
function positive(name: string, value: number | undefined, fallback: undefined): number | undefined;
function positive(name: string, value: number | undefined, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`options.${name} must be a positive number`);
  }
  return value;
}

function optString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new TypeError(`options.${name} must be a non-empty string`);
  return value;
}

export function checkAddress(address: HubClientAddress): HubClientAddress {
  if (address === null || typeof address !== 'object') throw new TypeError('address must be { path } or { host, port }');
  if ('path' in address) {
    if (typeof address.path !== 'string' || address.path === '') throw new TypeError('address.path must be a non-empty string');
    return { path: address.path };
  }
  const { host, port } = address as { host: unknown; port: unknown };
  if (typeof host !== 'string' || host === '') throw new TypeError('address.host must be a non-empty string');
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new RangeError('address.port must be an integer in 1..65535');
  }
  return { ...address };
}

export function resolveClientOptions(options: HubClientOptions = {}): ResolvedClientOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  if (options.autoReconnect !== undefined && typeof options.autoReconnect !== 'boolean') {
    throw new TypeError('options.autoReconnect must be a boolean');
  }
  if (options.validateReceived !== undefined && typeof options.validateReceived !== 'boolean') {
    throw new TypeError('options.validateReceived must be a boolean');
  }
  const tries = options.reconnectMaxTries ?? 0;
  if (!Number.isSafeInteger(tries) || tries < 0) throw new RangeError('options.reconnectMaxTries must be a non-negative integer');
  return {
    clientId: optString('clientId', options.clientId) ?? `cli-${randomBytes(4).toString('hex')}`,
    secret: optString('secret', options.secret),
    autoReconnect: options.autoReconnect ?? true,
    reconnectMaxTries: tries,
    heartbeatInterval: positive('heartbeatInterval', options.heartbeatInterval, 30_000),
    callTimeout: positive('callTimeout', options.callTimeout, undefined),
    idleTimeout: positive('idleTimeout', options.idleTimeout, 60_000),
    requestTimeout: positive('requestTimeout', options.requestTimeout, 10_000),
    mode: optString('mode', options.mode) ?? 'client',
    maxFrameSize: positive('maxFrameSize', options.maxFrameSize, 64 * 1024 * 1024),
    streamHighWaterMark: positive('streamHighWaterMark', options.streamHighWaterMark, 1000),
    validateReceived: options.validateReceived ?? false,
  };
}
