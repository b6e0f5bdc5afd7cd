/**
 * The options of `pipe-io-server hub`: every `new Hub()` option an operator
 * needs, from the command line. Secrets (the connection secret, channel
 * passwords, NATS credentials) come from files or environment variables,
 * never from argv, which every user of the machine can read.
 */
import type { HubOptions } from '../hub/server/options';
import type { ClusterOptions, NatsOptions } from '../hub/federation/options';
import { usageError, type CliIO, type OptionSpec } from './common';
import { readFileOption, secretOption } from './hub-remote';

export const HUB_OPTIONS: OptionSpec = {
  socket: { type: 'string', short: 's' },
  tcp: { type: 'string', short: 't' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
  'secret-file': { type: 'string' },
  'secret-env': { type: 'string' },
  'channel-passwords': { type: 'string' },
  'server-id': { type: 'string' },
  'lb-policy': { type: 'string' },
  'channel-policy': { type: 'string' },
  'error-policy': { type: 'string' },
  'allow-bridges': { type: 'boolean' },
  'idle-timeout': { type: 'string' },
  'data-timeout': { type: 'string' },
  'handshake-timeout': { type: 'string' },
  'max-frame-size': { type: 'string' },
  'max-queue-bytes': { type: 'string' },
  'max-pending-calls': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-partial-frame-bytes': { type: 'string' },
  'min-frame-read-bytes': { type: 'string' },
  nats: { type: 'string', multiple: true },
  'nats-user': { type: 'string' },
  'nats-pass-file': { type: 'string' },
  'nats-pass-env': { type: 'string' },
  'nats-token-file': { type: 'string' },
  'nats-token-env': { type: 'string' },
  'nats-tls-ca': { type: 'string' },
  'nats-tls-cert': { type: 'string' },
  'nats-tls-key': { type: 'string' },
  'cluster-prefix': { type: 'string' },
  'cluster-heartbeat': { type: 'string' },
  'cluster-peer-timeout': { type: 'string' },
  'cluster-link-grace': { type: 'string' },
  'cluster-max-queue': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

type Values = Record<string, string | boolean | string[] | undefined>;

/** Integer options: [flag, option of new Hub()] and [flag, option of its `cluster`]. */
const HUB_INTS = [
  ['idle-timeout', 'idleTimeout'],
  ['data-timeout', 'dataTimeout'],
  ['handshake-timeout', 'handshakeTimeout'],
  ['max-frame-size', 'maxFrameSize'],
  ['max-queue-bytes', 'maxQueueBytes'],
  ['max-pending-calls', 'maxPendingCalls'],
  ['max-connections', 'maxConnections'],
  ['max-partial-frame-bytes', 'maxPartialFrameBytes'],
] as const;
const CLUSTER_INTS = [
  ['cluster-heartbeat', 'heartbeatInterval'],
  ['cluster-peer-timeout', 'peerTimeout'],
  ['cluster-link-grace', 'linkDownGrace'],
  ['cluster-max-queue', 'maxQueueBytes'],
] as const;

/** A positive integer option (ms, bytes, counts), or undefined. */
function positiveInt(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) === 0) {
    throw usageError('hub', `option --${name} needs a positive integer (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}

/** Copies the integer options `pairs` ([flag, key]) of `values` into `target`. */
function copyInts<K extends string>(values: Values, pairs: ReadonlyArray<readonly [string, K]>, target: Partial<Record<K, number>>): void {
  for (const [flag, key] of pairs) {
    const n = positiveInt(flag, values[flag]);
    if (n !== undefined) target[key] = n;
  }
}

/**
 * `CHANNEL=PASSWORD` per line (split at the first "="; blank lines and lines
 * starting with "#" skipped; a trailing "\r" dropped).
 */
export function parseChannelPasswords(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw usageError('hub', `--channel-passwords ${file}, line ${i + 1}: expected CHANNEL=PASSWORD`);
    const channel = line.slice(0, eq);
    if (Object.hasOwn(out, channel)) throw usageError('hub', `--channel-passwords ${file}, line ${i + 1}: channel ${channel} given twice`);
    out[channel] = line.slice(eq + 1);
  });
  return out;
}

/** The NATS connection options (servers, credentials, TLS) of the command line, or undefined without --nats. */
function natsOptions(values: Values, io: CliIO): NatsOptions | undefined {
  const servers = ((values['nats'] as string[] | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const used = Object.keys(values).filter((k) => (k.startsWith('nats-') || k.startsWith('cluster-')) && values[k] !== undefined);
  if (servers.length === 0) {
    if (used.length > 0) throw usageError('hub', `--${used[0]} needs --nats URL (the NATS servers to federate through)`);
    return undefined;
  }
  const nats: NatsOptions = { servers };
  if (values['nats-user'] !== undefined) nats['user'] = values['nats-user'];
  const pass = secretOption('hub', values as Record<string, string | boolean | undefined>, io, 'nats-pass');
  if (pass !== undefined) {
    if (nats['user'] === undefined) throw usageError('hub', '--nats-pass-file/--nats-pass-env need --nats-user');
    nats['pass'] = pass;
  }
  const token = secretOption('hub', values as Record<string, string | boolean | undefined>, io, 'nats-token');
  if (token !== undefined) nats['token'] = token;
  const tls: Record<string, string> = {};
  for (const [flag, key] of [
    ['nats-tls-ca', 'ca'],
    ['nats-tls-cert', 'cert'],
    ['nats-tls-key', 'key'],
  ] as const) {
    const file = values[flag] as string | undefined;
    if (file !== undefined) tls[key] = readFileOption(flag, file);
  }
  if ((tls['cert'] === undefined) !== (tls['key'] === undefined)) throw usageError('hub', '--nats-tls-cert and --nats-tls-key go together');
  if (Object.keys(tls).length > 0) nats['tls'] = tls;
  return nats;
}

function clusterOptions(values: Values): ClusterOptions | undefined {
  const cluster: ClusterOptions = {};
  if (values['cluster-prefix'] !== undefined) cluster.subjectPrefix = values['cluster-prefix'] as string;
  copyInts(values, CLUSTER_INTS, cluster);
  return Object.keys(cluster).length > 0 ? cluster : undefined;
}

/** The `new Hub()` options of a parsed `hub` command line (usage errors, exit 6 for an unreadable file). */
export function hubOptionsOf(values: Values, io: CliIO): HubOptions {
  const options: HubOptions = {};
  if (values['server-id'] !== undefined) options.serverId = values['server-id'] as string;
  const secret = secretOption('hub', values as Record<string, string | boolean | undefined>, io, 'secret');
  if (secret !== undefined) options.secret = secret;
  const passwordsFile = values['channel-passwords'] as string | undefined;
  if (passwordsFile !== undefined) options.channelPasswords = parseChannelPasswords(readFileOption('channel-passwords', passwordsFile), passwordsFile);
  const policies = [
    ['lb-policy', 'lbPolicy'],
    ['channel-policy', 'channelPolicy'],
    ['error-policy', 'errorPolicy'],
  ] as const;
  for (const [flag, key] of policies) {
    if (values[flag] !== undefined) (options as Record<string, unknown>)[key] = values[flag];
  }
  copyInts(values, HUB_INTS, options);
  const floor = values['min-frame-read-bytes'];
  if (floor !== undefined) {
    if (typeof floor !== 'string' || !/^\d+$/.test(floor)) throw usageError('hub', `option --min-frame-read-bytes needs an integer >= 0 (got ${JSON.stringify(floor)})`);
    options.minFrameReadBytes = Number(floor);
  }
  const nats = natsOptions(values, io);
  if (nats !== undefined) {
    options.nats = nats;
    const cluster = clusterOptions(values);
    if (cluster !== undefined) options.cluster = cluster;
  }
  if (values['allow-bridges']) options.allowBridges = true;
  return options;
}
