/**
 * The request table: one entry per `request_id` the client waits on. Each
 * entry owns its timer and its AbortSignal listener and removes itself (and
 * both of them) on every way out: response, error, timeout, abort, failAll.
 *
 * Also: turning a hub's error text into a coded PipeIOError.
 */
import { pipeIOError, type PipeIOError, type PipeIOErrorCode } from '../../errors';
import { pydanticIssues, sanitizeIssues, summarizeIssues } from '../../schema/issues';
import type { HubMessage } from '../protocol/messages';

/** What an entry does with the frames routed to it. */
export interface PendingHandlers {
  /** A `response` (or `error` frame) carrying this request id. Return true when the entry is done. */
  onFrame(msg: HubMessage): boolean;
  /** The entry failed (timeout, abort, link drop, close); it is already removed. */
  onFail(err: PipeIOError): void;
  /**
   * An `auth_challenge` for this request (registrations only): answer it and
   * return nothing, or return the error to fail the entry with.
   */
  onChallenge?(msg: HubMessage): PipeIOError | undefined;
}

export interface PendingOptions {
  /** Milliseconds until `PIPEIO_ERR_TIMEOUT`; undefined = none. */
  timeout?: number;
  signal?: AbortSignal;
  /** Words for error messages, e.g. `call math:add`. */
  label: string;
  /**
   * Tells the hub the caller gave up (a `cancel` frame): run when the entry
   * ends by timeout, abort or {@link PendingEntry.cancel}, never after its
   * answer or a dropped link.
   */
  onCancel?: () => void;
}

export class PendingEntry {
  private timer: NodeJS.Timeout | undefined;
  private abortListener: (() => void) | undefined;

  constructor(
    readonly requestId: string,
    readonly handlers: PendingHandlers,
    private readonly table: PendingTable,
    private readonly options: PendingOptions,
  ) {
    this.armTimer();
    const { signal } = options;
    if (signal) {
      this.abortListener = () => {
        this.fail(pipeIOError('PIPEIO_ERR_ABORTED', `${options.label} aborted`, { cause: signal.reason }));
        this.options.onCancel?.();
      };
      signal.addEventListener('abort', this.abortListener, { once: true });
    }
  }

  /** Restarts the timeout (streams: the timeout runs between chunks). */
  armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    const ms = this.options.timeout;
    if (ms === undefined) return;
    this.timer = setTimeout(() => {
      this.fail(pipeIOError('PIPEIO_ERR_TIMEOUT', `${this.options.label} timed out after ${ms} ms`));
      this.options.onCancel?.();
    }, ms);
  }

  /** The caller stops waiting (a stream left early): removes the entry and tells the hub. No-op once answered. */
  cancel(): void {
    if (!this.table.has(this)) return;
    this.dispose();
    this.options.onCancel?.();
  }

  /** Removes the entry and its timer and listener. Idempotent. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.abortListener) this.options.signal?.removeEventListener('abort', this.abortListener);
    this.abortListener = undefined;
    this.table.remove(this);
  }

  fail(err: PipeIOError): void {
    if (!this.table.has(this)) return;
    this.dispose();
    this.handlers.onFail(err);
  }

  deliver(msg: HubMessage): void {
    if (this.handlers.onFrame(msg)) this.dispose();
  }
}

export class PendingTable {
  private readonly entries = new Map<string, PendingEntry>();

  get size(): number {
    return this.entries.size;
  }

  /**
   * Adds an entry. An already aborted signal fails it at once (the caller
   * should check `signal.aborted` before sending).
   */
  add(requestId: string, handlers: PendingHandlers, options: PendingOptions): PendingEntry {
    const entry = new PendingEntry(requestId, handlers, this, options);
    this.entries.set(requestId, entry);
    return entry;
  }

  get(requestId: unknown): PendingEntry | undefined {
    return typeof requestId === 'string' ? this.entries.get(requestId) : undefined;
  }

  has(entry: PendingEntry): boolean {
    return this.entries.get(entry.requestId) === entry;
  }

  remove(entry: PendingEntry): void {
    if (this.has(entry)) this.entries.delete(entry.requestId);
  }

  /** Fails every entry with `err` (link dropped, client closed). */
  failAll(err: PipeIOError): void {
    for (const entry of [...this.entries.values()]) entry.fail(err);
  }
}

const PIPEIO_CODE = /^PIPEIO_ERR_[A-Z_]+$/;

