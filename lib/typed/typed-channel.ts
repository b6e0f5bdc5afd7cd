/**
 * The caller's side of a contract: a typed facade over a {@link HubChannel}.
 *
 *   const math = typedChannel(await client.open('math'), mathContract);
 *   await math.call('add', { a: 1, b: 2 });        // Promise<number>; 'ad' or { a: '1' } do not compile
 *   for await (const n of math.stream('count', { n: 3 })) n;   // number
 *   await math.subscribe('news', (news) => news.title);
 *
 * Data is checked against the contract before it is sent (an invalid call
 * rejects with PIPEIO_ERR_VALIDATION and nothing leaves), and what arrives
 * (results, chunks, publications) is validated and parsed into the
 * contract's output types: the types cannot lie about what arrived.
 */
import type { HubChannel } from '../hub/client/channel';
import { checked } from '../hub/client/checked';
import type { SchemaInfo } from '../hub/client/types';
import type { HubMessage } from '../hub/protocol/messages';
import { compileSchema, type CompiledSchema } from '../schema/compile';
import type { JsonSchema } from '../schema/json-schema';
import { canonicalJson } from '../schema/json-walk';
import {
  eventSpec,
  topicSpec,
  wireName,
  type CallName,
  type ContractSpec,
  type DataArgs,
  type EventName,
  type EventOf,
  type ParamsInput,
  type PayloadInput,
  type PayloadOutput,
  type ReturnsOutput,
  type StreamName,
  type TopicName,
} from './contract';

/** A contract event as schema() and explore() show it. */
export interface EventSchemaView<E = unknown> {
  readonly type: 'event';
  /** The contract's name for it. */
  readonly name: string;
  /** The name on the wire (`<group>.<name>` for a named group). */
  readonly wireName: string;
  readonly stream: E extends { readonly stream: true } ? true : boolean;
  /** The contract's JSON Schemas (what a provider of this contract announces). */
  readonly parameters: JsonSchema | null;
  readonly returns: JsonSchema | null;
  /** What a member of the channel announced (comm-ipc's get_schema), if any. */
  readonly announced: Extract<SchemaInfo, { type: 'event' }> | undefined;
  /** True when the announced JSON Schemas equal the contract's; undefined if nothing was announced. */
  readonly matches: boolean | undefined;
}

/** A contract topic as schema() and explore() show it. */
export interface TopicSchemaView {
  readonly type: 'subscription';
  readonly name: string;
  readonly payload: JsonSchema | null;
  readonly announced: Extract<SchemaInfo, { type: 'subscription' }> | undefined;
  readonly matches: boolean | undefined;
}

interface Prepared {
  readonly wire: string;
  readonly label: string;
  readonly params: CompiledSchema | null;
  readonly returns: CompiledSchema | null;
  /** Words of a refusal of outgoing data (made only on failure). */
  readonly paramsLabel: () => string;
}

function from(msg: HubMessage): string {
  return msg.sender_id ? ` from ${msg.sender_id}` : '';
}

function compiled(schema: unknown): CompiledSchema | null {
  return schema === undefined || schema === null ? null : compileSchema(schema as never);
}

