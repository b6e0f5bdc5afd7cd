/**
 * A ClusterTransport that counts what crosses it (NATS messages, payload
 * bytes, and the hub frames inside frame batches) for the federation metrics,
 * then hands everything to the real transport unchanged.
 */
import type { ClusterTransport, LinkStatus } from '../hub/federation/transport';
import type { HubMetrics } from './hub-metrics';

/** Frames in a frame batch (lib/hub/federation/wire.ts: version, hub, inst, uint32 count), 0 if it is not one. */
export function batchFrameCount(data: Uint8Array): number {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < 9) return 0;
  let o = 1;
  o += 2 + b.readUInt16BE(o);
  if (o + 2 > b.length) return 0;
  o += 2 + b.readUInt16BE(o);
  return o + 4 <= b.length ? b.readUInt32BE(o) : 0;
}

export function countingTransport(inner: ClusterTransport, metrics: HubMetrics, isBatchSubject: (subject: string) => boolean): ClusterTransport {
  const f = metrics.federation;
  return {
    connect: (onStatus: (s: LinkStatus) => void, onError: (e: Error) => void) => inner.connect(onStatus, onError),
    subscribe(subject, onMessage) {
      const batches = isBatchSubject(subject);
      inner.subscribe(subject, (data) => {
        f.receivedMessages++;
        f.receivedBytes += data.byteLength;
        if (batches) f.receivedFrames += batchFrameCount(data);
        onMessage(data);
      });
    },
    publish(subject, data) {
      inner.publish(subject, data);
      f.sentMessages++;
      f.sentBytes += data.byteLength;
      if (isBatchSubject(subject)) f.sentFrames += batchFrameCount(data);
    },
    flush: () => inner.flush(),
    close: () => inner.close(),
  };
}
