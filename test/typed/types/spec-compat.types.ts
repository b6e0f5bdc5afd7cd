/**
 * The Standard Schema types copied into lib/schema/standard.ts stay
 * compatible with the published @standard-schema/spec (a devDependency used
 * only here): each is assignable to the other, and zod, valibot and arktype
 * schemas fit ours.
 */
import type { StandardJSONSchemaV1 as SpecJson, StandardSchemaV1 as SpecSchema } from '@standard-schema/spec';
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import { compileSchema, type StandardJSONSchemaV1, type StandardSchemaV1, type StandardSchemaWithJson } from '../../../lib';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function check<T extends true>(): T | void {}

declare const ours: StandardSchemaV1<{ a: number }, string>;
declare const theirs: SpecSchema<{ a: number }, string>;
export const a: SpecSchema<{ a: number }, string> = ours;
export const b: StandardSchemaV1<{ a: number }, string> = theirs;
declare const oursJson: StandardJSONSchemaV1<number>;
declare const theirsJson: SpecJson<number>;
export const c: SpecJson<number> = oursJson;
export const d: StandardJSONSchemaV1<number> = theirsJson;
check<Equal<StandardSchemaV1.InferOutput<typeof theirs>, string>>();

export const zs: StandardSchemaWithJson<{ a: number }, { a: number }> = z.object({ a: z.number() });
export const vs: StandardSchemaV1<{ a: number }> = v.object({ a: v.number() });
export const as: StandardSchemaWithJson<{ a: number }> = type({ a: 'number' });
const compiled = compileSchema(z.object({ a: z.string().transform((s) => s.length) }));
check<Equal<typeof compiled, import('../../../lib').CompiledSchema<{ a: string }, { a: number }>>>();
