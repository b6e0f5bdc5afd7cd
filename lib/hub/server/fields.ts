/**
 * Reading fields of a decoded frame with clear errors: a wrong type is a
 * `PIPEIO_ERR_PROTOCOL` the core answers (comm-ipc closes the connection on
 * any such exception; we reply and keep serving).
 */
import { pipeIOError, type PipeIOError } from '../../errors';
import type { Fields } from '../protocol/codec';

export function fieldError(message: string): PipeIOError {
  return pipeIOError('PIPEIO_ERR_PROTOCOL', message);
}

/** A string field, or undefined when absent or nil. Throws for another type. */
export function optString(fields: Fields, key: string): string | undefined {
  const v = fields.get(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fieldError(`"${key}" must be a string`);
  return v;
}

/** A non-empty string field. */
export function reqString(fields: Fields, key: string): string {
  const v = optString(fields, key);
  if (v === undefined || v === '') throw fieldError(`"${key}" is required`);
  return v;
}

/** comm-ipc truthiness for flags: anything but false/nil/0/"" is true. */
export function flag(fields: Fields, key: string): boolean {
  const v = fields.get(key);
  return !(v === undefined || v === null || v === false || v === 0 || v === '');
}

/** The request id as comm-ipc uses it: a string, or undefined. Numbers are refused. */
export function requestIdOf(fields: Fields): string | undefined {
  const v = fields.get('request_id');
  if (typeof v === 'string' && v !== '') return v;
  return undefined;
}

/** A `path` list of strings (absent -> []). */
export function pathOf(fields: Fields): string[] {
  const v = fields.get('path');
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw fieldError('"path" must be a list of strings');
  return v as string[];
}
