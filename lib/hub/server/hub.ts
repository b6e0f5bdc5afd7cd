/**
 * Hub: a comm-ipc-compatible message hub. Listeners (Unix socket, TCP, TLS)
 * feed connections; connections feed one routing core; all listeners share
 * its state.
 *
 *   idle --listen()--> running --stop()--> closing --> closed
 *          (listen() may be called again while running: one more listener)
 *
 * stop(): close every listener (our socket files removed), close every
 * connection, clear the sweep timer, emit 'close'. Idempotent.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { pipeIOError, type PipeIOError } from '../../errors';
import { connectionSecretHash } from '../security/signing';
import { bindUnixSocket, type BoundSocket } from '../../socket/bind-unix';
import { removeSocketIfSame } from '../../socket/socket-path';
import { encodeFrame } from '../protocol/codec';
import { PartialFrameBudget } from '../protocol/frame-reader';
import { CLOSE_FLUSH_MS, HubConnection, type ConnectionContext } from './connection';
import { HubCore } from './core';
import { resolveHubOptions, type HubOptions, type ResolvedHubOptions } from './options';
import { Federation, type ClusterEvent } from '../federation/federation';
import { NatsTransport } from '../federation/nats-transport';
import { attachPlugin, type HubPlugin, type HubPluginOptions } from '../plugins';
import { HubInstrument } from '../../metrics/hub-instrument';
import type { Transport } from '../../metrics/hub-metrics';
import type { MetricsSnapshotOptions } from '../../metrics/hub-snapshot';
import type { HealthReport, HubMetricsSnapshot } from '../../metrics/types';

export type { HubOptions } from './options';

/** Where to listen: a Unix socket path, or TCP (optionally TLS). */
export type HubListenOptions =
  | { path: string; mode?: number }
  | { host?: string; port: number; tls?: tls.TlsOptions & { key: string | Buffer; cert: string | Buffer } };

/** Where a listener ended up (the real port when 0 was asked). */
export type HubAddress = { path: string } | { host: string; port: number; tls: boolean };

export type HubState = 'idle' | 'running' | 'closing' | 'closed';

export interface HubEvents {
  /** A listener is accepting. */
  listening: [address: HubAddress];
  /** A client finished its handshake. */
  connection: [clientId: string];
  /** An identified client left. */
  disconnect: [clientId: string];
  /** A client did something wrong (bad frame, refused proof, errorPolicy reports...). The hub keeps serving. */
  clientError: [err: PipeIOError, clientId: string | undefined];
  /** stop() finished. */
  close: [];
  /** Federated hubs only: the NATS link went up/down, another hub joined/left, or a cluster error. */
  cluster: [event: ClusterEvent];
}

/** Counters for monitoring and tests; every table behind them is bounded. */
export interface HubStats {
  connections: number;
  clients: number;
  channels: number;
  /** Events with at least one provider. */
  events: number;
  topics: number;
  pendingCalls: number;
  orphanResponses: number;
  /** Bytes held by partial frames (frames still arriving), over all connections; capped by maxPartialFrameBytes. */
  partialFrameBytes: number;
}

interface Listener {
  server: net.Server;
  address: HubAddress;
  bound?: BoundSocket;
}

const SWEEP_INTERVAL_MS = 1000;
/** Refused connections (over maxConnections) that may wait for their error frame to leave. */
const MAX_REFUSING = 256;

function addressName(a: HubAddress): string {
  return 'path' in a ? `unix:${a.path}` : `${a.tls ? 'tls' : 'tcp'}:${a.host}:${a.port}`;
}

export class Hub extends EventEmitter<HubEvents> {
  readonly serverId: string;
  private readonly options: ResolvedHubOptions;
  private readonly core: HubCore;
  private readonly servers: Listener[] = [];
  private readonly connections = new Set<HubConnection>();
  private readonly context: ConnectionContext;
  private stateValue: HubState = 'idle';
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopPromise: Promise<void> | undefined;
  /** Sockets over maxConnections being told so. */
  private refusing = 0;
  private readonly federation: Federation | undefined;
  private readonly instrument: HubInstrument;

