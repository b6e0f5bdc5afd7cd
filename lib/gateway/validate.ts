/**
 * Request validation against an event's announced JSON Schema, through one
 * function ({@link compileValidator}) so the engine can be swapped (for the
 * typed-events compile cache of lib/schema/ once it lands) without touching
 * the gateway.
 *
 * Ajv compiles each schema once (cached by its JSON text, bounded). Schemas
 * are draft 2020-12 unless they say draft-07/06 (pydantic's
 * model_json_schema() is 2020-12). A remote `$ref` is never fetched: a schema
 * that cannot compile is not enforced (and reported once through `onError`),
 * so a provider's odd schema never blocks its calls.
 */
import Ajv2020 from 'ajv/dist/2020';
import AjvDraft7 from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';

/** One problem found in the data: where (`path`, JSON Pointer segments) and what. */
export interface ValidationIssue {
  message: string;
  path: Array<string | number>;
}

/** Checks data; returns the issues (empty: valid). With `coerce`, may convert strings in place (query parameters). */
export type Validator = (data: unknown) => ValidationIssue[];

const MAX_CACHED = 1024;

interface Engines {
  draft2020: Ajv2020;
  draft7: AjvDraft7;
}

function makeEngines(coerce: boolean): Engines {
  const options = { strict: false, allErrors: true, coerceTypes: coerce ? ('array' as const) : false, validateFormats: false };
  return { draft2020: new Ajv2020(options), draft7: new AjvDraft7(options) };
}

let plain: Engines | undefined;
let coercing: Engines | undefined;
const cache = new Map<string, Validator | null>();

function toIssues(errors: ErrorObject[] | null | undefined): ValidationIssue[] {
  if (!errors) return [];
  return errors.map((e) => {
    const path: Array<string | number> = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    if (e.keyword === 'required') path.push((e.params as { missingProperty: string }).missingProperty);
    return { message: e.message ?? e.keyword, path };
  });
}

/**
 * A validator for `schema`, or `undefined` when there is nothing to enforce
 * (no schema, `true`, `{}`, or a schema that does not compile).
 *
 * @param coerce Convert strings to the schema's types first (query parameters), in place.
 * @param onError Told once per schema that does not compile.
 */
export function compileValidator(schema: unknown, coerce = false, onError?: (err: Error) => void): Validator | undefined {
  if (schema === null || schema === undefined || schema === true) return undefined;
  if (typeof schema !== 'object' && typeof schema !== 'boolean') return undefined;
  if (typeof schema === 'object' && Object.keys(schema).length === 0) return undefined;
  const key = `${coerce ? 'c' : 'p'}${JSON.stringify(schema)}`;
  const known = cache.get(key);
  if (known !== undefined) return known ?? undefined;
  let validator: Validator | null = null;
  try {
    const engines = coerce ? (coercing ??= makeEngines(true)) : (plain ??= makeEngines(false));
    const draft = typeof schema === 'object' ? String((schema as { $schema?: unknown }).$schema ?? '') : '';
    const copy = typeof schema === 'object' ? { ...(schema as object) } : schema;
    let fn: ValidateFunction;
    if (/draft-0[67]/.test(draft)) {
      fn = engines.draft7.compile(copy as object);
    } else {
      if (typeof copy === 'object') delete (copy as { $schema?: unknown }).$schema;
      fn = engines.draft2020.compile(copy as object);
    }
    validator = (data) => (fn(data) ? [] : toIssues(fn.errors));
  } catch (err) {
    onError?.(err as Error);
  }
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, validator);
  return validator ?? undefined;
}

/** A one-line summary of issues for the error message. */
export function summarizeIssues(label: string, issues: ValidationIssue[]): string {
  const first = issues[0];
  const where = first && first.path.length > 0 ? `/${first.path.join('/')}` : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${label}: invalid data${where ? ` at ${where}` : ''}: ${first?.message ?? 'invalid'}${more}`;
}
