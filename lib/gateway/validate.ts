/**
 * Request validation against an event's announced JSON Schema, through the
 * typed-events compile cache (lib/schema: ajv, compiled once, cached by
 * identity and by canonical text, never fetching a `$ref`).
 *
 * A schema that cannot be used (invalid, a remote `$ref`, ...) is not
 * enforced, and reported once through `onError`, so a provider's odd schema
 * never blocks its calls (the provider still checks its own data).
 *
 * Query parameters arrive as strings: `coerce` converts the top-level ones
 * the schema types as numbers, integers, booleans, null or arrays (also
 * inside `anyOf`/`oneOf`, pydantic's `Optional[int]`) before validating.
 */
import { compileSchema, type CompiledSchema } from '../schema/compile';
import type { SchemaIssue } from '../schema/issues';
import type { JsonSchema } from '../schema/json-schema';

/** One problem found in the data: where (`path`, keys from the root) and what. */
export type ValidationIssue = SchemaIssue;

/** Checks data; returns the issues (empty: valid). With `coerce`, converts query strings in place first. */
export type Validator = (data: unknown) => ReadonlyArray<ValidationIssue>;

/**
 * A validator for `schema`, or `undefined` when there is nothing to enforce
 * (no schema, `true`, `{}`, or a schema that cannot be used).
 *
 * @param coerce Convert query strings to the schema's types first, in place.
 * @param onError Told once per schema that cannot be used.
 */
export function compileValidator(schema: unknown, coerce = false, onError?: (err: Error) => void): Validator | undefined {
  if (schema === null || schema === undefined || schema === true) return undefined;
  if (typeof schema !== 'object' && typeof schema !== 'boolean') return undefined;
  if (typeof schema === 'object' && (Array.isArray(schema) || Object.keys(schema).length === 0)) return undefined;
  let compiled: CompiledSchema;
  try {
    compiled = compileSchema(schema as JsonSchema);
    compiled.validate(undefined); // compiles now (ajv waits for the first value): a broken schema is known here
  } catch (err) {
    onError?.(err as Error);
    return undefined;
  }
  return (data) => {
    if (coerce) coerceQuery(data, schema);
    const r = compiled.validate(data);
    if (r instanceof Promise) return []; // JSON Schemas validate synchronously
    return r.ok ? [] : r.issues;
  };
}

type Schemaish = { readonly [k: string]: unknown };

/** The schemas `s` allows directly: itself, or its anyOf/oneOf branches; `$ref`s to `#/$defs/...` followed once. */
function branches(s: unknown, root: Schemaish): Schemaish[] {
  if (typeof s !== 'object' || s === null) return [];
  let node = s as Schemaish;
  const ref = node['$ref'];
  if (typeof ref === 'string') {
    const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    const target = m ? (root[m[1]!] as Schemaish | undefined)?.[m[2]!] : undefined;
    if (typeof target !== 'object' || target === null) return [node];
    node = target as Schemaish;
  }
  const alts = node['anyOf'] ?? node['oneOf'];
  return Array.isArray(alts) ? [node, ...alts.filter((a): a is Schemaish => typeof a === 'object' && a !== null)] : [node];
}

function typesOf(s: Schemaish): string[] {
  const t = s['type'];
  return typeof t === 'string' ? [t] : Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : [];
}

/** One query string as the first type the property's schema allows that it parses as; else unchanged. */
function coerceValue(v: unknown, schemas: Schemaish[], root: Schemaish): unknown {
  if (typeof v !== 'string') return v;
  for (const s of schemas) {
    for (const t of typesOf(s)) {
      if (t === 'string') return v;
      if ((t === 'number' || t === 'integer') && v.trim() !== '' && Number.isFinite(Number(v))) {
        const n = Number(v);
        if (t === 'number' || Number.isInteger(n)) return n;
      }
      if (t === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
      if (t === 'null' && (v === '' || v === 'null')) return null;
      if (t === 'array') return [coerceValue(v, branches(s['items'], root), root)];
    }
  }
  return v;
}

function coerceQuery(data: unknown, schema: unknown): void {
  if (typeof data !== 'object' || data === null || typeof schema !== 'object' || schema === null) return;
  const root = schema as Schemaish;
  const props = branches(root, root)
    .map((b) => b['properties'])
    .find((p): p is Schemaish => typeof p === 'object' && p !== null);
  if (!props) return;
  const record = data as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    const schemas = branches(props[key], root);
    if (schemas.length === 0) continue;
    if (Array.isArray(value)) {
      const items = schemas.flatMap((s) => (typesOf(s).includes('array') ? branches(s['items'], root) : []));
      record[key] = value.map((v) => coerceValue(v, items, root));
    } else {
      record[key] = coerceValue(value, schemas, root);
    }
  }
}