  /** @throws TypeError/RangeError for bad options. */
  constructor(options: HubOptions = {}) {
    super();
    this.options = resolveHubOptions(options);
    this.serverId = this.options.serverId;
    this.core = new HubCore(
      {
        serverId: this.serverId,
        channelPolicy: this.options.channelPolicy,
        lbPolicy: this.options.lbPolicy,
        errorPolicy: this.options.errorPolicy,
        channelPasswords: this.options.channelPasswords,
        maxPendingCalls: this.options.maxPendingCalls,
      },
      {
        onClientError: (err, id) => {
          this.instrument.clientError(err.code, 'core');
          this.emit('clientError', err, id);
        },
        onStateChange: () => this.federation?.onLocalChange(),
        onSystemCall: (event, data) => this.instrument.systemCall(event, data),
      },
    );
    this.instrument = new HubInstrument(
      {
        serverId: this.serverId,
        core: this.core,
        maxConnections: this.options.maxConnections,
        state: () => this.stateValue,
        listeners: () => this.servers.map((l) => ({ name: addressName(l.address), listening: l.server.listening })),
        connections: () => this.connections,
        federation: () => this.federation,
      },
      this.options.metrics,
    );
    if (this.options.nats && this.options.cluster) {
      const transport = this.instrument.transport(new NatsTransport(this.options.nats), this.options.cluster.subjectPrefix);
      this.federation = new Federation(this.core, this.options.cluster, transport, (ev) => {
        this.instrument.cluster(ev);
        this.emit('cluster', ev);
      });
    }
    this.context = {
      core: this.core,
      limits: {
        maxFrameSize: this.options.maxFrameSize,
        maxQueueBytes: this.options.maxQueueBytes,
        idleTimeout: this.options.idleTimeout,
        dataTimeout: this.options.dataTimeout,
        handshakeTimeout: this.options.handshakeTimeout,
        minFrameReadBytes: this.options.minFrameReadBytes,
      },
      secretHash: this.options.secret === undefined ? undefined : connectionSecretHash(this.options.secret),
      allowBridges: this.options.allowBridges,
      budget: new PartialFrameBudget(this.options.maxPartialFrameBytes),
      onIdentified: (conn) => this.emit('connection', conn.id),
      onClosed: (conn) => {
        this.connections.delete(conn);
        this.instrument.closed(conn);
        if (conn.id && conn.identifiedOnce) this.emit('disconnect', conn.id);
      },
      onError: (err, id) => {
        this.instrument.clientError(err.code, 'connection');
        this.emit('clientError', err, id);
      },
    };
    this.instrument.start();
  }

  get state(): HubState {
    return this.stateValue;
  }

  /** Every address this hub listens on. */
  get addresses(): HubAddress[] {
    return this.servers.map((l) => l.address);
  }

  /** The routing core, for the federation layer (not part of the public API). */
  get routingCore(): HubCore {
    return this.core;
  }

  /**
   * Runs `command` as plugin instances that are members of this hub and
   * provide `options.channel`:`options.event` over JSON lines on their pipes
   * (docs/hub-plugins.md). Stopped with the hub, or by `plugin.stop()`.
   */
  async attachPlugin(command: string, args: readonly string[], options: HubPluginOptions): Promise<HubPlugin> {
    const plugin = await attachPlugin(this.core, command, args, options);
    this.instrument.plugin(plugin);
    const stopPlugin = (): void => void plugin.stop().catch(() => undefined);
    this.once('close', stopPlugin);
    plugin.once('close', () => this.removeListener('close', stopPlugin));
    return plugin;
  }

  stats(): HubStats {
    return {
      connections: this.connections.size,
      clients: this.core.clients.size,
      channels: this.core.channels.size,
      events: this.core.providers.size,
      topics: this.core.topics.size,
      pendingCalls: this.core.requests.size,
      orphanResponses: this.core.requests.orphanResponses,
      partialFrameBytes: this.context.budget.used,
    };
  }

  /**
   * Every metric of the hub as JSON (docs/observability.md): counters,
   * gauges and latency histograms as Prometheus-shaped families, health, and
   * with `{ topology: true }` its channels, events, topics, peers and plugins.
   * @throws PipeIOError PIPEIO_ERR_INVALID_STATE if made with `metrics: false`.
   */
  metrics(options?: MetricsSnapshotOptions): HubMetricsSnapshot {
    return this.instrument.snapshot(options);
  }

  /** Liveness (running, every listener up) and readiness (accepting, federation link up): what /healthz and /readyz answer. */
  health(): HealthReport {
    return this.instrument.health();
  }

