/**
 * Members announced by comm-ipc bridges (3.1.14-15, 8.3): remote id -> the
 * bridge that announced it and the hub path to it, plus per-channel remote
 * member sets. Unlike comm-ipc, a bridge's routes go when the bridge does;
 * they are parked for {@link BRIDGE_ROUTE_GRACE_MS} so that a bridge that
 * reconnects with the same id (comm-ipc's bridge never re-announces after a
 * reconnect) gets them back.
 */

/** How long a departed bridge's routes are kept for its return: two heartbeats and a margin. */
export const BRIDGE_ROUTE_GRACE_MS = 65_000;
/** Bridges whose routes are parked at once; the oldest is dropped beyond. */
const MAX_PARKED_BRIDGES = 64;

/** A departed bridge's routes and channel memberships, waiting for it. */
export interface ParkedRoutes {
  readonly routes: Array<[id: string, route: RemoteRoute, channels: string[]]>;
  readonly expiresAt: number;
}
export interface RemoteRoute {
  readonly bridge: string;
  readonly path: string[];
  mode: string;
}

/** Routes one bridge may hold; announcements beyond are refused (PIPEIO_ERR_LIMIT). */
export const MAX_ROUTES_PER_BRIDGE = 100_000;

export class RemoteRoutes {
  private readonly routeMap = new Map<string, RemoteRoute>();
  /** channel -> remote ids that are members there. */
  private readonly members = new Map<string, Set<string>>();
  /** remote id -> channels it is a member of (the reverse of `members`). */
  private readonly channelsById = new Map<string, Set<string>>();
  /** bridge -> the remote ids it announced. */
  private readonly byBridge = new Map<string, Set<string>>();
  private readonly parked = new Map<string, ParkedRoutes>();

  /** remote id -> its route. Change through {@link setRoute} / {@link deleteRoute}. */
  get routes(): ReadonlyMap<string, RemoteRoute> {
    return this.routeMap;
  }

  setRoute(id: string, route: RemoteRoute): void {
    this.deleteRoute(id);
    this.routeMap.set(id, route);
    let mine = this.byBridge.get(route.bridge);
    if (!mine) this.byBridge.set(route.bridge, (mine = new Set()));
    mine.add(id);
  }

  deleteRoute(id: string): void {
    const old = this.routeMap.get(id);
    if (!old) return;
    this.routeMap.delete(id);
    const mine = this.byBridge.get(old.bridge);
    if (mine?.delete(id) && mine.size === 0) this.byBridge.delete(old.bridge);
  }

  /** Routes `bridge` holds. */
  routeCount(bridge: string): number {
    return this.byBridge.get(bridge)?.size ?? 0;
  }

  /** Keeps what `bridge` announced, for its return within the grace period. */
  park(bridge: string, routes: ParkedRoutes['routes'], now = Date.now()): void {
    if (routes.length === 0) return;
    if (this.parked.size >= MAX_PARKED_BRIDGES) this.parked.delete(this.parked.keys().next().value as string);
    this.parked.set(bridge, { routes, expiresAt: now + BRIDGE_ROUTE_GRACE_MS });
  }

  /** Takes back what `bridge` left parked, if still fresh. */
  unpark(bridge: string, now = Date.now()): ParkedRoutes['routes'] {
    const entry = this.parked.get(bridge);
    this.parked.delete(bridge);
    return entry && entry.expiresAt > now ? entry.routes : [];
  }

  /** Drops expired parked routes. */
  sweep(now = Date.now()): void {
    for (const [bridge, entry] of this.parked) if (entry.expiresAt <= now) this.parked.delete(bridge);
  }

  /** Channels `id` is a remote member of. */
  channelsOf(id: string): string[] {
    return [...(this.channelsById.get(id) ?? [])];
  }

  membersOf(channel: string): Set<string> | undefined {
    return this.members.get(channel);
  }

  addMember(channel: string, id: string): void {
    let set = this.members.get(channel);
    if (!set) {
      set = new Set();
      this.members.set(channel, set);
    }
    set.add(id);
    let mine = this.channelsById.get(id);
    if (!mine) this.channelsById.set(id, (mine = new Set()));
    mine.add(channel);
  }

  /** Removes `id` from one channel, or from all; returns the channels it left. */
  removeMember(id: string, channel?: string): string[] {
    const left: string[] = [];
    const names = channel === undefined ? this.channelsOf(id) : [channel];
    for (const name of names) {
      const set = this.members.get(name);
      if (set?.delete(id)) {
        left.push(name);
        if (set.size === 0) this.members.delete(name);
        const mine = this.channelsById.get(id);
        if (mine?.delete(name) && mine.size === 0) this.channelsById.delete(id);
      }
    }
    return left;
  }

  /** Every remote id announced through `bridge`. */
  routedBy(bridge: string): string[] {
    return [...(this.byBridge.get(bridge) ?? [])];
  }
}
