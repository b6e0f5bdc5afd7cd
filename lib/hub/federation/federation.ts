/**
 * Federation: makes hubs on many machines one channel space through NATS.
 * Owns the link (a {@link ClusterTransport}), the peer table, heartbeats,
 * and this hub's announced state; the routing core sees other hubs' members
 * as remote endpoints in its own tables (./reconcile.ts) and frames for them
 * leave through one outbox (./remote-endpoint.ts).
 *
 *   idle --start()--> connecting --dial ok--> up <--reconnect-- down
 *                          |                   \---disconnect--^  |
 *                          \----------- stop() from any state -----> closed
 *
 * up:   hello + state published (peers answer with theirs), queued frames sent,
 *       heartbeats every heartbeatInterval; a peer silent for peerTimeout is
 *       dropped (its members detached: leave notices, provider-gone answers).
 * down: calls in flight to remote providers fail at once (their frames or
 *       answers may be lost with the broker), new frames for other hubs
 *       queue, peers are kept (nobody can be judged) for linkDownGrace, then
 *       dropped. Local clients keep being served throughout.
 * stop(): bye published (peers drop us at once), link closed, remote members detached.
 */
import { pipeIOError, type PipeIOError } from '../../errors';
import { nowSeconds, type HubCore } from '../server/core';
import { answerUndeliverable, handleBatch, type InboundStats } from './inbound';
import type { ResolvedClusterOptions } from './options';
import { dropHub, applyState, endpointsOf, type ReconcileContext } from './reconcile';
import { Outbox } from './remote-endpoint';
import { LocalView } from './snapshot';
import type { ClusterTransport, LinkStatus } from './transport';
import {
  controlSubject,
  decodeBatch,
  decodeControl,
  decodeState,
  encodeBatch,
  encodeControl,
  encodeState,
  inboxSubject,
  MAX_STATE_PARTS,
  splitState,
  STATE_CHUNK_BYTES,
  WIRE_VERSION,
  type BatchItem,
  type ControlMessage,
} from './wire';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type FederationState = 'idle' | 'connecting' | 'up' | 'down' | 'closed';

/** What a federated hub reports through its 'cluster' event. */
export type ClusterEvent =
  | { type: 'link'; up: boolean }
  | { type: 'peer'; hub: string; up: boolean; reason?: 'bye' | 'timeout' | 'restart' | 'link' }
  | { type: 'error'; error: PipeIOError };

interface Peer {
  inst: string;
  lastSeen: number;
  seq: number;
  ver: number;
  /** Heard from since our link last came up: frames for it may leave. */
  confirmed: boolean;
  /** The parts of a state being received. */
  partial?: { ver: number; chunks: Uint8Array[] };
}

export interface FederationStats {
  peers: number;
  remoteMembers: number;
  queuedBytes: number;
  droppedFrames: number;
}

