/**
 * The dashboard's HTTP routes (one handler: node:http, Connect, Express):
 *
 *   GET  /             the page (self-contained HTML: no CDN, works offline)
 *   GET  /api/config   what the page may do ({ calls, tail })
 *   GET  /api/live     SSE: every second, the snapshot with topology and the rates
 *   POST /api/call     {channel, event, data, stream?}: the result as JSON, or SSE for a stream
 *                      (403 unless the operator enabled calls)
 *   GET  /api/tail?channel=C&topic=T   SSE of the topic's publications
 *
 * `authorize(req)` guards every route. POST needs `content-type:
 * application/json` and, when the browser sends one, an `Origin` of this
 * host (no cross-site form can call an event).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { allowed, pathOf, queryOf, sendError, sendJson, type Authorize, type HttpHandler } from '../metrics/http';
import { computeRates } from '../metrics/rates';
import type { StatsSource } from '../metrics/source';
import type { HubMetricsSnapshot } from '../metrics/types';
import type { DashboardCalls } from './calls';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './page';
import { openSse } from './sse';

export interface DashboardOptions {
  source: StatsSource;
  authorize?: Authorize;
  /** Calls and tails go through this; without it the page is read-only and cannot tail. */
  calls?: DashboardCalls;
  /** Let the page call events (`calls` needed). @default false */
  allowCalls?: boolean;
  /** ms between live updates. @default 1000 */
  interval?: number;
  /** ms a call from the page may take. @default 30000 */
  callTimeout?: number;
  /** Largest request body, bytes. @default 1048576 */
  maxBodyBytes?: number;
}

const NAME = /^[^\u0000-\u001f]{1,256}$/;

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(Object.assign(new Error(`request body over ${limit} bytes`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export function dashboardHandler(options: DashboardOptions): HttpHandler {
  const { source, authorize, calls } = options;
  const allowCalls = options.allowCalls === true && calls !== undefined;
  const interval = options.interval ?? 1000;
  const callTimeout = options.callTimeout ?? 30_000;
  const maxBody = options.maxBodyBytes ?? 1 << 20;
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    'GET /': page,
    'GET /index.html': page,
    'GET /api/config': config,
    'GET /api/live': live,
    'POST /api/call': call,
    'GET /api/tail': tail,
  };
  return (req, res, next) => {
    const path = pathOf(req);
    const route = routes[`${req.method === 'HEAD' ? 'GET' : req.method} ${path}`];
    if (!route) {
      if (Object.keys(routes).some((k) => k.endsWith(` ${path}`))) sendError(res, 405, `${req.method} is not allowed on ${path}`, 'PIPEIO_ERR_PROTOCOL');
      else if (next) next();
      else sendError(res, 404, `no route ${path}`, 'PIPEIO_ERR_PROTOCOL');
      return;
    }
    void (async () => {
      if (!(await allowed(authorize, req, res))) return;
      await route(req, res);
    })().catch((err: unknown) => sendError(res, 503, (err as Error)?.message ?? String(err), (err as { code?: string })?.code ?? 'PIPEIO_ERR_CONNECTION'));
  };

  async function page(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(DASHBOARD_HTML),
      'content-security-policy': DASHBOARD_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : DASHBOARD_HTML);
  }

  async function config(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    sendJson(res, 200, { calls: allowCalls, tail: calls !== undefined, interval });
  }

  async function live(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sse = openSse(req, res);
    let prev: HubMetricsSnapshot | undefined;
    let busy = false;
    const tick = async (): Promise<void> => {
      if (busy || sse.closed) return;
      busy = true;
      try {
        const snap = await source.snapshot({ topology: true, limit: 500 });
        sse.send('stats', { snapshot: snap, rates: computeRates(prev, snap) });
        prev = snap;
      } catch (err) {
        sse.send('failure', { error: (err as Error).message, code: (err as { code?: string }).code });
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), interval);
    sse.onClose(() => clearInterval(timer));
    await tick();
  }

  async function call(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowCalls || !calls) return sendError(res, 403, 'calls from the dashboard are disabled (enable them to use the form)', 'PIPEIO_ERR_FORBIDDEN');
    if (!sameOrigin(req)) return sendError(res, 403, 'cross-origin request refused', 'PIPEIO_ERR_FORBIDDEN');
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return sendError(res, 415, 'content-type must be application/json', 'PIPEIO_ERR_INVALID_JSON');
    let body: { channel?: unknown; event?: unknown; data?: unknown; stream?: unknown };
    try {
      body = JSON.parse(await readBody(req, maxBody)) as typeof body;
    } catch (err) {
      const status = (err as { status?: number }).status ?? 400;
      return sendError(res, status, status === 413 ? (err as Error).message : `the body is not JSON: ${(err as Error).message}`, status === 413 ? 'PIPEIO_ERR_LIMIT' : 'PIPEIO_ERR_INVALID_JSON');
    }
    const { channel, event, data } = body ?? {};
    if (typeof channel !== 'string' || !NAME.test(channel) || typeof event !== 'string' || !NAME.test(event)) {
      return sendError(res, 400, 'channel and event must be non-empty strings', 'PIPEIO_ERR_PROTOCOL');
    }
    if (body.stream !== true) {
      const r = await calls.call(channel, event, data ?? null, callTimeout);
      sendJson(res, r.ok ? 200 : 502, r);
      return;
    }
    const sse = openSse(req, res);
    const r = await calls.stream(channel, event, data ?? null, callTimeout, (chunk) => sse.send('chunk', chunk));
    sse.send(r.ok ? 'end' : 'error', r);
    sse.close();
  }

  async function tail(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!calls) return sendError(res, 403, 'this dashboard has no hub connection to tail topics with', 'PIPEIO_ERR_FORBIDDEN');
    const q = queryOf(req);
    const channel = q.get('channel') ?? '';
    const topic = q.get('topic') ?? '';
    if (!NAME.test(channel) || !NAME.test(topic)) return sendError(res, 400, 'channel and topic are required', 'PIPEIO_ERR_PROTOCOL');
    const sse = openSse(req, res);
    try {
      const remove = await calls.tail(channel, topic, (data) => void sse.send('message', { data, time: Date.now() }));
      sse.onClose(remove);
      sse.send('subscribed', { channel, topic });
    } catch (err) {
      sse.send('error', { error: (err as Error).message, code: (err as { code?: string }).code });
      sse.close();
    }
  }
}
