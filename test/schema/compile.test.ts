/**
 * lib/schema: every kind of schema behind compileSchema(), the refusals a
 * schema gets at compile time, and the issue shapes and summaries.
 */
import { expect } from 'chai';
import { PYDANTIC_REQ } from '../fixtures/pydantic-schema';
import * as http from 'node:http';
import { type } from 'arktype';
import * as v from 'valibot';
import { toStandardJsonSchema } from '@valibot/to-json-schema';
import { z } from 'zod';
import { PipeIOError } from '../../lib/errors';
import {
  compileSchema,
  formatPath,
  jsonSchema,
  pydanticIssues,
  sanitizeIssues,
  summarizeIssues,
  validationError,
  type StandardSchemaV1,
  type ValidationResult,
} from '../../lib/schema';

const ADD = { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'], additionalProperties: false };

/** The result of a validation expected to be synchronous. */
function now<T>(r: ValidationResult<T> | Promise<ValidationResult<T>>): ValidationResult<T> {
  if (r instanceof Promise) throw new Error('expected a synchronous result');
  return r;
}

function schemaCode(fn: () => unknown): PipeIOError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(PipeIOError);
    expect((err as PipeIOError).code).to.equal('PIPEIO_ERR_SCHEMA');
    return err as PipeIOError;
  }
  throw new Error('expected PIPEIO_ERR_SCHEMA');
}

