/**
 * Reading fields of a decoded frame with clear errors: a wrong type is a
 * `PIPEIO_ERR_PROTOCOL` the core answers (comm-ipc closes the connection on
 * any such exception; we reply and keep serving).
 */
import { pipeIOError, type PipeIOError } from '../../errors';
import { mapsToObjects } from '../protocol/codec';

export function fieldError(message: string): PipeIOError {
  return pipeIOError('PIPEIO_ERR_PROTOCOL', message);
}

/** A string field, or undefined when absent or nil. Throws for another type. */
export function optString(fields: Record<string, unknown>, key: string): string | undefined {
  const v = fields[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fieldError(`"${key}" must be a string`);
  return v;
}

/** A non-empty string field. */
export function reqString(fields: Record<string, unknown>, key: string): string {
  const v = optString(fields, key);
  if (v === undefined || v === '') throw fieldError(`"${key}" is required`);
  return v;
}

/** comm-ipc truthiness for flags: anything but false/nil/0/"" is true. */
export function flag(fields: Record<string, unknown>, key: string): boolean {
  const v = fields[key];
  return !(v === undefined || v === null || v === false || v === 0 || v === '');
}

/** The request id as comm-ipc uses it: a string, or undefined. Numbers are refused. */
export function requestIdOf(fields: Record<string, unknown>): string | undefined {
  const v = fields['request_id'];
  if (typeof v === 'string' && v !== '') return v;
  return undefined;
}

/** A `path` list of strings (absent -> []). */
export function pathOf(fields: Record<string, unknown>): string[] {
  const v = fields['path'];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw fieldError('"path" must be a list of strings');
  return v as string[];
}

/** A nested map field as a plain object (hub decoding yields Maps). */
export function mapField(fields: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = fields[key];
  if (v instanceof Map) return mapsToObjects(v) as Record<string, unknown>;
  return undefined;
}
