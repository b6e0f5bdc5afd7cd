/**
 * A scripted hub scenario in which every counter of the metrics moves:
 * calls ok, remote error, validation, timeout (a plugin's deadline), no
 * provider, refused (a password channel), abandoned (the caller left),
 * provider gone (a provider killed mid-call, a plugin instance crashed and
 * restarted), a stream, broadcasts, sends, publications, a slow consumer cut
 * off, auth refusals. Shared by the metrics tests.
 */
import { expect } from 'chai';
import { PipeIOError } from '../../lib/errors';
import type { HubPlugin } from '../../lib/hub/plugins';
import { ClientFixture, waitFor } from '../hub/client-fixture';
import { RawClient } from '../hub/raw-client';
import type { HubOptions } from '../../lib/hub/server/options';

export interface Scenario {
  fx: ClientFixture;
  raws: RawClient[];
  plugins: HubPlugin[];
  stop(): Promise<void>;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as PipeIOError).code;
  }
  return 'ok';
}

export async function runScenario(hubOptions: HubOptions = {}): Promise<Scenario> {
  const fx = await ClientFixture.start({ channelPasswords: { vault: 'pw' }, maxQueueBytes: 1024 * 1024, ...hubOptions });
  const raws: RawClient[] = [];
  const plugins: HubPlugin[] = [];
  const raw = async (id: string): Promise<RawClient> => {
    const c = await RawClient.identified({ path: fx.socketPath }, id);
    raws.push(c);
    return c;
  };
  const s: Scenario = {
    fx,
    raws,
    plugins,
    stop: async () => {
      for (const r of raws) r.close();
      await Promise.all(plugins.map((p) => p.stop()));
      await fx.stop();
    },
  };
  try {
    // providers: a HubClient (ok, remote error, stream, topic) and a raw one (validation, a call it never answers)
    const prov = await fx.client({ clientId: 'prov' });
    const math = await prov.open('math');
    await math.addEvent('add', (msg) => {
      const d = msg.data as { a: number; b: number };
      return d.a + d.b;
    });
    await math.addEvent('fail', () => {
      throw new Error('no such luck');
    });
    await math.addEvent(
      'count',
      async function* (msg) {
        for (let i = 0; i < (msg.data as number); i++) yield i;
      },
      { stream: true },
    );
    await math.addSubscription('ticks');
    const rawProv = await raw('rawprov');
    await rawProv.provide('math', 'slow');
    await rawProv.provide('math', 'strict');
    rawProv.socket.on('data', () => {
      for (const f of rawProv.frames.splice(0)) {
        if (f['type'] === 'call' && f['event'] === 'strict') {
          rawProv.send({ type: 'response', request_id: f['request_id'], target_id: f['sender_id'], error: 'a must be a number', code: 'PIPEIO_ERR_VALIDATION', is_final: true });
        }
      }
    });
    // plugins: one that never answers (its 300 ms deadline answers), one that dies on its first call
    const open = 'exec 3<"$PIPE_IO_READ_PIPE" 4>"$PIPE_IO_WRITE_PIPE"';
    plugins.push(await fx.hub.attachPlugin('bash', ['-c', `${open}; while read -r l <&3; do :; done`], { channel: 'plug', event: 'hang', timeout: 300 }));
    plugins.push(await fx.hub.attachPlugin('bash', ['-c', `${open}; read -r l <&3; exit 3`], { channel: 'plug', event: 'crash', restart: { initialDelay: 10 } }));

    const caller = await fx.client({ clientId: 'caller' });
    const m = await caller.open('math');
    for (let i = 0; i < 5; i++) expect((await m.call('add', { a: i, b: 1 })).data).to.equal(i + 1);
    expect(await code(m.call('fail', {}))).to.equal('PIPEIO_ERR_REMOTE');
    expect(await code(m.call('strict', {}))).to.not.equal('ok');
    expect(await code(m.call('nope', {}))).to.equal('PIPEIO_ERR_NO_PROVIDER');
    const chunks: unknown[] = [];
    for await (const c of m.stream('count', 3)) chunks.push(c.data);
    expect(chunks).to.deep.equal([0, 1, 2]);
    const plug = await caller.open('plug');
    // A line-mode plugin that misses an answer is restarted (issue 20): wait for it to serve again.
    const hangRestarted = new Promise((resolve) => plugins[0]!.once('restart', () => plugins[0]!.once('spawn', resolve)));
    expect(await code(plug.call('hang', 1))).to.equal('PIPEIO_ERR_TIMEOUT');
    await hangRestarted;
    const restarted = new Promise((resolve) => plugins[1]!.once('restart', resolve));
    expect(await code(plug.call('crash', 1))).to.equal('PIPEIO_ERR_PROVIDER_GONE');
    await restarted;

    // refused: a call into a password channel without the password; a wrong password
    const intruder = await raw('intruder');
    intruder.send({ type: 'call', channel: 'vault', event: 'open', request_id: 'v1', data: null });
    expect((await intruder.nextOf('response', 'v1'))['code']).to.equal('PIPEIO_ERR_AUTH');
    expect(await code(caller.open('vault', { password: 'wrong' }))).to.equal('PIPEIO_ERR_AUTH');

    // abandoned: its caller leaves; provider gone: the provider is killed mid-call
    const leaver = await raw('leaver');
    leaver.send({ type: 'call', channel: 'math', event: 'slow', request_id: 'l1', data: null });
    await waitFor(() => fx.hub.stats().pendingCalls === 1, 'the leaver call in flight');
    leaver.close();
    await waitFor(() => fx.hub.stats().pendingCalls === 0, 'the leaver call dropped');
    // abandoned too: a caller cancels its call (beyond comm-ipc)
    const canceller = await raw('canceller');
    canceller.send({ type: 'call', channel: 'math', event: 'slow', request_id: 'c1', data: null });
    await waitFor(() => fx.hub.stats().pendingCalls === 1, 'the cancelled call in flight');
    canceller.send({ type: 'cancel', request_id: 'c1' });
    await waitFor(() => fx.hub.stats().pendingCalls === 0, 'the call cancelled');
    const gone = code(m.call('slow', {}));
    await waitFor(() => fx.hub.stats().pendingCalls === 1, 'the slow call in flight');
    rawProv.socket.destroy();
    expect(await gone).to.equal('PIPEIO_ERR_PROVIDER_GONE');

    // broadcasts, sends, publications
    const listener = await fx.client({ clientId: 'listener' });
    const lm = await listener.open('math');
    const heard = new Promise((resolve) => lm.onReceive('hello', resolve));
    await m.broadcast('hello', { x: 1 });
    await heard;
    await m.send('add', { a: 1, b: 2 });
    await m.send('nobody', {});
    const tick = new Promise((resolve) => void m.subscribe('ticks', resolve));
    await waitFor(() => (fx.hub.metrics({ topology: true }).topology?.topics[0]?.subscribers ?? 0) === 1, 'the subscription');
    await math.publish('ticks', { n: 1 });
    await tick;
    const forger = await raw('forger');
    forger.send({ type: 'publish', channel: 'math', sub_name: 'ticks', data: 1, request_id: 'p1' });
    await forger.nextOf('response', 'p1');

    // a slow consumer: opens a channel, never reads; a flood of broadcasts
    const sloth = await raw('sloth');
    await sloth.open('flood');
    sloth.socket.pause();
    const flooder = await raw('flooder');
    const blob = Buffer.alloc(64 * 1024, 1);
    const slow = (): number => {
      const f = fx.hub.metrics().metrics.find((x) => x.name === 'pipeio_hub_slow_consumers_total');
      return f && f.type !== 'histogram' ? f.samples[0]!.value : 0;
    };
    for (let i = 0; i < 256 && slow() === 0; i++) {
      flooder.send({ type: 'broadcast', channel: 'flood', event: 'e', data: blob });
      if (i % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => slow() === 1, 'the slow consumer cut off', 10000);
    return s;
  } catch (err) {
    await s.stop();
    throw err;
  }
}
