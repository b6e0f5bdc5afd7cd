/**
 * A load-balanced provider group (comm-ipc 5.1). Purely a naming convention
 * on top of a channel: `ch.group('workers').addEvent('task', h)` registers the
 * event `workers.task` with `is_group: true`; `ch.group()` keeps the event
 * name. The hub balances calls and sends among all group providers.
 */
import type { HubMessage } from '../protocol/messages';
import type { HubChannel } from './channel';
import type { HubStream } from './stream';
import type { AddEventOptions, CallOptions, EventHandler, StreamHandler } from './types';

export class HubGroup {
  /** @internal Use {@link HubChannel.group}. */
  constructor(
    private readonly channel: HubChannel,
    readonly name: string | undefined,
  ) {}

  /** The event name on the wire. */
  eventName(event: string): string {
    if (typeof event !== 'string' || event === '') throw new TypeError('event must be a non-empty string');
    return this.name === undefined ? event : `${this.name}.${event}`;
  }

  /** Joins the group as a provider of `event`. */
  addEvent(event: string, handler: EventHandler | StreamHandler, options?: AddEventOptions): Promise<void> {
    return this.channel.provide(this.eventName(event), handler, options, true);
  }

  call(event: string, data?: unknown, options?: CallOptions): Promise<HubMessage> {
    return this.channel.call(this.eventName(event), data, options);
  }

  stream(event: string, data?: unknown, options?: CallOptions): HubStream {
    return this.channel.stream(this.eventName(event), data, options);
  }

  send(event: string, data?: unknown): Promise<void> {
    return this.channel.send(this.eventName(event), data);
  }
}
