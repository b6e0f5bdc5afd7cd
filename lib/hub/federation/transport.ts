/**
 * The federation's view of the messaging system: connect, subscribe,
 * publish bytes, report link status, close. NATS is one implementation
 * (./nats-transport.ts); tests or other brokers can provide another.
 * No request/reply: hubs correlate calls themselves (the core's request table).
 */

/** Link status changes, in order: up (first connect or reconnect), down (lost; the transport retries by itself). */
export type LinkStatus = 'up' | 'down';

export interface ClusterTransport {
  /**
   * Connects, retrying until it succeeds or close() is called. Resolves once
   * connected (so it may never resolve while the broker is unreachable).
   * `onStatus` sees every later 'down'/'up'; `onError` reports problems that
   * do not change the status.
   */
  connect(onStatus: (status: LinkStatus) => void, onError: (err: Error) => void): Promise<void>;
  /** Subscribes `subject`; the callback gets each message's bytes. Survives reconnects. */
  subscribe(subject: string, onMessage: (data: Uint8Array) => void): void;
  /** Publishes bytes; only called while the link is up. */
  publish(subject: string, data: Uint8Array): void;
  /** Resolves once the broker has everything published so far (bounded by the caller). */
  flush(): Promise<void>;
  /** Closes for good; pending connects give up. Idempotent. */
  close(): Promise<void>;
}
