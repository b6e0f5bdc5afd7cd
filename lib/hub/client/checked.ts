/**
 * Schemas at the hub client's edges (issue 17), where comm-ipc validates
 * and where it should:
 *
 *   provider   call data --parameters--> handler --result--> returns --> caller
 *                                                  \--each chunk--> returns
 *   owner      publish(data) --topic schema--> hub
 *   caller     (validateReceived) result / chunk / publication --schema its sender announced-->
 *
 * A handler with schemas is wrapped once at registration: the wrapper
 * validates, hands the handler the parsed data (`msg.data`, the schema's
 * output side) and throws PIPEIO_ERR_VALIDATION, which serveCall turns into
 * an error response carrying `code` and `issues` (extra keys comm-ipc
 * ignores). Unvalidated events are not wrapped: they cost nothing.
 */
import { pipeIOError, type PipeIOError } from '../../errors';
import { compileSchema, type CompiledSchema, type SchemaInput } from '../../schema/compile';
import { validationError, type ValidationResult } from '../../schema/issues';
import type { JsonSchema } from '../../schema/json-schema';
import type { HubMessage } from '../protocol/messages';
import type { CallContext, EventHandler, StreamHandler } from './types';

/** A schema option compiled: null when none was given. */
export function compileOption(schema: SchemaInput | null | undefined): CompiledSchema | null {
  return schema === undefined || schema === null ? null : compileSchema(schema);
}

/** What goes on the wire for a compiled option. */
export function wireSchema(compiled: CompiledSchema | null): JsonSchema | null {
  return compiled ? compiled.jsonSchema : null;
}

/**
 * Validates `value`: the parsed value (or a promise of it, for an
 * asynchronous Standard Schema), or throws PIPEIO_ERR_VALIDATION named by
 * `label` (a function, so that the words are only made on failure).
 */
export function checked(schema: CompiledSchema, value: unknown, label: string | (() => string)): unknown {
  const r = schema.validate(value);
  if (r instanceof Promise) return r.then((res) => unwrap(res, label));
  return unwrap(r, label);
}

function unwrap(r: ValidationResult<unknown>, label: string | (() => string)): unknown {
  if (!r.ok) throw validationError(typeof label === 'string' ? label : label(), r.issues);
  return r.value;
}

/**
 * The handler a channel registers for an event with schemas (the handler
 * itself when there are none). Synchronous schemas add no promise: the
 * wrapper returns what the handler returns, checked.
 *
 * @param label `channel:event`, for error messages.
 */
export function checkedHandler(
  handler: EventHandler | StreamHandler,
  isStream: boolean,
  params: CompiledSchema | null,
  returns: CompiledSchema | null,
  label: string,
): EventHandler | StreamHandler {
  if (!params && !returns) return handler;
  const paramsLabel = (): string => `invalid parameters of ${label}`;
  /** Parses msg.data in place (the handler gets the schema's output; a fresh decode: nobody else holds it). */
  const parse = (msg: HubMessage): Promise<void> | undefined => {
    if (!params) return undefined;
    const data = checked(params, msg.data ?? null, paramsLabel);
    if (data instanceof Promise) {
      return data.then((d) => {
        msg.data = d;
      });
    }
    msg.data = data;
    return undefined;
  };
  if (isStream) {
    const stream = handler as StreamHandler;
    return async function* checkedStream(msg: HubMessage, context: CallContext): AsyncGenerator<unknown> {
      const pending = parse(msg);
      if (pending) await pending;
      const iterable = stream(msg, context);
      if (iterable === null || typeof (iterable as AsyncIterable<unknown>)?.[Symbol.asyncIterator] !== 'function') {
        throw new TypeError(`the stream handler of ${label} did not return an async iterable`);
      }
      let i = 0;
      for await (const chunk of iterable) {
        if (returns) {
          const n = i;
          const r = checked(returns, chunk ?? null, () => `invalid chunk ${n} of ${label}`);
          if (r instanceof Promise) await r;
        }
        i++;
        yield chunk;
      }
    };
  }
  const plain = handler as EventHandler;
  const resultLabel = (): string => `invalid result of ${label}`;
  const checkResult = (out: unknown): unknown => {
    if (!returns) return out;
    const r = checked(returns, out === undefined ? null : out, resultLabel);
    return r instanceof Promise ? r.then(() => out) : out; // the value as returned goes on the wire (the input side)
  };
  return (msg: HubMessage, context: CallContext): unknown => {
    const pending = parse(msg);
    if (pending) return pending.then(() => plain(msg, context)).then(checkResult);
    const out = plain(msg, context);
    return typeof (out as PromiseLike<unknown> | null)?.then === 'function' ? Promise.resolve(out).then(checkResult) : checkResult(out);
  };
}

