/**
 * Everything a hub serves over HTTP for observability, as one handler:
 * the monitoring routes (/metrics, /healthz, /readyz, /api/stats) then the
 * dashboard (/ and its /api/* routes); other paths go to `next()` (or 404).
 * `serveHttp()` runs handlers on a node:http server of their own, the way
 * `pipe-io-server hub --http` does (the gateway's handler can sit in the
 * same chain: one server for both).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsHttpHandler, sendError, type Authorize, type HttpHandler } from '../metrics/http';
import { hubSource, type StatsSource } from '../metrics/source';
import type { Hub } from '../hub/server/hub';
import type { DashboardCalls } from './calls';
import { dashboardHandler } from './handler';

export interface HubHttpOptions {
  /** The hub in this process (or give `source`). */
  hub?: Hub;
  /** Where the figures come from when the hub is elsewhere (`clientSource(client)`). */
  source?: StatsSource;
  /** Guards every route but /healthz and /readyz (the gateway's hook). */
  authorize?: Authorize;
  /** Serve the dashboard at / . @default true */
  dashboard?: boolean;
  /** The dashboard's hub connection for calls and tails (`clientCalls(...)`). */
  calls?: DashboardCalls;
  /** Let the dashboard call events. @default false */
  allowCalls?: boolean;
}

/** Runs handlers in order; each passes a path it does not own to the next. */
export function chainHandlers(...handlers: HttpHandler[]): HttpHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined) {
        if (next) next(err);
        else sendError(res, 500, err instanceof Error ? err.message : String(err), 'PIPEIO_ERR_PROTOCOL');
        return;
      }
      const h = handlers[i++];
      if (h) h(req, res, step);
      else if (next) next();
      else sendError(res, 404, `no route ${req.url ?? ''}`, 'PIPEIO_ERR_PROTOCOL');
    };
    step();
  };
}

export function hubHttpHandler(options: HubHttpOptions): HttpHandler {
  const source = options.source ?? (options.hub ? hubSource(options.hub) : undefined);
  if (!source) throw new TypeError('hubHttpHandler needs options.hub or options.source');
  const handlers = [metricsHttpHandler({ source, authorize: options.authorize })];
  if (options.dashboard !== false) {
    handlers.push(dashboardHandler({ source, authorize: options.authorize, calls: options.calls, allowCalls: options.allowCalls }));
  }
  return chainHandlers(...handlers);
}

export interface ServeHttpOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
}

/** Serves `handler` on a node:http server of its own; resolves once listening. */
export async function serveHttp(handler: HttpHandler, options: ServeHttpOptions): Promise<{ server: http.Server; host: string; port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => handler(req, res));
  // Uploads through the gateway on the same server may take long: Node's default (300 s) bounds a request's body.
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host ?? '127.0.0.1', port: options.port }, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // SSE streams never end by themselves
      }),
  };
}
