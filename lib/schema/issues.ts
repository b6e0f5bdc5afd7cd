/**
 * Validation issues: one shape for every validator (Standard Schema
 * libraries, ajv, a remote provider, pydantic's text), and the one-line
 * summary a person reads in a log:
 *
 *   invalid parameters of math:add: a: must be integer; b: is required
 *   invalid result of math:list: items[2].id: Expected number, received string (+4 more)
 */
import { pipeIOError, type PipeIOError } from '../errors';
import type { StandardSchemaV1 } from './standard';

/** One reason a value does not fit its schema. */
export interface SchemaIssue {
  /** Keys from the root of the value to the offending part ([] = the value itself). */
  readonly path: ReadonlyArray<string | number>;
  /** What is wrong, in the validator's words. */
  readonly message: string;
}

/** A validation outcome: the (parsed) value, or why not. */
export type ValidationResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly issues: ReadonlyArray<SchemaIssue> };

/** Issues kept on an error and sent on the wire; the rest is counted, not kept. */
export const MAX_ISSUES = 20;
/** Characters of one issue message kept (a hostile validator or peer could send megabytes). */
const MAX_MESSAGE = 300;
/** Issues named in the one-line summary. */
const SUMMARY_ISSUES = 3;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function pathKey(seg: unknown): string | number {
  const key = seg !== null && typeof seg === 'object' && 'key' in seg ? (seg as StandardSchemaV1.PathSegment).key : seg;
  if (typeof key === 'number' || typeof key === 'string') return key;
  return String(key);
}

/** Issues of a Standard Schema failure, normalised (symbols and `{key}` segments to strings/numbers), at most MAX_ISSUES. */
export function standardIssues(issues: ReadonlyArray<StandardSchemaV1.Issue>): SchemaIssue[] {
  return issues.slice(0, MAX_ISSUES).map((i) => ({
    path: (i.path ?? []).map(pathKey),
    message: clip(String(i.message), MAX_MESSAGE),
  }));
}

/** The subset of an ajv error object read here (kept structural: no ajv types in our .d.ts). */
export interface AjvErrorLike {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function unescapePointer(seg: string): string | number {
  const s = seg.replace(/~1/g, '/').replace(/~0/g, '~');
  return /^(0|[1-9]\d*)$/.test(s) ? Number(s) : s;
}

/** Issues of an ajv failure: JSON Pointer paths to keys; `required` and `additionalProperties` name the property. */
export function ajvIssues(errors: ReadonlyArray<AjvErrorLike>): SchemaIssue[] {
  return errors.slice(0, MAX_ISSUES).map((e) => {
    const path = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map(unescapePointer);
    if (e.keyword === 'required' && typeof e.params['missingProperty'] === 'string') {
      return { path: [...path, e.params['missingProperty']], message: 'is required' };
    }
    if (e.keyword === 'additionalProperties' && typeof e.params['additionalProperty'] === 'string') {
      return { path: [...path, e.params['additionalProperty']], message: 'is not allowed' };
    }
    return { path, message: clip(e.message ?? `fails "${e.keyword}"`, MAX_MESSAGE) };
  });
}

/** `items[2].id`; `(root)` for the value itself. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** One line: `<label>: <path>: <message>; ... (+N more)`. */
export function summarizeIssues(label: string, issues: ReadonlyArray<SchemaIssue>, total = issues.length): string {
  const shown = issues.slice(0, SUMMARY_ISSUES).map((i) => `${formatPath(i.path)}: ${i.message.replace(/\s+/g, ' ')}`);
  const more = total - shown.length;
  return `${label}: ${shown.join('; ') || 'invalid'}${more > 0 ? ` (+${more} more)` : ''}`;
}

/**
 * A `PIPEIO_ERR_VALIDATION` error: the summary as message, the issues (at
 * most MAX_ISSUES) on `err.issues`.
 *
 * @param label What failed, naming the event: `invalid parameters of math:add`.
 */
export function validationError(label: string, issues: ReadonlyArray<SchemaIssue>, options: { remoteMessage?: string } = {}): PipeIOError {
  const kept = issues.slice(0, MAX_ISSUES);
  return pipeIOError('PIPEIO_ERR_VALIDATION', summarizeIssues(label, kept, issues.length), { issues: kept, ...options });
}

/**
 * Issues received from a peer (the `issues` key of an error response):
 * anything malformed is dropped, the rest clipped and bounded.
 */
export function sanitizeIssues(raw: unknown): SchemaIssue[] {
  if (!Array.isArray(raw)) return [];
  const out: SchemaIssue[] = [];
  for (const item of raw.slice(0, MAX_ISSUES)) {
    if (item === null || typeof item !== 'object') continue;
    const { path, message } = item as { path?: unknown; message?: unknown };
    if (typeof message !== 'string') continue;
    const segs = Array.isArray(path) ? path.slice(0, 64).filter((s): s is string | number => typeof s === 'string' || typeof s === 'number') : [];
    out.push({ path: segs.map((s) => (typeof s === 'string' ? clip(s, 100) : s)), message: clip(message, MAX_MESSAGE) });
  }
  return out;
}

const PYDANTIC_HEADER = /^(\d+) validation errors? for (\S.*)$/;

/**
 * Issues out of pydantic's `ValidationError` text (what a comm-ipc provider
 * sends as `error`), or undefined if `text` is not one:
 *
 *   1 validation error for AddParams
 *   a
 *     Input should be a valid integer [type=int_parsing, input_value='x', input_type=str]
 *       For further information visit https://errors.pydantic.dev/2.13/v/int_parsing
 */
export function pydanticIssues(text: string): SchemaIssue[] | undefined {
  const lines = text.split('\n');
  const head = PYDANTIC_HEADER.exec(lines[0] ?? '');
  if (!head) return undefined;
  const out: SchemaIssue[] = [];
  let loc: string | undefined;
  for (const line of lines.slice(1)) {
    if (out.length >= MAX_ISSUES) break;
    if (line.startsWith('    ') || line.trim() === '') continue; // "For further information visit ..."
    if (!line.startsWith(' ')) {
      loc = line;
      continue;
    }
    const path = loc === undefined ? [] : loc.split('.').map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
    out.push({ path, message: clip(line.trim().replace(/ \[type=[^\]]*\]$/, ''), MAX_MESSAGE) });
    loc = undefined;
  }
  return out.length > 0 ? out : undefined;
}
