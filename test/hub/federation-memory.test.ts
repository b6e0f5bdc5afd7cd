/**
 * Two routing cores federated over an in-memory bus (no NATS, no processes):
 * big states travel in parts, and a lost state message heals through the
 * heartbeat's version.
 */
import { expect } from 'chai';
import { decodeClientFrame, decodeHubFrame, encodeFrame } from '../../lib/hub/protocol/codec';
import { Federation } from '../../lib/hub/federation/federation';
import { resolveClusterOptions } from '../../lib/hub/federation/options';
import type { ClusterTransport, LinkStatus } from '../../lib/hub/federation/transport';
import { HubCore } from '../../lib/hub/server/core';
import type { Endpoint } from '../../lib/hub/server/endpoint';
import { waitFor } from '../fixtures/helpers';

/** A broker in memory: every subscriber of a subject gets a copy, asynchronously, in order. */
class Bus {
  readonly subs = new Map<string, Array<(d: Uint8Array) => void>>();
  /** Returns true to drop a message (simulated loss). */
  drop: (subject: string, data: Uint8Array) => boolean = () => false;
  published = 0;

  transport(): ClusterTransport {
    return {
      connect: async (_onStatus: (s: LinkStatus) => void) => undefined,
      subscribe: (subject, cb) => {
        const list = this.subs.get(subject) ?? [];
        list.push(cb);
        this.subs.set(subject, list);
      },
      publish: (subject, data) => {
        this.published++;
        if (this.drop(subject, data)) return;
        const copy = Uint8Array.from(data);
        for (const cb of this.subs.get(subject) ?? []) setImmediate(() => cb(copy));
      },
      flush: async () => undefined,
      close: async () => undefined,
    };
  }
}

class LocalMember implements Endpoint {
  readonly local = true;
  readonly mode = 'client';
  readonly frames: Array<Record<string, unknown>> = [];
  constructor(readonly id: string) {}
  deliver(frame: Buffer): boolean {
    this.frames.push(decodeClientFrame(frame.subarray(4)));
    return true;
  }
}

function federatedCore(bus: Bus, serverId: string, chunk: number): { core: HubCore; fed: Federation } {
  const opts = resolveClusterOptions({}, { heartbeatInterval: 100, peerTimeout: 2000 })!;
  let fed: Federation | undefined;
  const core = new HubCore(
    { serverId, channelPolicy: 'terminate', lbPolicy: 'round-robin', errorPolicy: 'ignore', channelPasswords: {}, maxPendingCalls: 1000 },
    { onStateChange: () => fed?.onLocalChange() },
  );
  fed = new Federation(core, opts, bus.transport(), () => undefined, chunk);
  fed.start();
  return { core, fed };
}

function dispatch(core: HubCore, ep: Endpoint, message: object): void {
  core.dispatch(ep, decodeHubFrame(encodeFrame(message).subarray(4)));
}

describe('Hub federation over an in-memory bus', () => {
  const feds: Federation[] = [];
  afterEach(async () => {
    for (const f of feds.splice(0)) await f.stop();
  });

  it('sends a big state in parts and applies it whole', async () => {
    const bus = new Bus();
    const a = federatedCore(bus, 'A', 1024);
    const b = federatedCore(bus, 'B', 1024);
    feds.push(a.fed, b.fed);
    const parts: number[] = [];
    bus.drop = (_s, data) => {
      const m = data as Uint8Array;
      if (Buffer.from(m).includes('parts')) parts.push(1);
      return false;
    };
    for (let i = 0; i < 300; i++) {
      const m = new LocalMember(`member-${i}`);
      a.core.attach(m);
      dispatch(a.core, m, { type: 'register', request_id: 'r', channel: `ch-${i % 7}`, is_provider: false });
    }
    await waitFor(() => b.core.clients.size === 300 && b.core.channels.get('ch-6')?.members.length === 42, 'B to know all of A\'s members');
    expect(parts.length).to.be.greaterThan(10);
    expect(a.fed.stats()).to.include({ peers: 1 });
  });

  it('heals a lost state message through the heartbeat version', async () => {
    const bus = new Bus();
    const a = federatedCore(bus, 'A', 1024);
    const b = federatedCore(bus, 'B', 1024);
    feds.push(a.fed, b.fed);
    await waitFor(() => a.fed.stats().peers === 1 && b.fed.stats().peers === 1, 'the two to meet');
    let dropped = 0;
    bus.drop = (subject, data) => {
      // Lose A's next state message once.
      if (dropped === 0 && subject.endsWith('.ctl') && Buffer.from(data).includes('chunk')) {
        dropped++;
        return true;
      }
      return false;
    };
    const m = new LocalMember('late');
    a.core.attach(m);
    dispatch(a.core, m, { type: 'register', request_id: 'r', channel: 'c', is_provider: true, event: 'e', is_group: false });
    await waitFor(() => dropped === 1, 'the state message to be lost');
    await waitFor(() => b.core.providers.get('c', 'e')?.providers.includes('late'), 'B to learn of the provider anyway', 3000);
  });
});
