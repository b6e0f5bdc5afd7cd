/**
 * A byte-exact port of Python's
 * `json.dumps(value, sort_keys=True, separators=(",", ":"))` (with the
 * defaults `ensure_ascii=True`, `allow_nan=True`), the canonical form that
 * comm-ipc signs (protocol doc 8.1). Pure: no I/O.
 *
 * Int or float? Python keeps the two apart, JS numbers do not. The rule here:
 *   - `bigint`                     -> int
 *   - `number` with `Number.isInteger(n)` -> int (plain decimal, any size)
 *   - any other `number` (0.5, NaN, ±Infinity) -> float (Python `repr`)
 *   - `new PyFloat(n)`             -> float, even when integral (`1.0`)
 * A decoder that must keep msgpack float64 `1.0` a float wraps it in PyFloat.
 */

import { pipeIOError } from '../../errors';

/**
 * Marks a number as a Python `float` so that it is formatted as one even when
 * it is integral: `pythonJson(new PyFloat(1))` is `1.0`, `new PyFloat(1e16)`
 * is `1e+16`, `new PyFloat(-0)` is `-0.0`. Accepted anywhere in a value.
 */
export class PyFloat {
  /** @param value The float's value (any double, NaN and ±Infinity included). */
  constructor(readonly value: number) {}
}

/**
 * Serialises `value` exactly as Python's
 * `json.dumps(value, sort_keys=True, separators=(",", ":"))` would.
 *
 * - Object keys sorted by Unicode code point (not UTF-16 unit), recursively.
 *   Plain objects and `Map`s are objects. Map keys must all be strings, or all
 *   numbers/bigints/PyFloats (sorted numerically and written as Python writes
 *   int/float keys, e.g. `"10"`, `"1.5"`).
 * - Strings: `\"` `\\` `\n` `\r` `\t` `\b` `\f`; every other code unit outside
 *   0x20-0x7E (DEL and all non-ASCII) as lowercase `\uXXXX`, so astral
 *   characters become surrogate pairs.
 * - Ints (bigint, integral number) in plain decimal; floats (non-integral
 *   number, {@link PyFloat}) in Python `repr` form; `NaN`, `Infinity`,
 *   `-Infinity` bare.
 * - `undefined` inside an object: the key is omitted; inside an array (or at
 *   the top level): `null`.
 *
 * @param value The value to serialise.
 * @returns The canonical JSON text (pure ASCII).
 * @throws {PipeIOError} `PIPEIO_ERR_INVALID_SIGNATURE` for values Python could
 *   not serialise: bytes (`Buffer`/`Uint8Array`/`ArrayBuffer`), functions,
 *   symbols, class instances other than `Map`/`PyFloat`, mixed-type map keys,
 *   and circular references.
 */
export function pythonJson(value: unknown): string {
  return encodeValue(value, new Set<object>());
}

function encodeValue(value: unknown, stack: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      return Number.isInteger(value) ? BigInt(value).toString() : pythonFloatRepr(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'null';
    case 'object':
      if (value === null) return 'null';
      if (value instanceof PyFloat) return pythonFloatRepr(value.value);
      return encodeContainer(value, stack);
    default:
      throw notSerialisable(typeof value);
  }
}

function encodeContainer(value: object, stack: Set<object>): string {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    // Python: TypeError: Object of type bytes is not JSON serializable.
    throw pipeIOError(
      'PIPEIO_ERR_INVALID_SIGNATURE',
      'bytes cannot be signed: they are not JSON serialisable (Python raises TypeError)',
    );
  }
  if (stack.has(value)) {
    // Python: ValueError: Circular reference detected.
    throw pipeIOError('PIPEIO_ERR_INVALID_SIGNATURE', 'cannot sign a value with a circular reference');
  }
  stack.add(value);
  try {
    if (Array.isArray(value)) {
      const parts: string[] = [];
      for (let i = 0; i < value.length; i++) parts.push(encodeValue(value[i], stack));
      return `[${parts.join(',')}]`;
    }
    if (value instanceof Map) return encodeMap(value, stack);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw notSerialisable(value.constructor?.name ?? 'object');
    }
    const entries: [string, unknown][] = [];
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) entries.push([key, v]);
    }
    entries.sort((a, b) => compareCodePoints(a[0], b[0]));
    return encodeEntries(entries, stack);
  } finally {
    stack.delete(value);
  }
}

