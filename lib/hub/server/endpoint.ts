/**
 * The routing core's view of a member: something with an id that frames can
 * be delivered to. A local connection is one; a member on another hub (the
 * federation layer) is another. The core never asks which it is to route.
 */
import type { PipeIOError } from '../../errors';

export interface Endpoint {
  /** The client id (unique across the channel space). */
  readonly id: string;
  /** comm-ipc mode: 'client', 'bridge', ... */
  readonly mode: string;
  /** False for members that live on another hub. */
  readonly local: boolean;
  /**
   * Delivers one whole frame (length header included). Returns false if the
   * endpoint is gone or refused it (closed, slow consumer). `startsWork`
   * marks a call: the member will answer it, so it may be sent without
   * waiting for the rest of the tick's frames.
   */
  deliver(frame: Buffer, startsWork?: boolean): boolean;
  /** Ends the member's link (errorPolicy 'raise', slow consumer); optional for remote members. */
  close?(err: PipeIOError): void;
}
