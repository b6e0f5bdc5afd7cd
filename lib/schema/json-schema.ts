/**
 * Plain JSON Schemas, validated by ajv (draft 2020-12, the default and what
 * pydantic's `model_json_schema()` emits; draft-07 when `$schema` says so).
 *
 *   jsonSchema(s) --identity cache / canonical-text cache--> JsonSchemaValidator
 *        | inspectSchema (JSON, acyclic, depth, $refs inside) + ajv meta-schema check: refused now
 *        v
 *   first validate() --ajv.compile, once--> a generated function, kept by the validator
 *
 * Compiling costs about 0.5 ms and 4.5 KB of heap per schema, so it waits for
 * the first value (a client with 10,000 events pays only for those called);
 * schemas whose refs need ajv's own resolution compile at once, so a ref that
 * goes nowhere is refused at registration. ajv never loads anything: no
 * `loadSchema`, and each schema is removed from the ajv instance right after
 * compiling (it then holds no schema, so memory stays with the validators).
 * `format` is an annotation, as draft 2020-12 defines it (no ajv-formats).
 * Values are checked, never changed (no defaults filled, no coercion).
 */
import type AjvCore from 'ajv/dist/core';
import { pipeIOError, type PipeIOError } from '../errors';
import { ajvIssues, type AjvErrorLike, type ValidationResult } from './issues';
import { canonicalJson, inspectSchema, type Draft } from './json-walk';
import type { StandardJSONSchemaV1, StandardSchemaV1 } from './standard';

/** A JSON Schema: an object of keywords, or `true`/`false`. */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** A schema that is both a Standard Schema and a Standard JSON Schema. */
export interface StandardSchemaWithJson<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output> & StandardJSONSchemaV1.Props<Input, Output>;
}

/**
 * A compiled plain JSON Schema. `validate` is synchronous; the object is also
 * a Standard Schema (and Standard JSON Schema) typed `T`, so it fits wherever
 * a zod schema does.
 */
export interface JsonSchemaValidator<T = unknown> extends StandardSchemaWithJson<T, T> {
  readonly kind: 'json';
  /** The schema as given: what goes on the wire. */
  readonly jsonSchema: JsonSchema;
  /** Checks `value`; the value is returned unchanged. @throws {PipeIOError} `PIPEIO_ERR_SCHEMA` if the schema fails to compile. */
  validate(value: unknown): ValidationResult<T>;
}

type ValidateFn = ((value: unknown) => boolean) & { errors?: AjvErrorLike[] | null };

/** Canonical texts remembered for schemas from the wire (each entry ~5 KB once compiled). */
const CANONICAL_CACHE_SIZE = 1000;

const byIdentity = new WeakMap<object, JsonSchemaValidator>();
const validators = new WeakSet<object>();
const byText = new Map<string, JsonSchemaValidator>();
const instances = new Map<Draft, { ajv: AjvCore; compiles: number }>();
/**
 * Compiles one ajv instance serves before a fresh one takes over. An ajv
 * instance keeps every function it ever compiled in its code scope, even
 * after removeSchema(); retiring it lets the garbage collector take what
 * no validator uses any more (measured: without this, 10,000 compiled
 * schemas stay in memory after their validators are gone).
 */
const COMPILES_PER_INSTANCE = 256;

function ajvFor(draft: Draft, compiling = false): AjvCore {
  let entry = instances.get(draft);
  if (!entry || (compiling && entry.compiles >= COMPILES_PER_INSTANCE)) {
    // Loaded on first use: ajv costs ~70 ms to load and most programs never compile a JSON Schema.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ctor = (draft === '2020-12' ? require('ajv/dist/2020') : require('ajv')).default as new (o: object) => AjvCore;
    const ajv = new Ctor({
      strict: false, // unknown keywords (pydantic's "discriminator", vendor "x-" keys) are annotations
      allErrors: false, // stop at the first issue: bounded work and memory on huge bad values
      validateFormats: false,
      logger: false,
      code: { source: false },
    });
    entry = { ajv, compiles: 0 };
    instances.set(draft, entry);
  }
  if (compiling) entry.compiles++;
  return entry.ajv;
}

