/**
 * ClusterTransport over NATS with `@nats-io/transport-node` (an optional peer
 * dependency, loaded here and only when a hub is given `nats` options).
 *
 *   connect(): dial --fail--> wait (backoff 100 ms .. 2 s) --> dial ... (until close())
 *              dial --ok--> 'up'; then NATS' own reconnect loop: 'down' ... 'up'
 *
 * Defaults differ from nats.js where a hub needs them to: reconnect forever
 * (maxReconnectAttempts -1), quickly (reconnectTimeWait 250 ms), and keep
 * subscriptions across reconnects (nats.js replays them itself). Every other
 * NATS connection option is passed through untouched.
 */
import { pipeIOError } from '../../errors';
import type { ClusterTransport, LinkStatus } from './transport';

/** NATS connection options (`servers`, `user`, `pass`, `token`, `tls`, `authenticator`, ...), passed to nats.js. */
export interface NatsOptions {
  servers?: string | string[];
  [option: string]: unknown;
}

// The few nats.js shapes used here, declared structurally so that neither our
// types nor our users' depend on the optional package being installed.
interface NatsMsg {
  data: Uint8Array;
}
interface Subscription {
  unsubscribe(): void;
}
interface NatsConnection {
  subscribe(subject: string, opts: { callback: (err: Error | null, msg: NatsMsg) => void }): Subscription;
  publish(subject: string, data: Uint8Array): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  isClosed(): boolean;
  status(): AsyncIterable<{ type: string }>;
}
interface NatsModule {
  connect(options: Record<string, unknown>): Promise<NatsConnection>;
}

function loadNats(): NatsModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@nats-io/transport-node') as NatsModule;
  } catch (err) {
    throw pipeIOError(
      'PIPEIO_ERR_FEDERATION',
      'options.nats needs the package @nats-io/transport-node: npm install @nats-io/transport-node',
      { cause: err },
    );
  }
}

const FIRST_DIAL_MIN_MS = 100;
const FIRST_DIAL_MAX_MS = 2000;
const REPORT_EVERY = 30;

export class NatsTransport implements ClusterTransport {
  private readonly options: NatsOptions;
  private readonly nats: NatsModule;
  private nc: NatsConnection | undefined;
  private readonly subs: Array<[string, (data: Uint8Array) => void]> = [];
  private readonly live: Subscription[] = [];
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;

  /** @throws PipeIOError PIPEIO_ERR_FEDERATION if @nats-io/transport-node is not installed. */
  constructor(options: NatsOptions) {
    this.options = options;
    this.nats = loadNats();
  }

  async connect(onStatus: (status: LinkStatus) => void, onError: (err: Error) => void): Promise<void> {
    let delay = FIRST_DIAL_MIN_MS;
    let failures = 0;
    while (!this.closed) {
      try {
        const nc = await this.nats.connect({
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          reconnectJitter: 100,
          timeout: 2000,
          ...this.options,
        });
        if (this.closed) {
          await nc.close();
          return;
        }
        this.nc = nc;
        for (const [subject, cb] of this.subs) this.attach(subject, cb);
        void this.watch(nc, onStatus, onError);
        return;
      } catch (err) {
        // The first failure, then one in REPORT_EVERY: an unreachable broker is one story, not a flood.
        if (failures++ % REPORT_EVERY === 0) onError(err as Error);
        await new Promise<void>((resolve) => {
          this.wakeRetry = resolve;
          this.retryTimer = setTimeout(resolve, delay);
        });
        this.retryTimer = undefined;
        delay = Math.min(delay * 2, FIRST_DIAL_MAX_MS);
      }
    }
  }

  private async watch(nc: NatsConnection, onStatus: (s: LinkStatus) => void, onError: (err: Error) => void): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') onStatus('down');
        else if (s.type === 'reconnect') onStatus('up');
        else if (s.type === 'error' || s.type === 'slowConsumer') onError(pipeIOError('PIPEIO_ERR_FEDERATION', `NATS ${s.type}`));
      }
    } catch (err) {
      onError(err as Error);
    }
  }

  subscribe(subject: string, onMessage: (data: Uint8Array) => void): void {
    this.subs.push([subject, onMessage]);
    if (this.nc) this.attach(subject, onMessage);
  }

  private attach(subject: string, onMessage: (data: Uint8Array) => void): void {
    const sub = this.nc!.subscribe(subject, {
      callback: (err, msg) => {
        if (!err) onMessage(msg.data);
      },
    });
    this.live.push(sub);
  }

  publish(subject: string, data: Uint8Array): void {
    this.nc?.publish(subject, data);
  }

  async flush(): Promise<void> {
    if (this.nc && !this.nc.isClosed()) await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    const nc = this.nc;
    this.nc = undefined;
    if (nc && !nc.isClosed()) await nc.close();
  }
}
