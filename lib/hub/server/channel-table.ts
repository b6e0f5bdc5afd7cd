/**
 * Channels (comm-ipc section 4): per channel, the member list (join order,
 * index 0 is the owner), the opener list (the broadcast audience), the
 * password, and who proved it. A channel exists while any of these is set.
 *
 * Per client, the channels it may be in ({@link ChannelTable.channelsOf}):
 * a superset kept as members and openers are added (members only through
 * addMember/insertMember, openers by any `add`), pruned as it is read, so a
 * departing client costs its own channels, not the whole table (issue 21).
 */
import { SYSTEM_CHANNEL_PREFIX } from '../protocol/messages';

export interface ChannelState {
  readonly name: string;
  /** Everyone who registered anything here, or created it with set_password; [0] owns it. Add through the table. */
  readonly members: string[];
  /** Clients that opened the channel: they get broadcasts, metadata and system pushes. */
  readonly openers: Set<string>;
  /** Members that proved the password (or set it). Cleared by a password change. */
  readonly authorized: Set<string>;
  password: string | undefined;
}

/** An opener set that tells the table who was added (for channelsOf). */
class OpenerSet extends Set<string> {
  constructor(
    private readonly table: ChannelTable,
    private readonly ch: ChannelState,
  ) {
    super();
  }

  override add(id: string): this {
    if (!this.has(id)) this.table.note(this.ch, id);
    return super.add(id);
  }
}

/**
 * Channels one client may be in (member or opener). With the other
 * per-client caps it bounds what its departure undoes at once.
 */
export const MAX_CHANNELS_PER_CLIENT = 10_000;

export class ChannelTable {
  private readonly channels = new Map<string, ChannelState>();
  /** Per client, channels it was added to (members or openers); may hold stale entries. */
  private readonly byClient = new Map<string, Set<ChannelState>>();
  /** Passwords that outlive their channel (system_passwords and `__comm_ipc*`). */
  private readonly persistent = new Map<string, string>();

  constructor(systemPasswords: Record<string, string> = {}) {
    for (const [name, pw] of Object.entries(systemPasswords)) this.persistent.set(name, pw);
  }

  get size(): number {
    return this.channels.size;
  }

  get(name: string): ChannelState | undefined {
    return this.channels.get(name);
  }

  /** The channel, created on first reference. */
  ensure(name: string): ChannelState {
    let ch = this.channels.get(name);
    if (!ch) {
      const state = { name, members: [], authorized: new Set(), password: this.persistent.get(name) } as unknown as { openers: Set<string> } & ChannelState;
      state.openers = new OpenerSet(this, state);
      ch = state;
      this.channels.set(name, ch);
    }
    return ch;
  }

  /** Records that `id` joined `ch` in some role (see channelsOf). */
  note(ch: ChannelState, id: string): void {
    let mine = this.byClient.get(id);
    if (!mine) this.byClient.set(id, (mine = new Set()));
    mine.add(ch);
  }

  /** The password in force for `name`, if any. */
  passwordOf(name: string): string | undefined {
    return this.channels.get(name)?.password ?? this.persistent.get(name);
  }

  owner(name: string): string | undefined {
    return this.channels.get(name)?.members[0];
  }

  addMember(ch: ChannelState, id: string): void {
    if (!ch.members.includes(id)) {
      ch.members.push(id);
      this.note(ch, id);
    }
  }

  /** Puts `id` at `pos` of the member list (the federation keeps join order across hubs). */
  insertMember(ch: ChannelState, id: string, pos: number): void {
    ch.members.splice(pos, 0, id);
    this.note(ch, id);
  }

  setPassword(ch: ChannelState, password: string): void {
    ch.password = password;
    if (ch.name.startsWith(SYSTEM_CHANNEL_PREFIX)) this.persistent.set(ch.name, password);
  }

  /** Drops the member list (terminate, or emptied): the password goes too unless persistent. */
  clearMembers(ch: ChannelState): void {
    ch.members.length = 0;
    ch.authorized.clear();
    if (!this.persistent.has(ch.name)) ch.password = undefined;
    this.dropIfEmpty(ch);
  }

  /** Forgets the channel once nothing refers to it any more. */
  dropIfEmpty(ch: ChannelState): void {
    if (ch.members.length === 0 && ch.openers.size === 0) {
      if (!this.persistent.has(ch.name)) ch.password = undefined;
      this.channels.delete(ch.name);
    }
  }

  /** Channels `id` is a member or opener of: its own entries only, stale ones pruned. */
  channelsOf(id: string): ChannelState[] {
    const mine = this.byClient.get(id);
    if (!mine) return [];
    const out: ChannelState[] = [];
    for (const ch of mine) {
      if (this.channels.get(ch.name) === ch && (ch.openers.has(id) || ch.members.includes(id))) out.push(ch);
      else mine.delete(ch);
    }
    if (mine.size === 0) this.byClient.delete(id);
    return out;
  }

  /** How many channels `id` is in, exactly once it is near `cap` (the index is a superset). */
  countOf(id: string, cap: number): number {
    const n = this.byClient.get(id)?.size ?? 0;
    return n < cap ? n : this.channelsOf(id).length;
  }

  /** Forgets `id`'s index once it holds nothing any more (it left). */
  forgetClient(id: string): void {
    this.byClient.delete(id);
  }

  all(): IterableIterator<ChannelState> {
    return this.channels.values();
  }
}
