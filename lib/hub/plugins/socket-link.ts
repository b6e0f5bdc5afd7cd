/**
 * SocketLink: a plugin instance as a member of a hub over its wire (Unix
 * socket, TCP, TLS), for `pipe-io-server provide`. One connection per
 * instance: identify (answering the connection-secret challenge), then
 * frames both ways, and a `ping` every `heartbeatInterval` so an idle
 * provider is not dropped by the hub's idle timeout (60 s).
 */
import { pipeIOError, type PipeIOError } from '../../errors';
import { dialHub, HubLink } from '../client/transport';
import type { HubClientAddress } from '../client/types';
import { connectionProof } from '../security/signing';
import type { ResponseBody } from './instance-bridge';
import type { LinkEvents, LinkFactory, MemberLink } from './member-link';

export interface SocketLinkOptions {
  /** The hub's connection secret, if it has one. */
  secret?: string;
  /** ms to connect and identify. @default 10000 */
  connectTimeout?: number;
  /** ms between pings. @default 20000 */
  heartbeatInterval?: number;
  /** Largest accepted frame, bytes. @default 67108864 */
  maxFrameSize?: number;
}

class SocketLink implements MemberLink {
  private link: HubLink | undefined;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(readonly id: string) {}

  async open(address: HubClientAddress, options: SocketLinkOptions, events: LinkEvents): Promise<void> {
    const timeout = options.connectTimeout ?? 10000;
    const socket = await dialHub(address, timeout);
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => fail(pipeIOError('PIPEIO_ERR_TIMEOUT', `no identification from the hub within ${timeout} ms`)), timeout);
      const fail = (err: PipeIOError): void => {
        clearTimeout(timer);
        this.link?.destroy(err);
        reject(err);
      };
      this.link = new HubLink(socket, options.maxFrameSize ?? 64 * 1024 * 1024, {
        onFrame: (msg) => {
          if (ready) {
            events.frame(msg as Record<string, unknown>);
            return;
          }
          if (msg.type === 'identified') {
            ready = true;
            clearTimeout(timer);
            resolve();
          } else if (msg.type === 'conn_challenge') {
            if (options.secret === undefined) return fail(pipeIOError('PIPEIO_ERR_AUTH', 'the hub requires a connection secret (--secret-file)'));
            this.link?.send({ type: 'conn_proof', proof: connectionProof(options.secret, String(msg['challenge'])) });
          } else if (msg.type === 'error') {
            const text = String(msg['message'] ?? 'refused');
            const code = typeof msg['code'] === 'string' && msg['code'].startsWith('PIPEIO_ERR_') ? (msg['code'] as PipeIOError['code']) : /auth/i.test(text) ? 'PIPEIO_ERR_AUTH' : 'PIPEIO_ERR_REMOTE';
            fail(pipeIOError(code, `the hub refused ${this.id}: ${text}`, { remoteMessage: text }));
          }
        },
        onClose: (err) => {
          clearTimeout(timer);
          clearInterval(this.heartbeat);
          if (!ready) {
            reject(err ?? pipeIOError('PIPEIO_ERR_CONNECTION', 'the hub closed the connection during the handshake'));
            return;
          }
          if (!this.closed) events.lost(err ?? pipeIOError('PIPEIO_ERR_CONNECTION', 'the hub closed the connection'));
        },
      });
      this.link.send({ type: 'identify', client_id: this.id, mode: 'plugin' });
    });
    this.heartbeat = setInterval(() => this.link?.send({ type: 'ping' }), options.heartbeatInterval ?? 20000);
    this.heartbeat.unref();
  }

  send(frame: Record<string, unknown>): void {
    if (!this.closed) this.link?.send(frame);
  }

  respond(requestId: string, targetId: string, body: ResponseBody): void {
    this.send({ type: 'response', request_id: requestId, target_id: targetId, ...body });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    void this.link?.end();
  }
}

/** A link factory that joins the hub at `address` with one connection per instance. */
export function socketLinks(address: HubClientAddress, options: SocketLinkOptions = {}): LinkFactory {
  return async (id, events) => {
    const link = new SocketLink(id);
    await link.open(address, options, events);
    return link;
  };
}
