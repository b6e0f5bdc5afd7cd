/**
 * Calls in flight: which provider owes which caller an answer. comm-ipc keeps
 * no such table, so its callers hang when a provider dies and any client can
 * inject a response. Here a response is forwarded only from the provider the
 * call was routed to, a provider's departure fails its calls at once, and
 * each caller's share of the table is capped.
 *
 * An entry and everything that refers to it live and die together
 * (add/complete/dropProvider/dropCaller). Indexes hold the entry objects
 * themselves (no composite string keys): this table is on every call's path.
 */
import { NO_OBSERVER, type HubObserver } from './observer';

export interface PendingCall {
  /** `caller NUL requestId`: a stable name for the entry. */
  readonly key: string;
  readonly caller: string;
  readonly provider: string;
  readonly requestId: string;
  readonly channel: string;
  readonly event: string;
  /** The caller asked for a stream (`is_stream`). */
  readonly stream: boolean;
  /** observer.now() when the call was routed (the hub's latency, request in to response out). */
  readonly startedAt: number;
  /** The observer's slot (lib/hub/server/observer.ts). */
  observed: unknown;
}

export class RequestTable {
  /** Told of calls that end without an answer (metrics; lib/hub/server/observer.ts). */
  observer: HubObserver = NO_OBSERVER;
  /** caller -> request id -> call. */
  private readonly byCaller = new Map<string, Map<string, PendingCall>>();
  /** provider -> the calls it owes. */
  private readonly byProvider = new Map<string, Set<PendingCall>>();
  private count = 0;
  /** Responses that matched no call in flight (late, duplicate or injected). */
  orphanResponses = 0;

  get size(): number {
    return this.count;
  }

  /** Calls `provider` has in flight (for least-active). */
  activeOf(provider: string): number {
    return this.byProvider.get(provider)?.size ?? 0;
  }

  /** Calls `caller` is waiting on. */
  pendingOf(caller: string): number {
    return this.byCaller.get(caller)?.size ?? 0;
  }

  /** Records a routed call. A repeated request id from the same caller replaces the older entry. */
  add(call: Omit<PendingCall, 'key' | 'stream' | 'startedAt' | 'observed'> & { stream?: boolean }): void {
    let mine = this.byCaller.get(call.caller);
    if (!mine) {
      mine = new Map();
      this.byCaller.set(call.caller, mine);
    } else {
      const old = mine.get(call.requestId);
      if (old) {
        this.complete(old);
        this.observer.callDropped(old, 'abandoned');
      }
    }
    const entry: PendingCall = {
      key: `${call.caller}\u0000${call.requestId}`,
      caller: call.caller,
      provider: call.provider,
      requestId: call.requestId,
      channel: call.channel,
      event: call.event,
      stream: call.stream === true,
      startedAt: this.observer.now(),
      observed: undefined,
    };
    mine.set(call.requestId, entry);
    let owed = this.byProvider.get(call.provider);
    if (!owed) {
      owed = new Set();
      this.byProvider.set(call.provider, owed);
    }
    owed.add(entry);
    this.count++;
  }

  /** The call `responder` may answer for (`caller`, `requestId`), if it is in flight. */
  find(caller: string, requestId: string, responder: string): PendingCall | undefined {
    const entry = this.byCaller.get(caller)?.get(requestId);
    return entry && entry.provider === responder ? entry : undefined;
  }

  /** The call `caller` is waiting on under `requestId`, whoever owes it (federated responses). */
  peek(caller: string, requestId: string): PendingCall | undefined {
    return this.byCaller.get(caller)?.get(requestId);
  }

  /** Removes a call (the entry, or its `key`). */
  complete(callOrKey: PendingCall | string): void {
    let entry: PendingCall | undefined;
    if (typeof callOrKey === 'string') {
      const cut = callOrKey.indexOf('\u0000');
      entry = this.peek(callOrKey.slice(0, cut), callOrKey.slice(cut + 1));
    } else {
      entry = callOrKey;
    }
    if (!entry) return;
    const mine = this.byCaller.get(entry.caller);
    if (!mine || mine.get(entry.requestId) !== entry) return;
    mine.delete(entry.requestId);
    if (mine.size === 0) this.byCaller.delete(entry.caller);
    const owed = this.byProvider.get(entry.provider);
    if (owed) {
      owed.delete(entry);
      if (owed.size === 0) this.byProvider.delete(entry.provider);
    }
    this.count--;
  }

  /** Removes and returns every call `provider` owed (it left). */
  dropProvider(provider: string): PendingCall[] {
    const owed = this.byProvider.get(provider);
    if (!owed) return [];
    const out = [...owed];
    for (const entry of out) {
      this.complete(entry);
      this.observer.callDropped(entry, 'provider_gone');
    }
    return out;
  }

  /** Forgets every call `caller` was waiting on (it left; late answers become orphans). */
  dropCaller(caller: string): void {
    const mine = this.byCaller.get(caller);
    if (!mine) return;
    for (const entry of [...mine.values()]) {
      this.complete(entry);
      this.observer.callDropped(entry, 'abandoned');
    }
  }
}
