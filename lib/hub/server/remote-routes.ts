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

export class RemoteRoutes {
  readonly routes = new Map<string, RemoteRoute>();
  private readonly members = new Map<string, Set<string>>();
  private readonly parked = new Map<string, ParkedRoutes>();

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
    const out: string[] = [];
    for (const [channel, set] of this.members) if (set.has(id)) out.push(channel);
    return out;
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
  }

  /** Removes `id` from one channel, or from all; returns the channels it left. */
  removeMember(id: string, channel?: string): string[] {
    const left: string[] = [];
    const names = channel === undefined ? [...this.members.keys()] : [channel];
    for (const name of names) {
      const set = this.members.get(name);
      if (set?.delete(id)) {
        left.push(name);
        if (set.size === 0) this.members.delete(name);
      }
    }
    return left;
  }

  /** Every remote id announced through `bridge`. */
  routedBy(bridge: string): string[] {
    const out: string[] = [];
    for (const [id, r] of this.routes) if (r.bridge === bridge) out.push(id);
    return out;
  }
}
