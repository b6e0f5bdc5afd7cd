/**
 * Issue 21, item 5: what one frame costs the hub must not grow with the
 * tables other clients filled. Before the fix a subscribe counted the
 * client's subscriptions by scanning every topic, an open scanned every
 * topic for the channel's, and a departure scanned every topic, channel and
 * provider entry: four clients subscribing 10,001 topics each took 0.8, 1.4,
 * 2.4 and 4.6 s per batch, and the good caller waited as long. Beside a
 * well-behaved pair calling every 10 ms through a hub in its own process.
 */
import { expect } from 'chai';
import { encodeFrame } from '../../lib/hub/protocol/codec';
import { waitFor } from '../fixtures/helpers';
import { HostileStage } from './hostile-fixture';
import type { RawClient } from './raw-client';


/** Sends `frames` in one write and waits for the response to the last (responses keep order). */
async function pipelined(c: RawClient, frames: Array<Record<string, unknown> & { request_id: string }>): Promise<void> {
  c.writeRaw(Buffer.concat(frames.map((f) => encodeFrame(f))));
  const last = frames[frames.length - 1]!.request_id;
  const res = await c.nextOf('response', last, 30_000);
  expect(res, `the answer to ${last}`).to.not.have.property('error');
}

describe('Hub tables under hostile load (issue 21, item 5)', function () {
  this.timeout(60_000);
  const stage = new HostileStage();
  afterEach(() => stage.stop());

  it('a subscribe costs the same whatever the number of topics (4 x 5,000 new topics)', async () => {
    await stage.start();
    const batch = (k: number) => Array.from({ length: 5000 }, (_, i) => ({ type: 'subscribe', channel: 'flood', sub_name: `t${k}-${i}`, request_id: `s${i}` }));
    // A first batch, undone, so that the measured ones run on optimised code.
    const warm = await stage.client('warm');
    await pipelined(warm, batch(-1));
    warm.close();
    await stage.report();
    const perBatch: number[] = [];
    for (let k = 0; k < 4; k++) {
      const c = await stage.client(`flood${k}`);
      const before = await stage.stats();
      await pipelined(c, batch(k));
      const after = await stage.stats();
      perBatch.push(after.cpuMs - before.cpuMs);
      // Frames are handled 4 ms at a stretch: the loop waits for nothing long (the margin is for a busy machine).
      expect(after.loopDelayMaxMs, `longest event-loop delay during batch ${k + 1} (ms)`).to.be.below(100);
    }
    await waitFor(async () => (await stage.stats()).hub.topics === 20_000 || undefined, 'the 20,000 topics (and none of the warm-up)');
    const [first, , , last] = perBatch as [number, number, number, number];
    // Before the fix each batch cost more than the one before (O(topics) per subscribe).
    expect(last, `hub CPU per batch (ms): ${perBatch.map((x) => x.toFixed(0)).join(', ')}`).to.be.below(2 * first + 20);
    await stage.expectPairFine('subscribe floods');
  });

  it('opens and departures cost what they touch, not the tables other clients filled', async () => {
    await stage.start();
    /** Hub CPU (ms): 300 clients that identify and leave, and one that opens 1,000 channels. */
    const costs = async (tag: string): Promise<{ departures: number; opens: number }> => {
      let before = await stage.stats();
      const present = before.hub.clients;
      const passing = await Promise.all(Array.from({ length: 300 }, (_, i) => stage.client(`${tag}${i}`)));
      for (const c of passing) c.close();
      await waitFor(async () => (await stage.stats()).hub.clients === present || undefined, `the ${tag} clients to leave`);
      let after = await stage.stats();
      const departures = after.cpuMs - before.cpuMs;
      const opener = await stage.client(`${tag}-opener`);
      before = await stage.stats();
      await pipelined(
        opener,
        Array.from({ length: 1000 }, (_, i) => ({ type: 'register', channel: `${tag}-room${i}`, is_provider: false, request_id: `o${i}` })),
      );
      after = await stage.stats();
      opener.close();
      await waitFor(async () => (await stage.stats()).hub.clients === present || undefined, `the ${tag} opener to leave`);
      return { departures, opens: after.cpuMs - before.cpuMs };
    };
    await costs('warm'); // optimised code for both measurements
    const empty = await costs('a');
    // Two other clients fill the tables up to their per-client caps: 10,000 topics each owns,
    // 10,000 each subscribes to (40,000 topics), 2,000 channels and events.
    const big = [await stage.client('big1'), await stage.client('big2')];
    await stage.report();
    for (const [k, c] of big.entries()) {
      const frames: Array<Record<string, unknown> & { request_id: string }> = [];
      for (let i = 0; i < 10_000; i++) frames.push({ type: 'add_subscription', channel: 'owned', sub_name: `o${k}-${i}`, request_id: `a${i}` });
      for (let i = 0; i < 10_000; i++) frames.push({ type: 'subscribe', channel: 'subs', sub_name: `s${k}-${i}`, request_id: `s${i}` });
      for (let i = 0; i < 1000; i++) {
        frames.push({ type: 'register', channel: `ch${k}-${i}`, is_provider: false, request_id: `o${i}` });
        frames.push({ type: 'register', channel: `ch${k}-${i}`, is_provider: true, event: 'e', request_id: `p${i}` });
      }
      for (let at = 0; at < frames.length; at += 10_000) await pipelined(c, frames.slice(at, at + 10_000));
    }
    const full = (await stage.stats()).hub;
    expect(full).to.deep.include({ topics: 40_000, events: 2001 });
    const loaded = await costs('b');
    // Before the fix each departure scanned every topic, channel and provider entry, and each open every topic.
    const text = `hub CPU (ms) with empty / full tables: 300 departures ${empty.departures.toFixed(0)} / ${loaded.departures.toFixed(0)}, 1,000 opens ${empty.opens.toFixed(0)} / ${loaded.opens.toFixed(0)}`;
    expect(loaded.departures, text).to.be.below(2 * empty.departures + 20);
    expect(loaded.opens, text).to.be.below(2 * empty.opens + 20);
    // The per-client caps: one more declared topic is refused.
    const capped = await big[0]!.request({ type: 'add_subscription', channel: 'owned', sub_name: 'one-more', request_id: 'over' });
    expect(capped['code']).to.equal('PIPEIO_ERR_LIMIT');
    // Their own departures cost what they held (bounded by the caps), and empty the tables.
    for (const c of big) c.close();
    await waitFor(async () => (await stage.stats()).hub.clients === 2 || undefined, 'the big clients to be gone');
    const { hub } = await stage.stats();
    expect(hub).to.deep.include({ topics: 0, events: 1 }); // the good pair's echo
    await stage.expectPairFine('full tables');
  });
});