/** Error texts of a comm-ipc hub (which sends no codes), in order of checking. */
const TEXT_CODES: Array<[RegExp, PipeIOErrorCode]> = [
  [/^No provider for /, 'PIPEIO_ERR_NO_PROVIDER'],
  [/already in use/, 'PIPEIO_ERR_ID_IN_USE'],
  [/^(Authentication failed|Not authenticated|Invalid channel password|Invalid or expired challenge|Challenge expired)$|requires authentication/, 'PIPEIO_ERR_AUTH'],
  [/^Provider already exists|already owned by another client/, 'PIPEIO_ERR_CONFLICT'],
  [/reserved/, 'PIPEIO_ERR_RESERVED'],
  [/^Only the channel owner|^Not the owner/, 'PIPEIO_ERR_FORBIDDEN'],
  [/please reconnect|channel terminated/, 'PIPEIO_ERR_CHANNEL_TERMINATED'],
  [/^Invalid signature for channel /, 'PIPEIO_ERR_INVALID_SIGNATURE'],
];

/** Set on a received `response` whose error the hub itself made (see {@link noteErrorOrigin}). */
const kHubMade = Symbol('pipe-io.hubMade');
type Marked = HubMessage & { [kHubMade]?: true };

/**
 * Decides, as a `response` arrives, whether the error it carries can be the
 * hub's own, so that its code may be believed (issue 21: a provider must not
 * pass its errors off as the hub's):
 * - our hub says `hub_codes` in `identified`: it strips `code` from every
 *   frame it forwards, so a response with a `code` is the hub's;
 * - comm-ipc's hub sends no codes and stamps a `path` on every frame it
 *   forwards, so only a response without `path` (and with no `sender_id`, or
 *   its `"server"`) is the hub's; its texts are mapped to codes.
 * Anything else is a provider's error: `PIPEIO_ERR_REMOTE`.
 */
export function noteErrorOrigin(msg: HubMessage, hubCodes: boolean): void {
  if (!('error' in msg)) return;
  const hubMade = hubCodes
    ? 'code' in msg
    : msg.path === undefined && (msg.sender_id === undefined || msg.sender_id === null || msg.sender_id === 'server');
  if (hubMade) (msg as Marked)[kHubMade] = true;
}

/**
 * A coded error for an error text received from the hub or a provider.
 * Only frames the hub made are read for a code: `error` frames (no client
 * can send one) and responses {@link noteErrorOrigin} marked. There a `code`
 * key (our hub) wins, else comm-ipc's texts are recognised by their
 * wording. Anything else is `PIPEIO_ERR_REMOTE`, its text in `remoteMessage`.
 *
 * @param text The remote text, kept verbatim in `remoteMessage`.
 * @param msg The frame it came in.
 */
export function remoteError(text: string, msg: HubMessage = {}): PipeIOError {
  const invalid = remoteValidationError(text, msg);
  if (invalid) return invalid;
  let code: PipeIOErrorCode = 'PIPEIO_ERR_REMOTE';
  if (msg.type === 'error' || (msg as Marked)[kHubMade] === true) {
    if (typeof msg.code === 'string' && PIPEIO_CODE.test(msg.code)) {
      code = msg.code as PipeIOErrorCode;
    } else {
      for (const [re, c] of TEXT_CODES) {
        if (re.test(text)) {
          code = c;
          break;
        }
      }
    }
  }
  return pipeIOError(code, text, { remoteMessage: text });
}

/**
 * A provider's refusal of invalid data: our providers send
 * `code: PIPEIO_ERR_VALIDATION` with `issues`; a comm-ipc (pydantic)
 * provider sends pydantic's ValidationError text, whose issues are read out
 * of it. The remote text stays verbatim in `remoteMessage`.
 */
function remoteValidationError(text: string, msg: HubMessage): PipeIOError | undefined {
  // A provider's own codes (our hub forwards these two, and strips any other code a provider sends).
  if (msg.code === 'PIPEIO_ERR_VALIDATION' || msg.code === 'PIPEIO_ERR_SCHEMA') {
    return pipeIOError(msg.code, text, { remoteMessage: text, issues: sanitizeIssues(msg['issues']) });
  }
  const fromPydantic = msg.type === 'response' && msg.sender_id !== 'server' ? pydanticIssues(text) : undefined;
  if (!fromPydantic) return undefined;
  const head = text.slice(0, text.indexOf('\n'));
  return pipeIOError('PIPEIO_ERR_VALIDATION', summarizeIssues(head, fromPydantic), { remoteMessage: text, issues: fromPydantic });
}

/** The error text of a frame: `error` of a response, `message` of an `error` frame. */
export function errorText(msg: HubMessage): string {
  const value = msg.type === 'error' ? msg['message'] : msg.error;
  return typeof value === 'string' ? value : String(value);
}

/** Handlers of a plain request: resolve on the first response, reject on an error response. */
export function responseHandlers(
  resolve: (msg: HubMessage) => void,
  reject: (err: PipeIOError) => void,
  onChallenge?: PendingHandlers['onChallenge'],
): PendingHandlers {
  return {
    onFrame(msg) {
      if (msg.type === 'error' || 'error' in msg) reject(remoteError(errorText(msg), msg));
      else resolve(msg);
      return true;
    },
    onFail: reject,
    ...(onChallenge ? { onChallenge } : {}),
  };
}
