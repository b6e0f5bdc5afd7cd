/**
 * `pipe-io-server hub`: a comm-ipc-compatible Hub in the foreground until
 * SIGINT/SIGTERM. Prints where it listens (one line per listener) and, when
 * federated, the state of its NATS link and of the other hubs.
 */
import type { ClusterEvent } from '../hub/federation/federation';
import { Hub } from '../hub/server/hub';
import { ExitCode, parseCommandArgs, usageError, type CliIO } from './common';
import { HUB_HELP } from './help';
import { defaultHubSocket, parseHostPort } from './hub-address';
import { HUB_OPTIONS, hubOptionsOf } from './hub-options';
import { readFileOption } from './hub-remote';
import { HTTP_OPTIONS, gatewayOptionsOf, untilSignal } from './gateway';
import { startHubHttp } from './hub-http';
import { HubGateway } from '../gateway/gateway';

function clusterLine(ev: ClusterEvent): string {
  switch (ev.type) {
    case 'link':
      return `cluster: NATS link ${ev.up ? 'up' : 'down'}`;
    case 'peer':
      return `cluster: hub ${ev.hub} ${ev.up ? 'joined' : `left${ev.reason ? ` (${ev.reason})` : ''}`}`;
    default:
      return `cluster: ${ev.error.message} [${ev.error.code}]`;
  }
}

/** Runs `hub`; resolves with the exit code once stopped by a signal. */
export async function runHub(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('hub', argv, { ...HUB_OPTIONS, ...HTTP_OPTIONS, 'dashboard-calls': { type: 'boolean' } }, false);
  if (values['help']) {
    io.stdout.write(HUB_HELP);
    return ExitCode.OK;
  }
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  const clientCa = values['tls-client-ca'] as string | undefined;
  if ((cert === undefined) !== (key === undefined)) throw usageError('hub', '--tls-cert and --tls-key go together');
  if (cert !== undefined && values['tcp'] === undefined) throw usageError('hub', 'TLS needs --tcp HOST:PORT');
  if (clientCa !== undefined && cert === undefined) throw usageError('hub', '--tls-client-ca needs --tls-cert and --tls-key');
  if (values['dashboard-calls'] && values['http'] === undefined) throw usageError('hub', '--dashboard-calls needs --http HOST:PORT');
  const tcp = values['tcp'] === undefined ? undefined : parseHostPort('hub', values['tcp'] as string);
  const options = hubOptionsOf(values, io);
  let hub: Hub;
  try {
    hub = new Hub(options);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw usageError('hub', err.message);
    throw err;
  }
  hub.on('clientError', () => undefined);
  let http: { url: string; close(): Promise<void> } | undefined;
  const say = (line: string): void => {
    if (!values['quiet']) io.stdout.write(`${line}\n`);
  };
  hub.on('cluster', (ev) => say(clusterLine(ev)));
  try {
    const socketPath = (values['socket'] as string | undefined) ?? (tcp === undefined ? defaultHubSocket(io.env) : undefined);
    if (socketPath !== undefined) {
      await hub.listen({ path: socketPath });
      say(`hub ${hub.serverId} listening on unix:${socketPath}`);
    }
    if (tcp !== undefined) {
      const tls =
        cert !== undefined
          ? {
              cert: readFileOption('tls-cert', cert),
              key: readFileOption('tls-key', key!),
              ...(clientCa !== undefined ? { ca: readFileOption('tls-client-ca', clientCa), requestCert: true, rejectUnauthorized: true } : {}),
            }
          : undefined;
      const addr = (await hub.listen({ host: tcp.host, port: tcp.port, ...(tls ? { tls } : {}) })) as { host: string; port: number };
      say(`hub ${hub.serverId} listening on ${tls ? 'tls' : 'tcp'}:${addr.host}:${addr.port}`);
    }
    if (values['http'] !== undefined) {
      // One HTTP server: the gateway's routes, then metrics, health and the dashboard.
      const gatewayOptions = gatewayOptionsOf('hub', values);
      let gateway: HubGateway;
      try {
        gateway = new HubGateway({ hub }, gatewayOptions);
      } catch (err) {
        throw usageError('hub', err instanceof Error ? err.message : String(err));
      }
      http = await startHubHttp(hub, values['http'] as string, {
        secret: options.secret,
        tlsCert: cert !== undefined ? readFileOption('tls-cert', cert) : undefined,
        allowCalls: values['dashboard-calls'] === true,
        gateway,
        authorize: gatewayOptions.authorize,
      });
      say(`hub ${hub.serverId} serving ${http.url} (gateway, metrics, health, dashboard)`);
      say(`gateway listening on ${http.url.replace(/\/$/, '')}`);
    }
  } catch (err) {
    await http?.close();
    await hub.stop();
    throw err;
  }
  await untilSignal();
  await http?.close();
  await hub.stop();
  say('hub stopped');
  return ExitCode.OK;
}
