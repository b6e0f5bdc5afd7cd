/**
 * The routing core's view of a member: something with an id that frames can
 * be delivered to. A local connection is one; a member on another hub (the
 * federation layer) is another. The core never asks which it is to route.
 */
import type { PipeIOError } from '../../errors';
import type { HubFrame } from '../protocol/codec';

export interface Endpoint {
  /** The client id (unique across the channel space). */
  readonly id: string;
  /** comm-ipc mode: 'client', 'bridge', ... */
  readonly mode: string;
  /** False for members that live on another hub. */
  readonly local: boolean;
  /**
   * True for members that live in the hub's own process (hub plugins): their
   * frames are the hub's, so their error codes are forwarded as they are
   * (a connection's are stripped) and their claims are not checked.
   */
  readonly inProcess?: boolean;
  /**
   * Delivers one whole frame (length header included). Returns false if the
   * endpoint is gone or refused it (closed, slow consumer). `startsWork`
   * marks a call: the member will answer it, so it may be sent without
   * waiting for the rest of the tick's frames.
   */
  deliver(frame: Buffer, startsWork?: boolean): boolean;
  /**
   * Takes a routed `call` as the core decoded it, instead of its stamped
   * bytes: for in-process members, which would only decode the bytes again.
   * `callerId` is the `sender_id` the stamps would carry. The core has done
   * everything else (request table, refusals); false as for {@link deliver}.
   */
  deliverCall?(frame: HubFrame, callerId: string): boolean;
  /** Ends the member's link (errorPolicy 'raise', slow consumer); optional for remote members. */
  close?(err: PipeIOError): void;
}