describe('lib/schema', () => {
  describe('plain JSON Schema (ajv)', () => {
    it('validates, and names each issue by path and message', () => {
      const add = jsonSchema<{ a: number; b: number }>(ADD);
      expect(add.validate({ a: 1, b: 2 })).to.deep.equal({ ok: true, value: { a: 1, b: 2 } });
      const bad = add.validate({ a: 'x', b: 2 });
      expect(bad).to.deep.equal({ ok: false, issues: [{ path: ['a'], message: 'must be integer' }] });
      expect(add.validate({ a: 1 })).to.deep.equal({ ok: false, issues: [{ path: ['b'], message: 'is required' }] });
      expect(add.validate({ a: 1, b: 2, c: 3 })).to.deep.equal({ ok: false, issues: [{ path: ['c'], message: 'is not allowed' }] });
      expect(add.validate([1])).to.deep.equal({ ok: false, issues: [{ path: [], message: 'must be object' }] });
    });

    it('takes pydantic 2020-12 schemas with $defs/$ref, and reports nested paths', () => {
      const req = compileSchema(PYDANTIC_REQ);
      expect(req.validate({ name: 'n', items: [{ id: 1 }, { id: 2, tags: ['x'] }] }).ok).to.equal(true);
      expect(req.validate({ name: 'n', items: [{ id: 1 }, { id: 'two' }] })).to.deep.equal({
        ok: false,
        issues: [{ path: ['items', 1, 'id'], message: 'must be integer' }],
      });
    });

    it('compiles once: cached by identity, and by canonical text for an equal object (from the wire)', () => {
      const a = jsonSchema(ADD);
      expect(jsonSchema(ADD)).to.equal(a);
      expect(compileSchema(ADD)).to.equal(a);
      const reordered = JSON.parse(JSON.stringify({ required: ADD.required, type: 'object', additionalProperties: false, properties: ADD.properties }));
      expect(jsonSchema(reordered)).to.equal(a);
    });

    it('is itself a Standard Schema and a Standard JSON Schema', async () => {
      const add = jsonSchema<{ a: number; b: number }>(ADD);
      const std = add['~standard'];
      expect(std.version).to.equal(1);
      expect(await std.validate({ a: 1, b: 2 })).to.deep.equal({ value: { a: 1, b: 2 } });
      expect(await std.validate({})).to.have.property('issues');
      expect(std.jsonSchema.input({ target: 'draft-2020-12' })).to.equal(ADD);
      expect(() => std.jsonSchema.input({ target: 'draft-07' })).to.throw(PipeIOError);
      expect(compileSchema(add)).to.equal(add);
    });

    it('accepts boolean schemas and draft-07', () => {
      expect(jsonSchema(true).validate(1).ok).to.equal(true);
      expect(jsonSchema(false).validate(1).ok).to.equal(false);
      const d7 = jsonSchema({ $schema: 'http://json-schema.org/draft-07/schema#', definitions: { n: { type: 'number' } }, items: { $ref: '#/definitions/n' } });
      expect(d7.validate([1, 2]).ok).to.equal(true);
      expect(d7.validate([1, 'x']).ok).to.equal(false);
    });

    it('refuses what cannot be a schema, at compile time, with a reason', () => {
      expect(schemaCode(() => jsonSchema({ type: 'integr' })).message).to.match(/invalid JSON Schema: .*type/);
      expect(schemaCode(() => jsonSchema({ $schema: 'http://json-schema.org/draft-04/schema#' })).message).to.match(/unknown JSON Schema draft/);
      expect(schemaCode(() => jsonSchema({ $ref: 'https://example.com/x.json' })).message).to.match(/leaves the schema: schemas are never fetched/);
      expect(schemaCode(() => jsonSchema({ properties: { a: { $ref: '#/$defs/Missing' } } })).message).to.match(/does not resolve inside the schema/);
      const cyclic: Record<string, unknown> = { type: 'object', properties: {} };
      (cyclic['properties'] as Record<string, unknown>)['self'] = cyclic;
      expect(schemaCode(() => jsonSchema(cyclic)).message).to.match(/cyclic at \/properties\/self/);
      expect(schemaCode(() => jsonSchema({ type: 'number', maximum: NaN })).message).to.match(/not JSON: NaN at \/maximum/);
      expect(schemaCode(() => jsonSchema({ type: 'object', default: () => 1 })).message).to.match(/not JSON: function/);
      let deep: Record<string, unknown> = { type: 'array' };
      for (let i = 0; i < 200; i++) deep = { type: 'array', items: deep };
      expect(schemaCode(() => jsonSchema(deep)).message).to.match(/deeper than 128/);
      expect(() => compileSchema(null as never)).to.throw(TypeError);
      expect(() => compileSchema('string' as never)).to.throw(TypeError);
    });

    it('never fetches a $ref: a local HTTP server serving the schema sees no request', async () => {
      let requests = 0;
      const server = http.createServer((_req, res) => {
        requests++;
        res.end(JSON.stringify({ type: 'integer' }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      try {
        expect(schemaCode(() => jsonSchema({ $ref: `${url}/int.json` })).message).to.match(/never fetched/);
        expect(schemaCode(() => jsonSchema({ $id: `${url}/root.json`, items: { $ref: 'int.json' } })).message).to.match(/never fetched/);
        expect(schemaCode(() => jsonSchema({ $defs: { a: { $id: `${url}/a.json`, $ref: 'b.json' } }, $ref: `${url}/a.json` })).message).to.match(/never fetched/);
        // A $ref to an $id inside the same schema resolves without any fetch.
        expect(jsonSchema({ $defs: { n: { $id: `${url}/n.json`, type: 'integer' } }, items: { $ref: `${url}/n.json` } }).validate([1, 'x']).ok).to.equal(false);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
      expect(requests).to.equal(0);
    });

    it('a property named like a keyword is a name, not a keyword', () => {
      const s = jsonSchema({ type: 'object', properties: { $ref: { type: 'string' }, const: { $ref: '#/$defs/n' } }, $defs: { n: { type: 'number' } } });
      expect(s.validate({ $ref: 'x', const: 1 }).ok).to.equal(true);
      expect(s.validate({ const: 'x' }).ok).to.equal(false);
    });

    it('recursion through $ref works; a value too deep (or cyclic) for it is an issue, not a crash', () => {
      const tree = jsonSchema({ $defs: { node: { type: 'array', items: { $ref: '#/$defs/node' } } }, $ref: '#/$defs/node' });
      expect(tree.validate([[], [[]]]).ok).to.equal(true);
      let deep: unknown[] = [];
      for (let i = 0; i < 200000; i++) deep = [deep];
      expect(tree.validate(deep)).to.deep.equal({ ok: false, issues: [{ path: [], message: 'value nests too deeply (or is cyclic) to validate' }] });
      const cyclic: unknown[] = [];
      cyclic.push(cyclic);
      expect(tree.validate(cyclic).ok).to.equal(false);
    });
  });

  describe('Standard Schema', () => {
    it('zod: validated by zod, output type applied, its input JSON Schema announced', () => {
      const s = compileSchema(z.object({ a: z.number().int(), tag: z.string().default('none') }));
      expect(s.kind).to.equal('standard');
      expect(s.validate({ a: 1 })).to.deep.equal({ ok: true, value: { a: 1, tag: 'none' } });
      const bad = now(s.validate({ a: 1.5, tag: 3 }));
      if (bad.ok) throw new Error('expected issues');
      expect(bad.issues.map((i) => i.path)).to.deep.equal([['a'], ['tag']]);
      expect(s.jsonSchema).to.deep.include({ type: 'object', required: ['a'] });
    });

    it('arktype announces its JSON Schema; valibot only through @valibot/to-json-schema', () => {
      const ark = compileSchema(type({ a: 'number.integer' }));
      expect(ark.jsonSchema).to.deep.include({ type: 'object', required: ['a'] });
      expect(now(ark.validate({ a: 'x' })).ok).to.equal(false);
      const plain = compileSchema(v.object({ a: v.number() }));
      expect(plain.jsonSchema).to.equal(null);
      expect(plain.validate({ a: 1 })).to.deep.equal({ ok: true, value: { a: 1 } });
      const withJson = compileSchema(toStandardJsonSchema(v.object({ a: v.number() })));
      expect(withJson.jsonSchema).to.deep.include({ type: 'object', required: ['a'] });
    });

    it('an asynchronous Standard Schema gives a promise; symbol and {key} path segments become strings', async () => {
      const sym = Symbol('s');
      const slow: StandardSchemaV1<unknown, number> = {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate: async (value) => (typeof value === 'number' ? { value } : { issues: [{ message: 'nope', path: [{ key: 'x' }, sym, 0] }] }),
        },
      };
      const s = compileSchema(slow);
      expect(await s.validate(1)).to.deep.equal({ ok: true, value: 1 });
      expect(await s.validate('a')).to.deep.equal({ ok: false, issues: [{ path: ['x', 'Symbol(s)', 0], message: 'nope' }] });
    });

    it('a schema library that cannot give a JSON Schema is refused with its reason', () => {
      expect(schemaCode(() => compileSchema(z.custom<number>(() => true))).message).to.match(/the zod schema has no JSON Schema/);
    });
  });

  describe('issues', () => {
    it('one line naming the label and the first three issues', () => {
      const issues = [
        { path: ['a'], message: 'must be integer' },
        { path: ['items', 2, 'id'], message: 'Expected number,\n received string' },
        { path: [], message: 'bad' },
        { path: ['x y'], message: 'more' },
      ];
      expect(summarizeIssues('invalid parameters of math:add', issues)).to.equal(
        'invalid parameters of math:add: a: must be integer; items[2].id: Expected number, received string; (root): bad (+1 more)',
      );
      expect(formatPath(['x y', 0])).to.equal('["x y"][0]');
      const err = validationError('invalid result of m:e', issues);
      expect(err.code).to.equal('PIPEIO_ERR_VALIDATION');
      expect(err.issues).to.deep.equal(issues);
    });

    it('sanitizes issues from a peer and reads pydantic ValidationError text', () => {
      expect(sanitizeIssues([{ path: ['a', 1, {}], message: 'm' }, { message: 3 }, 'x', { message: 'y'.repeat(1000) }])).to.deep.equal([
        { path: ['a', 1], message: 'm' },
        { path: [], message: `${'y'.repeat(299)}…` },
      ]);
      const text = [
        '2 validation errors for AddParams',
        'a',
        "  Input should be a valid integer, unable to parse string as an integer [type=int_parsing, input_value='x', input_type=str]",
        '    For further information visit https://errors.pydantic.dev/2.13/v/int_parsing',
        'items.0.id',
        '  Field required [type=missing, input_value={}, input_type=dict]',
      ].join('\n');
      expect(pydanticIssues(text)).to.deep.equal([
        { path: ['a'], message: 'Input should be a valid integer, unable to parse string as an integer' },
        { path: ['items', 0, 'id'], message: 'Field required' },
      ]);
      expect(pydanticIssues('1 validation error for M\n  Input should be a valid dictionary [type=model_type]')).to.deep.equal([
        { path: [], message: 'Input should be a valid dictionary' },
      ]);
      expect(pydanticIssues('oops')).to.equal(undefined);
    });
  });
});
