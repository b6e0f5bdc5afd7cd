/**
 * Type-level tests of typed contracts: every `@ts-expect-error` line must be
 * a compile error (tsc fails on an unused one), every `Expect<Equal<...>>`
 * must hold. Run by test/typed/types.test.ts (and by npm run typecheck).
 */
import type { HubChannel, HubMessage } from '../../../lib';
import { implement, typedChannel } from '../../../lib';
import { mathContract } from '../fixtures/math-contract';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when T is true. */
function check<T extends true>(): T | void {}

declare const ch: HubChannel;
const math = typedChannel(ch, mathContract);

export async function caller(): Promise<void> {
  const sum = await math.call('add', { a: 1, b: 2 });
  check<Equal<typeof sum, number>>();
  const n = await math.call('norm', { x: 3, y: 4 });
  check<Equal<typeof n, unknown>>(); // a plain JSON Schema without a type: unknown
  const done = await math.call('task', { id: 'j1' }); // weight has a default: optional for the caller
  check<Equal<typeof done, { id: string; by: string }>>();
  const when = await math.call('when');
  check<Equal<typeof when, Date>>(); // the caller gets the schema's output side
  await math.call('ping');
  await math.call('ping', 'anything');
  for await (const i of math.stream('count', { n: 3 })) {
    check<Equal<typeof i, number>>();
  }

  // @ts-expect-error a misspelt event
  await math.call('ad', { a: 1, b: 2 });
  // @ts-expect-error a wrong field
  await math.call('add', { a: 1, c: 2 });
  // @ts-expect-error a wrong type
  await math.call('add', { a: '1', b: 2 });
  // @ts-expect-error a missing argument
  await math.call('add');
  // @ts-expect-error a stream event is not called with call()
  await math.call('count', { n: 1 });
  // @ts-expect-error a plain event is not streamed
  math.stream('add', { a: 1, b: 2 });
  // @ts-expect-error the typed plain JSON Schema refuses an extra field too
  await math.call('norm', { x: 1, y: 2, z: 3 });
  // @ts-expect-error the result is a number
  const s: string = await math.call('add', { a: 1, b: 2 });
  void s;

  await math.publish('news', { title: 't' });
  // @ts-expect-error a wrong payload
  await math.publish('news', { title: 1 });
  // @ts-expect-error an unknown topic
  await math.publish('new', { title: 't' });
  await math.subscribe('news', (news, msg) => {
    check<Equal<typeof news, { title: string; tags?: string[] | undefined }>>();
    check<Equal<typeof msg, HubMessage>>();
  });

  const add = math.schema('add');
  check<Equal<typeof add.stream, boolean>>();
  const count = math.schema('count');
  check<Equal<typeof count.stream, true>>();
  const news = math.schema('news');
  check<Equal<typeof news.type, 'subscription'>>();
  // @ts-expect-error not in the contract
  math.schema('nope');
  const all = math.explore();
  check<Equal<keyof typeof all.events, 'add' | 'count' | 'norm' | 'task' | 'ping' | 'when'>>();
}

export function provider(): void {
  const handlers = {
    add: ({ a, b }: { a: number; b: number }) => a + b,
    async *count({ n }: { n: number }) {
      for (let i = 0; i < n; i++) yield i;
    },
    norm: ({ x, y }: { x: number; y: number }) => Math.hypot(x, y),
    task: async (job: { id: string; weight: number }) => ({ id: job.id, by: 'me' }),
    ping: () => null,
    when: () => new Date(0).toISOString(),
  };
  implement(mathContract, handlers);
  implement(mathContract, {
    add: ({ a, b }) => {
      check<Equal<typeof a, number>>();
      return a + b;
    },
    async *count({ n }) {
      yield n;
    },
    norm: (p) => {
      check<Equal<typeof p, { x: number; y: number }>>();
      return 1;
    },
    task: (job, msg) => {
      check<Equal<typeof job, { id: string; weight: number }>>(); // the handler gets the output side: default applied
      return { id: job.id, by: String(msg.sender_id) };
    },
    ping: () => undefined,
    when: () => 'now',
  });

  // @ts-expect-error a provider missing an event of the contract
  implement(mathContract, { add: ({ a, b }) => a + b, count: async function* () {}, norm: () => 0, task: (j) => ({ id: j.id, by: '' }), ping: () => 0 });
  implement(mathContract, {
    ...handlers,
    // @ts-expect-error an event the contract does not have
    sub: () => 0,
  });
  implement(mathContract, {
    ...handlers,
    // @ts-expect-error a wrong result type
    add: () => 'three',
  });
  implement(mathContract, {
    ...handlers,
    // @ts-expect-error a stream event needs an async iterable
    count: () => 1,
  });
  implement(mathContract, {
    ...handlers,
    // @ts-expect-error a result missing a field
    task: (job) => ({ id: job.id }),
  });
}
