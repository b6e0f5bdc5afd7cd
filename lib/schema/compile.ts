/**
 * Every kind of schema a user may hand us, behind one small interface:
 *
 *   Standard Schema (zod 4, valibot, arktype, ...)  validated by its own library
 *     + Standard JSON Schema (zod >= 4.2, arktype)   its input JSON Schema goes on the wire
 *   plain JSON Schema (draft 2020-12 / draft-07)     validated by ajv (./json-schema.ts)
 *
 * The wire carries a schema's *input* side (what a sender must send); every
 * receiver validates and parses into the *output* side (what a handler or
 * caller gets: zod defaults and transforms applied). A sender checks its
 * value and sends it as it is.
 */
import { pipeIOError } from '../errors';
import { standardIssues, type ValidationResult } from './issues';
import { inspectSchema } from './json-walk';
import { isJsonSchemaValidator, jsonSchema, type JsonSchema, type JsonSchemaValidator } from './json-schema';
import type { StandardJSONSchemaV1, StandardSchemaV1, StandardTypedV1 } from './standard';

/** Anything accepted where a schema is expected. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SchemaInput = StandardSchemaV1<any, any> | JsonSchema;

/** The type a sender passes for schema `S` (`unknown` for a plain JSON Schema or no schema). */
export type InferInput<S> = S extends StandardTypedV1 ? StandardTypedV1.InferInput<S> : unknown;
/** The type a receiver gets for schema `S` (`unknown` for a plain JSON Schema or no schema). */
export type InferOutput<S> = S extends StandardTypedV1 ? StandardTypedV1.InferOutput<S> : unknown;

/** A schema ready to validate, whatever its kind. */
export interface CompiledSchema<Input = unknown, Output = Input> {
  readonly kind: 'standard' | 'json';
  /** The JSON Schema announced on the wire (input side), or null when the schema has none. */
  readonly jsonSchema: JsonSchema | null;
  /** Validates and parses; synchronous for JSON Schemas and for most Standard Schemas. */
  validate(value: unknown): ValidationResult<Output> | Promise<ValidationResult<Output>>;
  /** @internal Keeps Input in the type. */
  readonly __input?: Input;
}

/** True if `value` implements Standard Schema (`~standard.validate`). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const std = (value as { '~standard'?: { validate?: unknown } })['~standard'];
  return typeof std === 'object' && std !== null && typeof std.validate === 'function';
}

/** True if `value` implements Standard JSON Schema (`~standard.jsonSchema.input`). */
export function hasStandardJsonSchema(value: unknown): value is StandardJSONSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const js = (value as { '~standard'?: { jsonSchema?: { input?: unknown } } })['~standard']?.jsonSchema;
  return typeof js === 'object' && js !== null && typeof js.input === 'function';
}

const TOO_DEEP = 'value nests too deeply (or is cyclic) to validate';
const compiledStandard = new WeakMap<object, CompiledSchema>();

function fromStandard<O>(
  result: StandardSchemaV1.Result<O>,
): ValidationResult<O> {
  return result.issues ? { ok: false, issues: standardIssues(result.issues) } : { ok: true, value: result.value };
}

function guarded<O>(run: () => ValidationResult<O> | Promise<ValidationResult<O>>): ValidationResult<O> | Promise<ValidationResult<O>> {
  const onError = (err: unknown): ValidationResult<O> => {
    if (err instanceof RangeError) return { ok: false, issues: [{ path: [], message: TOO_DEEP }] };
    throw err;
  };
  try {
    const r = run();
    return r instanceof Promise ? r.catch(onError) : r;
  } catch (err) {
    return onError(err);
  }
}

/** The wire JSON Schema of a Standard JSON Schema (its input side, draft 2020-12, else draft-07). */
function announcedSchema(schema: StandardJSONSchemaV1): JsonSchema {
  let out: Record<string, unknown>;
  try {
    out = schema['~standard'].jsonSchema.input({ target: 'draft-2020-12' });
  } catch (first) {
    try {
      out = schema['~standard'].jsonSchema.input({ target: 'draft-07' });
    } catch {
      const vendor = schema['~standard'].vendor;
      throw pipeIOError('PIPEIO_ERR_SCHEMA', `the ${vendor} schema has no JSON Schema: ${(first as Error)?.message ?? String(first)}`, { cause: first });
    }
  }
  inspectSchema(out); // it goes on the wire: it must be JSON
  return out;
}

/**
 * Compiles any schema once (cached by identity) into a validator.
 *
 * @throws {PipeIOError} `PIPEIO_ERR_SCHEMA` for a schema that cannot be used
 *   (see {@link jsonSchema}; a Standard JSON Schema whose conversion throws).
 * @throws {TypeError} for a value that is no schema at all.
 */
export function compileSchema<T = unknown>(schema: JsonSchema): JsonSchemaValidator<T>;
export function compileSchema<S extends StandardSchemaV1>(schema: S): CompiledSchema<InferInput<S>, InferOutput<S>>;
export function compileSchema(schema: SchemaInput): CompiledSchema;
export function compileSchema(schema: SchemaInput): CompiledSchema {
  if (isStandardSchema(schema)) {
    const known = compiledStandard.get(schema);
    if (known) return known;
    if (isJsonSchemaValidator(schema)) return schema;
    const std = schema['~standard'];
    const compiled: CompiledSchema = {
      kind: 'standard',
      jsonSchema: hasStandardJsonSchema(schema) ? announcedSchema(schema) : null,
      validate: (value) =>
        guarded(() => {
          const r = std.validate(value);
          return r instanceof Promise ? r.then(fromStandard) : fromStandard(r);
        }),
    };
    compiledStandard.set(schema, compiled);
    return compiled;
  }
  if (typeof schema === 'boolean' || (typeof schema === 'object' && schema !== null && !Array.isArray(schema))) {
    return jsonSchema(schema as JsonSchema);
  }
  throw new TypeError(`a schema is a Standard Schema (zod, valibot, arktype, ...) or a JSON Schema object, not ${schema === null ? 'null' : typeof schema}`);
}
