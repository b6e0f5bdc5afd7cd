/**
 * Channels (comm-ipc section 4): per channel, the member list (join order,
 * index 0 is the owner), the opener list (the broadcast audience), the
 * password, and who proved it. A channel exists while any of these is set.
 */
import { SYSTEM_CHANNEL_PREFIX } from '../protocol/messages';

export interface ChannelState {
  readonly name: string;
  /** Everyone who registered anything here, or created it with set_password; [0] owns it. */
  readonly members: string[];
  /** Clients that opened the channel: they get broadcasts, metadata and system pushes. */
  readonly openers: Set<string>;
  /** Members that proved the password (or set it). Cleared by a password change. */
  readonly authorized: Set<string>;
  password: string | undefined;
}

export class ChannelTable {
  private readonly channels = new Map<string, ChannelState>();
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
      ch = { name, members: [], openers: new Set(), authorized: new Set(), password: this.persistent.get(name) };
      this.channels.set(name, ch);
    }
    return ch;
  }

  /** The password in force for `name`, if any. */
  passwordOf(name: string): string | undefined {
    return this.channels.get(name)?.password ?? this.persistent.get(name);
  }

  owner(name: string): string | undefined {
    return this.channels.get(name)?.members[0];
  }

  addMember(ch: ChannelState, id: string): void {
    if (!ch.members.includes(id)) ch.members.push(id);
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

  /** Channels `id` is a member or opener of. */
  channelsOf(id: string): ChannelState[] {
    const out: ChannelState[] = [];
    for (const ch of this.channels.values()) if (ch.members.includes(id) || ch.openers.has(id)) out.push(ch);
    return out;
  }

  all(): IterableIterator<ChannelState> {
    return this.channels.values();
  }
}
