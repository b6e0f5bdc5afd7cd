/**
 * HubChannel: one opened comm-ipc channel of a {@link HubClient}. It keeps
 * everything a reconnect must restore (password, provider registrations with
 * their group flag and schemas, declared subscriptions, subscribed topics)
 * and what explore() reports (own registrations + channel_sync +
 * metadata_update).
 *
 *   opening --register ok--> open --client closes/gives up--> (dead with it)
 *                             \--link drops--> replay() on reconnect
 */
import { randomUUID } from 'node:crypto';
import { pipeIOError, type PipeIOError } from '../../errors';
import { SUBSCRIPTION_EVENT_PREFIX, type HubMessage } from '../protocol/messages';
import { channelProof, deriveMessageKey } from '../security/signing';
import type { CompiledSchema } from '../../schema/compile';
import { checked, checkedHandler, checkReceived, compileAnnounced, compileOption, namedRefusal, parsedPublications, wireSchema } from './checked';
import { HubGroup } from './group';
import { checkEventName, checkName } from './names';
import { responseHandlers, type PendingEntry, type PendingHandlers, type PendingOptions } from './pending';
import { isAsyncGeneratorFunction, serveCall, type ProviderHost, type Registration } from './provider';
import { RemoteSchemas } from './schemas';
import { buildEnvelope, verifyEnvelope } from './sign';
import { HubStream, type StreamHost } from './stream';
import type { SchemaInput } from '../../schema/compile';
import type {
  AddEventOptions,
  CallOptions,
  EventHandler,
  ExploreResult,
  HubMember,
  ReceiveListener,
  SchemaInfo,
  StreamHandler,
} from './types';

/** What a channel needs from its client (internal). */
export interface ChannelHost extends ProviderHost, StreamHost {
  readonly callTimeout: number | undefined;
  readonly requestTimeout: number;
  readonly streamHighWaterMark: number;
  /** Validate results, chunks and publications against the schema their sender announced. */
  readonly validateReceived: boolean;
  /** Sends `frame` with a fresh request id and resolves with the first response (rejects coded). */
  request(frame: Record<string, unknown>, label: string, extra?: Partial<PendingHandlers> & CallOptions): Promise<HubMessage>;
  /** Adds a request-table entry and sends `frame`; throws coded when not connected. */
  exchange(requestId: string, frame: object, handlers: PendingHandlers, options: PendingOptions): PendingEntry;
  /** Sends a frame that has no reply; rejects coded when not connected. */
  sendOneWay(frame: object): Promise<void>;
  emitDropped(msg: HubMessage, reason: PipeIOError): void;
}

/** A `send` is one-way: nobody can cancel it. */
const SEND_CONTEXT = { signal: new AbortController().signal };

/** Replay errors that end the attempt (the others are refusals of one item, reported). */
const LINK_FAILURES: ReadonlySet<string> = new Set([
  'PIPEIO_ERR_AUTH',
  'PIPEIO_ERR_CONNECTION',
  'PIPEIO_ERR_CLOSED',
  'PIPEIO_ERR_TIMEOUT',
]);

export class HubChannel {
  private passwordValue: string | undefined;
  private keyPromise: Promise<Buffer> | undefined;
  private readonly events = new Map<string, Registration>();
  private readonly listeners = new Map<string, Set<ReceiveListener>>();
  private readonly generic = new Set<ReceiveListener>();
  private readonly declared = new Map<string, unknown>();
  private readonly topicChecks = new Map<string, CompiledSchema>();
  /** Subscription listeners that validate with their own schema (announced schemas are then not used). */
  private readonly selfChecked = new WeakSet<ReceiveListener>();
  private readonly subscribed = new Map<string, ReceiveListener>();
  private readonly schemas = new RemoteSchemas();

  /** @internal Use {@link HubClient.open}. */
  constructor(
    readonly name: string,
    private readonly host: ChannelHost,
  ) {}

  /** The password this channel was opened (or set) with. */
  get password(): string | undefined {
    return this.passwordValue;
  }

  /** @internal Sets the password and starts deriving the message key on the thread pool. */
  setPassword(password: string | undefined): void {
    this.passwordValue = password;
    this.keyPromise = password === undefined ? undefined : deriveMessageKey(password, this.name);
    this.keyPromise?.catch(() => undefined);
  }

  /** @internal The message key, if the channel has a password. */
  messageKey(): Promise<Buffer | undefined> {
    return this.keyPromise ?? Promise.resolve(undefined);
  }

