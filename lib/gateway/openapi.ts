/**
 * The live OpenAPI 3.1 document: built from what the hub announces (the
 * catalog: explore() and metadata updates) and from the routes mapped on the
 * gateway, rebuilt when either changes, served as JSON.
 *
 * Event schemas travel as JSON Schema 2020-12 (pydantic's, with `$defs` and
 * `$ref: "#/$defs/X"`). Inside an OpenAPI document `#` is the document, so
 * each schema is hoisted into `components/schemas` (its `$defs` beside it)
 * and its references rewritten: the document stays valid and tools resolve
 * every `$ref`.
 */
import type { Catalog } from './catalog';

/** One path item of OpenAPI (operations by lower-case method). */
export type PathItem = Record<string, unknown>;

/** Adds path items to a document being built (routes mapped by the user, mounted modules). */
export type PathContributor = (b: DocBuilder) => void;

const NAME_SAFE = /[^A-Za-z0-9._-]/g;

/** A component name from parts. */
function componentName(...parts: string[]): string {
  return parts.map((p) => p.replace(NAME_SAFE, '_')).join('.');
}

export class DocBuilder {
  readonly paths: Record<string, PathItem> = {};
  readonly schemas: Record<string, unknown> = {
    Error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'A PIPEIO_ERR_* code' },
        message: { type: 'string' },
        detail: { type: 'string', description: 'The message again (the key comm-ipc gateways answer with)' },
        issues: { type: 'array', items: { type: 'object', properties: { message: { type: 'string' }, path: { type: 'array' } } } },
      },
    },
  };

  constructor(readonly prefix: string) {}

  /** Adds (merges) operations at `path` (without the prefix). */
  add(path: string, item: PathItem): void {
    const key = `${this.prefix}${path}`;
    this.paths[key] = { ...(this.paths[key] ?? {}), ...item };
  }

  /**
   * A schema reference for an announced schema: hoisted into components
   * under `name` with its `$defs`; `{}` (anything) when there is none.
   */
  schema(schema: unknown, ...name: string[]): Record<string, unknown> {
    if (schema === null || schema === undefined || schema === true) return {};
    if (typeof schema !== 'object') return {};
    const base = componentName(...name);
    const defs = (schema as { $defs?: Record<string, unknown> }).$defs;
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (node === null || typeof node !== 'object') return node;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (k === '$defs' || k === '$schema' || k === '$id') continue;
        if (k === '$ref' && typeof v === 'string') {
          if (v === '#') out[k] = `#/components/schemas/${base}`;
          else if (v.startsWith('#/$defs/')) out[k] = `#/components/schemas/${componentName(base, v.slice('#/$defs/'.length))}`;
          else if (v.startsWith('#/')) out[k] = `#/components/schemas/${base}`; // another local pointer: widened to the whole schema
          else out[k] = v;
          continue;
        }
        out[k] = rewrite(v);
      }
      return out;
    };
    if (defs && typeof defs === 'object') {
      for (const [d, s] of Object.entries(defs)) this.schemas[componentName(base, d)] = rewrite(s);
    }
    this.schemas[base] = rewrite(schema);
    return { $ref: `#/components/schemas/${base}` };
  }
}

/** Error answers every call operation may give. */
export function errorResponses(...statuses: number[]): Record<string, unknown> {
  const text: Record<number, string> = {
    400: 'The data failed the event schema, or is not JSON',
    401: 'Not authorized (the authorize hook refused)',
    403: 'Refused by the hub (channel password, owner-only)',
    404: 'Channel not served by this gateway',
    413: 'Body too large',
    416: 'Range not satisfiable',
    502: 'The provider failed (its error text is the message)',
    503: 'No provider for the event, or the hub is unreachable',
    504: 'The call timed out',
  };
  const out: Record<string, unknown> = {};
  for (const s of statuses) {
    out[String(s)] = { description: text[s] ?? 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return out;
}

const SSE_DESCRIPTION =
  'Server-Sent Events: one `data:` event per item (JSON), then `event: end`; an error mid-stream is `event: error` with {error, code, status}.';

/** The operations of one event at a path (POST, and GET when asked). */
export function eventOperations(b: DocBuilder, channel: string, event: string, isStream: boolean, parameters: unknown, returns: unknown, methods: readonly string[]): PathItem {
  const params = b.schema(parameters, channel, event, 'parameters');
  const result = b.schema(returns, channel, event, 'returns');
  const ok: Record<string, unknown> = isStream
    ? {
        description: `Without Accept: text/event-stream, every chunk as one JSON array. ${SSE_DESCRIPTION}`,
        content: { 'text/event-stream': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'array', items: result } } },
      }
    : { description: 'The result', content: { 'application/json': { schema: result } } };
  const item: PathItem = {};
  for (const m of methods) {
    const op: Record<string, unknown> = {
      operationId: componentName(m, channel, event),
      summary: `${isStream ? 'Stream' : 'Call'} ${channel}:${event}`,
      tags: [channel],
      responses: { '200': ok, ...errorResponses(400, 403, 404, 502, 503, 504) },
    };
    if (m === 'get') {
      op['parameters'] = queryParameters(parameters);
    } else {
      op['requestBody'] = { required: false, content: { 'application/json': { schema: params } } };
    }
    item[m] = op;
  }
  return item;
}

/** Query parameters from an object schema's properties (GET mappings). */
function queryParameters(schema: unknown): unknown[] {
  const props = (schema as { properties?: Record<string, unknown> } | null)?.properties;
  if (!props || typeof props !== 'object') return [];
  const required = new Set(((schema as { required?: unknown }).required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: typeof s === 'object' && s !== null && !('$ref' in s) ? s : {},
  }));
}

/** The SSE operation of a topic. */
export function topicOperations(b: DocBuilder, channel: string, topic: string, schema: unknown, publish: boolean): PathItem {
  const item: PathItem = {
    get: {
      operationId: componentName('subscribe', channel, topic),
      summary: `Follow topic ${channel}:${topic}`,
      tags: [channel],
      parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } }],
      responses: {
        '200': { description: SSE_DESCRIPTION.replace('item', 'publication'), content: { 'text/event-stream': { schema: { type: 'string' } } } },
        ...errorResponses(403, 404, 503),
      },
    },
  };
  if (publish) {
    item['post'] = {
      operationId: componentName('publish', channel, topic),
      summary: `Publish to ${channel}:${topic}`,
      tags: [channel],
      requestBody: { required: true, content: { 'application/json': { schema: b.schema(schema, channel, topic, 'publication') } } },
      responses: { '204': { description: 'Published' }, ...errorResponses(400, 403, 503) },
    };
  }
  return item;
}

/** The whole document. */
export function buildDocument(catalog: Catalog, prefix: string, contributors: Iterable<PathContributor>, info: { title: string; version: string }): object {
  const b = new DocBuilder(prefix);
  for (const c of contributors) c(b);
  void catalog;
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version },
    paths: b.paths,
    components: { schemas: b.schemas },
  };
}

/** Encodes a name for a literal OpenAPI path (no template braces, no slashes). */
export function pathName(name: string): string {
  return encodeURIComponent(name);
}
