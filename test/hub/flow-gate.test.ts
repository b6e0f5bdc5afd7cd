/** FlowGate in memory: who pauses whom, and when a producer is read again. */
import { expect } from 'chai';
import { FlowGate, flowKind } from '../../lib/hub/server/flow-control';
import { decodeHubFrame, encodeFrame } from '../../lib/hub/protocol/codec';

function gate(): { g: FlowGate; log: string[] } {
  const log: string[] = [];
  const g = new FlowGate({ pauseReading: () => log.push('pause'), resumeReading: () => log.push('resume') });
  return { g, log };
}

const frame = (m: Record<string, unknown>): ReturnType<typeof decodeHubFrame> => decodeHubFrame(encodeFrame(m).subarray(4));

describe('FlowGate', () => {
  it('pauses a producer once, and resumes it only when every receiver holding it has released it', () => {
    const p = gate();
    const r1 = gate();
    const r2 = gate();
    r1.g.hold(p.g, false);
    r1.g.hold(p.g, false); // again: nothing more
    r2.g.hold(p.g, false);
    expect(p.log).to.deep.equal(['pause']);
    expect(p.g.held).to.equal(true);
    r1.g.release();
    expect(p.log).to.deep.equal(['pause']);
    r2.g.release();
    expect(p.log).to.deep.equal(['pause', 'resume']);
    expect(p.g.held).to.equal(false);
  });

  it('releases fan-out producers early, but not one also held by a point-to-point frame', () => {
    const pub = gate();
    const prov = gate();
    const r = gate();
    r.g.hold(pub.g, true);
    r.g.hold(prov.g, true);
    r.g.hold(prov.g, false); // a stream chunk too: held for real
    expect(r.g.releaseFanout()).to.equal(true);
    expect(pub.log).to.deep.equal(['pause', 'resume']);
    expect(prov.log).to.deep.equal(['pause']);
    expect(r.g.holding).to.equal(true);
  });

  it('a connection holding itself (it does not read its replies) is read again when it drains', () => {
    const c = gate();
    c.g.hold(c.g, false);
    expect(c.log).to.deep.equal(['pause']);
    c.g.release();
    expect(c.log).to.deep.equal(['pause', 'resume']);
  });

  it('dispose(): a closed receiver releases its producers; a closed producer leaves its receivers', () => {
    const p = gate();
    const r = gate();
    r.g.hold(p.g, false);
    r.g.dispose();
    expect(p.log).to.deep.equal(['pause', 'resume']);
    const q = gate();
    const s = gate();
    s.g.hold(q.g, false);
    q.g.dispose();
    expect(s.g.holding).to.equal(false);
    s.g.release(); // nothing left to resume
    expect(q.log).to.deep.equal(['pause']);
  });

  it('tells the kinds of frames apart', () => {
    expect(flowKind(frame({ type: 'publish', channel: 'c', sub_name: 's' }))).to.equal('fanout');
    expect(flowKind(frame({ type: 'broadcast', channel: 'c', event: 'e' }))).to.equal('fanout');
    expect(flowKind(frame({ type: 'response', request_id: 'r', is_stream: true, is_final: false }))).to.equal('point');
    expect(flowKind(frame({ type: 'response', request_id: 'r', is_stream: true, is_final: true }))).to.equal('reply');
    expect(flowKind(frame({ type: 'response', request_id: 'r', is_stream: true, error: 'x' }))).to.equal('reply');
    expect(flowKind(frame({ type: 'response', request_id: 'r', data: 1 }))).to.equal('reply');
    expect(flowKind(frame({ type: 'call', channel: 'c', event: 'e' }))).to.equal('point');
    expect(flowKind(undefined)).to.equal('point');
  });
});