  /** @internal Sends the open `register` (answering a password challenge); resolves with `data.authenticated`. */
  async register(): Promise<boolean> {
    const res = await this.host.request(
      { type: 'register', client_id: this.host.clientId, channel: this.name, is_provider: false },
      `open ${this.name}`,
      { onChallenge: (msg) => this.answerChallenge(msg), timeout: this.host.requestTimeout },
    );
    const data = res.data as { authenticated?: unknown } | undefined;
    return data?.authenticated === true;
  }

  private answerChallenge(msg: HubMessage): PipeIOError | undefined {
    if (this.passwordValue === undefined) {
      return pipeIOError('PIPEIO_ERR_AUTH', `Channel ${this.name} requires authentication, but no password was provided.`);
    }
    this.host.sendFrame({
      type: 'register',
      request_id: msg.request_id,
      client_id: this.host.clientId,
      channel: this.name,
      proof: channelProof(this.passwordValue, String(msg['challenge'])),
      challenge_id: msg['challenge_id'],
    });
    return undefined;
  }

  // -- providers ------------------------------------------------------------

  /**
   * Registers this client as the provider of `event`. An `async function*`
   * (or `options.stream`) makes it a streaming event. The handler also hears
   * `send`s to the event. Resolves on the hub's first confirmation.
   */
  addEvent(event: string, handler: EventHandler | StreamHandler, options?: AddEventOptions): Promise<void> {
    return this.provide(event, handler, options, false);
  }

  /** @internal addEvent() with the group flag. */
  async provide(event: string, handler: EventHandler | StreamHandler, options: AddEventOptions = {}, isGroup: boolean): Promise<void> {
    checkEventName(event);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const isStream = options.stream === true || isAsyncGeneratorFunction(handler);
    // Compiled (or refused: PIPEIO_ERR_SCHEMA) before anything is sent.
    const params = compileOption(options.parameters);
    const returns = compileOption(options.returns);
    const reg: Registration = {
      event,
      handler: checkedHandler(handler, isStream, params, returns, `${this.name}:${event}`),
      isStream,
      isGroup,
      parameters: wireSchema(params),
      returns: wireSchema(returns),
    };
    // Known before the hub confirms: a call may follow the confirmation in the same read.
    const previous = this.events.get(event);
    this.events.set(event, reg);
    try {
      await this.registerEvent(reg);
    } catch (err) {
      if (this.events.get(event) === reg) {
        if (previous) this.events.set(event, previous);
        else this.events.delete(event);
      }
      throw err;
    }
  }

  private async registerEvent(reg: Registration): Promise<void> {
    await this.host.request(
      {
        type: 'register',
        client_id: this.host.clientId,
        channel: this.name,
        is_provider: true,
        event: reg.event,
        is_stream: reg.isStream,
        is_group: reg.isGroup,
        param_schema: reg.parameters,
        return_schema: reg.returns,
      },
      `register ${this.name}:${reg.event}`,
      { onChallenge: (msg) => this.answerChallenge(msg), timeout: this.host.requestTimeout },
    );
  }

  /** A load-balanced group: `group('workers')` prefixes event names with `workers.`; `group()` does not. */
  group(name?: string): HubGroup {
    if (name !== undefined) checkName(name, 'group');
    return new HubGroup(this, name);
  }

  // -- callers ------------------------------------------------------------

  /** Calls `event` and resolves with the whole response envelope (`res.data` is the result). */
  async call(event: string, data?: unknown, options: CallOptions = {}): Promise<HubMessage> {
    checkName(event, 'event');
    const key = await this.messageKey();
    const requestId = randomUUID();
    const frame = this.envelope('call', event, data, requestId, false, key);
    const res = await new Promise<HubMessage>((resolve, reject) => {
      const refused = (err: PipeIOError): void => reject(namedRefusal(err, `call ${this.name}:${event}`));
      this.host.exchange(requestId, frame, responseHandlers(resolve, refused), this.callOptions(event, options, requestId));
    });
    if (!this.host.validateReceived) return res;
    const schema = this.announced(event, 'event');
    return schema ? checkReceived(res, schema.compiled, `invalid result of ${this.name}:${event} from ${schema.owner}`) : res;
  }

