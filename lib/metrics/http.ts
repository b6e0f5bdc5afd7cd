/**
 * The monitoring routes of a hub over HTTP, as one handler that mounts on
 * any node:http server, as Connect/Express middleware (it calls `next()` for
 * paths it does not own) or beside the gateway:
 *
 *   GET /metrics    Prometheus text (version 0.0.4)
 *   GET /healthz    200 {"status":"ok"} while live, else 503 (no authorize: for probes)
 *   GET /readyz     200 while ready, else 503 (no authorize: for probes)
 *   GET /api/stats  the JSON snapshot with topology (?topology=0 without)
 *
 * `authorize(req)` (the gateway's hook) guards /metrics and /api/stats:
 * false answers 401 with code PIPEIO_ERR_AUTH.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from './prometheus';
import type { StatsSource } from './source';

/** Decides whether a request may see or do something; the same hook as the gateway's. */
export type Authorize = (req: IncomingMessage) => boolean | Promise<boolean>;

/** A request handler for node:http, Connect and Express. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

export interface MetricsHttpOptions {
  source: StatsSource;
  authorize?: Authorize;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, message: string, code: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: message, code });
}

/** Runs `authorize` (if any); answers 401 and resolves false when refused or when it throws. */
export async function allowed(authorize: Authorize | undefined, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (!authorize) return true;
  let ok = false;
  try {
    ok = (await authorize(req)) === true;
  } catch {
    ok = false;
  }
  if (!ok) {
    res.setHeader('www-authenticate', 'Bearer');
    sendError(res, 401, 'not authorized', 'PIPEIO_ERR_AUTH');
  }
  return ok;
}

/** The request's path, without the query. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

const ROUTES = new Set(['/metrics', '/healthz', '/readyz', '/api/stats']);

export function metricsHttpHandler(options: MetricsHttpOptions): HttpHandler {
  const { source, authorize } = options;
  return (req, res, next) => {
    const path = pathOf(req);
    if (!ROUTES.has(path)) {
      if (next) next();
      else sendError(res, 404, `no route ${path}`, 'PIPEIO_ERR_PROTOCOL');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendError(res, 405, `${req.method} is not allowed on ${path}`, 'PIPEIO_ERR_PROTOCOL');
      return;
    }
    void serve(path, req, res).catch((err: unknown) => sendError(res, 503, (err as Error)?.message ?? String(err), (err as { code?: string })?.code ?? 'PIPEIO_ERR_CONNECTION'));
  };

  async function serve(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (path === '/healthz' || path === '/readyz') {
      const h = await source.health();
      const ok = path === '/healthz' ? h.live : h.ready;
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'fail', live: h.live, ready: h.ready, checks: h.checks });
      return;
    }
    if (!(await allowed(authorize, req, res))) return;
    if (path === '/metrics') {
      const text = renderPrometheus((await source.snapshot()).metrics);
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    const topology = queryOf(req).get('topology') !== '0';
    sendJson(res, 200, await source.snapshot({ topology }));
  }
}