export class Federation {
  private readonly core: HubCore;
  private readonly opts: ResolvedClusterOptions;
  private readonly transport: ClusterTransport;
  private readonly emit: (ev: ClusterEvent) => void;
  private readonly inst = `${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  private readonly peers = new Map<string, Peer>();
  private readonly view: LocalView;
  private readonly outbox: Outbox;
  private readonly ctx: ReconcileContext;
  private readonly inbound: InboundStats = { dropped: 0 };
  private stateValue: FederationState = 'idle';
  private seq = 0;
  private ver = 0;
  private lastState: Buffer | undefined;
  private stateScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private downSince = 0;
  private lastHeartbeat = 0;

  private readonly stateChunkBytes: number;

  /** @param stateChunkBytes Largest state message part (tests make it small). */
  constructor(core: HubCore, opts: ResolvedClusterOptions, transport: ClusterTransport, emit: (ev: ClusterEvent) => void, stateChunkBytes = STATE_CHUNK_BYTES) {
    this.core = core;
    this.stateChunkBytes = stateChunkBytes;
    this.opts = opts;
    this.transport = transport;
    this.emit = emit;
    this.view = new LocalView(core);
    this.outbox = new Outbox(
      {
        send: (hub, items) => this.sendBatch(hub, items),
        canSend: (hub) => this.stateValue === 'up' && this.peers.get(hub)?.confirmed !== false,
        onOverflow: () => this.failRemoteCalls('the cluster link is down and the queue for other hubs overflowed'),
      },
      opts.maxQueueBytes,
    );
    this.ctx = {
      core,
      view: this.view,
      outbox: this.outbox,
      onConflict: (id, hub) => this.error(`hub ${hub} announced ${id}, which is already a member elsewhere; ignored`),
    };
  }

  get state(): FederationState {
    return this.stateValue;
  }

  stats(): FederationStats {
    let remoteMembers = 0;
    for (const ep of this.core.clients.values()) if (!ep.local) remoteMembers++;
    return { peers: this.peers.size, remoteMembers, queuedBytes: this.outbox.bytes, droppedFrames: this.inbound.dropped };
  }

  /** Starts dialling in the background; local service never waits for it. */
  start(): void {
    if (this.stateValue !== 'idle') return;
    this.stateValue = 'connecting';
    this.transport.subscribe(controlSubject(this.opts.subjectPrefix), (d) => this.onControl(d));
    this.transport.subscribe(inboxSubject(this.opts.subjectPrefix, this.core.serverId), (d) => this.onBatch(d));
    this.timer = setInterval(() => this.tick(), Math.min(this.opts.heartbeatInterval, 250));
    this.timer.unref();
    this.transport
      .connect(
        (s) => this.onLink(s),
        (err) => this.error(`NATS: ${err.message}`, err),
      )
      .then(
        () => {
          if (this.stateValue === 'connecting') this.onLink('up');
        },
        (err: Error) => this.error(`NATS: ${err.message}`, err),
      );
  }

  /** Local state may have changed: announce it once this tick's changes are done. */
  onLocalChange(): void {
    if (this.stateScheduled || this.stateValue === 'idle' || this.stateValue === 'closed') return;
    this.stateScheduled = true;
    setImmediate(() => {
      this.stateScheduled = false;
      this.publishState(false);
    });
  }

  private onLink(status: LinkStatus): void {
    if (this.stateValue === 'closed') return;
    if (status === 'down') {
      if (this.stateValue !== 'up') return;
      this.stateValue = 'down';
      this.downSince = Date.now();
      this.emit({ type: 'link', up: false });
      this.failRemoteCalls('the cluster link was lost before the answer came');
      return;
    }
    if (this.stateValue === 'up') return;
    this.stateValue = 'up';
    const now = Date.now();
    for (const p of this.peers.values()) {
      p.lastSeen = now; // judge them again from now
      p.confirmed = false; // and send them nothing before they are back
    }
    this.emit({ type: 'link', up: true });
    this.publishControl({ k: 'hello' });
    this.publishState(true);
    this.outbox.flush();
  }

  private tick(): void {
    const now = Date.now();
    if (this.stateValue === 'up') {
      if (now - this.lastHeartbeat >= this.opts.heartbeatInterval) {
        this.lastHeartbeat = now;
        this.publishControl({ k: 'hb', seq: ++this.seq, ver: this.ver });
      }
      for (const [hub, p] of this.peers) if (now - p.lastSeen > this.opts.peerTimeout) this.dropPeer(hub, 'timeout');
    } else if (this.stateValue === 'down' && now - this.downSince > this.opts.linkDownGrace) {
      for (const hub of [...this.peers.keys()]) this.dropPeer(hub, 'link');
    }
  }

  private publishState(force: boolean): void {
    if (this.stateValue === 'closed' || this.stateValue === 'idle') return;
    const bytes = encodeState(this.view.build());
    if (this.lastState && bytes.equals(this.lastState) && !force) return;
    if (!this.lastState || !bytes.equals(this.lastState)) this.ver++;
    this.lastState = bytes;
    const chunks = splitState(bytes, this.stateChunkBytes);
    chunks.forEach((chunk, part) => this.publishControl({ k: 'state', seq: ++this.seq, ver: this.ver, part, parts: chunks.length, chunk }));
  }

  private publishControl(body: DistributiveOmit<ControlMessage, 'v' | 'hub' | 'inst'>): void {
    if (this.stateValue !== 'up') return;
    const message = { v: WIRE_VERSION, hub: this.core.serverId, inst: this.inst, ...body } as ControlMessage;
    try {
      this.transport.publish(controlSubject(this.opts.subjectPrefix), encodeControl(message));
    } catch (err) {
      this.error(`publishing ${body.k} failed: ${(err as Error).message}`, err);
    }
  }

  private sendBatch(hub: string, items: BatchItem[]): void {
    const subject = inboxSubject(this.opts.subjectPrefix, hub);
    const publish = (batch: BatchItem[]): Error | undefined => {
      try {
        this.transport.publish(subject, encodeBatch(this.core.serverId, this.inst, batch));
        return undefined;
      } catch (err) {
        return err as Error;
      }
    };
    const err = publish(items);
    if (!err) return;
    // Typically over NATS' max_payload: send what fits one by one, answer for the rest.
    this.error(`sending ${items.length} frame(s) to hub ${hub} failed: ${err.message}`, err);
    for (const item of items) {
      const itemErr = items.length > 1 ? publish([item]) : err;
      if (!itemErr) continue;
      answerUndeliverable(this.core, item.frame, item.targets, itemErr.message, (frame, target) => void publish([{ frame, targets: [target] }]));
    }
  }

  private onControl(data: Uint8Array): void {
    let m: ControlMessage;
    try {
      m = decodeControl(data);
    } catch (err) {
      this.error((err as Error).message, err);
      return;
    }
    if (m.hub === this.core.serverId || m.v !== WIRE_VERSION) {
      if (m.hub === this.core.serverId && m.inst !== this.inst) this.error(`another hub uses the id ${m.hub}`);
      return;
    }
    if (m.k === 'bye') {
      if (this.peers.get(m.hub)?.inst === m.inst) this.dropPeer(m.hub, 'bye');
      return;
    }
    const peer = this.peers.get(m.hub);
    if (m.k === 'hello') {
      if (peer?.inst === m.inst) {
        // It lost its link: what we sent it, or it answered us, meanwhile may be lost.
        this.failRemoteCalls(`hub ${m.hub} lost its cluster link before the answer came`, m.hub);
        this.markHeard(peer);
      }
      this.publishState(true);
      return;
    }
    this.peerOf(m.hub, m.inst);
    this.applyControl(m);
  }

  /** The peer entry for (hub, instance): a new instance replaces (drops) the old one. */
  private peerOf(hub: string, inst: string): Peer {
    let peer = this.peers.get(hub);
    if (peer && peer.inst !== inst) {
      this.dropPeer(hub, 'restart');
      peer = undefined;
    }
    if (!peer) {
      peer = { inst, lastSeen: Date.now(), seq: 0, ver: -1, confirmed: true };
      this.peers.set(hub, peer);
      this.core.peerHubs.add(hub);
      this.emit({ type: 'peer', hub, up: true });
    }
    return peer;
  }

  private applyControl(m: ControlMessage & { k: 'state' | 'hb' }): void {
    const peer = this.peers.get(m.hub)!;
    if (m.seq <= peer.seq) return; // reordered or repeated
    peer.seq = m.seq;
    this.markHeard(peer);
    if (m.k === 'state') {
      const chunks = m.part === 0 ? [] : peer.partial?.ver === m.ver ? peer.partial.chunks : undefined;
      peer.partial = undefined;
      // A part missing (lost, or we joined mid-state): the next heartbeat's version asks again.
      if (!chunks || chunks.length !== m.part || m.parts > MAX_STATE_PARTS) return;
      chunks.push(m.chunk);
      if (chunks.length < m.parts) {
        peer.partial = { ver: m.ver, chunks };
        return;
      }
      let state;
      try {
        state = decodeState(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      } catch (err) {
        this.error(`hub ${m.hub}: ${(err as Error).message}`, err);
        return;
      }
      peer.ver = m.ver;
      applyState(this.ctx, m.hub, state);
    } else if (m.ver !== peer.ver) {
      this.publishControl({ k: 'hello' }); // we missed a state: ask again
    }
  }

  private markHeard(peer: Peer): void {
    peer.lastSeen = Date.now();
    if (!peer.confirmed) {
      peer.confirmed = true;
      this.outbox.flush();
    }
  }

  private onBatch(data: Uint8Array): void {
    try {
      const batch = decodeBatch(data);
      if (batch.hub === this.core.serverId) return;
      // Frames may overtake their hub's first state (different subjects): they make it a peer,
      // so whatever they attach is dropped with it if it never speaks again.
      this.markHeard(this.peerOf(batch.hub, batch.inst));
      handleBatch(this.ctx, batch, this.inbound);
    } catch (err) {
      this.inbound.dropped++;
      this.error((err as Error).message, err);
    }
  }

  private dropPeer(hub: string, reason: 'bye' | 'timeout' | 'restart' | 'link'): void {
    if (!this.peers.delete(hub)) return;
    this.core.peerHubs.delete(hub);
    dropHub(this.ctx, hub);
    this.emit({ type: 'peer', hub, up: false, reason });
  }

  /** Answers every call waiting on a provider of another hub (or of `onlyHub`) with PIPEIO_ERR_FEDERATION. */
  private failRemoteCalls(why: string, onlyHub?: string): void {
    for (const ep of [...this.core.clients.values()]) {
      if (ep.local || (onlyHub !== undefined && (ep as { home?: string }).home !== onlyHub)) continue;
      for (const call of this.core.requests.dropProvider(ep.id)) {
        this.core.sendTo(call.caller, {
          type: 'response',
          request_id: call.requestId,
          channel: call.channel,
          event: call.event,
          sender_id: 'server',
          server_id: this.core.serverId,
          origin_server_id: this.core.serverId,
          timestamp: nowSeconds(),
          target_id: call.caller,
          is_stream: false,
          is_final: true,
          error: `Call to ${call.channel}:${call.event} failed: ${why}`,
          code: 'PIPEIO_ERR_FEDERATION',
        });
      }
    }
  }

  private error(message: string, cause?: unknown): void {
    this.emit({ type: 'error', error: pipeIOError('PIPEIO_ERR_FEDERATION', message, cause === undefined ? undefined : { cause }) });
  }

  /** Leaves the cluster: bye, flush (bounded), close; remote members are detached. Idempotent. */
  async stop(flushTimeout = 1000): Promise<void> {
    if (this.stateValue === 'closed') return;
    const wasUp = this.stateValue === 'up';
    if (wasUp) {
      this.outbox.flush();
      this.publishControl({ k: 'bye' });
    }
    this.stateValue = 'closed';
    if (this.timer) clearInterval(this.timer);
    if (wasUp) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([
        this.transport.flush().catch(() => undefined),
        new Promise<void>((resolve) => {
          t = setTimeout(resolve, flushTimeout);
        }),
      ]);
      clearTimeout(t);
    }
    await this.transport.close().catch(() => undefined);
    for (const hub of [...this.peers.keys()]) {
      this.peers.delete(hub);
      this.core.peerHubs.delete(hub);
      for (const ep of endpointsOf(this.core, hub)) this.core.detach(ep.id);
    }
    this.outbox.clear();
  }
}