function schemaError(message: string, cause?: unknown): PipeIOError {
  return pipeIOError('PIPEIO_ERR_SCHEMA', message, cause === undefined ? undefined : { cause });
}

function compile(draft: Draft, schema: JsonSchema): ValidateFn {
  const ajv = ajvFor(draft, true);
  try {
    return ajv.compile(schema as object) as ValidateFn;
  } catch (err) {
    const e = err as Error & { missingRef?: string };
    if (e.missingRef !== undefined) {
      throw schemaError(`$ref ${JSON.stringify(e.missingRef)} leaves the schema: schemas are never fetched (put it under "$defs")`, err);
    }
    throw schemaError(`JSON Schema does not compile: ${e.message}`, err);
  } finally {
    if (typeof schema === 'object') ajv.removeSchema(schema as object);
  }
}

const TOO_DEEP = 'value nests too deeply (or is cyclic) to validate';

function makeValidator<T>(schema: JsonSchema, draft: Draft, compileNow: boolean): JsonSchemaValidator<T> {
  let fn: ValidateFn | undefined = compileNow ? compile(draft, schema) : undefined;
  const validate = (value: unknown): ValidationResult<T> => {
    fn ??= compile(draft, schema);
    let ok: boolean;
    try {
      ok = fn(value);
    } catch (err) {
      if (err instanceof RangeError) return { ok: false, issues: [{ path: [], message: TOO_DEEP }] };
      throw err;
    }
    return ok ? { ok: true, value: value as T } : { ok: false, issues: ajvIssues(fn.errors ?? []) };
  };
  const asObject = (): Record<string, unknown> =>
    schema === true ? {} : schema === false ? { not: {} } : (schema as Record<string, unknown>);
  const target = draft === '2020-12' ? 'draft-2020-12' : 'draft-07';
  const convert = (options: StandardJSONSchemaV1.Options): Record<string, unknown> => {
    if (options.target !== target) throw schemaError(`this JSON Schema is ${target}, not ${options.target}`);
    return asObject();
  };
  const v: JsonSchemaValidator<T> = {
    kind: 'json',
    jsonSchema: schema,
    validate,
    '~standard': {
      version: 1,
      vendor: 'pipe-io-server',
      validate: (value: unknown) => {
        const r = validate(value);
        return r.ok ? { value: r.value } : { issues: r.issues };
      },
      jsonSchema: { input: convert, output: convert },
    },
  };
  validators.add(v);
  return v;
}

/** True for the validators {@link jsonSchema} makes. */
export function isJsonSchemaValidator(value: unknown): value is JsonSchemaValidator {
  return typeof value === 'object' && value !== null && validators.has(value);
}

/**
 * Compiles a plain JSON Schema once (cached by object identity, and by its
 * canonical text for the last 1000 distinct schemas, so that the same schema
 * received twice from the wire compiles once). `T` types the validated value
 * (unchecked: the schema is the source of truth at run time).
 *
 * @throws {PipeIOError} `PIPEIO_ERR_SCHEMA`: not JSON, cyclic, deeper than 128
 *   levels, unknown draft, invalid against its meta-schema, a `$ref` that does
 *   not resolve inside the schema.
 */
export function jsonSchema<T = unknown>(schema: JsonSchema): JsonSchemaValidator<T> {
  if (typeof schema === 'object' && schema !== null) {
    const known = byIdentity.get(schema);
    if (known) return known as JsonSchemaValidator<T>;
  }
  const shape = inspectSchema(schema);
  const text = canonicalJson(schema);
  let v = byText.get(text);
  if (v) {
    byText.delete(text); // most recently used last
    byText.set(text, v);
  } else {
    const ajv = ajvFor(shape.draft);
    if (typeof schema === 'object' && !ajv.validateSchema(schema as object)) {
      throw schemaError(`invalid JSON Schema: ${ajv.errorsText(ajv.errors, { dataVar: 'schema' })}`);
    }
    v = makeValidator(schema, shape.draft, shape.compileNow);
    byText.set(text, v);
    if (byText.size > CANONICAL_CACHE_SIZE) byText.delete(byText.keys().next().value as string);
  }
  if (typeof schema === 'object') byIdentity.set(schema, v);
  return v as JsonSchemaValidator<T>;
}
