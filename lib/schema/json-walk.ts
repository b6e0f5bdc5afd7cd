/**
 * One walk over a JSON Schema before anything compiles it: it must be JSON
 * (it travels on the wire), finite (a cyclic object would send ajv's
 * traversal into unbounded recursion), not absurdly deep, in a draft we
 * support, and every `$ref` must stay inside it (nothing is ever fetched).
 * Also: the canonical text of a schema, the cache key of schemas that
 * arrive from the wire.
 */
import { pipeIOError, type PipeIOError } from '../errors';

/** Nesting levels a schema may have (pydantic and zod emit fewer than 20). */
export const MAX_SCHEMA_DEPTH = 128;

export type Draft = '2020-12' | '07';

export interface SchemaShape {
  readonly draft: Draft;
  /**
   * True when refs need ajv's own resolution (a non-fragment `$ref`, a nested
   * `$id`, `$dynamicRef`): such schemas are compiled at once, so that a ref
   * that does not resolve is refused now, not at the first call.
   */
  readonly compileNow: boolean;
}

const DRAFTS: Array<[RegExp, Draft]> = [
  [/^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, '2020-12'],
  [/^https?:\/\/json-schema\.org\/draft-07\/schema#?$/, '07'],
];

/** Keywords whose value is a schema, a map of names to schemas, a list of schemas (drafts 07 to 2020-12). */
const SCHEMA_KEYWORDS: ReadonlySet<string> = new Set([
  'items', 'additionalItems', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedItems', 'unevaluatedProperties', 'contentSchema',
]);
const SCHEMA_MAPS: ReadonlySet<string> = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependencies']);
const SCHEMA_LISTS: ReadonlySet<string> = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items']);

function schemaError(message: string): PipeIOError {
  return pipeIOError('PIPEIO_ERR_SCHEMA', message);
}

function pointer(path: ReadonlyArray<string | number>): string {
  return path.length === 0 ? '(root)' : `/${path.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object' && v !== null) return (v.constructor as { name?: string } | undefined)?.name ?? 'object';
  return typeof v;
}

/**
 * Checks `schema` and tells how to compile it.
 * @throws {PipeIOError} `PIPEIO_ERR_SCHEMA`: not JSON, cyclic, too deep, unknown draft, a `$ref` leaving the schema.
 */
export function inspectSchema(schema: unknown): SchemaShape {
  if (typeof schema === 'boolean') return { draft: '2020-12', compileNow: false };
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema) || !isPlainObject(schema)) {
    throw schemaError(`a JSON Schema is an object or a boolean, not ${describe(schema)}`);
  }
  const root = schema as Record<string, unknown>;
  let draft: Draft = '2020-12';
  if (root['$schema'] !== undefined) {
    const found = DRAFTS.find(([re]) => typeof root['$schema'] === 'string' && re.test(root['$schema']));
    if (!found) {
      throw schemaError(`unknown JSON Schema draft ${JSON.stringify(root['$schema'])} (supported: draft 2020-12, the default, and draft-07)`);
    }
    draft = found[1];
  }
  const refs: Array<{ ref: string; at: string }> = [];
  let compileNow = false;
  const anchors = new Set<string>();
  const stack = new Set<object>();
  /** Checks JSON-ness, cycles and depth; reads keywords when `asSchema`. */
  const walk = (v: unknown, path: Array<string | number>, asSchema: boolean): void => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw schemaError(`schema is not JSON: ${v} at ${pointer(path)}`);
      return;
    }
    if (typeof v !== 'object' || (!Array.isArray(v) && !isPlainObject(v))) {
      throw schemaError(`schema is not JSON: ${describe(v)} at ${pointer(path)}`);
    }
    if (stack.has(v)) throw schemaError(`schema is cyclic at ${pointer(path)} (recursion is written with "$ref", e.g. "#/$defs/Node")`);
    if (path.length > MAX_SCHEMA_DEPTH) throw schemaError(`schema nests deeper than ${MAX_SCHEMA_DEPTH} levels at ${pointer(path.slice(0, 8))}...`);
    stack.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], [...path, i], false);
    } else if (!asSchema) {
      for (const key of Object.keys(v)) walk((v as Record<string, unknown>)[key], [...path, key], false);
    } else {
      const o = v as Record<string, unknown>;
      if (typeof o['$ref'] === 'string') refs.push({ ref: o['$ref'], at: pointer(path) });
      if ('$dynamicRef' in o || '$recursiveRef' in o) compileNow = true;
      if (typeof o['$id'] === 'string' && path.length > 0) {
        if (o['$id'].startsWith('#')) anchors.add(o['$id'].slice(1));
        else compileNow = true;
      }
      if (typeof o['$anchor'] === 'string') anchors.add(o['$anchor']);
      for (const key of Object.keys(o)) {
        const child = o[key];
        const at = [...path, key];
        if (SCHEMA_MAPS.has(key) && child !== null && typeof child === 'object' && !Array.isArray(child)) {
          stack.add(child);
          for (const name of Object.keys(child)) {
            const sub = (child as Record<string, unknown>)[name];
            walk(sub, [...at, name], typeof sub === 'object' && !Array.isArray(sub));
          }
          stack.delete(child);
        } else if (SCHEMA_LISTS.has(key) && Array.isArray(child)) {
          stack.add(child);
          for (let i = 0; i < child.length; i++) walk(child[i], [...at, i], true);
          stack.delete(child);
        } else {
          walk(child, at, SCHEMA_KEYWORDS.has(key));
        }
      }
    }
    stack.delete(v);
  };
  walk(root, [], true);
  for (const { ref, at } of refs) {
    if (!ref.startsWith('#')) {
      compileNow = true; // ajv resolves it against the schema's own $ids, or refuses; it never fetches
      continue;
    }
    if (!resolvesLocally(root, ref, anchors)) throw schemaError(`$ref ${JSON.stringify(ref)} at ${at} does not resolve inside the schema`);
  }
  return { draft, compileNow };
}

function resolvesLocally(root: Record<string, unknown>, ref: string, anchors: ReadonlySet<string>): boolean {
  const frag = ref.slice(1);
  if (frag === '') return true;
  if (!frag.startsWith('/')) return anchors.has(decodeURIComponent(frag));
  let node: unknown = root;
  for (const raw of frag.slice(1).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'boolean' || (node !== null && typeof node === 'object' && !Array.isArray(node));
}

/**
 * The canonical text of a JSON value: keys sorted, no spaces. Two schemas
 * with the same text validate alike. Only call it on a value
 * {@link inspectSchema} accepted (it does not guard against cycles).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}
