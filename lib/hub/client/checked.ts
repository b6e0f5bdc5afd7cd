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
import type { EventHandler, StreamHandler } from './types';

/** A schema option compiled: null when none was given. */
export function compileOption(schema: SchemaInput | null | undefined): CompiledSchema | null {
  return schema === undefined || schema === null ? null : compileSchema(schema);
}

/** What goes on the wire for a compiled option. */
export function wireSchema(compiled: CompiledSchema | null): JsonSchema | null {
  return compiled ? compiled.jsonSchema : null;
}

/** Validates `value`; resolves with the parsed value or throws PIPEIO_ERR_VALIDATION named by `label`. */
export function checked(schema: CompiledSchema, value: unknown, label: string): unknown {
  const r = schema.validate(value);
  if (r instanceof Promise) return r.then((res) => unwrap(res, label));
  return unwrap(r, label);
}

function unwrap(r: ValidationResult<unknown>, label: string): unknown {
  if (!r.ok) throw validationError(label, r.issues);
  return r.value;
}

async function parsedCall(msg: HubMessage, params: CompiledSchema | null, label: string): Promise<void> {
  if (!params) return;
  let data = checked(params, msg.data ?? null, `invalid parameters of ${label}`);
  if (data instanceof Promise) data = await data;
  msg.data = data; // the handler gets the schema's output (a fresh decode: nobody else holds this message)
}

/**
 * The handler a channel registers for an event with schemas (the handler
 * itself when there are none).
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
  if (isStream) {
    const stream = handler as StreamHandler;
    return async function* checkedStream(msg: HubMessage): AsyncGenerator<unknown> {
      await parsedCall(msg, params, label);
      const iterable = stream(msg);
      if (iterable === null || typeof (iterable as AsyncIterable<unknown>)?.[Symbol.asyncIterator] !== 'function') {
        throw new TypeError(`the stream handler of ${label} did not return an async iterable`);
      }
      let i = 0;
      for await (const chunk of iterable) {
        if (returns) {
          const r = checked(returns, chunk ?? null, `invalid chunk ${i} of ${label}`);
          if (r instanceof Promise) await r;
        }
        i++;
        yield chunk;
      }
    };
  }
  const plain = handler as EventHandler;
  return async (msg: HubMessage): Promise<unknown> => {
    await parsedCall(msg, params, label);
    const out = await plain(msg);
    if (returns) {
      const r = checked(returns, out === undefined ? null : out, `invalid result of ${label}`);
      if (r instanceof Promise) await r;
    }
    return out;
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
