/**
 * HubGateway: the hub on the web. One request handler that works in
 * `http.createServer`, as Express/Connect middleware (`next()` for paths it
 * does not own), in Fastify ({@link HubGateway.fastify}), or on its own
 * ({@link HubGateway.listen}, loopback by default). Other modules mount
 * routes on it ({@link HubGateway.mount}, {@link HubGateway.route}).
 *
 *   idle --start()/listen()--> running --close()--> closed
 *
 * Default routes (under `prefix`): POST /channels/{channel}/{event} (call;
 * SSE with Accept: text/event-stream), GET|POST /channels/{channel}/topics/{topic}
 * (follow as SSE | publish), GET|HEAD|PUT /channels/{channel}/files/{event}
 * (download with Range | upload), GET /channels/{channel}/ws (WebSocket),
 * GET /openapi.json (the live document). comm-ipc's CommAPI mappings are
 * the add* methods.
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as net from 'node:net';
import type { WebSocketServer } from 'ws';
import { pipeIOError, PipeIOError } from '../errors';
import type { HubClient } from '../hub/client/hub-client';
import { packageVersion } from '../cli/common';
import { handleCall, sendJson, type DataSource } from './calls';
import type { GatewayContext, GatewayCounters } from './context';
import { applyCors, originAllowed } from './cors';
import { TopicFanout } from './fanout';
import { handleDownload, transferParams } from './files';
import { httpError, sendError, statusOf } from './http-errors';
import { GatewayHub, type GatewaySource } from './hub-side';
import { buildDocument, eventOperations, pathName, topicOperations, type DocBuilder, type PathContributor } from './openapi';
import { resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from './options';
import { RequestContext, Router, splitPath, type MountHandler, type RouteContext, type RouteHandler, type RouteOptions } from './router';
import { handlePublish, handleSubscribe } from './topics';
import { handleUpload } from './upload';
import { makeWsServer, refuseUpgrade, serveSocket, upgradePath, type SocketKind } from './websocket';
import type { ChannelRef, FastifyLike, GatewayEvents, GatewayListenOptions, GatewayState, MountOptions } from './types';

export type { GatewayState, GatewayEvents, MountOptions, GatewayListenOptions, FastifyLike, ChannelRef } from './types';

const channelName = (c: ChannelRef): string => (typeof c === 'string' ? c : c.name);

interface SocketRoute {
  kind: SocketKind;
  channel?: string;
  event?: string;
}

export class HubGateway extends EventEmitter<GatewayEvents> {
  readonly options: ResolvedGatewayOptions;
  private readonly side: GatewayHub;
  private readonly fanout = new TopicFanout();
  private readonly router = new Router();
  private readonly sockets = new Router();
  private readonly contributors = new Set<PathContributor>();
  private readonly ctx: GatewayContext;
  private readonly counters: GatewayCounters = {
    requests: 0,
    calls: 0,
    streams: 0,
    errors: 0,
    slowReadersCut: 0,
    clientAborts: 0,
    uploadBytes: 0,
    downloadBytes: 0,
  };
  private stateValue: GatewayState = 'idle';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private doc: { version: number; json: string } | undefined;
  private docVersion = 0;
  private wss: WebSocketServer | undefined;
  private readonly servers = new Set<http.Server>();
  private readonly detachers = new Set<() => void>();

  /** The request handler for `http.createServer(gateway.handler)`: answers 404 for paths it does not own. */
  readonly handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;

  /**
   * @param source `{ address }` (a hub's Unix socket or TCP address), `{ hub }`
   *   (our Hub in this process, listening), or `{ client }` (a HubClient you manage).
   * @throws {TypeError|RangeError} For bad options.
   */
  constructor(source: GatewaySource, options: GatewayOptions = {}) {
    super();
    this.options = resolveGatewayOptions(options);
    this.side = new GatewayHub(source, {
      clientOptions: this.options.clientOptions,
      channels: this.options.channels,
      passwords: this.options.passwords,
      topics: this.options.topics,
      maxChannels: this.options.maxChannels,
    });
    this.ctx = { hub: this.side, options: this.options, fanout: this.fanout, counters: this.counters };
    this.side.catalog.on('change', () => {
      this.docVersion++;
      this.emit('change');
    });
    this.side.catalog.on('schemaError', (err, ch, ev) => this.emit('schemaError', err, ch, ev));
    this.handler = (req, res) => void this.handle(req, res);
    if (this.options.defaultRoutes) this.addDefaultRoutes();
    if (this.options.openapiPath !== false) {
      this.router.add('GET', this.options.openapiPath, (rc) => this.serveDocument(rc));
    }
  }

  get state(): GatewayState {
    return this.stateValue;
  }

  /** The hub client the gateway uses. */
  get client(): HubClient {
    return this.side.client;
  }

  /** Counters, and the readers following topics now. */
  stats(): GatewayCounters & { topics: number; topicReaders: number } {
    return { ...this.counters, topics: this.fanout.size, topicReaders: this.fanout.readers };
  }

  /** Connects to the hub and opens the configured channels. Idempotent. */
  start(): Promise<void> {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return Promise.reject(pipeIOError('PIPEIO_ERR_CLOSED', 'the gateway is closed'));
    this.startPromise ??= this.side.start().then(() => {
      if (this.stateValue === 'idle') this.stateValue = 'running';
    });
    return this.startPromise;
  }

  // -- serving ------------------------------------------------------------

  /**
   * Handles one request. With `next` (Connect/Express), paths the gateway
   * does not own are passed on; without it they get a JSON 404.
   */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, next?: (err?: unknown) => void): Promise<void> {
    this.counters.requests++;
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const rawPath = q < 0 ? url : url.slice(0, q);
      const prefix = this.options.prefix;
      if (prefix !== '' && rawPath !== prefix && !rawPath.startsWith(`${prefix}/`)) return this.pass(req, res, next);
      const path = rawPath.slice(prefix.length) || '/';
      const method = req.method ?? 'GET';
      if (applyCors(this.options.cors, req, res)) return;
      const match = this.router.match(method, path, splitPath(path));
      if (match.kind === 'none') return this.pass(req, res, next);
      if (match.kind === 'method') {
        throw httpError(405, 'PIPEIO_ERR_INVALID_MESSAGE', `method ${method} is not allowed here`, { allow: match.allow.join(', ') });
      }
      if (this.stateValue === 'closing' || this.stateValue === 'closed') throw pipeIOError('PIPEIO_ERR_CLOSED', 'the gateway is closing');
      if (!match.options.public && this.options.authorize) await this.authorize(req);
      if (match.kind === 'mount') {
        match.handler(req, res, () => this.pass(req, res, next));
        return;
      }
      await match.handler(new RequestContext(req, res, match.params, path, q < 0 ? '' : url.slice(q + 1)));
    } catch (err) {
      this.counters.errors++;
      sendError(res, err);
    }
  }

  private pass(req: http.IncomingMessage, res: http.ServerResponse, next?: (err?: unknown) => void): void {
    if (next) {
      next();
      return;
    }
    sendError(res, httpError(404, 'PIPEIO_ERR_INVALID_MESSAGE', `no route for ${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`));
  }

  private async authorize(req: http.IncomingMessage): Promise<void> {
    const hook = this.options.authorize;
    if (!hook) return;
    let ok: boolean;
    try {
      ok = await hook(req);
    } catch (err) {
      if (err instanceof PipeIOError) throw err;
      throw httpError(403, 'PIPEIO_ERR_FORBIDDEN', err instanceof Error ? err.message : 'forbidden');
    }
    if (ok !== true) throw httpError(401, 'PIPEIO_ERR_AUTH', 'not authorized', { 'www-authenticate': 'Bearer' });
  }

  /** Connect/Express middleware: `app.use(gateway.middleware())`. Mount it before body parsers. */
  middleware(): (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void) => void {
    return (req, res, next) => void this.handle(req, res, next);
  }

  /** True if a request for `method url` would be handled by the gateway (not passed on). */
  owns(method: string, url: string): boolean {
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const prefix = this.options.prefix;
    if (prefix !== '' && rawPath !== prefix && !rawPath.startsWith(`${prefix}/`)) return false;
    const path = rawPath.slice(prefix.length) || '/';
    let segments: string[];
    try {
      segments = splitPath(path);
    } catch {
      return true; // the gateway answers 400
    }
    return this.router.match(method, path, segments).kind !== 'none';
  }

  /**
   * A Fastify plugin: `await app.register(gateway.fastify())`. The gateway
   * answers its own paths raw (before Fastify parses a body) and takes the
   * server's WebSocket upgrades for its socket routes.
   */
  fastify(): ((instance: FastifyLike, opts: unknown, done: (err?: Error) => void) => void) & { [k: symbol]: unknown } {
    const plugin = (instance: FastifyLike, _opts: unknown, done: (err?: Error) => void): void => {
      instance.addHook('onRequest', (request, reply, next) => {
        if (!this.owns(request.raw.method ?? 'GET', request.raw.url ?? '/')) return next();
        reply.hijack();
        void this.handle(request.raw, reply.raw);
      });
      this.attach(instance.server);
      done();
    };
    // Hooks apply to the whole app, not only to an encapsulated context (fastify-plugin's marker).
    return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  }

  /**
   * Serves the gateway's WebSocket routes on `server`'s upgrades (other
   * paths are left to other listeners, or refused with 404 if there are
   * none). Returns the remover. `listen()` and `fastify()` call it themselves.
   */
  attach(server: http.Server): () => void {
    const onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer): void => this.upgrade(server, req, socket, head);
    server.on('upgrade', onUpgrade);
    const remove = (): void => {
      server.removeListener('upgrade', onUpgrade);
      this.detachers.delete(remove);
    };
    this.detachers.add(remove);
    return remove;
  }

  private upgrade(server: http.Server, req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    socket.on('error', () => undefined);
    void (async () => {
      const prefix = this.options.prefix;
      const rawPath = upgradePath(req);
      const inPrefix = prefix === '' || rawPath === prefix || rawPath.startsWith(`${prefix}/`);
      let match: ReturnType<Router['match']> = { kind: 'none' };
      try {
        if (inPrefix) match = this.sockets.match('GET', rawPath.slice(prefix.length) || '/', splitPath(rawPath.slice(prefix.length) || '/'));
      } catch {
        return refuseUpgrade(socket, 400, 'PIPEIO_ERR_INVALID_MESSAGE', 'bad path');
      }
      if (match.kind !== 'route') {
        // Another upgrade listener may own this path; alone, we refuse it.
        if (server.listenerCount('upgrade') <= 1) refuseUpgrade(socket, 404, 'PIPEIO_ERR_INVALID_MESSAGE', 'no WebSocket route here');
        return;
      }
      if (!originAllowed(this.options.wsOrigins, req)) return refuseUpgrade(socket, 403, 'PIPEIO_ERR_FORBIDDEN', 'origin not allowed');
      try {
        if (!match.options.public) await this.authorize(req);
        if (this.stateValue === 'closing' || this.stateValue === 'closed') throw pipeIOError('PIPEIO_ERR_CLOSED', 'the gateway is closing');
        const route = (match.handler as unknown as { socket: SocketRoute }).socket;
        const channel = route.channel ?? match.params['channel']!;
        const ch = await this.side.channel(channel);
        this.wss ??= makeWsServer(this.options.wsMaxPayload);
        this.wss.handleUpgrade(req, socket, head, (ws) => serveSocket(this.ctx, ws, ch, route.kind, route.event));
      } catch (err) {
        const status = statusOf(err);
        const message = status >= 500 && !(err instanceof PipeIOError) ? 'internal error' : (err as Error).message;
        refuseUpgrade(socket, status, (err as { code?: string }).code ?? 'PIPEIO_ERR_INTERNAL', message);
      }
    })();
  }

  /**
   * Listens on its own HTTP server (loopback unless told otherwise), after
   * start(). Resolves with the address.
   */
  async listen(where: GatewayListenOptions = {}): Promise<{ host: string; port: number; server: http.Server }> {
    await this.start();
    const server = http.createServer(this.handler);
    server.headersTimeout = 20_000;
    server.keepAliveTimeout = 5_000;
    this.attach(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: where.host ?? '127.0.0.1', port: where.port ?? 0 }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    this.servers.add(server);
    const addr = server.address() as net.AddressInfo;
    return { host: addr.address, port: addr.port, server };
  }

  /** Stops: closes its own servers and sockets, drops the hub client it made. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.stateValue = 'closing';
    for (const d of [...this.detachers]) d();
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    const closing = [...this.servers].map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    );
    await Promise.all(closing);
    await this.side.close();
    this.stateValue = 'closed';
    process.nextTick(() => this.emit('close'));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -- extension ------------------------------------------------------------

  /** Adds a route (`/x/{param}` patterns; under the prefix). Returns the remover. */
  route(method: string, pattern: string, handler: RouteHandler, options: RouteOptions = {}): () => void {
    return this.router.add(method, pattern, handler, options);
  }

  /**
   * Hands every path under `prefix` (under the gateway's prefix) to a
   * Connect-style handler; `next()` answers 404. For other rooms (metrics,
   * health). Returns the remover.
   */
  mount(prefix: string, handler: MountHandler, options: MountOptions = {}): () => void {
    const remove = this.router.mount(prefix, handler, options);
    const contributor = options.openapi;
    if (contributor) this.addContributor(contributor);
    return () => {
      remove();
      if (contributor) this.removeContributor(contributor);
    };
  }

  private addContributor(c: PathContributor): void {
    this.contributors.add(c);
    this.docVersion++;
  }

  private removeContributor(c: PathContributor): void {
    this.contributors.delete(c);
    this.docVersion++;
  }

  // -- the OpenAPI document -------------------------------------------------

  /** The live OpenAPI 3.1 document. */
  document(): object {
    return JSON.parse(this.documentJson()) as object;
  }

  private documentJson(): string {
    if (this.doc?.version !== this.docVersion) {
      const built = buildDocument(this.side.catalog, this.options.prefix, this.contributors, {
        title: 'pipe-io-server hub gateway',
        version: packageVersion(),
      });
      this.doc = { version: this.docVersion, json: JSON.stringify(built) };
    }
    return this.doc.json;
  }

  private serveDocument(rc: RouteContext): void {
    const json = this.documentJson();
    const etag = `"${this.docVersion}"`;
    if (rc.req.headers['if-none-match'] === etag) {
      rc.res.writeHead(304, { etag }).end();
      return;
    }
    sendJson(rc.res, 200, json, { etag, 'cache-control': 'no-cache' });
  }

  // -- routes -----------------------------------------------------------------

  private addDefaultRoutes(): void {
    const gw = this.ctx;
    this.router.add('GET', '/channels/{channel}/topics/{topic}', (rc) => handleSubscribe(gw, rc, rc.params['channel']!, rc.params['topic']!));
    this.router.add('POST', '/channels/{channel}/topics/{topic}', (rc) => handlePublish(gw, rc, rc.params['channel']!, rc.params['topic']!));
    this.router.add('GET', '/channels/{channel}/files/{event}', (rc) =>
      handleDownload(gw, rc, rc.params['channel']!, rc.params['event']!, transferParams(rc, {})),
    );
    this.router.add('PUT', '/channels/{channel}/files/{event}', (rc) =>
      handleUpload(gw, rc, rc.params['channel']!, rc.params['event']!, transferParams(rc, {})),
    );
    this.router.add('GET', '/channels/{channel}/ws', () => {
      throw httpError(426, 'PIPEIO_ERR_INVALID_MESSAGE', 'this is a WebSocket route', { upgrade: 'websocket', connection: 'Upgrade' });
    });
    this.router.add('POST', '/channels/{channel}/{event}', (rc) => handleCall(gw, rc, rc.params['channel']!, rc.params['event']!, 'body'));
    this.sockets.add('GET', '/channels/{channel}/ws', Object.assign(() => undefined, { socket: { kind: 'channel' as const } }));
    this.addContributor((b) => this.defaultDoc(b));
  }

  /** The default routes of every channel and event the catalog knows. */
  private defaultDoc(b: DocBuilder): void {
    const cat = this.side.catalog;
    for (const ch of cat.channelNames()) {
      const c = pathName(ch);
      for (const e of cat.events(ch)) {
        b.add(`/channels/${c}/${pathName(e.name)}`, eventOperations(b, ch, e.name, e.isStream, e.parameters, e.returns, ['post']));
      }
      for (const t of cat.topics(ch)) {
        b.add(`/channels/${c}/topics/${pathName(t.name)}`, topicOperations(b, ch, t.name, t.schema, this.side.ownsTopic(ch, t.name)));
      }
    }
  }

  // -- comm-ipc CommAPI mappings -------------------------------------------

  /**
   * comm-ipc `add_event(channel, event_name, path, method)`: one event at
   * `path`. POST takes the JSON body as data, GET the query (coerced by
   * the event's schema). Stream events answer SSE when asked (GET: always).
   */
  addEvent(channel: ChannelRef, event: string, path: string, options: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' } = {}): () => void {
    const ch = channelName(channel);
    const method = (options.method ?? 'POST').toUpperCase();
    const source: DataSource = method === 'GET' ? 'query' : 'body';
    const remove = this.router.add(method, path, (rc) => {
      if (method === 'GET' && this.side.catalog.event(ch, event)?.isStream && !rc.req.headers.accept?.includes('text/event-stream')) {
        (rc.req.headers as Record<string, string>)['accept'] = 'text/event-stream'; // comm-ipc serves stream events as SSE on GET
      }
      return handleCall(this.ctx, rc, ch, event, source);
    });
    const contributor: PathContributor = (b) => {
      const e = this.side.catalog.event(ch, event);
      b.add(path, eventOperations(b, ch, event, e?.isStream ?? false, e?.parameters ?? null, e?.returns ?? null, [method.toLowerCase()]));
    };
    this.addContributor(contributor);
    return () => {
      remove();
      this.removeContributor(contributor);
    };
  }

  /**
   * comm-ipc `add_resource(channel, path_template)`: every event of the
   * channel at `template` with `{event}` in it. Live: events announced later
   * are served too (comm-ipc mounts a snapshot).
   */
  addResource(channel: ChannelRef, template = '/{event}', options: { method?: 'GET' | 'POST' } = {}): () => void {
    if (!template.includes('{event}')) throw new TypeError('template must contain {event}');
    const ch = channelName(channel);
    const method = (options.method ?? 'POST').toUpperCase();
    const remove = this.router.add(method, template, (rc) => handleCall(this.ctx, rc, ch, rc.params['event']!, method === 'GET' ? 'query' : 'body'));
    const contributor: PathContributor = (b) => {
      for (const e of this.side.catalog.events(ch)) {
        b.add(template.replace('{event}', pathName(e.name)), eventOperations(b, ch, e.name, e.isStream, e.parameters, e.returns, [method.toLowerCase()]));
      }
    };
    this.addContributor(contributor);
    return () => {
      remove();
      this.removeContributor(contributor);
    };
  }

  /** comm-ipc `add_subscription(channel, sub_name, path)`: the topic as SSE at `path` (`?limit=N`). */
  addSubscription(channel: ChannelRef, topic: string, path: string): () => void {
    const ch = channelName(channel);
    const remove = this.router.add('GET', path, (rc) => handleSubscribe(this.ctx, rc, ch, topic));
    const contributor: PathContributor = (b) => {
      const t = this.side.catalog.topics(ch).find((x) => x.name === topic);
      b.add(path, topicOperations(b, ch, topic, t?.schema ?? null, false));
    };
    this.addContributor(contributor);
    return () => {
      remove();
      this.removeContributor(contributor);
    };
  }

  /**
   * comm-ipc `add_file_stream(path, channel, event_name)`: a stream event as
   * a file with Range support. Path parameters (`/files/{name}`) and the
   * query go to the provider; `extractor` may replace them (and throw to refuse).
   */
  addFileStream(path: string, channel: ChannelRef, event: string, options: { extractor?: (rc: RouteContext) => Record<string, unknown> } = {}): () => void {
    const ch = channelName(channel);
    const params = (rc: RouteContext): Record<string, unknown> => (options.extractor ? options.extractor(rc) : transferParams(rc, rc.params));
    const remove = this.router.add('GET', path, (rc) => handleDownload(this.ctx, rc, ch, event, params(rc)));
    const contributor: PathContributor = (b) =>
      b.add(path, {
        get: {
          operationId: `download.${ch}.${event}`.replace(/[^A-Za-z0-9._-]/g, '_'),
          summary: `Download from ${ch}:${event} (Range supported)`,
          tags: [ch],
          parameters: [{ name: 'Range', in: 'header', required: false, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'The file', content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
            '206': { description: 'Part of the file (Content-Range)', content: { 'application/octet-stream': { schema: { type: 'string' } } } },
            '416': { description: 'Range not satisfiable' },
          },
        },
      });
    this.addContributor(contributor);
    return () => {
      remove();
      this.removeContributor(contributor);
    };
  }

  /** comm-ipc `add_file_upload(path, channel, event_name)`: the raw body streamed into the event in chunks (POST and PUT). */
  addFileUpload(path: string, channel: ChannelRef, event: string): () => void {
    const ch = channelName(channel);
    const removers = ['POST', 'PUT'].map((m) => this.router.add(m, path, (rc) => handleUpload(this.ctx, rc, ch, event, transferParams(rc, rc.params))));
    const contributor: PathContributor = (b) =>
      b.add(path, {
        post: {
          operationId: `upload.${ch}.${event}`.replace(/[^A-Za-z0-9._-]/g, '_'),
          summary: `Upload into ${ch}:${event} (streamed in chunks)`,
          tags: [ch],
          requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
          responses: { '200': { description: 'The result of the final chunk call', content: { 'application/json': { schema: {} } } } },
        },
      });
    this.addContributor(contributor);
    return () => {
      for (const r of removers) r();
      this.removeContributor(contributor);
    };
  }

  /** comm-ipc `add_websocket(path, channel, event_name)`: messages in call the event; the topic of the same name goes out. */
  addWebSocket(path: string, channel: ChannelRef, event: string): () => void {
    return this.sockets.add('GET', path, Object.assign(() => undefined, { socket: { kind: 'proxy' as const, channel: channelName(channel), event } }));
  }

  /** comm-ipc `add_rpc_websocket(path, channel, event_name)`: each message calls the event; its chunks (or result) go out. */
  addRpcWebSocket(path: string, channel: ChannelRef, event: string): () => void {
    return this.sockets.add('GET', path, Object.assign(() => undefined, { socket: { kind: 'rpc' as const, channel: channelName(channel), event } }));
  }
}
