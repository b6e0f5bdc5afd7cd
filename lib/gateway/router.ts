/**
 * The gateway's route table: `METHOD /a/{param}/b` patterns matched segment
 * by segment, and mounted prefixes handing a whole subtree to another
 * module (the metrics room mounts `/metrics` this way). Pure: no I/O.
 *
 * Path segments are percent-decoded once. A segment that decodes to `.` or
 * `..`, holds a control character (CR, LF, NUL...) or is not valid
 * percent-encoding is refused (400) before any handler sees it.
 */
import type * as http from 'node:http';
import { httpError } from './http-errors';

/** What a handler gets for one request. */
export interface RouteContext {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** Path parameters by name (decoded). */
  readonly params: Record<string, string>;
  /** The query string's parameters. */
  readonly query: URLSearchParams;
  /** The decoded path (without the gateway's prefix). */
  readonly path: string;
}

export type RouteHandler = (ctx: RouteContext) => void | Promise<void>;

/** The RouteContext of one request; its query is parsed on first use (most calls have none). */
export class RequestContext implements RouteContext {
  private parsed: URLSearchParams | undefined;

  constructor(
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    readonly params: Record<string, string>,
    readonly path: string,
    /** The query string, without its `?`. */
    private readonly search: string,
  ) {}

  get query(): URLSearchParams {
    return (this.parsed ??= new URLSearchParams(this.search));
  }
}

/** A handler for a mounted subtree: Connect-style, `next()` passes the request on. */
export type MountHandler = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void;

export interface RouteOptions {
  /** Skip the gateway's `authorize` hook for this route (health checks). @default false */
  public?: boolean;
}

interface Route {
  method: string;
  segments: ReadonlyArray<string | { param: string }>;
  handler: RouteHandler;
  options: RouteOptions;
  /** Who added it, so a group of routes can be removed together. */
  owner: object | undefined;
}

interface Mount {
  prefix: string;
  handler: MountHandler;
  options: RouteOptions;
}

/** A matched route, or the methods the path allows (405). */
export type Match =
  | { kind: 'route'; handler: RouteHandler; params: Record<string, string>; options: RouteOptions }
  | { kind: 'mount'; handler: MountHandler; options: RouteOptions }
  | { kind: 'method'; allow: string[] }
  | { kind: 'none' };

const BAD_SEGMENT = /[\u0000-\u001f\u007f]/;

/** Splits and decodes a path; throws 400 for a segment that cannot be a name. */
export function splitPath(pathname: string): string[] {
  const raw = pathname.split('/').slice(1);
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  return raw.map((s) => {
    let d = s;
    if (s.includes('%')) {
      try {
        d = decodeURIComponent(s);
      } catch {
        throw httpError(400, 'PIPEIO_ERR_INVALID_MESSAGE', 'the path is not valid percent-encoding');
      }
    }
    if (d === '.' || d === '..' || BAD_SEGMENT.test(d)) {
      throw httpError(400, 'PIPEIO_ERR_INVALID_MESSAGE', 'the path has a segment that cannot be a name');
    }
    return d;
  });
}

/** Parses `/channels/{channel}/{event}` into segments. */
function parsePattern(pattern: string): Array<string | { param: string }> {
  if (!pattern.startsWith('/')) throw new TypeError(`a route pattern must start with '/' (got ${JSON.stringify(pattern)})`);
  const parts = pattern.split('/').slice(1);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((p) => {
    const m = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(p);
    if (m) return { param: m[1]! };
    if (p.includes('{') || p.includes('}')) throw new TypeError(`a route segment is either literal or one {param} (got ${JSON.stringify(p)})`);
    return p;
  });
}

/** True if `segments` fit `pattern` (same length, equal literals). */
function matches(pattern: Route['segments'], segments: string[]): boolean {
  if (pattern.length !== segments.length) return false;
  for (let i = 0; i < segments.length; i++) {
    const s = pattern[i]!;
    if (typeof s === 'string' && s !== segments[i]) return false;
  }
  return true;
}

function paramsOf(pattern: Route['segments'], segments: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const s = pattern[i]!;
    if (typeof s !== 'string') params[s.param] = segments[i]!;
  }
  return params;
}

export class Router {
  private readonly routes: Route[] = [];
  private readonly mounts: Mount[] = [];

  /** Adds a route; returns its remover. Earlier routes win over later ones for the same path. */
  add(method: string, pattern: string, handler: RouteHandler, options: RouteOptions = {}, owner?: object): () => void {
    const route: Route = { method: method.toUpperCase(), segments: parsePattern(pattern), handler, options, owner };
    this.routes.push(route);
    return () => {
      const i = this.routes.indexOf(route);
      if (i >= 0) this.routes.splice(i, 1);
    };
  }

  /** Removes every route added with `owner`. */
  removeOwned(owner: object): void {
    for (let i = this.routes.length - 1; i >= 0; i--) if (this.routes[i]!.owner === owner) this.routes.splice(i, 1);
  }

  /** Hands every path under `prefix` to `handler`; returns the remover. */
  mount(prefix: string, handler: MountHandler, options: RouteOptions = {}): () => void {
    if (!prefix.startsWith('/')) throw new TypeError('a mount prefix must start with /');
    const m: Mount = { prefix: prefix.replace(/\/+$/, ''), handler, options };
    this.mounts.push(m);
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return () => {
      const i = this.mounts.indexOf(m);
      if (i >= 0) this.mounts.splice(i, 1);
    };
  }

  /** Finds what handles `method path`. */
  match(method: string, path: string, segments: string[]): Match {
    for (const m of this.mounts) {
      if (path === m.prefix || path.startsWith(`${m.prefix}/`) || m.prefix === '') {
        return { kind: 'mount', handler: m.handler, options: m.options };
      }
    }
    const allow = new Set<string>();
    for (const r of this.routes) {
      if (!matches(r.segments, segments)) continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) {
        return { kind: 'route', handler: r.handler, params: paramsOf(r.segments, segments), options: r.options };
      }
      allow.add(r.method);
    }
    if (allow.size > 0) return { kind: 'method', allow: [...allow] };
    return { kind: 'none' };
  }
}
