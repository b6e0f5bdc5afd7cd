/**
 * `pipe-io-server hub --http HOST:PORT`: one node:http server for all the
 * hub serves over HTTP. Its handlers form one chain (lib/dashboard/hub-http.ts
 * chainHandlers): the observability routes (/metrics, /healthz, /readyz,
 * /api/stats, the dashboard at /) after the gateway's (lib/gateway), which
 * passes on the paths it does not own. The dashboard calls events and tails topics
 * through a HubClient of its own, connected on first use to one of the hub's
 * listeners (a Unix socket or plain TCP first).
 */
import { randomBytes } from 'node:crypto';
import { HubClient } from '../hub/client';
import type { HubClientAddress } from '../hub/client/types';
import type { Hub, HubAddress } from '../hub/server/hub';
import { clientCalls } from '../dashboard/calls';
import { chainHandlers, hubHttpHandler, serveHttp } from '../dashboard/hub-http';
import type { HubGateway } from '../gateway/gateway';
import type { Authorize } from '../metrics/http';
import { parseHostPort } from './hub-address';

export interface HubHttpCliOptions {
  /** The hub's connection secret (the dashboard's client must answer it). */
  secret?: string;
  /** The PEM certificate of a TLS-only hub (trusted by the dashboard's client). */
  tlsCert?: string;
  /** --dashboard-calls */
  allowCalls: boolean;
  /** The gateway served on the same server: its routes first, then ours (its `authorize` guards ours too). */
  gateway?: HubGateway;
  /** Guards every route but /healthz and /readyz (`--token-file`). */
  authorize?: Authorize;
}

/** The address the dashboard's client dials: a Unix socket or plain TCP first. */
function selfAddress(addresses: HubAddress[], tlsCert: string | undefined): HubClientAddress | undefined {
  const plain = addresses.find((a) => 'path' in a) ?? addresses.find((a) => !('path' in a) && !a.tls);
  const any = plain ?? addresses[0];
  if (!any) return undefined;
  if ('path' in any) return { path: any.path };
  const host = any.host === '0.0.0.0' ? '127.0.0.1' : any.host === '::' ? '::1' : any.host;
  if (!any.tls) return { host, port: any.port };
  // Our own listener: trust our own certificate, whatever name it was issued for.
  return { host, port: any.port, tls: { ca: tlsCert, checkServerIdentity: () => undefined } };
}

export async function startHubHttp(hub: Hub, spec: string, options: HubHttpCliOptions): Promise<{ url: string; close(): Promise<void> }> {
  const { host, port } = parseHostPort('hub', spec);
  const calls = clientCalls(async () => {
    const address = selfAddress(hub.addresses, options.tlsCert);
    if (!address) throw new Error('the hub has no listener');
    const client = new HubClient(address, { clientId: `dashboard-${randomBytes(4).toString('hex')}`, secret: options.secret });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  });
  const gateway = options.gateway;
  const ours = hubHttpHandler({ hub, calls, allowCalls: options.allowCalls, authorize: options.authorize });
  let served: Awaited<ReturnType<typeof serveHttp>>;
  try {
    if (gateway) await gateway.start();
    served = await serveHttp(gateway ? chainHandlers((req, res, next) => void gateway.handle(req, res, next), ours) : ours, { host, port });
  } catch (err) {
    await gateway?.close();
    await calls.close();
    throw err;
  }
  gateway?.attach(served.server);
  const shown = served.host.includes(':') ? `[${served.host}]` : served.host;
  return {
    url: `http://${shown}:${served.port}/`,
    close: async () => {
      await calls.close();
      await gateway?.close();
      await served.close();
    },
  };
}
