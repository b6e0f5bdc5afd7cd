/**
 * OutCalls: the requests a plugin member sends to the hub, by hub request
 * id: its own (registration: a promise) and, in 'rpc' mode, its plugin's
 * (call-outs with their timeouts; open, provide, subscribe, ...: answered as
 * lines under the plugin's own request ids). Also answers the hub's password
 * challenges for them.
 */
import { channelProof } from '../security/signing';
import { envelopeLine, requestFrame, type PluginRequest } from './line-protocol';

interface OutCall {
  pluginRid: string | undefined;
  kind: 'call' | 'request' | 'internal';
  timer?: NodeJS.Timeout;
  resolve?: (frame: Record<string, unknown>) => void;
}

/** What OutCalls needs of its member. */
export interface OutCallsHost {
  /** Sends one frame to the hub as the member. */
  send(frame: Record<string, unknown>): void;
  /** Writes one line to the running incarnation (dropped while none is up). */
  writeLine(line: string): void;
  /** Channel passwords (channel -> password), shared with the member. */
  readonly passwords: Map<string, string>;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export class OutCalls {
  private readonly calls = new Map<string, OutCall>();
  private seq = 0;

  constructor(private readonly host: OutCallsHost) {}

  /** Sends a request of the member itself (registration); resolves with the hub's final response. */
  request(frame: Record<string, unknown>): Promise<Record<string, unknown>> {
    const rid = `m${++this.seq}`;
    return new Promise((resolve) => {
      this.calls.set(rid, { pluginRid: undefined, kind: 'internal', resolve });
      this.host.send({ ...frame, request_id: rid });
    });
  }

  /** A call of the plugin's (`rpc` mode), answered to it as `response` lines under `pluginRid`. */
  callOut(pluginRid: string | undefined, frame: Record<string, unknown>, timeout: number): void {
    const rid = `p${++this.seq}`;
    const out: OutCall = { pluginRid, kind: 'call' };
    if (timeout > 0) {
      out.timer = setTimeout(() => {
        this.calls.delete(rid);
        this.host.writeLine(
          envelopeLine('response', { request_id: pluginRid, error: `no answer from ${String(frame['channel'])}:${String(frame['event'])} within ${timeout} ms`, code: 'PIPEIO_ERR_TIMEOUT' }),
        );
      }, timeout);
      out.timer.unref?.();
    }
    this.calls.set(rid, out);
    this.host.send({ ...frame, request_id: rid });
  }

  /** A request line of the plugin's (open, provide, subscribe, ...). */
  pluginRequest(line: PluginRequest): void {
    const rid = `q${++this.seq}`;
    this.calls.set(rid, { pluginRid: line.request_id, kind: 'request' });
    if (line.password !== undefined) this.host.passwords.set(line.channel, line.password);
    this.host.send(requestFrame(line, rid));
  }

  /** A `response` frame from the hub. */
  onResponse(frame: Record<string, unknown>): void {
    const rid = str(frame['request_id']);
    const out = this.calls.get(rid);
    if (!out) return;
    const hasError = 'error' in frame;
    if (out.kind !== 'call' && !hasError && !('data' in frame)) return; // comm-ipc's first register reply ({success})
    const final = hasError || frame['is_stream'] !== true || frame['is_final'] === true;
    if (final) {
      clearTimeout(out.timer);
      this.calls.delete(rid);
    } else if (out.timer) {
      out.timer.refresh();
    }
    if (out.kind === 'internal') return out.resolve?.(frame);
    if (out.pluginRid === undefined) {
      if (hasError) this.host.writeLine(envelopeLine('error', { message: frame['error'], code: frame['code'] }));
      return;
    }
    this.host.writeLine(envelopeLine('response', { ...frame, request_id: out.pluginRid, channel: undefined, event: undefined, sender_id: undefined }));
  }

  /** An `auth_challenge` for one of our registrations: proved with the channel's password, or failed. */
  onChallenge(frame: Record<string, unknown>): void {
    const channel = str(frame['channel']);
    const password = this.host.passwords.get(channel);
    const rid = str(frame['request_id']);
    if (password === undefined) {
      this.onResponse({ type: 'response', request_id: rid, error: `Channel ${channel} requires authentication, but no password was provided.`, code: 'PIPEIO_ERR_AUTH' });
      return;
    }
    this.host.send({
      type: 'register',
      request_id: rid,
      channel,
      proof: channelProof(password, str(frame['challenge'])),
      challenge_id: frame['challenge_id'],
    });
  }

  /** The incarnation is gone: its call-outs and requests are forgotten (the member's own stay). */
  forgetPlugin(): void {
    for (const [rid, out] of this.calls) {
      if (out.kind === 'internal') continue;
      clearTimeout(out.timer);
      this.calls.delete(rid);
    }
  }

  /** The member is stopping: its own requests resolve with a PIPEIO_ERR_CLOSED response; everything is forgotten. */
  close(reason: string): void {
    for (const out of this.calls.values()) {
      clearTimeout(out.timer);
      out.resolve?.({ type: 'response', error: reason, code: 'PIPEIO_ERR_CLOSED' });
    }
    this.calls.clear();
  }
}