  /**
   * The compiled schema a member announced for the results of `name` (an
   * event) or the payloads of `name` (a subscription): own registrations
   * first, then channel_sync / metadata_update. Undefined when none was.
   * @throws {PipeIOError} PIPEIO_ERR_SCHEMA when the announced schema cannot be used.
   */
  private announced(name: string, stype: 'event' | 'subscription'): { compiled: CompiledSchema; owner: string } | undefined {
    const own = stype === 'event' ? this.events.get(name)?.returns : this.declared.get(name);
    const remote = this.schemas.lookup(name);
    const entry = own !== undefined ? { owner: this.host.clientId, returns: own } : remote?.stype === stype ? remote : undefined;
    return compileAnnounced(entry, `${this.name}:${name}`);
  }

  /** Calls a streaming `event`; iterate the result for its chunks (each a whole envelope). */
  stream(event: string, data?: unknown, options: CallOptions = {}): HubStream {
    checkName(event, 'event');
    let check: ((msg: HubMessage) => HubMessage) | undefined;
    if (this.host.validateReceived) {
      const label = `${this.name}:${event}`;
      let i = 0;
      check = (msg) => {
        const schema = this.announced(event, 'event');
        const n = i++;
        return schema ? checkReceived(msg, schema.compiled, `invalid chunk ${n} of ${label} from ${schema.owner}`) : msg;
      };
    }
    return new HubStream(this.host, this.host.streamHighWaterMark, async (stream) => {
      const key = await this.messageKey();
      const requestId = randomUUID();
      const frame = this.envelope('call', event, data, requestId, true, key);
      return this.host.exchange(requestId, frame, stream, this.callOptions(event, options, requestId));
    }, check);
  }

