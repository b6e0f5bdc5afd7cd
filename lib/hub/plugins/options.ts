/**
 * Options of {@link HubPlugin} (hub.attachPlugin / attachPlugin): types,
 * validation (TypeError/RangeError naming the option) and defaults.
 */
import { randomBytes } from 'node:crypto';
import { resolveRestartOptions, type PluginRestartOptions, type ResolvedRestartOptions } from '../../plugin/backoff';
import type { PluginHost } from '../../plugin/plugin-host';
import type { PluginLineMode } from './line-protocol';

/** Options of a plugin that is a hub member. See docs/hub-plugins.md. */
export interface HubPluginOptions {
  /** The channel the plugin provides its event in (and is a member of). */
  channel: string;
  /** The event it provides. Required in 'line' mode; in 'rpc' mode a plugin may register its own with `provide` lines. */
  event?: string;
  /** Serve the event as part of a named group: the hub event becomes `<group>.<event>`, registered as a group. */
  group?: string;
  /** Copies of the plugin, each its own member of one load-balanced group (ids `<id>-1` ... `<id>-N`). @default 1 */
  instances?: number;
  /** 'line' (a call's data in, one JSON line out) or 'rpc' (envelope lines with request ids). @default 'line' */
  mode?: PluginLineMode;
  /** Per call: ms without an answer before the caller gets a PIPEIO_ERR_TIMEOUT error (0: never). @default 30000 */
  timeout?: number;
  /** Per instance: calls waiting or in flight beyond which new calls get PIPEIO_ERR_LIMIT. @default 10000 */
  maxPending?: number;
  /**
   * 'line' mode, per instance: calls written to the plugin before it has
   * answered the earlier ones. 1 (the default) guarantees that no answer ever
   * reaches the wrong caller whatever the plugin writes; more is faster but
   * trusts the plugin to answer every line exactly once (a plugin that skips
   * one makes the next answers go to the wrong callers until its timeout).
   * @default 1
   */
  pipeline?: number;
  /** Member id (with several instances: the prefix). @default `plugin-<event>-<random>` */
  id?: string;
  /** The channel's password, if it has one (answers the hub's challenge). */
  password?: string;
  /** Register the event as a stream provider ('rpc' mode plugins that answer with chunks). @default false */
  stream?: boolean;
  /** Restart crashed instances with exponential backoff (in-flight calls get errors). @default true */
  restart?: boolean | PluginRestartOptions;
  /** Environment of the plugin (PIPE_IO_* variables are added). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the plugin. */
  cwd?: string;
  /** The plugin's stdout (its pipes carry the protocol). @default 'inherit' */
  stdout?: 'inherit' | 'pipe' | 'ignore' | number;
  /** ms between SIGTERM and SIGKILL on stop. @default 2000 */
  gracePeriod?: number;
  /** A PluginHost to run on (shared pipe server); by default the plugin gets a private one. */
  host?: PluginHost;
}

export interface ResolvedHubPluginOptions {
  channel: string;
  event: string | undefined;
  instances: number;
  mode: PluginLineMode;
  timeout: number;
  maxPending: number;
  pipeline: number;
  id: string;
  isGroup: boolean;
  stream: boolean;
  password: string | undefined;
  restart: ResolvedRestartOptions | undefined;
  env: NodeJS.ProcessEnv | undefined;
  cwd: string | undefined;
  stdout: 'inherit' | 'pipe' | 'ignore' | number;
  gracePeriod: number | undefined;
  host: PluginHost | undefined;
}

const NAME = /^[^\s]{1,256}$/;
/** Most instances of one plugin. */
export const MAX_INSTANCES = 256;

function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`options.${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

function checkName(name: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) throw new TypeError(`options.${name} must be a non-empty string without spaces`);
  return value;
}

/** Validates and completes the options; throws TypeError/RangeError. */
export function resolveHubPluginOptions(options: HubPluginOptions): ResolvedHubPluginOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const channel = checkName('channel', options.channel);
  const mode = options.mode ?? 'line';
  if (mode !== 'line' && mode !== 'rpc') throw new TypeError(`options.mode must be 'line' or 'rpc' (got ${JSON.stringify(mode)})`);
  let event = options.event === undefined ? undefined : checkName('event', options.event);
  if (event === undefined && mode === 'line') throw new TypeError("options.event is required in 'line' mode");
  const group = options.group === undefined ? undefined : checkName('group', options.group);
  if (group !== undefined) {
    if (event === undefined) throw new TypeError('options.group needs options.event');
    event = `${group}.${event}`;
  }
  if (event?.startsWith('subscription.')) throw new TypeError("options.event must not start with 'subscription.' (reserved)");
  const instances = checkInt('instances', options.instances ?? 1, 1, MAX_INSTANCES);
  const id = options.id === undefined ? `plugin-${(event ?? channel).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40)}-${randomBytes(3).toString('hex')}` : checkName('id', options.id);
  if (options.password !== undefined && typeof options.password !== 'string') throw new TypeError('options.password must be a string');
  return {
    channel,
    event,
    instances,
    mode,
    timeout: checkInt('timeout', options.timeout ?? 30000, 0, 2 ** 31 - 1),
    maxPending: checkInt('maxPending', options.maxPending ?? 10000, 1, 1 << 24),
    pipeline: checkInt('pipeline', options.pipeline ?? 1, 1, 1 << 24),
    id,
    isGroup: instances > 1 || group !== undefined,
    stream: options.stream === true,
    password: options.password,
    restart: resolveRestartOptions(options.restart ?? true),
    env: options.env,
    cwd: options.cwd,
    stdout: options.stdout ?? 'inherit',
    gracePeriod: options.gracePeriod,
    host: options.host,
  };
}