function encodeMap(map: Map<unknown, unknown>, stack: Set<object>): string {
  const present = [...map].filter(([, v]) => v !== undefined);
  if (present.every(([k]) => typeof k === 'string')) {
    const entries = present as [string, unknown][];
    entries.sort((a, b) => compareCodePoints(a[0], b[0]));
    return encodeEntries(entries, stack);
  }
  const isNumeric = (k: unknown): boolean =>
    typeof k === 'number' || typeof k === 'bigint' || k instanceof PyFloat;
  if (!present.every(([k]) => isNumeric(k))) {
    // Python: TypeError: '<' not supported between instances of 'int' and 'str'
    // (or: keys must be str, int, float, bool or None).
    throw pipeIOError(
      'PIPEIO_ERR_INVALID_SIGNATURE',
      'cannot sign a map whose keys are not all strings or all numbers',
    );
  }
  const asNumber = (k: unknown): number | bigint => (k instanceof PyFloat ? k.value : (k as number | bigint));
  present.sort((a, b) => compareNumeric(asNumber(a[0]), asNumber(b[0])));
  // Python writes int keys as str(int) and float keys as float.__repr__.
  return encodeEntries(
    present.map(([k, v]): [string, unknown] => [encodeValue(k, stack), v]),
    stack,
  );
}

function encodeEntries(entries: [string, unknown][], stack: Set<object>): string {
  const parts = entries.map(([k, v]) => `${encodeString(k)}:${encodeValue(v, stack)}`);
  return `{${parts.join(',')}}`;
}

/** a < b as Python compares int/float (exactly, bigints included); NaN compares false both ways. */
function compareNumeric(a: number | bigint, b: number | bigint): number {
  // Mixed number/bigint comparison with < and > is exact in JS.
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

/** Orders two strings by Unicode code point, as Python does (lone surrogates count as code points). */
function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i) as number;
    const cb = b.codePointAt(j) as number;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return a.length - i - (b.length - j);
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

// Without the `u` flag this matches single UTF-16 code units, so astral
// characters come out as two `\uXXXX` escapes (a surrogate pair), like Python.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/g;

function encodeString(s: string): string {
  const body = s.replace(
    NEEDS_ESCAPE,
    (ch) => SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `"${body}"`;
}

/**
 * Python's `float.__repr__`: the shortest round-tripping digits (the same
 * digits JS picks), written in fixed notation when the decimal exponent is in
 * [-4, 16) and in scientific notation otherwise, with a signed exponent of at
 * least two digits (`1e+16`, `1.5e-07`); integral values keep `.0`.
 */
function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0.0`;
  // toExponential() without an argument yields the shortest round-trip digits.
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(Math.abs(x).toExponential());
  if (m === null) throw new Error(`unexpected toExponential() output for ${x}`);
  const digits = m[1] + (m[2] ?? '');
  const exp = Number(m[3]);
  if (exp < -4 || exp >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const expAbs = String(Math.abs(exp)).padStart(2, '0');
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${expAbs}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const fracPart = digits.slice(exp + 1);
  return `${sign}${intPart}.${fracPart === '' ? '0' : fracPart}`;
}

function notSerialisable(kind: string): Error {
  return pipeIOError(
    'PIPEIO_ERR_INVALID_SIGNATURE',
    `cannot sign a value of type ${kind}: it is not JSON serialisable`,
  );
}