/** Extra keys of an error response for `err` (comm-ipc reads only `error`). */
export function errorExtras(err: unknown): { code?: string; issues?: unknown } {
  const e = err as Partial<PipeIOError> | null;
  if (e && (e.code === 'PIPEIO_ERR_VALIDATION' || e.code === 'PIPEIO_ERR_SCHEMA')) {
    return e.issues ? { code: e.code, issues: e.issues } : { code: e.code };
  }
  return {};
}

/**
 * The compiled form of a schema a member announced (`entry.returns`), or
 * undefined when it announced none.
 * @throws {PipeIOError} PIPEIO_ERR_SCHEMA when it cannot be used (a remote $ref, ...).
 */
export function compileAnnounced(entry: { owner: string; returns: unknown } | undefined, label: string): { compiled: CompiledSchema; owner: string } | undefined {
  if (!entry || entry.returns === null || entry.returns === undefined) return undefined;
  try {
    return { compiled: compileSchema(entry.returns as SchemaInput), owner: entry.owner };
  } catch (err) {
    throw pipeIOError('PIPEIO_ERR_SCHEMA', `the schema ${entry.owner} announced for ${label} cannot be used: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A subscription listener that validates and parses each publication with
 * `schema` first; one that does not fit goes to `onInvalid` instead.
 */
export function parsedPublications(
  label: string,
  listener: (msg: HubMessage) => unknown,
  schema: CompiledSchema,
  onInvalid: (msg: HubMessage, err: PipeIOError) => void,
): (msg: HubMessage) => Promise<unknown> {
  return async (msg) => {
    try {
      let data = checked(schema, msg.data ?? null, () => (msg.sender_id ? `${label} from ${msg.sender_id}` : label));
      if (data instanceof Promise) data = await data;
      msg.data = data;
    } catch (err) {
      onInvalid(msg, err as PipeIOError);
      return undefined;
    }
    return listener(msg);
  };
}

/**
 * Validates a received message's data against a schema its sender announced
 * (validating callers); replaces `msg.data` by the parsed value.
 * @throws {PipeIOError} PIPEIO_ERR_VALIDATION, or PIPEIO_ERR_SCHEMA if the announced schema cannot be used.
 */
export function checkReceived(msg: HubMessage, schema: CompiledSchema, label: string): HubMessage {
  const r = schema.validate(msg.data ?? null);
  if (r instanceof Promise) throw new TypeError('announced schemas are JSON Schemas: validated synchronously');
  msg.data = unwrap(r, label);
  return msg;
}

/**
 * A provider's refusal whose text does not name the event (pydantic's
 * "1 validation error for AddParams ...") gets `label` in front, so the log
 * line says which call it was; other errors pass unchanged.
 */
export function namedRefusal(err: PipeIOError, label: string): PipeIOError {
  if (err.code !== 'PIPEIO_ERR_VALIDATION' || err.remoteMessage === undefined || err.message.includes(label.slice(label.indexOf(' ') + 1))) return err;
  return pipeIOError(err.code, `${label}: ${err.message}`, { remoteMessage: err.remoteMessage, issues: err.issues, cause: err });
}