  private callOptions(event: string, options: CallOptions, requestId: string): PendingOptions {
    const timeout = options.timeout ?? this.host.callTimeout;
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0)) {
      throw new RangeError('options.timeout must be a positive number of milliseconds');
    }
    const onCancel = (): void => void this.host.sendFrame({ type: 'cancel', channel: this.name, event, request_id: requestId });
    return { timeout, signal: options.signal, label: `call ${this.name}:${event}`, onCancel };
  }

  private envelope(type: 'call' | 'broadcast' | 'send', event: string, data: unknown, requestId: string | null, isStream: boolean, key: Buffer | undefined): Record<string, unknown> {
    return buildEnvelope(
      { type, channel: this.name, event, data, senderId: this.host.clientId, serverId: this.host.serverId, requestId, isStream },
      key,
    );
  }

  /** Sends `data` to every other client that opened the channel. */
  async broadcast(event: string, data?: unknown): Promise<void> {
    checkName(event, 'event');
    await this.host.sendOneWay(this.envelope('broadcast', event, data, null, false, await this.messageKey()));
  }

  /** Sends `data` to one provider of `event` (no reply; dropped by the hub if there is none). */
  async send(event: string, data?: unknown): Promise<void> {
    checkName(event, 'event');
    await this.host.sendOneWay(this.envelope('send', event, data, null, false, await this.messageKey()));
  }

  /**
   * Listens for broadcasts, sends and pushes (`subscription.<s>.first`, ...)
   * of one event, or of every event when `event` is omitted. Returns the remover.
   */
  onReceive(listener: ReceiveListener): () => void;
  onReceive(event: string, listener: ReceiveListener): () => void;
  onReceive(a: string | ReceiveListener, b?: ReceiveListener): () => void {
    if (typeof a === 'function') {
      this.generic.add(a);
      return () => this.generic.delete(a);
    }
    checkName(a, 'event');
    if (typeof b !== 'function') throw new TypeError('listener must be a function');
    let set = this.listeners.get(a);
    if (!set) this.listeners.set(a, (set = new Set()));
    set.add(b);
    return () => {
      set.delete(b);
      if (set.size === 0 && this.listeners.get(a) === set) this.listeners.delete(a);
    };
  }

  // -- pub/sub ------------------------------------------------------------

  /**
   * Declares topic `name` (this client becomes its only publisher). With a
   * schema (Standard Schema or JSON Schema), publish() checks every payload
   * and subscribers see the JSON Schema.
   */
  async addSubscription(name: string, schema?: SchemaInput | null): Promise<void> {
    checkEventName(name);
    const compiled = compileOption(schema);
    const wire = wireSchema(compiled);
    await this.host.request(
      { type: 'add_subscription', channel: this.name, sub_name: name, return_schema: wire },
      `add subscription ${this.name}:${name}`,
      { timeout: this.host.requestTimeout },
    );
    this.declared.set(name, wire);
    if (compiled) this.topicChecks.set(name, compiled);
    else this.topicChecks.delete(name);
  }

  /** Drops a declared topic. */
  async removeSubscription(name: string): Promise<void> {
    checkName(name, 'subscription');
    await this.host.request({ type: 'remove_subscription', channel: this.name, sub_name: name }, `remove subscription ${this.name}:${name}`, {
      timeout: this.host.requestTimeout,
    });
    this.declared.delete(name);
    this.topicChecks.delete(name);
  }

  /** Publishes to a topic this client declared; with a schema, rejects invalid data (PIPEIO_ERR_VALIDATION) before sending. */
  async publish(name: string, data?: unknown): Promise<void> {
    checkName(name, 'subscription');
    if (!this.declared.has(name)) {
      throw pipeIOError('PIPEIO_ERR_FORBIDDEN', `subscription ${this.name}:${name} was not declared by this client (only its owner may publish)`);
    }
    const schema = this.topicChecks.get(name);
    if (schema) await checked(schema, data ?? null, `invalid publication on ${this.name}:${name}`);
    await this.host.sendOneWay({ type: 'publish', channel: this.name, sub_name: name, data: data === undefined ? null : data });
  }

  /**
   * Subscribes to topic `name`; `listener` gets each publication (`msg.data`).
   * Replaces an earlier listener. With `options.schema` (Standard Schema or
   * JSON Schema), each publication is validated and parsed first; one that
   * does not fit is dropped and reported ('dropped', PIPEIO_ERR_VALIDATION).
   */
  async subscribe(name: string, listener: ReceiveListener, options: { schema?: SchemaInput | null } = {}): Promise<void> {
    checkName(name, 'subscription');
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const check = compileOption(options.schema);
    if (check) listener = this.parsedListener(name, listener, check);
    // Listening before the hub confirms: a publication may follow the confirmation in the same read.
    const previous = this.subscribed.get(name);
    this.subscribed.set(name, listener);
    try {
      await this.host.request({ type: 'subscribe', channel: this.name, sub_name: name }, `subscribe ${this.name}:${name}`, {
        timeout: this.host.requestTimeout,
      });
    } catch (err) {
      if (this.subscribed.get(name) === listener) {
        if (previous) this.subscribed.set(name, previous);
        else this.subscribed.delete(name);
      }
      throw err;
    }
  }

  private parsedListener(topic: string, listener: ReceiveListener, schema: CompiledSchema): ReceiveListener {
    const parsed = parsedPublications(`invalid publication on ${this.name}:${topic}`, listener, schema, (msg, err) => this.host.emitDropped(msg, err));
    this.selfChecked.add(parsed);
    return parsed;
  }

  async unsubscribe(name: string): Promise<void> {
    checkName(name, 'subscription');
    this.subscribed.delete(name);
    await this.host.request({ type: 'unsubscribe', channel: this.name, sub_name: name }, `unsubscribe ${this.name}:${name}`, {
      timeout: this.host.requestTimeout,
    });
  }

  // -- introspection ------------------------------------------------------

  /** Events and subscriptions known on this channel: own registrations, channel_sync, metadata_update. */
  async explore(): Promise<ExploreResult> {
    return this.schemas.explore(this.host.clientId, this.events.values(), this.declared);
  }

  /**
   * The schemas of one event or subscription (comm-ipc's `get_schema`): own
   * registrations and declarations first, then what other members announced
   * (channel_sync, metadata_update), the JSON Schemas unchanged. Undefined
   * for a name nobody announced. No round trip.
   */
  schema(name: string): SchemaInfo | undefined {
    checkName(name, 'name');
    const own = this.events.get(name);
    if (own) return { type: 'event', owner: this.host.clientId, is_stream: own.isStream, is_group: own.isGroup, parameters: own.parameters, returns: own.returns };
    if (this.declared.has(name)) return { type: 'subscription', owner: this.host.clientId, returns: this.declared.get(name) };
    const e = this.schemas.lookup(name);
    if (!e) return undefined;
    if (e.stype === 'subscription') return { type: 'subscription', owner: e.owner, returns: e.returns };
    return { type: 'event', owner: e.owner, is_stream: e.isStream, is_group: e.isGroup, parameters: e.parameters, returns: e.returns };
  }

  /** The channel's members as the hub lists them (owner first). */
  async listMembers(): Promise<HubMember[]> {
    const res = await this.host.request({ type: 'list_members', channel: this.name }, `list members of ${this.name}`, {
      timeout: this.host.requestTimeout,
    });
    const members = (res.data as { members?: unknown } | undefined)?.members;
    return Array.isArray(members) ? (members as HubMember[]) : [];
  }

  // -- incoming (called by the client) -----------------------------------

  /** @internal */
  async handleCall(msg: HubMessage, payload?: Buffer): Promise<void> {
    const reg = typeof msg.event === 'string' ? this.events.get(msg.event) : undefined;
    await serveCall(this.host, this.name, reg, msg, await this.messageKey().catch(() => undefined), payload);
  }

  /** @internal broadcast / send / receive. */
  async handleDelivery(msg: HubMessage, payload?: Buffer): Promise<void> {
    if (msg.type === 'broadcast' || msg.type === 'send') {
      const key = await this.messageKey().catch(() => undefined);
      if (key && !verifyEnvelope(key, msg, payload)) {
        const reason = pipeIOError('PIPEIO_ERR_INVALID_SIGNATURE', `Invalid signature for channel ${this.name}`);
        this.host.emitDropped(msg, reason);
        return;
      }
    }
    const event = typeof msg.event === 'string' ? msg.event : '';
    const run: ReceiveListener[] = [];
    const reg = this.events.get(event);
    if (msg.type === 'send' && reg && !reg.isStream) run.push((m) => (reg.handler as EventHandler)(m, SEND_CONTEXT));
    const sub = msg.type === 'receive' && event.startsWith(SUBSCRIPTION_EVENT_PREFIX) && event.endsWith('.data')
      ? this.subscribed.get(event.slice(SUBSCRIPTION_EVENT_PREFIX.length, -'.data'.length))
      : undefined;
    if (sub && this.host.validateReceived && !this.selfChecked.has(sub) && !this.receivedPublication(msg, event)) return;
    if (sub) run.push(sub);
    run.push(...(this.listeners.get(event) ?? []), ...this.generic);
    for (const listener of run) {
      try {
        await listener(msg);
      } catch (err) {
        this.host.reportError(
          pipeIOError('PIPEIO_ERR_HANDLER', `a listener of ${this.name}:${event} threw: ${(err as Error)?.message ?? String(err)}`, { cause: err }),
        );
      }
    }
  }

  /** Validating clients: false (and 'dropped' emitted) when a publication does not fit its announced schema. */
  private receivedPublication(msg: HubMessage, event: string): boolean {
    const topic = event.slice(SUBSCRIPTION_EVENT_PREFIX.length, -'.data'.length);
    try {
      const schema = this.announced(topic, 'subscription');
      if (schema) checkReceived(msg, schema.compiled, `invalid publication on ${this.name}:${topic} from ${schema.owner}`);
      return true;
    } catch (err) {
      this.host.emitDropped(msg, err as PipeIOError);
      return false;
    }
  }

  /** @internal channel_sync (subscriptions carry their schema under param_schema). */
  handleSync(msg: HubMessage): void {
    this.schemas.applySync(msg);
  }

  /** @internal metadata_update for this channel. */
  handleMetadata(msg: HubMessage): void {
    this.schemas.applyMetadata(msg);
  }

  /**
   * @internal Restores this channel on a fresh link: its password first (a
   * restarted hub forgot it; whoever comes back first owns the channel again,
   * and a refusal just means someone else already restored it), then the
   * open, every provider registration (with is_group and both schemas),
   * declared subscription (schema under `return_schema`) and subscribed topic.
   * Throws only for `PIPEIO_ERR_AUTH` (reconnecting stops); other refusals
   * are reported and the rest goes on.
   */
  async replay(): Promise<void> {
    const pw = this.passwordValue;
    const req = (frame: Record<string, unknown>, label: string): Promise<HubMessage> =>
      this.host.request(frame, label, { timeout: this.host.requestTimeout });
    if (pw !== undefined) {
      await req({ type: 'set_password', channel: this.name, password: pw }, `set password of ${this.name}`).catch((err: PipeIOError) => {
        if (err.code !== 'PIPEIO_ERR_FORBIDDEN') throw err;
      });
    }
    await this.register();
    const steps: Array<() => Promise<unknown>> = [];
    for (const reg of this.events.values()) steps.push(() => this.registerEvent(reg));
    for (const [name, schema] of this.declared) {
      steps.push(() => req({ type: 'add_subscription', channel: this.name, sub_name: name, return_schema: schema }, `add subscription ${this.name}:${name}`));
    }
    for (const name of this.subscribed.keys()) {
      steps.push(() => req({ type: 'subscribe', channel: this.name, sub_name: name }, `subscribe ${this.name}:${name}`));
    }
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        if (LINK_FAILURES.has((err as PipeIOError).code)) throw err;
        this.host.reportError(err as PipeIOError);
      }
    }
  }
}

export { HubStream };
