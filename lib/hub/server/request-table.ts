/**
 * Calls in flight: which provider owes which caller an answer. comm-ipc keeps
 * no such table, so its callers hang when a provider dies and any client can
 * inject a response. Here a response is forwarded only from the provider the
 * call was routed to, a provider's departure fails its calls at once, and
 * each caller's share of the table is capped.
 *
 * An entry and everything that refers to it live and die together
 * (add/complete/dropProvider/dropCaller).
 */
export interface PendingCall {
  readonly key: string;
  readonly caller: string;
  readonly provider: string;
  readonly requestId: string;
  readonly channel: string;
  readonly event: string;
}

const callKey = (caller: string, requestId: string): string => `${caller}\u0000${requestId}`;

export class RequestTable {
  private readonly calls = new Map<string, PendingCall>();
  private readonly byProvider = new Map<string, Set<string>>();
  private readonly byCaller = new Map<string, Set<string>>();
  /** Responses that matched no call in flight (late, duplicate or injected). */
  orphanResponses = 0;

  get size(): number {
    return this.calls.size;
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
  add(call: Omit<PendingCall, 'key'>): void {
    const key = callKey(call.caller, call.requestId);
    if (this.calls.has(key)) this.complete(key);
    const entry: PendingCall = { ...call, key };
    this.calls.set(key, entry);
    addTo(this.byProvider, call.provider, key);
    addTo(this.byCaller, call.caller, key);
  }

  /** The call `responder` may answer for (`caller`, `requestId`), if it is in flight. */
  find(caller: string, requestId: string, responder: string): PendingCall | undefined {
    const entry = this.calls.get(callKey(caller, requestId));
    return entry && entry.provider === responder ? entry : undefined;
  }

  /** The call `caller` is waiting on under `requestId`, whoever owes it (federated responses). */
  peek(caller: string, requestId: string): PendingCall | undefined {
    return this.calls.get(callKey(caller, requestId));
  }

  complete(key: string): void {
    const entry = this.calls.get(key);
    if (!entry) return;
    this.calls.delete(key);
    removeFrom(this.byProvider, entry.provider, key);
    removeFrom(this.byCaller, entry.caller, key);
  }

  /** Removes and returns every call `provider` owed (it left). */
  dropProvider(provider: string): PendingCall[] {
    const keys = this.byProvider.get(provider);
    if (!keys) return [];
    const out: PendingCall[] = [];
    for (const key of [...keys]) {
      const entry = this.calls.get(key);
      if (entry) out.push(entry);
      this.complete(key);
    }
    return out;
  }

  /** Forgets every call `caller` was waiting on (it left; late answers become orphans). */
  dropCaller(caller: string): void {
    const keys = this.byCaller.get(caller);
    if (!keys) return;
    for (const key of [...keys]) this.complete(key);
  }
}

function addTo(index: Map<string, Set<string>>, id: string, key: string): void {
  let set = index.get(id);
  if (!set) {
    set = new Set();
    index.set(id, set);
  }
  set.add(key);
}

function removeFrom(index: Map<string, Set<string>>, id: string, key: string): void {
  const set = index.get(id);
  if (!set) return;
  set.delete(key);
  if (set.size === 0) index.delete(id);
}
