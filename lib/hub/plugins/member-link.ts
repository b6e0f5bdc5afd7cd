/**
 * How a plugin instance is a hub member: a {@link MemberLink} per instance.
 * {@link CoreLink} joins an in-process {@link HubCore} as an Endpoint; the
 * socket link (./socket-link.ts) joins a hub over its wire.
 */
import { pipeIOError, type PipeIOError } from '../../errors';
import { decodeClientFrame, decodeHubFrame, encodeFrame } from '../protocol/codec';
import { FRAME_HEADER_BYTES } from '../protocol/frame-reader';
import type { HubCore } from '../server/core';
import type { Endpoint } from '../server/endpoint';
import type { HubLink } from './instance-bridge';

/** What a member link reports to its instance. */
export interface LinkEvents {
  /** A frame for this member (decoded to plain objects). */
  frame(frame: Record<string, unknown>): void;
  /** The hub dropped this member (slow consumer, errorPolicy 'raise', connection lost). */
  lost(err: PipeIOError): void;
}

export interface MemberLink extends HubLink {
  /** Leaves the hub (idempotent). Frames sent afterwards are dropped. */
  close(): void;
}

/** Makes the link of one instance, identified as `id`. */
export type LinkFactory = (id: string, events: LinkEvents) => Promise<MemberLink>;

/** A member of an in-process hub core: frames go straight to `core.dispatch`. */
export class CoreLink implements Endpoint, MemberLink {
  readonly local = true;
  readonly mode = 'plugin';
  private closed = false;

  constructor(
    readonly id: string,
    private readonly core: HubCore,
    private readonly events: LinkEvents,
  ) {
    if (core.isIdInUse(id)) throw pipeIOError('PIPEIO_ERR_ID_IN_USE', `Client ID ${id} already in use`);
    core.attach(this);
  }

  deliver(frame: Buffer): boolean {
    if (this.closed) return false;
    let decoded: Record<string, unknown>;
    try {
      decoded = decodeClientFrame(frame.subarray(FRAME_HEADER_BYTES));
    } catch {
      return true; // the core only encodes valid maps; nothing to tell anyone
    }
    this.events.frame(decoded);
    return true;
  }

  send(frame: Record<string, unknown>): void {
    if (this.closed) return;
    const bytes = encodeFrame(frame);
    this.core.dispatch(this, decodeHubFrame(bytes.subarray(FRAME_HEADER_BYTES)));
  }

  /** Called by the core (errorPolicy 'raise', ...). */
  close(err?: PipeIOError): void {
    if (this.closed) return;
    this.closed = true;
    this.core.detach(this.id);
    if (err) this.events.lost(err);
  }
}

/** A link factory for an in-process core (what `hub.attachPlugin` uses). */
export function coreLinks(core: HubCore): LinkFactory {
  return (id, events) => Promise.resolve(new CoreLink(id, core, events));
}