function sameSchema(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

export class TypedChannel<C extends ContractSpec> {
  private readonly prepared = new Map<string, Prepared>();

  /** Prefer {@link typedChannel}. */
  constructor(
    /** The untyped channel underneath (broadcast, onReceive, listMembers, ...). */
    readonly channel: HubChannel,
    readonly contract: C,
  ) {}

  private event(name: string): Prepared {
    let p = this.prepared.get(name);
    if (!p) {
      const spec = eventSpec(this.contract, name);
      const wire = wireName(name, spec);
      const label = `${this.channel.name}:${wire}`;
      p = { wire, label, params: compiled(spec.parameters), returns: compiled(spec.returns), paramsLabel: () => `invalid parameters of ${label}` };
      this.prepared.set(name, p);
    }
    return p;
  }

  /**
   * Calls a plain event of the contract; resolves with the result parsed by
   * its `returns` schema. Rejects with PIPEIO_ERR_VALIDATION (data checked
   * here first: nothing is sent; or the provider's refusal; or a result that
   * does not fit), and every error of {@link HubChannel.call}.
   */
  async call<K extends CallName<C>>(event: K, ...args: DataArgs<ParamsInput<C, K>>): Promise<ReturnsOutput<C, K>> {
    const p = this.event(event);
    const [data, options] = args;
    if (p.params) {
      const ok = checked(p.params, data ?? null, p.paramsLabel);
      if (ok instanceof Promise) await ok;
    }
    const res = await this.channel.call(p.wire, data, options);
    if (!p.returns) return res.data as ReturnsOutput<C, K>;
    const out = checked(p.returns, res.data ?? null, () => `invalid result of ${p.label}${from(res)}`);
    return (out instanceof Promise ? await out : out) as ReturnsOutput<C, K>;
  }

  /**
   * Calls a stream event; iterate for its chunks, each parsed by `returns`.
   * Breaking out of the loop stops listening (the provider is not told:
   * comm-ipc has no cancel). Errors are thrown by the iteration.
   */
  stream<K extends StreamName<C>>(event: K, ...args: DataArgs<ParamsInput<C, K>>): AsyncGenerator<ReturnsOutput<C, K>, void, undefined> {
    const p = this.event(event);
    const [data, options] = args;
    const channel = this.channel;
    return (async function* typedStream(): AsyncGenerator<ReturnsOutput<C, K>, void, undefined> {
      if (p.params) await checked(p.params, data ?? null, p.paramsLabel);
      let i = 0;
      for await (const msg of channel.stream(p.wire, data, options)) {
        const n = i++;
        yield (p.returns ? await checked(p.returns, msg.data ?? null, () => `invalid chunk ${n} of ${p.label}${from(msg)}`) : msg.data) as ReturnsOutput<C, K>;
      }
    })();
  }

  /** Sends data to one provider of a plain event (no reply), checked against its `parameters` first. */
  async send<K extends CallName<C>>(event: K, data: ParamsInput<C, K>): Promise<void> {
    const p = this.event(event);
    if (p.params) await checked(p.params, data ?? null, p.paramsLabel);
    await this.channel.send(p.wire, data);
  }

  /** Publishes to a contract topic (this client must own it: see implement()), checked against its `payload`. */
  async publish<T extends TopicName<C>>(topic: T, payload: PayloadInput<C, T>): Promise<void> {
    const schema = compiled(topicSpec(this.contract, topic).payload);
    if (schema) await checked(schema, payload ?? null, `invalid publication on ${this.channel.name}:${topic}`);
    await this.channel.publish(topic, payload);
  }

  /**
   * Subscribes to a contract topic: `listener` gets each publication parsed
   * by its `payload` schema; one that does not fit is dropped and reported
   * (the client's 'dropped' event, PIPEIO_ERR_VALIDATION).
   */
  async subscribe<T extends TopicName<C>>(topic: T, listener: (payload: PayloadOutput<C, T>, msg: HubMessage) => unknown): Promise<void> {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const spec = topicSpec(this.contract, topic);
    await this.channel.subscribe(topic, (msg) => listener(msg.data as PayloadOutput<C, T>, msg), { schema: spec.payload ?? null });
  }

  async unsubscribe<T extends TopicName<C>>(topic: T): Promise<void> {
    topicSpec(this.contract, topic);
    await this.channel.unsubscribe(topic);
  }

  /**
   * The typed get_schema: the contract's JSON Schemas for `name`, what a
   * member announced, and whether the two agree (drift between a deployed
   * provider and the contract shows here).
   */
  schema<K extends EventName<C>>(name: K): EventSchemaView<EventOf<C, K>>;
  schema<T extends TopicName<C>>(name: T): TopicSchemaView;
  schema(name: string): EventSchemaView | TopicSchemaView {
    const isEvent = this.contract.events !== undefined && Object.prototype.hasOwnProperty.call(this.contract.events, name);
    if (isEvent) {
      const p = this.event(name);
      const info = this.channel.schema(p.wire);
      const announced = info?.type === 'event' ? info : undefined;
      const parameters = p.params?.jsonSchema ?? null;
      const returns = p.returns?.jsonSchema ?? null;
      return {
        type: 'event',
        name,
        wireName: p.wire,
        stream: eventSpec(this.contract, name).stream === true,
        parameters,
        returns,
        announced,
        matches: announced ? sameSchema(announced.parameters, parameters) && sameSchema(announced.returns, returns) : undefined,
      };
    }
    const payload = compiled(topicSpec(this.contract, name).payload)?.jsonSchema ?? null;
    const info = this.channel.schema(name);
    const announced = info?.type === 'subscription' ? info : undefined;
    return { type: 'subscription', name, payload, announced, matches: announced ? sameSchema(announced.returns, payload) : undefined };
  }

  /** schema() of every event and topic of the contract. */
  explore(): {
    events: { [K in EventName<C>]: EventSchemaView<EventOf<C, K>> };
    topics: { [T in TopicName<C>]: TopicSchemaView };
  } {
    const events: Record<string, EventSchemaView> = {};
    const topics: Record<string, TopicSchemaView> = {};
    for (const name of Object.keys(this.contract.events ?? {})) events[name] = this.schema(name as EventName<C>) as EventSchemaView;
    for (const name of Object.keys(this.contract.topics ?? {})) topics[name] = this.schema(name as TopicName<C>) as TopicSchemaView;
    return { events, topics } as ReturnType<TypedChannel<C>['explore']>;
  }
}

/**
 * The typed facade of `channel` for `contract` (no round trip; the contract's
 * schemas compile once, on first use of each event).
 */
export function typedChannel<const C extends ContractSpec>(channel: HubChannel, contract: C): TypedChannel<C> {
  if (channel === null || typeof channel !== 'object' || typeof channel.call !== 'function') throw new TypeError('channel must be a HubChannel');
  if (contract === null || typeof contract !== 'object') throw new TypeError('contract must be a contract (defineContract)');
  return new TypedChannel(channel, contract);
}
