/**
 * Members announced by comm-ipc bridges (3.1.14-15, 8.3): remote id -> the
 * bridge that announced it and the hub path to it, plus per-channel remote
 * member sets. Unlike comm-ipc, a bridge's routes go when the bridge does.
 */
export interface RemoteRoute {
  readonly bridge: string;
  readonly path: string[];
  mode: string;
}

export class RemoteRoutes {
  readonly routes = new Map<string, RemoteRoute>();
  private readonly members = new Map<string, Set<string>>();

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
