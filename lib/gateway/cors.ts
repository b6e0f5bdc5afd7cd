/**
 * CORS, off unless configured: without `options.cors` no CORS header is ever
 * written (browsers then refuse cross-origin reads). With it, an allowed
 * Origin is echoed (never `*` with credentials) and preflights are answered.
 */
import type * as http from 'node:http';
import type { CorsOptions } from './options';

const DEFAULT_HEADERS = ['authorization', 'content-type', 'last-event-id', 'range', 'x-filename'];

/** Sets the CORS headers for `req`; true if this was a preflight and it has been answered. */
export function applyCors(cors: CorsOptions | undefined, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (!cors) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  const allowed = cors.origins === '*' || cors.origins.includes(origin);
  if (!allowed) return false;
  res.setHeader('access-control-allow-origin', cors.origins === '*' ? '*' : origin);
  if (cors.origins !== '*') res.setHeader('vary', 'Origin');
  res.setHeader('access-control-expose-headers', 'content-range, accept-ranges, content-length, etag, retry-after');
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, HEAD, POST, PUT, OPTIONS',
      'access-control-allow-headers': (cors.headers ?? DEFAULT_HEADERS).join(', '),
      'access-control-max-age': String(cors.maxAge ?? 600),
      'content-length': 0,
    });
    res.end();
    return true;
  }
  return false;
}

/** True if a browser WebSocket from `origin` may connect (no Origin: not a browser, allowed). */
export function originAllowed(allowed: readonly string[] | '*' | undefined, req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed === '*') return true;
  if (allowed?.includes(origin)) return true;
  // Same origin: the Origin's host is the Host we were reached at.
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
