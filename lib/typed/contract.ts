/**
 * Typed contracts (issue 17): a channel's events and topics declared once,
 * as a plain value a provider's package exports and a caller's package
 * imports. The provider implements it (./implement.ts), the caller calls it
 * (./typed-channel.ts), and tsc checks both against the same schemas
 * (oRPC's contract-first model, tRPC's inference).
 *
 *   export const math = defineContract({
 *     events: {
 *       add:   { parameters: z.object({ a: z.number(), b: z.number() }), returns: z.number() },
 *       count: { parameters: z.object({ n: z.number() }), returns: z.number(), stream: true },
 *       task:  { parameters: Job, returns: Done, group: 'workers' },   // wire name workers.task
 *     },
 *     topics: { news: { payload: z.object({ title: z.string() }) } },
 *   });
 *
 * The types below compute, from a contract's type, the names that may be
 * called or streamed and the data each side passes and gets. A schema's
 * input side is what a sender passes, its output side what a receiver gets.
 */
import type { CallOptions } from '../hub/client/types';
import type { HubMessage } from '../hub/protocol/messages';
import { compileSchema, type InferInput, type InferOutput, type SchemaInput } from '../schema/compile';
import { checkEventName, checkName } from '../hub/client/names';

/** One event of a contract. */
export interface EventSpec {
  /** Schema of the call data (absent: anything). */
  readonly parameters?: SchemaInput;
  /** Schema of the result, or of each chunk of a stream (absent: anything). */
  readonly returns?: SchemaInput;
  /** A streaming event: the provider yields chunks, the caller iterates. */
  readonly stream?: boolean;
  /** A load-balanced group: a name (wire name `<group>.<event>`) or `true` (the event's own name). */
  readonly group?: string | true;
}

/** One topic of a contract (published by the contract's implementer). */
export interface TopicSpec {
  /** Schema of each publication (absent: anything). */
  readonly payload?: SchemaInput;
}

/** What {@link defineContract} takes: events and topics by name. */
export interface ContractSpec {
  readonly events?: { readonly [name: string]: EventSpec };
  readonly topics?: { readonly [name: string]: TopicSpec };
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type EventsOf<C> = C extends { readonly events: infer E } ? E : {};
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type TopicsOf<C> = C extends { readonly topics: infer T } ? T : {};

/** Every event name of contract `C`. */
export type EventName<C> = Extract<keyof EventsOf<C>, string>;
/** The topic names of contract `C`. */
export type TopicName<C> = Extract<keyof TopicsOf<C>, string>;
/** The spec of event `K` of `C`. */
export type EventOf<C, K> = K extends keyof EventsOf<C> ? EventsOf<C>[K] : never;
type TopicOf<C, K> = K extends keyof TopicsOf<C> ? TopicsOf<C>[K] : never;

type ParamsSchema<E> = E extends { readonly parameters: infer P } ? P : undefined;
type ReturnsSchema<E> = E extends { readonly returns: infer R } ? R : undefined;
type PayloadSchema<T> = T extends { readonly payload: infer P } ? P : undefined;
type IsStream<E> = E extends { readonly stream: true } ? true : false;

/** Names of `C`'s plain (non-stream) events: what `call()` takes. */
export type CallName<C> = { [K in EventName<C>]: IsStream<EventOf<C, K>> extends true ? never : K }[EventName<C>];
/** Names of `C`'s stream events: what `stream()` takes. */
export type StreamName<C> = { [K in EventName<C>]: IsStream<EventOf<C, K>> extends true ? K : never }[EventName<C>];

/** What a caller passes to event `K`. */
export type ParamsInput<C, K> = InferInput<ParamsSchema<EventOf<C, K>>>;
/** What the provider's handler of `K` gets. */
export type ParamsOutput<C, K> = InferOutput<ParamsSchema<EventOf<C, K>>>;
/** What the provider's handler of `K` returns (or yields). */
export type ReturnsInput<C, K> = InferInput<ReturnsSchema<EventOf<C, K>>>;
/** What a caller of `K` gets (each chunk, for a stream). */
export type ReturnsOutput<C, K> = InferOutput<ReturnsSchema<EventOf<C, K>>>;
/** What a publisher passes to topic `T`. */
export type PayloadInput<C, T> = InferInput<PayloadSchema<TopicOf<C, T>>>;
/** What a subscriber to topic `T` gets. */
export type PayloadOutput<C, T> = InferOutput<PayloadSchema<TopicOf<C, T>>>;

/** The data argument, optional when the schema accepts `undefined` (or there is none), then the call options. */
export type DataArgs<P> = undefined extends P ? [data?: P, options?: CallOptions] : [data: P, options?: CallOptions];

type MaybePromise<T> = T | Promise<T>;

/** The handler of one event: plain events return (or resolve to) the result, stream events return an async iterable. */
export type EventImpl<C, K> =
  IsStream<EventOf<C, K>> extends true
    ? (data: ParamsOutput<C, K>, msg: HubMessage) => AsyncIterable<ReturnsInput<C, K>>
    : (data: ParamsOutput<C, K>, msg: HubMessage) => MaybePromise<ReturnsInput<C, K>>;

/** One handler per event of `C`: a missing or misspelt one is a compile error. */
export type ContractHandlers<C> = { readonly [K in EventName<C>]: EventImpl<C, K> };

/**
 * Declares a contract. Returns `spec` itself (a plain value: export it from
 * a package, import it elsewhere), after checking names and compiling every
 * schema once, so a schema that cannot be used fails here (PIPEIO_ERR_SCHEMA),
 * not at the first call. `const` inference keeps `stream: true` and group
 * names literal.
 * @throws {TypeError} for a bad name or spec; {PipeIOError} `PIPEIO_ERR_SCHEMA`.
 */
export function defineContract<const S extends ContractSpec>(spec: S): S {
  if (spec === null || typeof spec !== 'object') throw new TypeError('a contract is an object { events?, topics? }');
  for (const [name, e] of Object.entries(spec.events ?? {})) {
    checkEventName(name);
    if (e === null || typeof e !== 'object') throw new TypeError(`contract event ${name} must be an object`);
    if (e.group !== undefined && e.group !== true) checkName(e.group, 'group');
    if (e.parameters !== undefined) compileSchema(e.parameters);
    if (e.returns !== undefined) compileSchema(e.returns);
  }
  for (const [name, t] of Object.entries(spec.topics ?? {})) {
    checkEventName(name);
    if (t === null || typeof t !== 'object') throw new TypeError(`contract topic ${name} must be an object`);
    if (t.payload !== undefined) compileSchema(t.payload);
  }
  return spec;
}

/** The wire name of a contract event (`<group>.<event>` for a named group). */
export function wireName(name: string, spec: EventSpec): string {
  return typeof spec.group === 'string' ? `${spec.group}.${name}` : name;
}

/** @internal The spec of event `name`, or a TypeError (a JavaScript caller's misspelling). */
export function eventSpec(contract: ContractSpec, name: string): EventSpec {
  const e = contract.events && Object.prototype.hasOwnProperty.call(contract.events, name) ? contract.events[name] : undefined;
  if (!e) throw new TypeError(`the contract has no event ${JSON.stringify(name)}`);
  return e;
}

/** @internal The spec of topic `name`, or a TypeError. */
export function topicSpec(contract: ContractSpec, name: string): TopicSpec {
  const t = contract.topics && Object.prototype.hasOwnProperty.call(contract.topics, name) ? contract.topics[name] : undefined;
  if (!t) throw new TypeError(`the contract has no topic ${JSON.stringify(name)}`);
  return t;
}
