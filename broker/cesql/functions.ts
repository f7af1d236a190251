/**
 * CESQL built-in functions (v1.0 §3.5), resolved at parse time by name (case-insensitive) and arity.
 * Arguments arrive already cast to the declared parameter types; a function reports domain errors through
 * `fail` and still returns a value, as the spec requires.
 */
import type { CesqlType, CesqlValue } from './ast.js';
import { castToBoolean, castToInteger, castToString, INT32_MAX, INT32_MIN } from './casting.js';
import type { CesqlErrorKind } from './errors.js';

export type ParamType = CesqlType | 'Any';

export type FunctionFail = (kind: CesqlErrorKind, message: string) => void;

export interface FunctionDef {
  name: string;
  /** Fixed parameters. */
  params: readonly ParamType[];
  /** Type of every further argument, for variadic functions. */
  variadic?: ParamType;
  returns: CesqlType;
  call(args: readonly CesqlValue[], fail: FunctionFail): CesqlValue;
}

const WHITESPACE_EDGES = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g;

/** Characters (code points), not UTF-16 units. */
function chars(s: string): string[] {
  return Array.from(s);
}

function str(v: CesqlValue | undefined): string {
  return v as string;
}
function int(v: CesqlValue | undefined): number {
  return v as number;
}

function substring(s: string, pos: number, len: number | undefined, fail: FunctionFail): string {
  const cs = chars(s);
  const n = cs.length;
  if (pos > n || pos < -n) {
    fail('functionEvaluation', `SUBSTRING: position ${pos} is outside the string (length ${n})`);
    return '';
  }
  if (len !== undefined && len < 0) {
    fail('functionEvaluation', `SUBSTRING: length ${len} is negative`);
    return '';
  }
  if (pos === 0) return '';
  const start = pos > 0 ? pos - 1 : n + pos;
  const end = len === undefined ? n : Math.min(n, start + len);
  return cs.slice(start, end).join('');
}

const DEFINITIONS: readonly FunctionDef[] = [
  {
    name: 'ABS',
    params: ['Integer'],
    returns: 'Integer',
    call: ([x], fail) => {
      const v = int(x);
      if (v === INT32_MIN) {
        fail('math', 'ABS: the absolute value of -2147483648 overflows a 32-bit integer');
        return INT32_MAX;
      }
      return Math.abs(v);
    },
  },
  { name: 'LENGTH', params: ['String'], returns: 'Integer', call: ([x]) => chars(str(x)).length },
  { name: 'CONCAT', params: [], variadic: 'String', returns: 'String', call: (args) => args.join('') },
  {
    name: 'CONCAT_WS',
    params: ['String'],
    variadic: 'String',
    returns: 'String',
    call: ([sep, ...rest]) => rest.join(str(sep)),
  },
  { name: 'LOWER', params: ['String'], returns: 'String', call: ([x]) => str(x).toLowerCase() },
  { name: 'UPPER', params: ['String'], returns: 'String', call: ([x]) => str(x).toUpperCase() },
  { name: 'TRIM', params: ['String'], returns: 'String', call: ([x]) => str(x).replace(WHITESPACE_EDGES, '') },
  {
    name: 'LEFT',
    params: ['String', 'Integer'],
    returns: 'String',
    call: ([x, y], fail) => {
      const s = str(x);
      const n = int(y);
      if (n < 0) {
        fail('functionEvaluation', `LEFT: length ${n} is negative`);
        return s;
      }
      const cs = chars(s);
      return cs.length <= n ? s : cs.slice(0, n).join('');
    },
  },
  {
    name: 'RIGHT',
    params: ['String', 'Integer'],
    returns: 'String',
    call: ([x, y], fail) => {
      const s = str(x);
      const n = int(y);
      if (n < 0) {
        fail('functionEvaluation', `RIGHT: length ${n} is negative`);
        return s;
      }
      const cs = chars(s);
      return cs.length <= n ? s : cs.slice(cs.length - n).join('');
    },
  },
  {
    name: 'SUBSTRING',
    params: ['String', 'Integer'],
    returns: 'String',
    call: ([x, pos], fail) => substring(str(x), int(pos), undefined, fail),
  },
  {
    name: 'SUBSTRING',
    params: ['String', 'Integer', 'Integer'],
    returns: 'String',
    call: ([x, pos, len], fail) => substring(str(x), int(pos), int(len), fail),
  },
  {
    name: 'INT',
    params: ['Any'],
    returns: 'Integer',
    call: ([x], fail) => {
      const v = castToInteger(x as CesqlValue);
      if (v === undefined) {
        fail('cast', `INT: cannot cast '${castToString(x as CesqlValue)}' to Integer`);
        return 0;
      }
      return v;
    },
  },
  {
    name: 'BOOL',
    params: ['Any'],
    returns: 'Boolean',
    call: ([x], fail) => {
      const v = castToBoolean(x as CesqlValue, true);
      if (v === undefined) {
        fail('cast', `BOOL: cannot cast '${castToString(x as CesqlValue)}' to Boolean`);
        return false;
      }
      return v;
    },
  },
  { name: 'STRING', params: ['Any'], returns: 'String', call: ([x]) => castToString(x as CesqlValue) },
  {
    name: 'IS_BOOL',
    params: ['Any'],
    returns: 'Boolean',
    call: ([x]) => typeof x === 'boolean' || (typeof x === 'string' && castToBoolean(x, false) !== undefined),
  },
  {
    name: 'IS_INT',
    params: ['Any'],
    returns: 'Boolean',
    call: ([x]) => typeof x === 'number' || (typeof x === 'string' && castToInteger(x) !== undefined),
  },
  { name: 'IS_STRING', params: ['Any'], returns: 'Boolean', call: ([x]) => typeof x === 'string' },
];

const BY_NAME: ReadonlyMap<string, readonly FunctionDef[]> = (() => {
  const m = new Map<string, FunctionDef[]>();
  for (const d of DEFINITIONS) {
    const list = m.get(d.name) ?? [];
    list.push(d);
    m.set(d.name, list);
  }
  return m;
})();

/** The built-in for `name` (any case) called with `arity` arguments, if there is one. */
export function resolveFunction(name: string, arity: number): FunctionDef | undefined {
  const overloads = BY_NAME.get(name.toUpperCase());
  if (overloads === undefined) return undefined;
  const fixed = overloads.find((d) => d.variadic === undefined && d.params.length === arity);
  if (fixed !== undefined) return fixed;
  return overloads.find((d) => d.variadic !== undefined && arity >= d.params.length);
}
