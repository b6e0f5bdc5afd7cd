/**
 * Schemas of typed events (issue 17): one small, stable interface over
 * Standard Schema libraries and plain JSON Schemas, used by the hub client,
 * the typed contracts (lib/typed) and the HTTP gateway.
 *
 *   const v = compileSchema(schema);          // once; cached by identity
 *   const r = v.validate(value);              // { ok: true, value } | { ok: false, issues: [{ path, message }] }
 *   if (!r.ok) throw validationError('invalid parameters of math:add', r.issues);
 */
export { compileSchema, isStandardSchema, hasStandardJsonSchema } from './compile';
export type { CompiledSchema, SchemaInput, InferInput, InferOutput } from './compile';
export { jsonSchema, isJsonSchemaValidator } from './json-schema';
export type { JsonSchema, JsonSchemaValidator, StandardSchemaWithJson } from './json-schema';
export { validationError, summarizeIssues, formatPath, sanitizeIssues, pydanticIssues, MAX_ISSUES } from './issues';
export type { SchemaIssue, ValidationResult } from './issues';
export { canonicalJson, MAX_SCHEMA_DEPTH } from './json-walk';
export type { StandardSchemaV1, StandardJSONSchemaV1, StandardTypedV1 } from './standard';