  /**
   * Starts one more listener. A Unix socket is created 0600 (or `mode`)
   * whatever the umask; a stale socket file is replaced, a live hub's is
   * refused (`PIPEIO_ERR_ADDRESS_IN_USE`), a non-socket is never touched
   * (`PIPEIO_ERR_NOT_A_SOCKET`). The socket's directory must exist: the hub
   * creates none (`PIPEIO_ERR_NO_DIRECTORY`). TCP with `tls` serves TLS.
   */
  async listen(where: HubListenOptions): Promise<HubAddress> {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') {
      throw pipeIOError('PIPEIO_ERR_CLOSED', 'the hub is stopped');
    }
    let listener: Listener;
    if ('path' in where) {
      if (typeof where.path !== 'string' || where.path === '') throw new TypeError('path must be a non-empty string');
      const socketPath = path.resolve(where.path);
      const server = net.createServer((s) => this.accept(s, 'unix'));
      const bound = await bindUnixSocket(server, socketPath, where.mode ?? 0o600, { createParents: false });
      listener = { server, address: { path: socketPath }, bound };
    } else {
      const server = where.tls ? tls.createServer(where.tls, (s) => this.accept(s, 'tls')) : net.createServer((s) => this.accept(s, 'tcp'));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: where.host ?? '127.0.0.1', port: where.port }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      const addr = server.address() as net.AddressInfo;
      listener = { server, address: { host: addr.address, port: addr.port, tls: !!where.tls } };
    }
    listener.server.on('error', (err) => this.emit('clientError', pipeIOError('PIPEIO_ERR_CONNECTION', err.message, { cause: err }), undefined));
    if (this.stateValue !== 'idle' && this.stateValue !== 'running') {
      listener.server.close();
      if (listener.bound) removeSocketIfSame((listener.address as { path: string }).path, listener.bound);
      throw pipeIOError('PIPEIO_ERR_CLOSED', 'the hub was stopped while starting to listen');
    }
    this.servers.push(listener);
    this.stateValue = 'running';
    this.federation?.start();
    this.sweepTimer ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
    this.emit('listening', listener.address);
    return listener.address;
  }

  private accept(socket: net.Socket, transport: Transport): void {
    if (this.stateValue !== 'running') {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.options.maxConnections) {
      this.refuse(socket);
      return;
    }
    const conn = new HubConnection(socket, this.context);
    this.connections.add(conn);
    this.instrument.accepted(conn, transport);
  }

  /**
   * A connection over `maxConnections`: a coded `error` frame, then the end.
   * What it sent meanwhile is read and dropped, so that the close is not a
   * reset that would discard the error before the client reads it. At most
   * MAX_REFUSING such sockets linger (CLOSE_FLUSH_MS each); past that, a flood
   * is simply reset.
   */
  private refuse(socket: net.Socket): void {
    socket.on('error', () => undefined);
    if (this.refusing >= MAX_REFUSING) {
      socket.destroy();
      return;
    }
    this.refusing++;
    const timer = setTimeout(() => socket.destroy(), CLOSE_FLUSH_MS).unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.refusing--;
    });
    socket.resume(); // read and drop
    const err = pipeIOError('PIPEIO_ERR_LIMIT', `Too many connections (limit ${this.options.maxConnections})`);
    socket.end(encodeFrame({ type: 'error', message: err.message, code: err.code }));
    this.emit('clientError', err, undefined);
  }

  private sweep(): void {
    const now = Date.now();
    for (const conn of this.connections) conn.checkTimeouts(now);
    this.core.challenges.sweep(now);
    this.core.remotes.sweep(now);
  }

  /** Stops listening and closes every connection. Idempotent; concurrent calls share one promise. */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stateValue = 'closing';
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.instrument.stop();
    const closing = this.servers.map(
      (l) =>
        new Promise<void>((resolve) => {
          l.server.close(() => resolve());
          if (l.bound) removeSocketIfSame((l.address as { path: string }).path, l.bound);
        }),
    );
    this.core.quiet = true;
    for (const conn of [...this.connections]) conn.close(pipeIOError('PIPEIO_ERR_CLOSED', 'the hub is stopping'));
    await this.federation?.stop();
    await Promise.all(closing);
    this.stateValue = 'closed';
    process.nextTick(() => this.emit('close'));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
