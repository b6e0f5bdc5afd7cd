/**
 * The provider's side of a contract, and our counterpart of comm-ipc's
 * declarative `CommIPCApp`: every handler, stream, group provider, topic
 * declaration and listener of a member in one object, bound to a channel in
 * one call.
 *
 *   const app = implement(mathContract, {
 *     add: ({ a, b }) => a + b,                                    // a missing or misspelt event does not compile
 *     count: async function* ({ n }) { for (let i = 0; i < n; i++) yield i; },
 *   }).subscribe(newsContract, 'daily', (news) => console.log(news.title))
 *     .onReceive('alert', (msg) => console.log(msg.data));
 *   const math = await app.register(await client.open('math'));  // a TypedChannel: math.publish('news', ...)
 *
 * register() goes through HubChannel's own methods (addEvent, group,
 * addSubscription, subscribe, onReceive), so a reconnect replays all of it
 * like any other registration. Why an object of handlers rather than
 * decorators: see docs/typed-events.md.
 */
import type { HubChannel } from '../hub/client/channel';
import { isAsyncGeneratorFunction } from '../hub/client/provider';
import type { EventHandler, ReceiveListener, StreamHandler } from '../hub/client/types';
import type { HubMessage } from '../hub/protocol/messages';
import { defineContract, type ContractHandlers, type ContractSpec, type PayloadOutput, type TopicName } from './contract';
import { typedChannel, type TypedChannel } from './typed-channel';

type Binding = (channel: HubChannel) => Promise<unknown> | unknown;

export class TypedApp<C extends ContractSpec> {
  private readonly extras: Binding[] = [];

  /** Prefer {@link implement}. */
  constructor(
    readonly contract: C,
    private readonly handlers: ContractHandlers<C>,
  ) {}

  /**
   * Also listen to topic `topic` of `other` (another member's contract):
   * each publication parsed by its schema. Chainable; bound by register().
   */
  subscribe<const O extends ContractSpec, T extends TopicName<O>>(
    other: O,
    topic: T,
    listener: (payload: PayloadOutput<O, T>, msg: HubMessage) => unknown,
  ): this {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    this.extras.push((ch) => typedChannel(ch, other).subscribe(topic, listener));
    return this;
  }

  /** Also listen to broadcasts, sends and pushes of `event` (untyped, as HubChannel.onReceive). Chainable. */
  onReceive(event: string, listener: ReceiveListener): this {
    if (typeof event !== 'string' || event === '') throw new TypeError('event must be a non-empty string');
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    this.extras.push((ch) => void ch.onReceive(event, listener));
    return this;
  }

  /**
   * Binds everything to `channel`, in order: every event of the contract
   * (with its schemas, stream and group flags), every topic (this client
   * becomes its publisher), then the listeners. Resolves with the typed
   * channel (to publish, or call other events). On a refusal it rejects;
   * what was bound before stays bound.
   */
  async register(channel: HubChannel): Promise<TypedChannel<C>> {
    for (const [name, spec] of Object.entries(this.contract.events ?? {})) {
      const impl = (this.handlers as Record<string, (data: unknown, msg: HubMessage) => unknown>)[name]!;
      const handler: EventHandler | StreamHandler = (msg: HubMessage) => impl(msg.data, msg) as AsyncIterable<unknown>;
      const options = { parameters: spec.parameters ?? null, returns: spec.returns ?? null, stream: spec.stream === true };
      if (spec.group === undefined) await channel.addEvent(name, handler, options);
      else await channel.group(spec.group === true ? undefined : spec.group).addEvent(name, handler, options);
    }
    for (const [name, spec] of Object.entries(this.contract.topics ?? {})) {
      await channel.addSubscription(name, spec.payload ?? null);
    }
    for (const bind of this.extras) await bind(channel);
    return typedChannel(channel, this.contract);
  }
}

/**
 * Implements `contract`: one handler per event (plain events return the
 * result, stream events are `async function*`). Each handler gets the call
 * data parsed by the event's `parameters` and the envelope; what it returns
 * is checked against `returns`. tsc refuses a missing, misspelt or
 * mistyped handler; at run time, so does this function (TypeError).
 */
export function implement<const C extends ContractSpec>(contract: C, handlers: ContractHandlers<C>): TypedApp<C> {
  defineContract(contract);
  if (handlers === null || typeof handlers !== 'object') throw new TypeError('handlers must be an object of functions');
  const events = contract.events ?? {};
  for (const key of Object.keys(handlers)) {
    if (!Object.prototype.hasOwnProperty.call(events, key)) throw new TypeError(`the contract has no event ${JSON.stringify(key)}`);
  }
  for (const [name, spec] of Object.entries(events)) {
    const h = (handlers as Record<string, unknown>)[name];
    if (typeof h !== 'function') throw new TypeError(`no handler for event ${JSON.stringify(name)} of the contract`);
    if (spec.stream !== true && isAsyncGeneratorFunction(h)) {
      throw new TypeError(`the handler of ${JSON.stringify(name)} is an async generator, but the contract does not declare it stream: true`);
    }
  }
  return new TypedApp(contract, handlers);
}
