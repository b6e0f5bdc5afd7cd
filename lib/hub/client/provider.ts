/**
 * The provider's side of a call: run the registered handler and answer.
 *
 *   plain handler   -> {"type":"response","request_id","target_id","data","is_final":true}
 *   stream handler  -> chunks {is_stream:true,is_final:false} ... then {data:null,is_final:true}
 *   throw / reject  -> {"type":"response","request_id","target_id","error":"<message>"}
 *                      (+ "code", "issues" for PIPEIO_ERR_VALIDATION / _SCHEMA: ./checked.ts)
 *
 * `is_final:true` on single responses is harmless to comm-ipc callers and ends
 * a stream() that called a plain handler (comm-ipc 15.2). Chunks are written
 * with flow control: the generator waits while the socket buffer is full.
 */
import type { PipeIOError } from '../../errors';
import type { HubMessage } from '../protocol/messages';
import { errorExtras } from './checked';
import { nowSeconds, verifyEnvelope } from './sign';
import type { EventHandler, StreamHandler } from './types';

/** A provider registration as the channel keeps it (and replays it). */
export interface Registration {
  readonly event: string;
  readonly handler: EventHandler | StreamHandler;
  readonly isStream: boolean;
  readonly isGroup: boolean;
  readonly parameters: unknown;
  readonly returns: unknown;
}

/** What serving needs from the client. */
export interface ProviderHost {
  readonly clientId: string;
  readonly serverId: string | undefined;
  /** Bumped on every (re)connect: a reply for an older link is not sent. */
  readonly generation: number;
  sendFrame(frame: object): boolean;
  drained(): Promise<void>;
  reportError(err: PipeIOError): void;
  /** Calls being served, by `caller NUL request_id`: a `cancel` from the hub aborts one. */
  readonly serving: Map<string, AbortController>;
}

/** Aborts the call `requestId` of `callerId` being served, if any (the hub's `cancel`). */
export function cancelServing(host: ProviderHost, callerId: unknown, requestId: unknown): void {
  if (typeof requestId !== 'string') return;
  host.serving.get(`${String(callerId)}\u0000${requestId}`)?.abort();
}

const ASYNC_GENERATOR_PROTO = Object.getPrototypeOf(async function* () {
  /* only its prototype is used */
}) as object;

/** True for `async function*` handlers. */
export function isAsyncGeneratorFunction(fn: unknown): boolean {
  return typeof fn === 'function' && Object.getPrototypeOf(fn) === ASYNC_GENERATOR_PROTO;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : String(err);
}

/**
 * Answers one incoming `call`. Never throws: every failure becomes an error
 * response (unless the call carries no request id, comm-ipc's fire-and-forget).
 *
 * @param keyBuf The channel's message key, if it has a password: non-stream
 *   calls must carry a valid signature (comm-ipc does not check streams).
 * @param payload The call's raw payload, for a type-exact signature check.
 */
export async function serveCall(
  host: ProviderHost,
  channel: string,
  reg: Registration | undefined,
  msg: HubMessage,
  keyBuf: Buffer | undefined,
  payload?: Buffer,
): Promise<void> {
  const requestId = msg.request_id;
  if (typeof requestId !== 'string' || requestId === '') return;
  const key = `${String(msg.sender_id)}\u0000${requestId}`;
  const controller = new AbortController();
  host.serving.set(key, controller);
  try {
    await serve(host, channel, reg, msg, requestId, controller.signal, payload, keyBuf);
  } finally {
    if (host.serving.get(key) === controller) host.serving.delete(key);
  }
}

async function serve(
  host: ProviderHost,
  channel: string,
  reg: Registration | undefined,
  msg: HubMessage,
  requestId: string | undefined,
  signal: AbortSignal,
  payload: Buffer | undefined,
  key: Buffer | undefined,
): Promise<void> {
  if (requestId === undefined) return;
  const context = { signal };
  const generation = host.generation;
  const base = { type: 'response', request_id: requestId, target_id: msg.sender_id ?? null };
  const reply = (fields: object): boolean =>
    host.generation === generation && host.sendFrame({ ...base, ...fields });
  if (!reg) {
    // comm-ipc stays silent here and its caller hangs; we answer.
    reply({ error: `No handler for ${channel}:${String(msg.event)} on client ${host.clientId}` });
    return;
  }
  if (!reg.isStream) {
    if (key && !verifyEnvelope(key, msg, payload)) {
      reply({ error: `Invalid signature for channel ${channel}` });
      return;
    }
    try {
      const result = await (reg.handler as EventHandler)(msg, context);
      reply({ data: result === undefined ? null : result, is_final: true });
    } catch (err) {
      reply({ error: messageOf(err), ...errorExtras(err) });
    }
    return;
  }
  // One literal per chunk (no spreads): a stream sends many of them.
  const targetId = msg.sender_id ?? null;
  const event = reg.event;
  const chunk = (data: unknown, isFinal: boolean): boolean => {
    if (host.generation !== generation) return false;
    const frame: Record<string, unknown> = {
      type: 'response',
      request_id: requestId,
      target_id: targetId,
      sender_id: host.clientId,
      channel,
      event,
      data: data === undefined ? null : data,
      timestamp: nowSeconds(),
      is_stream: true,
      is_final: isFinal,
    };
    if (host.serverId !== undefined) frame['server_id'] = host.serverId;
    return host.sendFrame(frame);
  };
  try {
    const iterable = (reg.handler as StreamHandler)(msg, context);
    if (iterable === null || typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
      throw new TypeError(`the stream handler of ${channel}:${reg.event} did not return an async iterable`);
    }
    const it = iterable[Symbol.asyncIterator]();
    const aborted = new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
    for (;;) {
      const step = signal.aborted ? undefined : await Promise.race([it.next(), aborted]);
      if (step === undefined || host.generation !== generation) {
        // Cancelled, or the link dropped: nobody waits for the rest. The generator's finally runs
        // once its pending step settles.
        void Promise.resolve(it.return?.()).catch(() => undefined);
        return;
      }
      if (step.done) break;
      if (!chunk(step.value, false)) await host.drained();
    }
    chunk(null, true);
  } catch (err) {
    reply({ error: messageOf(err), ...errorExtras(err) });
  }
}
